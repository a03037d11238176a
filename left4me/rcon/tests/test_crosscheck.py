"""An independent implementation (PyPI `rcon`) reads the same `status` from our fleet.

It proves the fleet speaks Valve's protocol as other tools understand it,
not just as our own client expects. The library's async client reads one
packet per reply (it calls `read(n)` once, not exactly n bytes), so the
multi-packet check drives its packet codec over one buffered stream instead.
"""

from __future__ import annotations

import asyncio
import re
import socket

from rcon.source import rcon as independent_rcon
from rcon.source.proto import Packet, Type

from left4me.rcon import query
from left4me.rcon.packets import MAX_BODY
from left4me.rcon.tests.conftest import players

PING = re.compile(r"(\d\d:\d\d) \d+ 0 active")  # the fleet jitters pings per query


def same(text: str) -> str:
    return PING.sub(r"\1 PING 0 active", text)


def independent_status(port: int) -> str:
    return asyncio.run(
        independent_rcon("status", host="127.0.0.1", port=port, passwd="pw", timeout=5)
    )


def independent_codec_status(port: int) -> str:
    """Their packet codec, our end-of-reply rule (empty RESPONSE_VALUE mirror)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        sock.makefile("rwb") as stream,
    ):
        stream.write(bytes(Packet.make_login("pw")))
        stream.flush()
        while Packet.read(stream).type != Type.SERVERDATA_AUTH_RESPONSE:
            pass
        command, marker = Packet.make_command("status"), Packet.make_empty_response()
        stream.write(bytes(command) + bytes(marker))
        stream.flush()
        body = b""
        while (packet := Packet.read(stream)).id != marker.id:
            assert packet.id == command.id
            body += packet.payload
        return body.decode()


def test_it_agrees_on_a_one_packet_status(fleet):
    handle = fleet({"name": "s", "password": "pw", "events": players(3)})
    handle.set_clock(42)
    port = handle.server("s").port
    ours = query("127.0.0.1", port, "pw", "status", timeout=2)
    assert len(ours.encode()) < MAX_BODY
    assert same(independent_status(port)) == same(ours)


def test_it_agrees_on_a_multi_packet_status(fleet):
    handle = fleet(
        {"name": "s", "password": "pw", "max_players": 64, "events": players(64, long_names=True)}
    )
    handle.set_clock(42)
    port = handle.server("s").port
    ours = query("127.0.0.1", port, "pw", "status", timeout=2)
    assert len(ours.encode()) > 2 * MAX_BODY
    assert same(independent_codec_status(port)) == same(ours)
