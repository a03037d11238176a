"""What a visitor and a monitor see during the chaos run, and the slow clients.

Requests go out on a fixed schedule from a thread pool, so one that hangs
for its whole timeout does not delay or hide the next sample. Proxies from
the environment are ignored: everything here talks to 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

TIMEOUT_SECONDS = 5
PAGE_EVERY = 1.0
HEALTH_EVERY = 2.0
HEADER_EVERY = 2.0  # a slow client sends one more header line this often

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # when the request was sent (epoch seconds)
    path: str
    ok: bool
    label: str  # "200", "503 failing: polling", "no answer: TimeoutError", ...
    seconds: float  # until the answer (or the error)


def fetch(base: str, path: str) -> Sample:
    sent = time.time()
    try:
        with OPENER.open(base + path, timeout=TIMEOUT_SECONDS) as response:
            ok, text = response.status == 200, label(response.status, response.read())
    except urllib.error.HTTPError as error:
        ok, text = False, label(error.code, error.read())
    except (OSError, ValueError) as error:  # refused, reset, timed out
        ok, text = False, f"no answer: {type(error).__name__}"
    return Sample(sent, path, ok, text, time.time() - sent)


def label(status: int, body: bytes) -> str:
    """The status code, and for /healthz JSON its status and the failing checks."""
    try:
        data = json.loads(body)
    except ValueError:
        return str(status)
    if not isinstance(data, dict) or "status" not in data:
        return str(status)
    failing = [name for name, check in data.get("checks", {}).items() if not check.get("ok")]
    return f"{status} {data['status']}" + (f": {','.join(failing)}" if failing else "")


class Prober(threading.Thread):
    """GET /servers/ every second and /healthz every 2 s until stopped."""

    def __init__(self, port: int) -> None:
        super().__init__(name="chaos-prober", daemon=True)
        self.base = f"http://127.0.0.1:{port}"
        self.samples: list[Sample] = []
        self.stopped = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="chaos-get")

    def run(self) -> None:
        started, n = time.monotonic(), 0
        while not self.stopped.wait(max(0.0, started + n * PAGE_EVERY - time.monotonic())):
            self.pool.submit(self.take, "/servers/")
            if n % round(HEALTH_EVERY / PAGE_EVERY) == 0:
                self.pool.submit(self.take, "/healthz")
            n += 1

    def take(self, path: str) -> None:
        self.samples.append(fetch(self.base, path))

    def stop(self) -> list[Sample]:
        self.stopped.set()
        self.join()
        self.pool.shutdown(wait=True)
        return sorted(self.samples, key=lambda s: s.at)


def hold_slow_clients(port: int, count: int, seconds: float) -> tuple[int, int]:
    """Slowloris: `count` requests that send a header line every 2 s and never end.

    A connection the server closes is opened again, as an attacker would.
    Returns (connections opened in all, connection attempts that failed).
    """
    head = b"GET /servers/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    clients: list[socket.socket | None] = [None] * count
    opened = failed = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for i, sock in enumerate(clients):
                try:
                    if sock is None:
                        sock = clients[i] = socket.create_connection(("127.0.0.1", port), 2)
                        sock.sendall(head)
                        opened += 1
                    else:
                        sock.sendall(f"X-Slow-{i}: {int(time.monotonic())}\r\n".encode())
                except OSError:
                    failed += sock is None
                    if sock is not None:
                        sock.close()
                    clients[i] = None
            time.sleep(min(HEADER_EVERY, max(0.0, deadline - time.monotonic())))
    finally:
        for sock in clients:
            if sock is not None:
                sock.close()
    return opened, failed
