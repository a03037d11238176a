"""Status queries per second with `aquery_status`, beside a raw-socket floor.

Runs a fake fleet in its own process (`python -m left4me.rcon.fleet`), then at
1, 100 and 1,000 concurrent servers measures full `aquery_status` round trips
(connect, auth, status, end marker, trailer, parse) and a minimal raw asyncio
exchange of the same packets with no parsing or safety checks. Each side gets
a warm-up round, then the better of two interleaved timed runs. The ratio shows what the
client's robustness costs; both share the machine with the fleet process.

    .venv/bin/python bench/rcon_roundtrip.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import machine
from bench._fleet import raise_nofile, start_fleet
from left4me.rcon import Status, aquery_status

CONCURRENCY = (1, 100, 1000)
HEADER = struct.Struct("<iii")


def packet(request_id: int, kind: int, body: bytes = b"") -> bytes:
    return HEADER.pack(len(body) + 10, request_id, kind) + body + b"\0\0"


async def raw_exchange(port: int, password: str) -> None:
    """The floor: same packets, read until the marker's mirror, nothing checked."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(packet(1, 3, password.encode()))
        await read_until(reader, request_id=1, kind=2)
        writer.write(packet(2, 2, b"status") + packet(3, 0))
        await read_until(reader, request_id=3, kind=0)
    finally:
        writer.transport.abort()


async def read_until(reader: asyncio.StreamReader, *, request_id: int, kind: int) -> None:
    while True:
        size, got_id, got_kind = HEADER.unpack(await reader.readexactly(12))
        await reader.readexactly(size - 8)
        if (got_id, got_kind) == (request_id, kind):
            return


async def ours(port: int, password: str) -> None:
    status = await aquery_status("127.0.0.1", port, password, timeout=5)
    assert isinstance(status, Status)


async def rate(
    servers: list[dict], one: Callable[[int, str], Awaitable[None]], seconds: float
) -> float:
    """Queries per second: rounds of one query per server, all at once."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await asyncio.gather(*(one(s["port"], s["password"]) for s in servers))
        done += len(servers)
    return done / (time.perf_counter() - started)


def compare(servers: list[dict], seconds: float) -> tuple[float, float]:
    """Best of two interleaved runs each (floor, ours, floor, ours) after a warm-up."""
    best = {raw_exchange: 0.0, ours: 0.0}
    for one in best:
        asyncio.run(rate(servers, one, 0))  # one warm-up round
    for _ in range(2):
        for one in best:
            best[one] = max(best[one], asyncio.run(rate(servers, one, seconds / 2)))
    return best[ours], best[raw_exchange]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per cell")
    args = parser.parse_args()
    soft, _ = raise_nofile()
    fleet, servers = start_fleet(max(CONCURRENCY))
    try:
        host, port, password = "127.0.0.1", servers[0]["port"], servers[0]["password"]
        sample = asyncio.run(aquery_status(host, port, password, timeout=5))
        print(f"machine: {machine()}")
        print(f"open files limit: {soft}; fleet: {len(servers)} fake servers in a separate process")
        print(f"sample status: {sample.players} humans of {sample.max_players}, map {sample.map}")
        print(f"{'concurrent':>10} {'aquery_status/s':>16} {'raw floor/s':>12} {'ratio':>6}")
        for concurrent in CONCURRENCY:
            subset = servers[:concurrent]
            full, floor = compare(subset, args.seconds)
            print(f"{concurrent:>10} {full:>16.0f} {floor:>12.0f} {full / floor:>6.2f}", flush=True)
    finally:
        fleet.terminate()
        fleet.wait()


if __name__ == "__main__":
    main()
