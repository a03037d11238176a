"""Shared pieces of the RCON tests: scenario builders, a raw peer, both clients.

A plain module (conftest.py keeps only fixtures), so tests import from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import queue
import socket
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from left4me.rcon import (
    RconAuthError,
    RconError,
    Status,
    aquery,
    aquery_status,
    query,
    query_status,
)
from left4me.rcon.exchange import TRAILER_BODY
from left4me.rcon.packets import Packet, PacketDecoder, encode

BASE = 76561197960265728
HOST = "127.0.0.1"
HANGUP_DEADLINE = 10.0  # seconds a peer waits for the client to hang up before calling it a leak


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


@dataclass(frozen=True)
class Client:
    """One of our two clients, run to completion from synchronous test code."""

    name: str
    query: Callable[..., str]
    query_status: Callable[..., Status]


def _blocking(coroutine_function):
    def run(*args, **kwargs):
        return asyncio.run(coroutine_function(*args, **kwargs))

    return run


CLIENTS = {
    "sync": Client("sync", query, query_status),
    "async": Client("async", _blocking(aquery), _blocking(aquery_status)),
}


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


def client_hung_up(conn: socket.socket, deadline: float = HANGUP_DEADLINE) -> bool:
    """Whether the client closed this connection (EOF or reset) within `deadline` seconds.

    Seen from the server, so it proves the close happened without counting
    anything the test process shares with the servers it hosts.
    """
    end = time.monotonic() + deadline
    try:
        while (left := end - time.monotonic()) > 0:
            conn.settimeout(left)
            if not conn.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        pass
    return False


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused, and nobody else can take it."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


def timed(function, *args, **kwargs):
    """Call `function`; return (result, seconds), or set `elapsed` on what it raises."""
    started = time.monotonic()
    try:
        return function(*args, **kwargs), time.monotonic() - started
    except Exception as exc:
        exc.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
        raise


@contextlib.contextmanager
def resource_warnings() -> Iterator[list[str]]:
    """Collect the ResourceWarnings of the block (after a final gc) into the yielded list.

    The recorder is first checked on a deliberately leaked socket, so an empty
    list means "no leak", never "the detector saw nothing".
    """
    with warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always", ResourceWarning)
        leaked = socket.socket()
        del leaked
        gc.collect()
        assert any(issubclass(w.category, ResourceWarning) for w in found), "detector is blind"
        found.clear()
        messages: list[str] = []
        yield messages
        gc.collect()
        messages += [str(w.message) for w in found if issubclass(w.category, ResourceWarning)]


# How a query can end, played by a raw peer, for the tests that check our socket is closed.


@dataclass(frozen=True)
class Ending:
    """One way a query ends: the server's part, what the client returns, its timeout."""

    play: Callable[[socket.socket, PacketDecoder], None]
    outcome: type  # str for a reply, else the RconError subclass raised
    timeout: float = 10.0
    peer_waits: bool = True  # False: the peer hangs up first, so it cannot watch us close


def _answer(conn: socket.socket, decoder: PacketDecoder) -> None:
    command, marker = authenticate(conn, decoder)
    conn.sendall(encode(command.id, 0, b"fine") + encode(marker.id, 0))
    conn.sendall(encode(marker.id, 0, TRAILER_BODY))


def _reject_password(conn: socket.socket, decoder: PacketDecoder) -> None:
    [auth] = read_packets(conn, decoder, 1)
    conn.sendall(encode(auth.id, 0) + encode(-1, 2))


def _send_a_huge_size_field(conn: socket.socket, decoder: PacketDecoder) -> None:
    read_packets(conn, decoder, 1)
    conn.sendall(struct.pack("<i", 2_000_000_000))


def _stay_silent(conn: socket.socket, decoder: PacketDecoder) -> None:
    read_packets(conn, decoder, 1)


def _send_an_odd_packet_type(conn: socket.socket, decoder: PacketDecoder) -> None:
    [auth] = read_packets(conn, decoder, 1)
    conn.sendall(encode(auth.id, 7))


def _flood(conn: socket.socket, decoder: PacketDecoder) -> None:
    command, _ = authenticate(conn, decoder)
    chunk = encode(command.id, 0, b"x" * 4000) * 16
    for _ in range(25):  # 1.6 MB, over the 1 MiB cap
        conn.sendall(chunk)


def _close_mid_reply(conn: socket.socket, decoder: PacketDecoder) -> None:
    command, _ = authenticate(conn, decoder)
    conn.sendall(encode(command.id, 0, b"half a reply")[:20])


def _reset(conn: socket.socket, decoder: PacketDecoder) -> None:
    authenticate(conn, decoder)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


ENDINGS = {
    "answered": Ending(_answer, str),
    "wrong password": Ending(_reject_password, RconAuthError),
    "huge size field": Ending(_send_a_huge_size_field, RconError),
    "timed out": Ending(_stay_silent, RconError, timeout=0.2),
    "odd packet type": Ending(_send_an_odd_packet_type, RconError),
    "reply over the cap": Ending(_flood, RconError),
    "closed by peer": Ending(_close_mid_reply, RconError, peer_waits=False),
    "reset by peer": Ending(_reset, RconError, peer_waits=False),
}


def witnessed(name: str, ending: Ending, hangups: queue.Queue) -> Callable:
    """`ending`'s script, then (if the peer waits) `(name, client hung up?)` into `hangups`."""

    def script(conn: socket.socket, decoder: PacketDecoder) -> None:
        try:
            ending.play(conn, decoder)
            hung_up = ending.peer_waits and client_hung_up(conn)
        except ConnectionError:  # read_packets or sendall met our EOF or reset
            hung_up = True
        if ending.peer_waits:
            hangups.put((name, hung_up))

    return script


def outcome(function, *args, **kwargs):
    """What a query returned, or the RconError it raised."""
    try:
        return function(*args, **kwargs)
    except RconError as exc:
        return exc
