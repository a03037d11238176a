"""Hand-written peers for wire situations the fleet does not produce."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from left4me.rcon import RconError, query
from left4me.rcon.packets import PacketDecoder, encode


def serve_once(script) -> int:
    """A one-connection TCP server; `script(conn, decoder)` plays the server side."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run():
        with listener:
            conn, _ = listener.accept()
            with conn, contextlib.suppress(OSError):
                script(conn, PacketDecoder())

    threading.Thread(target=run, daemon=True).start()
    return port


def read_packets(conn, decoder, count):
    packets = []
    while len(packets) < count:
        packets += decoder.packets(conn.recv(4096))
    return packets


def authenticate(conn, decoder):
    [auth] = read_packets(conn, decoder, 1)
    # Empty packet and auth response coalesced with nothing in between.
    conn.sendall(encode(auth.id, 0) + encode(auth.id, 2))
    return read_packets(conn, decoder, 2)  # the command and the end marker


def test_it_completes_without_the_trailer(capsys):
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"part one ") + encode(command.id, 0, b"part two"))
        conn.sendall(encode(marker.id, 0))  # mirror, but never the 00 01 00 00 trailer
        time.sleep(2)

    started = time.monotonic()
    assert query("127.0.0.1", serve_once(script), "pw", "echo", timeout=1.5) == "part one part two"
    assert time.monotonic() - started < 0.5


def test_it_skips_stray_packets_with_other_ids():
    def script(conn, decoder):
        command, marker = authenticate(conn, decoder)
        conn.sendall(encode(999, 0, b"log noise") + encode(command.id, 0, b"answer"))
        conn.sendall(encode(marker.id, 0) + encode(marker.id, 0, b"\x00\x01\x00\x00"))

    assert query("127.0.0.1", serve_once(script), "pw", "x", timeout=1) == "answer"


def test_it_fails_when_the_peer_closes_mid_reply():
    def script(conn, decoder):
        command, _ = authenticate(conn, decoder)
        conn.sendall(encode(command.id, 0, b"half")[:9])

    with pytest.raises(RconError, match="closed by peer"):
        query("127.0.0.1", serve_once(script), "pw", "x", timeout=1)


def test_it_caps_the_total_reply():
    def script(conn, decoder):
        command, _ = authenticate(conn, decoder)
        chunk = encode(command.id, 0, b"x" * 4000)
        for _ in range(400):  # 1.6 MB, over the 1 MiB cap
            conn.sendall(chunk)

    with pytest.raises(RconError, match="exceeds"):
        query("127.0.0.1", serve_once(script), "pw", "x", timeout=5)
