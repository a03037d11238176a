"""An independent client (PyPI `rcon` 2.4) reads the same `status` from our fleet.

This proves the fleet speaks Valve's protocol as other tools understand it,
not only as our own client expects. What that library can and cannot do:

- `rcon.source.rcon` (async) reads one packet per reply unless the first
  body is at least `frag_threshold` (4096) bytes long; srcds bodies are at
  most 4086, so through `rcon()` it only ever reads one packet. Its
  `communicate()` takes the threshold as a parameter, and then detects the
  end of a split reply its own way: it sends an empty command and reads until
  a packet with another id arrives.
- `rcon.source.Client` (sync) opens a new buffered file for every packet it
  reads, so when the empty RESPONSE_VALUE and the AUTH_RESPONSE arrive in one
  TCP segment (as from our fleet, and from any fast peer) it drops the second
  and waits forever. It is therefore not used here; its packet codec is, over
  one persistent stream.
"""

from __future__ import annotations

import asyncio
import re
import socket

import pytest
from rcon.exceptions import WrongPassword
from rcon.source import rcon as independent_rcon
from rcon.source.async_rcon import communicate
from rcon.source.proto import Packet, Type

from left4me.rcon import parse_status, query
from left4me.rcon.exchange import TRAILER_BODY
from left4me.rcon.packets import MAX_BODY
from left4me.rcon.tests.helpers import HOST, players, spec

JITTER = re.compile(r"(\d:\d\d) \d+ 0 active")  # the fleet varies pings per query
LOG_LINE = re.compile(r"^L .*: rcon from .*$", re.MULTILINE)  # carries a wall-clock stamp


def same(text: str) -> str:
    return LOG_LINE.sub("L <stamp>", JITTER.sub(r"\1 <ping> 0 active", text))


def independent_status(port: int, password: str) -> str:
    return asyncio.run(independent_rcon("status", host=HOST, port=port, passwd=password, timeout=5))


async def independent_split_status(port: int) -> str:
    """Their login, their fragment detection (an empty command as the end marker)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        response = await communicate(reader, writer, Packet.make_login("pw"))
        while response.type != Type.SERVERDATA_AUTH_RESPONSE:
            response = await Packet.aread(reader)
        assert response.id != -1
        request = Packet.make_command("status")
        reply = await communicate(reader, writer, request, frag_threshold=MAX_BODY)
        assert reply.id == request.id
        return reply.payload.decode()
    finally:
        writer.close()
        await writer.wait_closed()


def independent_codec_status(port: int) -> tuple[str, bytes]:
    """Their packet codec, strict about terminators, with srcds' mirror rule."""
    with (
        socket.create_connection((HOST, port), timeout=5) as sock,
        sock.makefile("rwb") as stream,
    ):
        stream.write(bytes(Packet.make_login("pw")))
        stream.flush()
        while Packet.read(stream, raise_unexpected_terminator=True).type != 2:  # type: ignore[arg-type]  # rcon wants typing.IO
            pass
        command, marker = Packet.make_command("status"), Packet.make_empty_response()
        stream.write(bytes(command) + bytes(marker))
        stream.flush()
        body = b""
        while (packet := Packet.read(stream, raise_unexpected_terminator=True)).id != marker.id:  # type: ignore[arg-type]  # rcon wants typing.IO
            assert packet.id == command.id
            body += packet.payload
        trailer = Packet.read(stream, raise_unexpected_terminator=True)  # type: ignore[arg-type]  # rcon wants typing.IO
        assert trailer.id == marker.id
        return body.decode(), trailer.payload


def test_it_agrees_on_a_one_packet_status(fleet):
    handle = fleet(spec(events=players(3)))
    handle.set_clock(42)
    port = handle.server("s").port
    ours = query(HOST, port, "pw", "status", timeout=2)
    assert len(ours.encode()) < MAX_BODY
    theirs = independent_status(port, "pw")
    assert same(theirs) == same(ours)
    assert len(parse_status(theirs).roster) == 3


def test_it_agrees_on_a_multi_packet_status(fleet):
    handle = fleet(spec(max_players=32, events=players(32, long_names=True)))
    handle.set_clock(42)
    port = handle.server("s").port
    ours = query(HOST, port, "pw", "status", timeout=2)
    assert len(ours.encode()) > 2 * MAX_BODY
    theirs = asyncio.run(independent_split_status(port))
    assert same(theirs) == same(ours)
    assert len(parse_status(theirs).roster) == 32


@pytest.mark.parametrize("mode", ["", "split"])
def test_it_frames_every_packet_and_the_trailer_as_valve_documents(fleet, mode):
    handle = fleet(spec(failure=mode, max_players=32, events=players(32, long_names=True)))
    handle.set_clock(42)
    port = handle.server("s").port
    ours = query(HOST, port, "pw", "status", timeout=2)
    theirs, trailer = independent_codec_status(port)
    assert same(theirs) == same(ours)
    assert trailer == TRAILER_BODY


def test_it_agrees_on_a_wrong_password(fleet):
    handle = fleet(spec(failure="wrong_password"))
    with pytest.raises(WrongPassword):
        independent_status(handle.server("s").port, handle.server("s").registered_password)
    assert handle.server("s").auth_failures == 1
