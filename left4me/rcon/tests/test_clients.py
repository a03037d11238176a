"""Both clients over real loopback sockets against the fake fleet."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import pytest

from left4me.rcon import RconAuthError, RconError, aquery, aquery_status, query, query_status
from left4me.rcon.tests.conftest import players

HOST = "127.0.0.1"


def sync_status(server, timeout=2.0):
    return query_status(HOST, server.port, server.registered_password, timeout=timeout)


def async_status(server, timeout=2.0):
    return asyncio.run(
        aquery_status(HOST, server.port, server.registered_password, timeout=timeout)
    )


CLIENTS = [sync_status, async_status]


@pytest.mark.parametrize("status_of", CLIENTS)
def test_it_reads_status(fleet, status_of):
    handle = fleet({"name": "s", "password": "pw", "events": players(2)})
    handle.set_clock(65)
    status = status_of(handle.server("s"))
    assert status.players == 2
    assert [e.connected_seconds for e in status.roster] == [65, 65]


@pytest.mark.parametrize("status_of", CLIENTS)
@pytest.mark.parametrize("mode", ["split", "byte_at_a_time", ""])
def test_it_reads_a_long_reply_whole(fleet, status_of, mode):
    handle = fleet({"name": "s", "password": "pw", "max_players": 64, "failure": mode,
                    "events": players(64, long_names=True)})  # fmt: skip
    handle.set_clock(10)
    text = query(HOST, handle.server("s").port, "pw", "status", timeout=5)
    assert len(text.encode()) > 8192
    assert text.rstrip().endswith('command "status"')
    assert len(status_of(handle.server("s"), timeout=5).roster) == 64


@pytest.mark.parametrize("status_of", CLIENTS)
def test_it_raises_auth_error_and_tries_once(fleet, status_of):
    handle = fleet({"name": "s", "password": "pw", "failure": "wrong_password"})
    server = handle.server("s")
    with pytest.raises(RconAuthError) as caught:
        status_of(server)
    assert handle.server("s").auth_failures == 1
    assert server.registered_password not in str(caught.value)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("status_of", CLIENTS)
def test_it_fails_fast_on_a_huge_size_field(fleet, status_of):
    handle = fleet({"name": "s", "password": "pw", "failure": "garbage_size"})
    started = time.monotonic()
    with pytest.raises(RconError, match="size 2000000000 out of range"):
        status_of(handle.server("s"))
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("status_of", CLIENTS)
def test_it_fails_fast_when_refused(fleet, status_of):
    handle = fleet({"name": "s", "password": "pw", "failure": "refused"})
    started = time.monotonic()
    with pytest.raises(RconError, match="connection refused"):
        status_of(handle.server("s"))
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("status_of", CLIENTS)
@pytest.mark.parametrize("mode", ["blackhole", "slow"])
def test_it_costs_one_timeout_for_a_silent_server(fleet, status_of, mode):
    handle = fleet({"name": "s", "password": "pw", "failure": mode, "slow_seconds": 3})
    started = time.monotonic()
    with pytest.raises(RconError, match=r"timed out after 0\.5 s"):
        status_of(handle.server("s"), timeout=0.5)
    assert 0.45 < time.monotonic() - started < 1.0


def test_it_polls_many_servers_at_once_in_one_timeout(fleet):
    scenarios = [{"name": f"s{i}", "password": "pw", "failure": "blackhole" if i % 10 == 0 else ""}
                 for i in range(200)]  # fmt: skip
    handle = fleet(*scenarios)

    async def everyone():
        return await asyncio.gather(
            *(aquery_status(HOST, s.port, "pw", timeout=1.0) for s in handle.servers),
            return_exceptions=True,
        )

    started = time.monotonic()
    results = asyncio.run(everyone())
    elapsed = time.monotonic() - started
    assert sum(isinstance(r, RconError) for r in results) == 20
    assert sum(not isinstance(r, BaseException) for r in results) == 180
    assert elapsed < 2.5


def test_it_runs_other_commands(fleet):
    handle = fleet({"name": "s", "password": "pw", "events": players(1)})
    port = handle.server("s").port
    assert query(HOST, port, "pw", "foo bar", timeout=2) == 'Unknown command "foo"\n'
    assert "1 users" in asyncio.run(aquery(HOST, port, "pw", "users", timeout=2))


def test_it_rejects_a_non_positive_timeout():
    with pytest.raises(ValueError, match="positive"):
        query(HOST, 1, "pw", "status", timeout=0)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_it_closes_every_socket(fleet):
    handle = fleet(
        {"name": "ok", "password": "pw"}, {"name": "bad", "password": "pw", "failure": "wrong_password"},
        {"name": "junk", "password": "pw", "failure": "garbage_size"},
        {"name": "hole", "password": "pw", "failure": "blackhole"},
        {"name": "gone", "password": "pw", "failure": "refused"},
    )  # fmt: skip
    for status_of in CLIENTS:
        status_of(handle.server("ok"))  # warm up lazily created loop resources
    before = open_fds()
    for _ in range(5):
        for server in handle.servers:
            for status_of in CLIENTS:
                with contextlib.suppress(RconError):
                    status_of(server, timeout=0.2)
    time.sleep(0.1)
    assert open_fds() <= before + 1
