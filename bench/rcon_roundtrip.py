"""Status queries per second with `aquery_status`, beside a raw-socket floor.

Runs a fake fleet in its own process, then at 1, 100 and 1,000 concurrent
servers measures full `aquery_status` round trips (connect, auth, status,
end marker, parse) and a minimal raw asyncio exchange of the same packets
with no parsing or safety checks. The ratio shows what the client's
robustness costs.

    .venv/bin/python bench/rcon_roundtrip.py
"""

from __future__ import annotations

import asyncio
import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._django import ROOT, machine
from left4me.rcon import aquery_status

SECONDS = 3.0
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


async def rate(servers: list[dict], one) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        await asyncio.gather(*(one(s["port"], s["password"]) for s in servers))
        done += len(servers)
    return done / (time.perf_counter() - started)


async def ours(port: int, password: str) -> None:
    await aquery_status("127.0.0.1", port, password, timeout=5)


def start_fleet(count: int) -> tuple[subprocess.Popen, list[dict]]:
    listing = Path(tempfile.mkdtemp()) / "servers.json"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "left4me.rcon.fleet", "--servers", str(count), "--horizon", "600",
         "--servers-out", str(listing)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    while not listing.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    return fleet, json.loads(listing.read_text())


def main() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fleet, servers = start_fleet(1000)
    try:
        print(f"machine: {machine()}")
        print(f"{'concurrent':>10} {'aquery_status/s':>16} {'raw floor/s':>12} {'ratio':>6}")
        for concurrent in (1, 100, 1000):
            subset = servers[:concurrent]
            floor = asyncio.run(rate(subset, raw_exchange))
            full = asyncio.run(rate(subset, ours))
            print(f"{concurrent:>10} {full:>16.0f} {floor:>12.0f} {full / floor:>6.2f}")
    finally:
        fleet.terminate()
        fleet.wait()


if __name__ == "__main__":
    main()
