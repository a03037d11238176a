"""Both clients over real loopback sockets: every test here runs once per client.

The blocking and the asyncio client drive the same Exchange and promise the
same behaviour, so one test proves it for both. Client-specific behaviour
lives in test_aclient.py (the blocking client has none of its own).
"""

from __future__ import annotations

import math
import queue
import socket
import struct
import time
import traceback

import pytest

from left4me.rcon import RconAuthError, RconError, RconNetworkError, RconProtocolError
from left4me.rcon.exchange import COMMAND_ID, MARKER_ID, TRAILER_BODY
from left4me.rcon.fleet import render_status
from left4me.rcon.packets import encode
from left4me.rcon.tests.helpers import (
    BASE,
    CLIENTS,
    ENDINGS,
    HANGUP_DEADLINE,
    HOST,
    Client,
    authenticate,
    hold,
    outcome,
    players,
    read_packets,
    refused_port,
    resource_warnings,
    spec,
    timed,
    witnessed,
)

SECRET = "correct-horse-battery-staple"
LONG = 10.0  # a timeout no passing query comes near


@pytest.fixture(params=["sync", "async"])
def rcon(request) -> Client:
    return CLIENTS[request.param]


def status_of(rcon: Client, server, timeout: float = LONG):
    return rcon.query_status(HOST, server.port, server.registered_password, timeout=timeout)


def run(rcon: Client, port: int, command: str = "x", *, timeout: float = LONG) -> str:
    return rcon.query(HOST, port, "pw", command, timeout=timeout)


def not_waited_for(elapsed: float, timeout: float = LONG) -> bool:
    """Done in under a quarter of its timeout: it did not wait for it, however loaded the machine."""
    return elapsed < timeout / 4


# The fake fleet


def test_it_reads_status(rcon, fleet):
    handle = fleet(spec(events=players(2, at=5), max_players=4))
    handle.set_clock(70)
    status = status_of(rcon, handle.server("s"))
    assert (status.map, status.players, status.bots, status.max_players) == ("c1m1_hotel", 2, 0, 4)
    assert status.hibernating is False
    assert [(e.steam_id_64, e.name, e.connected_seconds) for e in status.roster] == [
        (str(BASE + 1000), "p0", 65),
        (str(BASE + 1001), "p1", 65),
    ]
    assert all(abs(e.ping - 40 - i) <= 3 for i, e in enumerate(status.roster))


def test_it_reads_a_hibernating_server(rcon, fleet):
    handle = fleet(spec())
    status = status_of(rcon, handle.server("s"))
    assert (status.players, status.hibernating, status.roster) == (0, True, ())


@pytest.mark.parametrize("mode", ["", "split", "byte_at_a_time"])
def test_it_reads_a_status_over_8_kib_whole(rcon, fleet, mode):
    handle = fleet(spec(failure=mode, max_players=32, events=players(32, long_names=True)))
    handle.set_clock(10)
    server = handle.server("s")
    text = run(rcon, server.port, "status")
    assert len(text.encode()) > 8192
    assert text.count('" STEAM_1:') == 32
    assert "#end\n" in text
    assert text.endswith('command "status"\n')
    rendered = render_status(server, handle.now())  # what the fleet meant to send
    assert text.splitlines()[:-1] == rendered.splitlines()[:-1]  # the last has a clock stamp
    names = [entry.name for entry in status_of(rcon, server).roster]
    assert names == [event["name"] for event in players(32, long_names=True)]


def test_it_raises_auth_error_after_exactly_one_try(rcon, fleet):
    handle = fleet(spec(password=SECRET, failure="wrong_password"))
    with pytest.raises(RconAuthError) as caught:
        status_of(rcon, handle.server("s"))
    assert handle.server("s").auth_failures == 1
    assert SECRET not in str(caught.value)


def test_it_counts_no_failure_for_the_right_password(rcon, fleet):
    handle = fleet(spec())
    status_of(rcon, handle.server("s"))
    assert handle.server("s").auth_failures == 0


def test_it_fails_fast_on_a_huge_size_field(rcon, fleet):
    handle = fleet(spec(failure="garbage_size"))
    with pytest.raises(RconProtocolError, match="size 2000000000 out of range") as caught:
        timed(status_of, rcon, handle.server("s"))
    assert not_waited_for(caught.value.elapsed)  # type: ignore[attr-defined]  # set by timed()


def test_it_fails_fast_when_refused(rcon, fleet):
    handle = fleet(spec(failure="refused"))
    with pytest.raises(RconNetworkError, match="connection refused") as caught:
        timed(status_of, rcon, handle.server("s"))
    assert not_waited_for(caught.value.elapsed)  # type: ignore[attr-defined]  # set by timed()


@pytest.mark.parametrize("mode", ["blackhole", "slow"])
def test_it_costs_one_timeout_for_a_silent_server(rcon, fleet, mode):
    """One deadline for the whole query: never less, never one more per phase."""
    handle = fleet(spec(failure=mode, slow_seconds=5))
    with pytest.raises(RconNetworkError, match=r"timed out after 1 s") as caught:
        timed(status_of, rcon, handle.server("s"), timeout=1.0)
    assert 1.0 <= caught.value.elapsed < 2.0  # type: ignore[attr-defined]  # set by timed()


def test_it_waits_for_a_slow_server_within_the_timeout(rcon, fleet):
    handle = fleet(spec(failure="slow", slow_seconds=0.3, events=players(1)))
    status, elapsed = timed(status_of, rcon, handle.server("s"))
    assert len(status.roster) == 1
    assert elapsed >= 0.3  # the reply really was slow, and still read


def test_it_runs_other_commands(rcon, fleet):
    handle = fleet(spec(events=players(2)))
    port = handle.server("s").port
    users = run(rcon, port, "users")
    assert users.splitlines()[-1] == "2 users"
    assert f'{BASE + 1001}:"p1"' in users
    assert run(rcon, port, "foo bär 🧟") == 'Unknown command "foo"\n'


@pytest.mark.parametrize("timeout", [0, -1, math.nan])
def test_it_rejects_a_non_positive_timeout(rcon, timeout):
    with pytest.raises(ValueError, match="positive"):
        run(rcon, 1, timeout=timeout)


def test_it_never_shows_the_password_in_an_error(rcon, fleet):
    handle = fleet(*(spec(mode, password=SECRET, failure=mode, slow_seconds=3) for mode in
                     ("wrong_password", "garbage_size", "blackhole", "refused", "slow")))  # fmt: skip
    for server in handle.servers:
        with pytest.raises(RconError) as caught:
            status_of(rcon, server, timeout=0.3)
        assert SECRET not in "".join(traceback.format_exception(caught.value))
        assert SECRET not in repr(caught.value)
    with pytest.raises(RconError, match="too long") as caught:
        rcon.query(HOST, handle.server("blackhole").port, SECRET * 200, "status", timeout=1)
    assert SECRET not in str(caught.value)


# Raw peers: wire situations the fleet does not produce


@pytest.mark.filterwarnings("error::ResourceWarning")
def test_it_closes_every_socket(rcon, raw_peer):
    """However a query ends, we close its socket ourselves, before returning or raising.

    Seen from the peer (it watches for our hang-up) and from the garbage
    collector (nothing left unclosed), never by counting descriptors of a
    process that also hosts the servers.
    """
    hangups: queue.Queue = queue.Queue()
    with resource_warnings() as leaks, refused_port() as refused:
        for name, ending in ENDINGS.items():
            port = raw_peer(witnessed(name, ending, hangups))
            result = outcome(rcon.query, HOST, port, "pw", "status", timeout=ending.timeout)
            assert isinstance(result, ending.outcome), (name, result)
        assert "refused" in str(outcome(run, rcon, refused))
    assert leaks == []
    watched = [name for name, ending in ENDINGS.items() if ending.peer_waits]
    seen = dict(hangups.get(timeout=2 * HANGUP_DEADLINE) for _ in watched)
    assert seen == dict.fromkeys(watched, True)


def test_it_completes_without_the_trailer(rcon, raw_peer):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"part one ") + encode(command.id, 0, b"part two"))
        conn.sendall(encode(marker.id, 0))  # the mirror, never the trailer
        hold(conn)

    reply, elapsed = timed(run, rcon, raw_peer(script), "echo")
    assert reply == "part one part two"
    assert not_waited_for(elapsed)  # waits TRAILER_GRACE (0.05 s) at most, not the timeout


def test_it_skips_stray_packets_with_other_ids(rcon, raw_peer):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(999, 0, b"log noise") + encode(command.id, 0, b"ans"))
        conn.sendall(encode(0, 0, b"more noise") + encode(command.id, 0, b"wer"))
        conn.sendall(encode(marker.id, 0) + encode(marker.id, 0, TRAILER_BODY))
        hold(conn)

    assert run(rcon, raw_peer(script)) == "answer"


def test_it_reads_a_reply_coalesced_with_the_auth_response(rcon, raw_peer):
    def script(conn, decoder):
        [auth] = read_packets(conn, decoder, 1)
        conn.sendall(  # everything at once, ids guessed ahead of the command
            encode(auth.id, 0) + encode(auth.id, 2) + encode(COMMAND_ID, 0, b"early ")
            + encode(COMMAND_ID, 0, b"bird") + encode(MARKER_ID, 0)
            + encode(MARKER_ID, 0, TRAILER_BODY)
        )  # fmt: skip
        hold(conn)

    reply, elapsed = timed(run, rcon, raw_peer(script))
    assert reply == "early bird"
    assert not_waited_for(elapsed)  # nothing more arrives: it must not wait for more


def test_it_tolerates_junk_after_a_complete_reply(rcon, raw_peer):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"fine") + encode(marker.id, 0))
        conn.sendall(struct.pack("<i", 2_000_000_000) + b"junk")
        hold(conn)

    assert run(rcon, raw_peer(script)) == "fine"


@pytest.mark.parametrize("cut", [9, 20])
def test_it_fails_when_the_peer_closes_mid_reply(rcon, raw_peer, cut):
    def script(conn, decoder):
        command, _ = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"half a reply")[:cut])

    with pytest.raises(RconError, match="closed by peer while reading the reply") as caught:
        timed(run, rcon, raw_peer(script))
    assert not_waited_for(caught.value.elapsed)  # type: ignore[attr-defined]  # set by timed()


def test_it_fails_when_the_peer_closes_before_answering_auth(rcon, raw_peer):
    def script(conn, decoder):
        read_packets(conn, decoder, 1)

    with pytest.raises(RconError, match="closed by peer while authenticating"):
        run(rcon, raw_peer(script))


def test_it_fails_when_the_peer_resets(rcon, raw_peer):
    def script(conn, decoder):
        authenticate(conn, decoder)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with pytest.raises(RconError, match=r"reset|closed by peer"):
        run(rcon, raw_peer(script))


def test_it_fails_fast_on_a_huge_size_field_from_a_raw_peer(rcon, raw_peer):
    def script(conn, decoder):
        read_packets(conn, decoder, 1)
        conn.sendall(struct.pack("<i", 2_000_000_000))  # just the size field, then silence
        hold(conn)

    with pytest.raises(RconError, match="out of range") as caught:
        timed(run, rcon, raw_peer(script))
    assert not_waited_for(caught.value.elapsed)  # type: ignore[attr-defined]  # set by timed()


def test_it_caps_the_total_reply_at_one_mebibyte(rcon, raw_peer):
    def script(conn, decoder):
        command, _ = authenticate(conn, decoder)
        chunk = encode(command.id, 0, b"x" * 4000) * 16
        for _ in range(25):  # 1.6 MB, over the 1 MiB cap
            conn.sendall(chunk)
        hold(conn)

    with pytest.raises(RconError, match="exceeds 1048576 bytes") as caught:
        timed(run, rcon, raw_peer(script))
    assert not_waited_for(caught.value.elapsed)  # type: ignore[attr-defined]  # set by timed()


def test_it_keeps_one_deadline_while_a_peer_trickles(rcon, raw_peer):
    """Each read succeeds, none ends the reply: only a whole-query deadline stops it."""
    trickle = 5.0  # seconds of stray packets: a per-read timeout would last all of them

    def script(conn, decoder):
        authenticate(conn, decoder)
        for _ in range(int(trickle / 0.05)):  # a stray packet every 50 ms
            conn.sendall(encode(77, 0, b"."))
            time.sleep(0.05)

    with pytest.raises(RconError, match=r"timed out after 0\.5 s") as caught:
        timed(run, rcon, raw_peer(script), timeout=0.5)
    assert 0.5 <= caught.value.elapsed < trickle / 2  # type: ignore[attr-defined]  # set by timed()
