"""Fixtures for the RCON tests: a fake fleet on loopback and a scriptable raw peer."""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable

import pytest

from left4me.rcon.fleet import running_fleet, server_from_dict
from left4me.rcon.packets import Packet, PacketDecoder, encode

BASE = 76561197960265728
HOST = "127.0.0.1"


def long_name(i: int) -> str:
    """About 180 UTF-8 bytes: 32 such players make `status` exceed 8 KiB."""
    return f'Ünïcødé 生存者 #{i} "quoted"  ' + "🧟🔥生存" * 12


def players(count: int, *, at: float = 0, long_names: bool = False) -> list[dict]:
    """`count` join events at `at`, pings 40, 41, ..."""
    return [
        {"at": at, "kind": "join", "steam_id_64": str(BASE + 1000 + i),
         "name": long_name(i) if long_names else f"p{i}", "ping": 40 + i}
        for i in range(count)
    ]  # fmt: skip


def spec(name: str = "s", **fields) -> dict:
    """A scenario dict for one server; password "pw" unless given."""
    return {"name": name, "password": "pw", **fields}


@pytest.fixture
def fleet():
    """Start a virtual-clock fleet from scenario dicts; it stops at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(*specs: dict, clock: str = "virtual"):
            servers = [server_from_dict(s) for s in specs]
            return stack.enter_context(running_fleet(servers, clock=clock))

        yield start


class RawPeer:
    """A hand-played RCON server on loopback: one thread per accepted connection.

    `script(conn, decoder)` plays the server side of each connection; whatever
    it raises is kept in `errors` so a broken script fails the test.
    """

    def __init__(self, script: Callable[[socket.socket, PacketDecoder], None]) -> None:
        self.script = script
        self.errors: list[BaseException] = []
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                thread = threading.Thread(target=self._play, args=(conn,), daemon=True)
                self.threads.append(thread)
                thread.start()

    def _play(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.script(conn, PacketDecoder())
            except (ConnectionError, BrokenPipeError):
                pass  # the client hung up first: fine for a server
            except BaseException as exc:  # kept for close() to raise
                self.errors.append(exc)

    def close(self) -> None:
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def raw_peer():
    peers: list[RawPeer] = []

    def start(script) -> int:
        peers.append(RawPeer(script))
        return peers[-1].port

    yield start
    for peer in peers:
        peer.close()


def read_packets(conn: socket.socket, decoder: PacketDecoder, count: int) -> list[Packet]:
    found: list[Packet] = []
    while len(found) < count:
        data = conn.recv(65536)
        if not data:
            raise ConnectionResetError("client left")
        found += decoder.packets(data)
    return found


def authenticate(conn: socket.socket, decoder: PacketDecoder) -> tuple[Packet, Packet]:
    """Accept any password the srcds way; return the command and end-marker packets."""
    [auth] = read_packets(conn, decoder, 1)
    assert auth.type == 3
    conn.sendall(encode(auth.id, 0) + encode(auth.id, 2))
    command, marker = read_packets(conn, decoder, 2)
    assert (command.type, marker.type, marker.body) == (2, 0, b"")
    return command, marker


def hold(conn: socket.socket, seconds: float = 5.0) -> None:
    """Keep the connection open until the client closes it."""
    conn.settimeout(seconds)
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


def timed(function, *args, **kwargs):
    started = time.monotonic()
    try:
        return function(*args, **kwargs), time.monotonic() - started
    except Exception as exc:
        exc.elapsed = time.monotonic() - started
        raise


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def leak_detector():
    """Record ResourceWarnings; checked on a deliberately leaked socket first."""
    recorder = warnings.catch_warnings(record=True)
    found = recorder.__enter__()
    warnings.simplefilter("always", ResourceWarning)
    leaked = socket.socket()
    del leaked
    gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in found), "detector is blind"
    found.clear()
    return recorder, found
