"""One RCON query as a sans-I/O state machine: bytes in, bytes to send out.

The blocking and the asyncio client both drive this object, so the protocol
rules (the empty packet before the auth response, the mirrored end marker,
the reply cap) live in one place and the clients only move bytes and enforce
the deadline.

End of reply: after the command we send an empty RESPONSE_VALUE with another
id. srcds handles packets in order, so it mirrors that packet only after the
whole reply, then sends one more packet (body 00 01 00 00) that we drain if it
is already there but never wait long for.
"""

from __future__ import annotations

from left4me.rcon.errors import RconAuthError, RconError, RconNetworkError, RconProtocolError
from left4me.rcon.packets import (
    SERVERDATA_AUTH,
    SERVERDATA_AUTH_RESPONSE,
    SERVERDATA_EXECCOMMAND,
    SERVERDATA_RESPONSE_VALUE,
    PacketDecoder,
    encode,
)

AUTH_ID = 1
COMMAND_ID = 2
MARKER_ID = 3
TRAILER_BODY = b"\x00\x01\x00\x00"
MAX_REPLY = 1 << 20  # a `status` of 64 players is ~8 KiB; 1 MiB is a broken peer
_MAX_RECEIVED = MAX_REPLY + (1 << 16)  # the reply plus headers and stray packets
TRAILER_GRACE = 0.05  # seconds we wait for the trailer after a complete reply

CONNECTING = "connecting"
AUTHENTICATING = "authenticating"
READING = "reading the reply"
DONE = "done"


class Exchange:
    """Auth, one command, its whole reply. No password in any repr or message."""

    __slots__ = ("_auth", "_command", "_decoder", "_received", "_reply", "phase", "trailer_seen")

    def __init__(self, password: str, command: str) -> None:
        if "\0" in command:
            raise RconError("command contains a NUL byte")
        self._command = encode(COMMAND_ID, SERVERDATA_EXECCOMMAND, command.encode())
        self._command += encode(MARKER_ID, SERVERDATA_RESPONSE_VALUE)
        try:
            self._auth = encode(AUTH_ID, SERVERDATA_AUTH, password.encode())
        except RconError:
            raise RconError("password is too long") from None
        self._decoder = PacketDecoder()
        self._received = 0
        self._reply = bytearray()
        self.phase = CONNECTING
        self.trailer_seen = False

    @property
    def done(self) -> bool:
        return self.phase == DONE

    def start(self) -> bytes:
        """Bytes to send once connected: the AUTH packet."""
        self.phase = AUTHENTICATING
        return self._auth

    def receive(self, data: bytes) -> bytes:
        """Consume bytes from the server; return bytes to send (maybe none)."""
        self._received += len(data)
        if self._received > _MAX_RECEIVED:
            raise RconProtocolError(f"protocol error: reply exceeds {MAX_REPLY} bytes")
        self._decoder.feed(data)
        out = b""
        while not self.done and (packet := self._decoder.next()) is not None:
            out += self._handle(packet.id, packet.type, packet.body)
        if self.done:
            self.drain(b"")
        return out

    def drain(self, data: bytes) -> None:
        """After the reply: look for the trailer; nothing here can fail the query."""
        try:
            self._decoder.feed(data)
            while not self.trailer_seen and (packet := self._decoder.next()) is not None:
                self.trailer_seen = packet.body == TRAILER_BODY
        except RconError:
            self.trailer_seen = True  # junk after a complete reply: stop reading

    def reply(self) -> str:
        return self._reply.decode("utf-8", errors="replace")

    def _handle(self, request_id: int, packet_type: int, body: bytes) -> bytes:
        if self.phase == AUTHENTICATING:
            return self._handle_auth(request_id, packet_type, body)
        return self._handle_reply(request_id, packet_type, body)

    def _handle_auth(self, request_id: int, packet_type: int, body: bytes) -> bytes:
        if packet_type == SERVERDATA_RESPONSE_VALUE:
            return b""  # srcds sends an empty RESPONSE_VALUE before the auth response
        if packet_type != SERVERDATA_AUTH_RESPONSE:
            raise RconProtocolError(
                f"protocol error: packet type {packet_type} during authentication"
            )
        if request_id == -1:
            raise RconAuthError("authentication failed: wrong RCON password")
        if request_id != AUTH_ID:
            raise RconProtocolError(f"protocol error: auth response for unknown id {request_id}")
        self.phase = READING
        return self._command

    def _handle_reply(self, request_id: int, packet_type: int, body: bytes) -> bytes:
        if packet_type == SERVERDATA_AUTH_RESPONSE and request_id == -1:
            raise RconAuthError("authentication failed: server dropped the session")
        if packet_type != SERVERDATA_RESPONSE_VALUE:
            raise RconProtocolError(f"protocol error: packet type {packet_type} in a reply")
        if request_id == MARKER_ID:
            self.phase = DONE
        elif request_id == COMMAND_ID:
            self._reply += body
            if len(self._reply) > MAX_REPLY:
                raise RconProtocolError(f"protocol error: reply exceeds {MAX_REPLY} bytes")
        return b""  # packets with other ids are stray console output: skip them


def network_error(exc: OSError, phase: str, timeout: float) -> RconNetworkError:
    """A short, password-free RconError for a socket-level failure."""
    if isinstance(exc, TimeoutError):
        return RconNetworkError(f"timed out after {timeout:g} s while {phase}")
    if isinstance(exc, ConnectionRefusedError):
        return RconNetworkError("connection refused")
    if isinstance(exc, ConnectionResetError):
        return RconNetworkError(f"connection reset by peer while {phase}")
    return RconNetworkError(f"network error while {phase}: {exc.strerror or type(exc).__name__}")


def closed_by_peer(phase: str) -> RconNetworkError:
    return RconNetworkError(f"connection closed by peer while {phase}")


def check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
