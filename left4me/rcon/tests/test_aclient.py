"""What only the asyncio client does: many queries in one gather, and cancellation.

Everything both clients promise is tested once for each in test_query.py.
"""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

from left4me.rcon import RconError, Status, aquery, aquery_status
from left4me.rcon.tests.helpers import (
    ENDINGS,
    HANGUP_DEADLINE,
    HOST,
    client_hung_up,
    players,
    read_packets,
    resource_warnings,
    spec,
    timed,
    witnessed,
)


def test_it_polls_200_servers_in_one_gather_in_about_one_timeout(fleet):
    """20 black holes cost one timeout together, not 20 in a row, and spoil no other answer."""
    handle = fleet(*(spec(f"s{i}", failure="blackhole" if i % 10 == 3 else "",
                          events=players(i % 4)) for i in range(200)))  # fmt: skip

    async def everyone():
        return await asyncio.gather(
            *(aquery_status(HOST, s.port, "pw", timeout=1.0) for s in handle.servers),
            return_exceptions=True,
        )

    results, elapsed = timed(asyncio.run, everyone())
    assert elapsed < 5  # one after another, the black holes alone would take 20 s
    for index, result in enumerate(results):
        if index % 10 == 3:
            assert isinstance(result, RconError)
            assert "timed out after 1 s" in str(result)
        else:
            assert isinstance(result, Status), result
            assert len(result.roster) == index % 4


def test_it_is_cancelled_cleanly(raw_peer):
    """Cancelling mid-query raises CancelledError at once and hangs up the connection."""
    hangups: queue.Queue[bool]
    asked, hangups = threading.Event(), queue.Queue()

    def script(conn, decoder):
        read_packets(conn, decoder, 1)
        asked.set()  # the query is waiting for an answer that never comes
        hangups.put(client_hung_up(conn))

    port = raw_peer(script)

    async def cancel_once_asked():
        task = asyncio.create_task(aquery_status(HOST, port, "pw", timeout=10))
        assert await asyncio.to_thread(asked.wait, HANGUP_DEADLINE), "the query never arrived"
        cancelled_at = asyncio.get_running_loop().time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.get_running_loop().time() - cancelled_at

    with resource_warnings() as leaks:
        waited = asyncio.run(cancel_once_asked())
    assert waited < 10 / 4  # gave up at once, did not sit out its timeout
    assert leaks == []
    assert hangups.get(timeout=2 * HANGUP_DEADLINE) is True


@pytest.mark.filterwarnings("error::ResourceWarning")
def test_it_closes_every_socket_in_one_gather(raw_peer):
    """Every ending at once in one loop: each socket is still closed by us, none left to gc."""
    hangups: queue.Queue = queue.Queue()
    ports = {name: raw_peer(witnessed(name, ending, hangups)) for name, ending in ENDINGS.items()}

    async def everyone():
        return await asyncio.gather(
            *(aquery(HOST, ports[name], "pw", "status", timeout=ending.timeout)
              for name, ending in ENDINGS.items()),
            return_exceptions=True,
        )  # fmt: skip

    with resource_warnings() as leaks:
        results = asyncio.run(everyone())
    for (name, ending), result in zip(ENDINGS.items(), results, strict=True):
        assert isinstance(result, ending.outcome), (name, result)
    assert leaks == []
    watched = [name for name, ending in ENDINGS.items() if ending.peer_waits]
    seen = dict(hangups.get(timeout=2 * HANGUP_DEADLINE) for _ in watched)
    assert seen == dict.fromkeys(watched, True)
