"""Source RCON packet framing, shared by both clients and the fake fleet.

A packet is `int32 size | int32 id | int32 type | body | NUL | NUL`, all
little-endian, where size counts the bytes after the size field. TCP is a
stream, so `PacketDecoder` accepts bytes in whatever chunks they arrive
(coalesced packets or one byte at a time) and only ever yields whole packets.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from left4me.rcon.errors import RconError, RconProtocolError

SERVERDATA_AUTH = 3
SERVERDATA_EXECCOMMAND = 2
SERVERDATA_AUTH_RESPONSE = 2
SERVERDATA_RESPONSE_VALUE = 0

MIN_SIZE = 10  # id + type + the two terminating NULs
MAX_SIZE = 4096  # Valve's documented ceiling; anything above is a broken peer
MAX_BODY = MAX_SIZE - MIN_SIZE

_SIZE = struct.Struct("<i")
_HEADER = struct.Struct("<iii")
_ID_TYPE = struct.Struct("<ii")


class Packet(NamedTuple):
    """One decoded packet; `body` excludes the two terminating NULs."""

    id: int
    type: int
    body: bytes


def encode(request_id: int, packet_type: int, body: bytes = b"") -> bytes:
    """Frame one packet; refuses bodies a real server would not accept."""
    if len(body) > MAX_BODY:
        raise RconError(f"packet body of {len(body)} bytes exceeds {MAX_BODY}")
    return _HEADER.pack(len(body) + MIN_SIZE, request_id, packet_type) + body + b"\0\0"


class PacketDecoder:
    """Incremental decoder: `feed` bytes, then take packets with `next`.

    The size field is checked as soon as its four bytes are in, so a peer that
    claims two gigabytes fails at once instead of making us wait or allocate.
    """

    __slots__ = ("_buffer", "_start")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0  # consumed prefix, dropped lazily to avoid O(n^2) copying

    def feed(self, data: bytes) -> None:
        if self._start:
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += data

    def next(self) -> Packet | None:
        """The next whole packet, or None until more bytes arrive."""
        buf, start = self._buffer, self._start
        if len(buf) - start < 4:
            return None
        (size,) = _SIZE.unpack_from(buf, start)
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise RconProtocolError(
                f"protocol error: size {size} out of range {MIN_SIZE}..{MAX_SIZE}"
            )
        end = start + 4 + size
        if len(buf) < end:
            return None
        if buf[end - 2 : end] != b"\0\0":
            raise RconProtocolError("protocol error: packet is not NUL-terminated")
        request_id, packet_type = _ID_TYPE.unpack_from(buf, start + 4)
        self._start = end
        return Packet(request_id, packet_type, bytes(buf[start + 12 : end - 2]))

    def packets(self, data: bytes) -> list[Packet]:
        """Feed `data` and return every packet now complete."""
        self.feed(data)
        found = []
        while (packet := self.next()) is not None:
            found.append(packet)
        return found
