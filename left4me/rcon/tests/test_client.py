"""The blocking client over real loopback sockets: the fake fleet and raw peers."""

from __future__ import annotations

import contextlib
import gc
import math
import socket
import struct
import time
import traceback

import pytest

from left4me.rcon import RconAuthError, RconError, query, query_status
from left4me.rcon.exchange import COMMAND_ID, MARKER_ID, TRAILER_BODY
from left4me.rcon.fleet import render_status
from left4me.rcon.packets import encode
from left4me.rcon.tests.conftest import (
    BASE,
    HOST,
    authenticate,
    hold,
    leak_detector,
    open_fds,
    players,
    read_packets,
    spec,
    timed,
)

SECRET = "correct-horse-battery-staple"


def status_of(server, timeout=2.0):
    return query_status(HOST, server.port, server.registered_password, timeout=timeout)


# The fake fleet


def test_it_reads_status(fleet):
    handle = fleet(spec(events=players(2, at=5), max_players=4))
    handle.set_clock(70)
    status = status_of(handle.server("s"))
    assert (status.map, status.players, status.bots, status.max_players) == ("c1m1_hotel", 2, 0, 4)
    assert status.hibernating is False
    assert [(e.steam_id_64, e.name, e.connected_seconds) for e in status.roster] == [
        (str(BASE + 1000), "p0", 65),
        (str(BASE + 1001), "p1", 65),
    ]
    assert all(abs(e.ping - 40 - i) <= 3 for i, e in enumerate(status.roster))


def test_it_reads_a_hibernating_server(fleet):
    handle = fleet(spec())
    status = status_of(handle.server("s"))
    assert (status.players, status.hibernating, status.roster) == (0, True, ())


@pytest.mark.parametrize("mode", ["", "split", "byte_at_a_time"])
def test_it_reads_a_status_over_8_kib_whole(fleet, mode):
    handle = fleet(spec(failure=mode, max_players=32, events=players(32, long_names=True)))
    handle.set_clock(10)
    server = handle.server("s")
    text = query(HOST, server.port, server.registered_password, "status", timeout=5)
    assert len(text.encode()) > 8192
    assert text.count('" STEAM_1:') == 32
    assert "#end\n" in text
    assert text.endswith('command "status"\n')
    rendered = render_status(server, handle.now())  # what the fleet meant to send
    assert text.splitlines()[:-1] == rendered.splitlines()[:-1]  # the last has a clock stamp
    names = [entry.name for entry in status_of(server, timeout=5).roster]
    assert names == [event["name"] for event in players(32, long_names=True)]


def test_it_raises_auth_error_after_exactly_one_try(fleet):
    handle = fleet(spec(password=SECRET, failure="wrong_password"))
    with pytest.raises(RconAuthError) as caught:
        status_of(handle.server("s"))
    assert handle.server("s").auth_failures == 1
    assert SECRET not in str(caught.value)


def test_it_counts_no_failure_for_the_right_password(fleet):
    handle = fleet(spec())
    status_of(handle.server("s"))
    assert handle.server("s").auth_failures == 0


def test_it_fails_fast_on_a_huge_size_field(fleet):
    handle = fleet(spec(failure="garbage_size"))
    with pytest.raises(RconError, match="size 2000000000 out of range") as caught:
        timed(status_of, handle.server("s"))
    assert caught.value.elapsed < 0.5


def test_it_fails_fast_when_refused(fleet):
    handle = fleet(spec(failure="refused"))
    with pytest.raises(RconError, match="connection refused") as caught:
        timed(status_of, handle.server("s"))
    assert caught.value.elapsed < 0.5


@pytest.mark.parametrize("mode", ["blackhole", "slow"])
def test_it_costs_one_timeout_for_a_silent_server(fleet, mode):
    handle = fleet(spec(failure=mode, slow_seconds=3))
    with pytest.raises(RconError, match=r"timed out after 0\.5 s") as caught:
        timed(status_of, handle.server("s"), timeout=0.5)
    assert 0.5 <= caught.value.elapsed < 1.0


def test_it_waits_for_a_slow_server_within_the_timeout(fleet):
    handle = fleet(spec(failure="slow", slow_seconds=0.3, events=players(1)))
    status, elapsed = timed(status_of, handle.server("s"), timeout=2)
    assert len(status.roster) == 1
    assert 0.3 <= elapsed < 1.5


def test_it_runs_other_commands(fleet):
    handle = fleet(spec(events=players(2)))
    server = handle.server("s")
    users = query(HOST, server.port, "pw", "users", timeout=2)
    assert users.splitlines()[-1] == "2 users"
    assert f'{BASE + 1001}:"p1"' in users
    unknown = query(HOST, server.port, "pw", "foo bär 🧟", timeout=2)
    assert unknown == 'Unknown command "foo"\n'


@pytest.mark.parametrize("timeout", [0, -1, math.nan])
def test_it_rejects_a_non_positive_timeout(timeout):
    with pytest.raises(ValueError, match="positive"):
        query(HOST, 1, "pw", "status", timeout=timeout)


def test_it_never_shows_the_password_in_an_error(fleet):
    handle = fleet(*(spec(mode, password=SECRET, failure=mode, slow_seconds=3) for mode in
                     ("wrong_password", "garbage_size", "blackhole", "refused", "slow")))  # fmt: skip
    for server in handle.servers:
        with pytest.raises(RconError) as caught:
            status_of(server, timeout=0.3)
        text = "".join(traceback.format_exception(caught.value))
        assert SECRET not in text
        assert SECRET not in repr(caught.value)
    with pytest.raises(RconError, match="too long") as caught:
        query(HOST, handle.server("blackhole").port, SECRET * 200, "status", timeout=1)
    assert SECRET not in str(caught.value)


@pytest.mark.filterwarnings("error::ResourceWarning")
@pytest.mark.timeout(30)
def test_it_closes_every_socket(fleet):
    modes = ("", "wrong_password", "garbage_size", "blackhole", "refused", "split")
    handle = fleet(*(spec(mode or "ok", failure=mode, events=players(3)) for mode in modes))
    status_of(handle.server("ok"))  # warm up anything created lazily
    recorder, found = leak_detector()
    try:
        before = open_fds()
        for _ in range(10):
            for server in handle.servers:
                with contextlib.suppress(RconError):
                    status_of(server, timeout=0.1)
        gc.collect()
        after = open_fds()
    finally:
        recorder.__exit__(None, None, None)
    assert [str(w.message) for w in found if issubclass(w.category, ResourceWarning)] == []
    assert after <= before


# Raw peers: wire situations the fleet does not produce


def test_it_completes_without_the_trailer(raw_peer):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"part one ") + encode(command.id, 0, b"part two"))
        conn.sendall(encode(marker.id, 0))  # the mirror, never the trailer
        hold(conn)

    reply, elapsed = timed(query, HOST, raw_peer(script), "pw", "echo", timeout=3)
    assert reply == "part one part two"
    assert elapsed < 0.35  # waits TRAILER_GRACE (0.05 s) at most, not the timeout


def test_it_skips_stray_packets_with_other_ids(raw_peer):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(999, 0, b"log noise") + encode(command.id, 0, b"ans"))
        conn.sendall(encode(0, 0, b"more noise") + encode(command.id, 0, b"wer"))
        conn.sendall(encode(marker.id, 0) + encode(marker.id, 0, TRAILER_BODY))
        hold(conn)

    assert query(HOST, raw_peer(script), "pw", "x", timeout=2) == "answer"


def test_it_reads_a_reply_coalesced_with_the_auth_response(raw_peer):
    def script(conn, decoder):
        [auth] = read_packets(conn, decoder, 1)
        conn.sendall(  # everything at once, ids guessed ahead of the command
            encode(auth.id, 0) + encode(auth.id, 2) + encode(COMMAND_ID, 0, b"early ")
            + encode(COMMAND_ID, 0, b"bird") + encode(MARKER_ID, 0)
            + encode(MARKER_ID, 0, TRAILER_BODY)
        )  # fmt: skip
        hold(conn)

    reply, elapsed = timed(query, HOST, raw_peer(script), "pw", "x", timeout=2)
    assert reply == "early bird"
    assert elapsed < 0.3


def test_it_tolerates_junk_after_a_complete_reply(raw_peer):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"fine") + encode(marker.id, 0))
        conn.sendall(struct.pack("<i", 2_000_000_000) + b"junk")
        hold(conn)

    assert query(HOST, raw_peer(script), "pw", "x", timeout=2) == "fine"


@pytest.mark.parametrize("cut", [9, 20])
def test_it_fails_when_the_peer_closes_mid_reply(raw_peer, cut):
    def script(conn, decoder):
        command, _ = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"half a reply")[:cut])

    with pytest.raises(RconError, match="closed by peer while reading the reply") as caught:
        timed(query, HOST, raw_peer(script), "pw", "x", timeout=2)
    assert caught.value.elapsed < 0.5


def test_it_fails_when_the_peer_closes_before_answering_auth(raw_peer):
    def script(conn, decoder):
        read_packets(conn, decoder, 1)

    with pytest.raises(RconError, match="closed by peer while authenticating"):
        query(HOST, raw_peer(script), "pw", "x", timeout=2)


def test_it_fails_when_the_peer_resets(raw_peer):
    def script(conn, decoder):
        authenticate(conn, decoder)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with pytest.raises(RconError, match=r"reset|closed by peer"):
        query(HOST, raw_peer(script), "pw", "x", timeout=2)


def test_it_caps_the_total_reply_at_one_mebibyte(raw_peer):
    def script(conn, decoder):
        command, _ = authenticate(conn, decoder)
        chunk = encode(command.id, 0, b"x" * 4000) * 16
        for _ in range(25):  # 1.6 MB, over the 1 MiB cap
            conn.sendall(chunk)
        hold(conn)

    with pytest.raises(RconError, match="exceeds 1048576 bytes") as caught:
        timed(query, HOST, raw_peer(script), "pw", "x", timeout=5)
    assert caught.value.elapsed < 2


def test_it_keeps_one_deadline_while_a_peer_trickles(raw_peer):
    def script(conn, decoder):
        authenticate(conn, decoder)
        for _ in range(50):  # a stray packet every 50 ms: each read succeeds, none ends it
            conn.sendall(encode(77, 0, b"."))
            time.sleep(0.05)

    with pytest.raises(RconError, match=r"timed out after 0\.5 s") as caught:
        timed(query, HOST, raw_peer(script), "pw", "x", timeout=0.5)
    assert 0.5 <= caught.value.elapsed < 0.9
