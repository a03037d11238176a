"""Many fake servers in one asyncio loop, on a shared clock.

The clock is "virtual" (tests set it, so a 30-minute timeline runs in a
second) or "real" (seconds since the fleet started). Listeners follow the
timelines: a server that is down "refused" has its port closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from left4me.rcon.fleet.server import Connection, FakeServer

HOST = "127.0.0.1"
SYNC_INTERVAL = 0.2  # real clock: how often listeners follow the timelines


class Clock:
    """Seconds since scenario start; virtual clocks only move when told."""

    def __init__(self, kind: str = "virtual") -> None:
        if kind not in ("virtual", "real"):
            raise ValueError("clock must be 'virtual' or 'real'")
        self.kind = kind
        self._start = time.monotonic()
        self._virtual = 0.0

    def now(self) -> float:
        return self._virtual if self.kind == "virtual" else time.monotonic() - self._start


def free_ports(count: int) -> list[int]:
    """Distinct free ports: all bound at once, so none is handed out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


class Fleet:
    def __init__(
        self,
        servers: list[FakeServer],
        *,
        clock: str = "virtual",
        base_port: int = 0,
        ports_assigned: bool = False,
    ) -> None:
        self.servers = servers
        self.clock = Clock(clock)
        self._listeners: dict[int, asyncio.Server] = {}
        self._connections: set[asyncio.Task] = set()
        if not ports_assigned:
            ports = (
                range(base_port, base_port + len(servers))
                if base_port
                else free_ports(len(servers))
            )
            for server, port in zip(servers, ports, strict=True):
                server.port = port

    async def start(self) -> None:
        await self.sync()

    async def sync(self) -> None:
        """Open or close each listener to match the timelines at the current time."""
        now = self.clock.now()
        for server in self.servers:
            server.timeline.advance(now)
            wanted = server.failure != "refused" and server.timeline.unreachable(now) != "refused"
            listening = server.port in self._listeners
            if wanted and not listening:
                self._listeners[server.port] = await asyncio.start_server(
                    self._handler(server), HOST, server.port, reuse_address=True, backlog=512
                )
            elif listening and not wanted:
                self._listeners.pop(server.port).close()

    def _handler(
        self, server: FakeServer
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None  # asyncio runs each connection's handler in a task
            self._connections.add(task)
            try:
                await Connection(server, self.clock.now).serve(reader, writer)
            finally:
                self._connections.discard(task)

        return handle

    async def run_real_clock(self) -> None:
        while True:
            await asyncio.sleep(SYNC_INTERVAL)
            await self.sync()

    async def stop(self) -> None:
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def truth(self) -> list[dict]:
        """Every player session played so far (clock seconds; left_at None while on)."""
        now = self.clock.now()
        rows = []
        for server in self.servers:
            server.timeline.advance(now)
            rows += [
                {"server": server.name, "port": server.port, "steam_id_64": s.steam_id_64,
                 "name": s.name, "joined_at": s.joined_at, "left_at": s.left_at}
                for s in server.timeline.truth
            ]  # fmt: skip
        return rows

    def answers(self) -> dict[str, list[float]]:
        """When each server that keeps them answered `status` (clock seconds, in order)."""
        return {s.name: list(s.answers) for s in self.servers if s.answers is not None}

    def write_truth(self, path: Path) -> None:
        path.write_text(json.dumps(self.truth(), indent=1, ensure_ascii=False))


class FleetHandle:
    """A fleet running in a background thread, driven from synchronous code."""

    def __init__(self, fleet: Fleet, loop: asyncio.AbstractEventLoop) -> None:
        self.fleet = fleet
        self.loop = loop

    @property
    def servers(self) -> list[FakeServer]:
        return self.fleet.servers

    def server(self, name: str) -> FakeServer:
        return next(s for s in self.fleet.servers if s.name == name)

    def now(self) -> float:
        return self.fleet.clock.now()

    def set_clock(self, t: float) -> None:
        """Move the virtual clock (never backwards) and let listeners follow."""
        self.fleet.clock._virtual = max(self.fleet.clock._virtual, t)
        self.call(self.fleet.sync())

    def advance(self, seconds: float) -> None:
        self.set_clock(self.now() + seconds)

    def truth(self) -> list[dict]:
        return self.call(self._truth())

    async def _truth(self) -> list[dict]:
        return self.fleet.truth()

    def answers(self) -> dict[str, list[float]]:
        return self.call(self._answers())

    async def _answers(self) -> dict[str, list[float]]:
        return self.fleet.answers()

    def call[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


@contextlib.contextmanager
def running_fleet(
    servers: list[FakeServer], *, clock: str = "virtual", base_port: int = 0
) -> Iterator[FleetHandle]:
    """Run a fleet in a daemon thread for the duration of the block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-fleet", daemon=True)
    thread.start()
    fleet = Fleet(servers, clock=clock, base_port=base_port)
    handle = FleetHandle(fleet, loop)
    ticker = None
    try:
        handle.call(fleet.start())
        if clock == "real":
            ticker = asyncio.run_coroutine_threadsafe(fleet.run_real_clock(), loop)
        yield handle
    finally:
        if ticker is not None:
            ticker.cancel()
        handle.call(fleet.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


async def serve_forever(
    servers: list[FakeServer],
    *,
    base_port: int = 0,
    ports_assigned: bool = False,
    truth_out: Path | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run a real-clock fleet until cancelled (the `simulate_servers` command).

    `started` is set once every listener is open, so the ports can be announced.
    """
    fleet = Fleet(servers, clock="real", base_port=base_port, ports_assigned=ports_assigned)
    await fleet.start()
    if started is not None:
        started.set()
    try:
        await fleet.run_real_clock()
    finally:
        await fleet.stop()
        if truth_out is not None:
            fleet.write_truth(truth_out)
