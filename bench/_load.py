"""A small HTTP/1.1 load generator for bench/viewers.py: keep-alive clients on asyncio.

Each client holds one connection and sends the live panel's refresh as a
browser's htmx would: HX-Request, and the X-Live-Version of the panel it
has. A 200 carries a new panel, and the client takes the version from its
hx-headers, as htmx swaps it in. A response with "Connection: close" ends
the connection and the next request opens another, as a browser does
(waitress closes after every 204: it has no Content-Length). Raw sockets, not a client library: the
generator shares two cores with the server and must cost it little.
"""

from __future__ import annotations

import asyncio
import html
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

VERSION = re.compile(r'"X-Live-Version":\s*"([0-9a-f]+)"')
TIMEOUT_SECONDS = 30.0


@dataclass
class Tally:
    """What the clients saw: latencies (seconds) and statuses, from `since` on."""

    since: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    connects: int = 0  # connections opened (from `since` on)
    sent: list[tuple[float, float, str]] = field(default_factory=list)  # (epoch, latency, status)

    def add(self, started: float, status: str) -> None:
        if started >= self.since:
            latency = time.perf_counter() - started
            self.latencies.append(latency)
            self.statuses[status] += 1
            self.sent.append((time.time() - latency, latency, status))

    def between(self, start: float, end: float) -> Tally:
        """The requests sent in [start, end) (epoch seconds)."""
        part = Tally()
        for sent, latency, status in self.sent:
            if start <= sent < end:
                part.latencies.append(latency)
                part.statuses[status] += 1
        return part


def version_in(body: bytes) -> str | None:
    found = VERSION.search(html.unescape(body.decode("utf-8", "replace")))
    return found[1] if found else None


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body (Content-Length or chunked) and whether the server closes."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip().lower()
               for k, _, v in (line.partition(":") for line in lines[1:] if line)}  # fmt: skip
    closes = headers.get("connection") == "close"
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), closes
    if headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # the empty trailer
        return status, bytes(body), closes
    return status, b"", closes


class Viewer:
    """One browser tab with the server page open: one keep-alive connection."""

    def __init__(self, port: int, path: str, version: str | None) -> None:
        self.port, self.path, self.version = port, path, version
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def request(self) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "HX-Request: true",
                 "Accept: */*"]  # fmt: skip
        if self.version:
            lines.append(f"X-Live-Version: {self.version}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def refresh(self, tally: Tally, *, follow: bool) -> None:
        """One request; on a 200 take the new version when `follow`. Errors are tallied."""
        started = time.perf_counter()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                tally.connects += started >= tally.since
            assert self.reader is not None
            self.writer.write(self.request())
            response = read_response(self.reader)
            status, body, closes = await asyncio.wait_for(response, TIMEOUT_SECONDS)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as e:
            tally.add(started, type(e).__name__)
            self.close()
            return
        tally.add(started, str(status))
        if closes:
            self.close()
        if follow and status == 200:
            self.version = version_in(body) or self.version

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def saturate(port: int, path: str, version: str | None, *, clients: int,
                   seconds: float, warmup: float = 2.0) -> tuple[Tally, float]:  # fmt: skip
    """`clients` connections each sending the next request as soon as the last is answered.

    Returns the tally after `warmup` and the seconds it covers.
    """
    viewers = [Viewer(port, path, version) for _ in range(clients)]
    tally = Tally(since=time.perf_counter() + warmup)
    deadline = tally.since + seconds

    async def run(viewer: Viewer) -> None:
        while time.perf_counter() < deadline:
            await viewer.refresh(tally, follow=version is not None)

    await asyncio.gather(*(run(v) for v in viewers))
    for viewer in viewers:
        viewer.close()
    return tally, seconds


async def paced(port: int, path: str, version: str, *, viewers: int, period: float,
                seconds: float) -> tuple[Tally, float]:  # fmt: skip
    """`viewers` connections each refreshing every `period` seconds, at random phases:
    the open tabs themselves. The first round (connecting) is not tallied."""
    tabs = [Viewer(port, path, version) for _ in range(viewers)]
    tally = Tally(since=time.perf_counter() + period)
    deadline = tally.since + seconds

    async def run(tab: Viewer) -> None:
        await asyncio.sleep(random.uniform(0, period))
        while (due := time.perf_counter()) < deadline:
            await tab.refresh(tally, follow=True)
            await asyncio.sleep(max(0.0, due + period - time.perf_counter()))

    await asyncio.gather(*(run(t) for t in tabs))
    for tab in tabs:
        tab.close()
    return tally, seconds
