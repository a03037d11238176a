"""Property tests: whatever bytes or text arrive, only RconError comes out.

The decoder and the query state machine get random bytes in random chunks;
parse_status gets random text, mangled real replies, and generated replies
whose every field must come back exactly.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from left4me.rcon import RconError, RosterEntry, Status, parse_status
from left4me.rcon.exchange import AUTH_ID, COMMAND_ID, MARKER_ID, TRAILER_BODY, Exchange
from left4me.rcon.packets import MAX_BODY, Packet, PacketDecoder, encode
from left4me.rcon.status import NAME_LENGTH
from left4me.rcon.text import clean

FAST = settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
VALID = sorted(
    p.read_text(encoding="utf-8") for p in (Path(__file__).parent / "fixtures").glob("*.txt")
)
BASE = 76561197960265728


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given offsets (sorted, deduplicated, clipped)."""
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def decode_all(chunks: list[bytes]) -> list[Packet]:
    decoder, found = PacketDecoder(), []
    for chunk in chunks:
        found += decoder.packets(chunk)
    return found


def feed_exchange(chunks: list[bytes]) -> Exchange:
    exchange = Exchange("pw", "status")
    exchange.start()
    for chunk in chunks:
        if exchange.done:
            exchange.drain(chunk)
        else:
            exchange.receive(chunk)
    return exchange


packets = st.lists(
    st.builds(
        Packet,
        st.integers(-(2**31), 2**31 - 1),
        st.integers(-(2**31), 2**31 - 1),
        st.binary(max_size=300) | st.binary(min_size=MAX_BODY - 2, max_size=MAX_BODY),
    ),
    max_size=6,
)
cuts = st.lists(st.integers(min_value=0), max_size=30)


@FAST
@given(packets, cuts)
def test_it_decodes_valid_streams_the_same_in_any_chunking(expected, where):
    data = b"".join(encode(*packet) for packet in expected)
    assert decode_all(chunked(data, where)) == expected


@FAST
@given(st.binary(max_size=2000), cuts)
@example(b"\x00\x94\x35\x77", [])  # 2,000,000,000: refused from the size field alone
@example(b"\x0a\x00\x00\x00" + b"\x00" * 8 + b"\x0a", [1, 2, 3])
def test_it_raises_only_rcon_error_on_random_bytes(data, where):
    try:
        found = decode_all(chunked(data, where))
    except RconError:
        return
    assert len(b"".join(encode(*packet) for packet in found)) <= len(data)


@FAST
@given(st.binary(max_size=2000), cuts)
def test_it_survives_random_bytes_in_every_phase(data, where):
    auth = encode(AUTH_ID, 0) + encode(AUTH_ID, 2)
    for prefix in (b"", auth, auth + encode(COMMAND_ID, 0, b"x") + encode(MARKER_ID, 0)):
        try:
            exchange = feed_exchange(chunked(prefix + data, where))
        except RconError:
            continue
        assert isinstance(exchange.reply(), str)


reply_stream = st.lists(
    st.tuples(
        st.sampled_from([AUTH_ID, COMMAND_ID, MARKER_ID, -1, 0, 99]),
        st.sampled_from([0, 2, 3, 7]),
        st.binary(max_size=64) | st.just(TRAILER_BODY),
    ),
    max_size=10,
)


@FAST
@given(reply_stream, cuts)
def test_it_survives_plausible_but_wrong_packet_streams(stream, where):
    data = b"".join(encode(*packet) for packet in stream)
    try:
        exchange = feed_exchange(chunked(data, where))
    except RconError:
        return
    if exchange.done:  # then the reply is exactly the command's packets before the marker
        expected = b""
        for request_id, packet_type, body in stream:
            if (request_id, packet_type) == (MARKER_ID, 0):
                break
            expected += body if (request_id, packet_type) == (COMMAND_ID, 0) else b""
        assert exchange.reply() == expected.decode("utf-8", "replace")


def parse_or_rcon_error(text: str) -> None:
    try:
        status = parse_status(text)
    except RconError as exc:
        message = str(exc)
    else:
        message = ""
        assert isinstance(status, Status)
        assert all(int(entry.steam_id_64) >= BASE for entry in status.roster)
        assert all(entry.connected_seconds >= 0 for entry in status.roster)
    assert len(message) < 200  # the excerpt is shortened, whatever the text


@FAST
@given(st.text(max_size=800))
def test_it_parses_random_text_or_raises_rcon_error(text):
    parse_or_rcon_error(text)


status_like = st.lists(
    st.sampled_from(["map : x", "players : 1 humans, 0 bots (4 max)", "#end", '"', "# 2 1 ",
                     "STEAM_1:0:1", "[U:1:5]", "00:01", " 5 0 active", "BOT", "\n", "\r\n",
                     " ", "#", "99:99", "1:00:00", "STEAM_ID_PENDING", "(hibernating)"])
    | st.text(max_size=5),
    max_size=40,
).map("".join)  # fmt: skip


@FAST
@given(status_like)
def test_it_parses_status_like_fragments_or_raises_rcon_error(text):
    parse_or_rcon_error(text)


@FAST
@given(st.sampled_from(VALID), st.integers(0, 3000), st.integers(0, 300), st.text(max_size=30))
def test_it_survives_cut_and_spliced_replies(text, start, length, insert):
    parse_or_rcon_error(text[:start] + insert + text[start + length :])


@FAST
@given(st.sampled_from(VALID), st.integers(0, 3000))
def test_it_survives_truncated_replies(text, end):
    parse_or_rcon_error(text[:end])


@FAST
@given(st.sampled_from(VALID), st.lists(st.integers(0, 3000), max_size=10), st.characters())
def test_it_survives_character_swaps(text, positions, char):
    chars = list(text)
    for position in positions:
        if position < len(chars):
            chars[position] = char
    parse_or_rcon_error("".join(chars))


names = st.text(
    st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]), max_size=32
)
players = st.lists(
    st.tuples(
        names,
        st.integers(1, 2**32 - 1),  # account number W of [U:1:W]
        st.booleans(),  # print it as STEAM_1:Y:Z instead
        st.integers(0, 200 * 3600),
        st.integers(0, 999),
        st.booleans(),  # with the adr column
    ),
    max_size=8,
)


def connected_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"


@settings(max_examples=300, deadline=1000)
@given(players, st.integers(0, 3), st.booleans())
@example([('a" STEAM_1:0:1 00:01 5 0 active', 7, True, 61, 5, False)], 0, False)
@example([("  ", 2, False, 3600, 0, True)], 4, True)
def test_it_reads_back_every_field_of_generated_replies(roster, bots, crlf):
    lines = ["hostname: fuzz", "map     : c1m1_hotel",
             f"players : {len(roster)} humans, 0 bots (8 max) (not hibernating)", "",
             "# userid name uniqueid connected ping loss state rate adr"]  # fmt: skip
    lines += [f'#{20 + i} "Bot {i}" BOT active' for i in range(bots)]
    expected = []
    for slot, (name, account, as_steam2, seconds, ping, adr) in enumerate(roster, 1):
        uid = f"STEAM_1:{account % 2}:{account // 2}" if as_steam2 else f"[U:1:{account}]"
        row = f'# {slot + 1} {slot} "{name}" {uid} {connected_text(seconds)} {ping} 0 active 30000'
        lines.append(row + (f" 10.0.0.{slot}:27005" if adr else ""))
        # Names come back cleaned of control, format and bidi characters (SPEC 13).
        expected.append(RosterEntry(str(BASE + account), clean(name, NAME_LENGTH), seconds, ping))
    lines += ["#end", 'L 11/27/2026 - 10:00:00: rcon from "127.0.0.1:1": command "status"']
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    status = parse_status(text)
    assert (status.map, status.players, status.bots) == ("c1m1_hotel", len(roster), 0)
    assert status.roster == tuple(expected)
