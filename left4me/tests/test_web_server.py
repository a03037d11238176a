"""The Procfile's web server, run for real: slow clients, oversized requests, proxy trust.

The slowloris test is the one that matters: 50 connections that trickle
headers forever must not stop anyone else's page. It fails with a starved
server (`WEB_CONNECTION_LIMIT=10` in the environment), and passes with one
thread (`WEB_THREADS=1`): slow clients cost sockets, not threads.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from left4me.env import EnvError
from left4me.serve import MAX_REQUEST_BODY_BYTES, MAX_REQUEST_HEADER_BYTES, server_options
from left4me.testing import database_url_for_tests

PAGE = "/servers/"  # a real page: middleware, a query, a template
SLOW_CLIENTS = 50
LOAD_SECONDS = 10
PATIENCE = 3.0  # seconds a normal request may take while the slow clients hang on


def web_command(port: int) -> list[str]:
    """The Procfile's `web` line as the quick start expands it, on `port`."""
    procfile = (Path(settings.BASE_DIR) / "Procfile").read_text()
    line = re.search(r"^web:\s*(.+)$", procfile, flags=re.M)
    assert line is not None, "the Procfile has no web process"
    values = {"PORT": str(port)}
    expanded = re.sub(
        r"\$\{(\w+)(?::-([^}]*))?\}",
        lambda m: values.get(m[1], os.environ.get(m[1], m[2] or "")),
        line[1],
    )
    argv = shlex.split(expanded)
    if argv[0] == "python":  # the quick start puts the virtualenv first on PATH
        argv[0] = sys.executable
    return argv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """One run of the web command, with its log."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.log_path = tmp_path / f"web-{self.port}.log"
        self.log = self.log_path.open("wb")
        environment = dict(os.environ)
        environment.update(
            DJANGO_SETTINGS_MODULE="left4me.settings",
            DATABASE_URL=database_url_for_tests(),
            LEFT4ME_VAR_DIR=str(tmp_path),
            SECRET_KEY=settings.SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            DEBUG="false",
            LOG_LEVEL="INFO",
        )
        environment.pop("REDIS_URL", None)
        environment.update(env)
        self.proc = subprocess.Popen(
            web_command(self.port), cwd=settings.BASE_DIR, env=environment,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.wait_until_serving()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if self.get(PAGE, timeout=5).status == 200:  # also warms up Django
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"the web server did not answer in 20 s:\n{self.output()}")

    def get(
        self, path: str, headers: dict[str, str] | None = None, *, timeout: float = PATIENCE
    ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def raw(self, request: bytes) -> int:
        """Send raw bytes, return the status code of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=PATIENCE) as sock:
            sock.sendall(request)
            return int(sock.makefile("rb").readline().split()[1])

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def access_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if "left4me.access" in line]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def web_server(tmp_path) -> Iterator[WebServer]:
    server = WebServer(tmp_path)
    yield server
    server.stop()


class Slowloris:
    """Connections that send a request line, then one header line a second, forever."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(b"GET " + PAGE.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.trickle, daemon=True)
        self.thread.start()

    def trickle(self) -> None:
        line = 0
        while not self.stopped.wait(1.0):
            line += 1
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # hung up on: still_waiting() tells
                    sock.sendall(f"X-Slow-{line}: 1\r\n".encode())

    def still_waiting(self) -> int:
        """How many are still open with no answer: the server neither replied nor hung up."""
        waiting = 0
        for sock in self.sockets:
            try:
                sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                waiting += 1
            except OSError:
                pass
        return waiting

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


@pytest.mark.django_db(transaction=True)
def test_it_serves_pages_while_50_slow_clients_hold_connections(web_server):
    slow = Slowloris(web_server.port, SLOW_CLIENTS)
    failures, times = [], []
    try:
        end = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                status = web_server.get(PAGE).status
                if status != 200:
                    failures.append(f"HTTP {status}")
            except OSError as error:
                failures.append(repr(error))
            times.append(time.monotonic() - started)
            time.sleep(0.2)
        held = slow.still_waiting()
    finally:
        slow.stop()
    assert failures == [], f"{len(failures)} of {len(times)} requests failed: {failures[:3]}"
    assert len(times) >= LOAD_SECONDS * 2
    assert max(times) < PATIENCE
    assert held == SLOW_CLIENTS  # the attack lasted the whole time: nobody was cut off early


@pytest.mark.django_db(transaction=True)
def test_it_refuses_oversized_requests_and_keeps_serving(web_server):
    long_header = b"X-Big: " + b"a" * MAX_REQUEST_HEADER_BYTES + b"\r\n"
    long_line = b"/" + b"a" * MAX_REQUEST_HEADER_BYTES
    too_long = web_server.raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + long_header + b"\r\n")
    assert too_long == 431
    assert web_server.raw(b"GET " + long_line + b" HTTP/1.1\r\n\r\n") == 431
    body = f"Content-Length: {MAX_REQUEST_BODY_BYTES + 1}\r\n".encode()
    too_big = web_server.raw(b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + body + b"\r\n")
    assert too_big == 413  # refused before a byte of the body came
    assert web_server.get(PAGE).status == 200
    assert web_server.proc.poll() is None


@pytest.mark.django_db(transaction=True)
def test_it_logs_each_request_without_its_query_string(web_server):
    web_server.get(PAGE + "?token=secret-value")
    web_server.get("/no-such-page/%0Aforged")
    time.sleep(0.2)
    lines = web_server.access_lines()
    assert any(f'127.0.0.1 "GET {PAGE}" 200 ' in line for line in lines), lines
    assert any('"GET /no-such-page/%0Aforged" 404 ' in line for line in lines), lines
    assert "secret-value" not in web_server.output()


@pytest.mark.django_db(transaction=True)
def test_it_ignores_forwarded_headers_from_anyone_but_the_trusted_proxy(web_server, tmp_path):
    spoofed = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    web_server.get(PAGE, spoofed)
    behind_proxy = WebServer(tmp_path / "proxied", TRUSTED_PROXY="127.0.0.1")
    try:
        behind_proxy.get(PAGE, spoofed)
        time.sleep(0.2)
        trusted = behind_proxy.access_lines()
    finally:
        behind_proxy.stop()
    untrusted = web_server.access_lines()
    assert any(line.endswith(" http") and ' 127.0.0.1 "GET' in line for line in untrusted)
    assert not any("203.0.113.7" in line for line in untrusted)
    assert any(line.endswith(" https") and ' 203.0.113.7 "GET' in line for line in trusted)


@pytest.mark.nodb
@pytest.mark.parametrize("value", ["proxy", "*", "10.0.0.0/8"])
def test_it_refuses_a_trusted_proxy_that_is_not_one_address(monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXY", value)
    with pytest.raises(EnvError, match="TRUSTED_PROXY"):
        server_options(listen="127.0.0.1:8000")


@pytest.mark.nodb
def test_it_trusts_proxy_headers_only_when_told_which_address(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXY", raising=False)
    assert "trusted_proxy" not in server_options(listen="127.0.0.1:8000")
    monkeypatch.setenv("TRUSTED_PROXY", " 172.31.254.2 ")
    options = server_options(listen="127.0.0.1:8000")
    assert options["trusted_proxy"] == "172.31.254.2"
    assert options["trusted_proxy_headers"] == "x-forwarded-for x-forwarded-proto"
