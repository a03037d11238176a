"""One fake srcds RCON endpoint: the real protocol with its quirks and failure modes.

Quirks served: the empty RESPONSE_VALUE before the auth response; replies
split over several packets; the mirrored end marker followed by the
`00 01 00 00` trailer; `status` in L4D2's format with bot rows under a
`0 bots` header, no-space bot rows, rows without `adr`, and an `rcon from`
log line after `#end`. Failure modes: refused, blackhole, slow,
wrong_password, garbage_size, split, byte_at_a_time.

Hostile modes play what an attacker's "game server" would send the panel
(SPEC section 13); each is deterministic, so a test can say what it expects:
- huge_counts: a header claiming 40000 humans.
- nul_text: NUL and control characters in the map and in players' names.
- bidi_names: names with bidi overrides (U+202E) and zero-width characters.
- long_map: a 200-character map name, the same on every poll.
- flood_roster: `flood_players` rows with SteamIDs new on every query, under
  a header that admits that many humans (even queries) or says the server is
  full at max_players (odd queries); past 255 rows both are invalid.
- new_ids: a full, plausible roster (header consistent) whose SteamIDs are
  all new on every query: it parses, and abuses sessions and Steam lookups.
- not_rcon: sends an HTTP or AMQP greeting as soon as a client connects
  (alternating), then closes its side.
- huge_reply: a valid-looking `status` padded past 1.5 MiB: a client that
  does not cap replies allocates it all.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from left4me.rcon.errors import RconError
from left4me.rcon.fleet.timeline import Player, Timeline
from left4me.rcon.packets import (
    MAX_BODY,
    SERVERDATA_AUTH,
    SERVERDATA_AUTH_RESPONSE,
    SERVERDATA_EXECCOMMAND,
    SERVERDATA_RESPONSE_VALUE,
    PacketDecoder,
    encode,
)
from left4me.rcon.status import STEAM_ID64_BASE

HOSTILE_MODES = (
    "huge_counts", "nul_text", "bidi_names", "long_map", "flood_roster", "new_ids", "not_rcon",
    "huge_reply",
)  # fmt: skip
FAILURE_MODES = {
    "", "refused", "blackhole", "slow", "wrong_password", "garbage_size", "split", "byte_at_a_time",
    *HOSTILE_MODES,
}  # fmt: skip
TRAILER = b"\x00\x01\x00\x00"
SPLIT_BODY = 64

HUGE_COUNT = 40000
NUL_MAP = "c1m1\x00_hotel\x1b[31m\x07"
NUL_NAMES = ("Zoey\x00Admin", "\x1b[31mRED\x1b[0m", "bell\x07back\x08del\x7f", "tab\there\x00")
BIDI_NAMES = ("\u202eexe.tsil", "ad\u200bmin", "\u2066Zoey\u2069\u200d", "\ufeffNick\u200e\u2060")
LONG_MAP = ("c2m1_highway_" * 16)[:200]
NOT_RCON_GREETINGS = (b"HTTP/1.1 400 Bad Request\r\n\r\n", b"AMQP\x00\x00\x09\x01")
NOT_RCON_LINGER = 10.0  # seconds not_rcon waits for the client to hang up first
HUGE_REPLY_BYTES = 3 << 19  # 1.5 MiB, over the client's 1 MiB cap
HOSTILE_ACCOUNTS = 1 << 31  # made-up SteamIDs live above every real account


@dataclass(slots=True)
class FakeServer:
    name: str
    password: str
    timeline: Timeline
    max_players: int = 4
    bots: tuple[str, ...] = ("Coach", "Ellis", "Nick", "Rochelle")
    failure: str = ""
    slow_seconds: float = 3.0
    flood_players: int = 5000  # roster rows of flood_roster
    steam3_ids: bool = False  # print [U:1:W] instead of STEAM_1:Y:Z
    honest_bot_count: bool = False  # L4D2 usually says "0 bots" while listing bots
    port: int = 0
    auth_failures: int = 0
    queries: int = 0
    # Clock times of every `status` it answered, when asked to keep them (ground-truth
    # tests judge a leave by the answers around it); None keeps a long-running fleet lean.
    answers: list[float] | None = None
    on_connect: Callable[[], float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.failure not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode {self.failure!r}")

    @property
    def registered_password(self) -> str:
        """What the panel is told; differs from the real one for wrong_password."""
        return self.password + "-stale" if self.failure == "wrong_password" else self.password

    @property
    def current_password(self) -> str:
        """The password it accepts now: its own until a "password" event changed it."""
        return self.timeline.password or self.password


def steam2(steam_id_64: str) -> str:
    offset = int(steam_id_64) - STEAM_ID64_BASE
    return f"STEAM_1:{offset % 2}:{offset // 2}"


def clock_text(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def hostile_id(server: FakeServer, n: int) -> str:
    """The n-th SteamID64 this hostile server makes up (a range of its own per name)."""
    slot = zlib.crc32(server.name.encode()) % 2048
    return str(STEAM_ID64_BASE + HOSTILE_ACCOUNTS + (slot * (1 << 20) + n) % HOSTILE_ACCOUNTS)


def made_up(server: FakeServer, names: list[str], first_id: int, now: float) -> list[Player]:
    """Players who exist only in this reply, on for a minute, SteamIDs from `first_id` on."""
    return [
        Player(hostile_id(server, first_id + i), name, 40 + i % 100, now - 60)
        for i, name in enumerate(names)
    ]


def shown(server: FakeServer, now: float) -> tuple[str, list[Player], int]:
    """The map, the human rows and the header's human count one `status` shows."""
    tl, q, most = server.timeline, server.queries, server.max_players
    humans = list(tl.players.values())
    match server.failure:
        case "huge_counts":
            return tl.map, humans, HUGE_COUNT
        case "nul_text":
            humans = made_up(server, list(NUL_NAMES), 0, now)
            return NUL_MAP, humans, len(humans)
        case "bidi_names":
            humans = made_up(server, list(BIDI_NAMES), 0, now)
            return tl.map, humans, len(humans)
        case "long_map":
            return LONG_MAP, humans, len(humans)
        case "flood_roster":
            count = server.flood_players
            humans = made_up(server, [f"flood{i}" for i in range(count)], q * count, now)
            return tl.map, humans, count if q % 2 == 0 else most
        case "new_ids":
            humans = made_up(server, [f"new{i}" for i in range(most)], q * most, now)
            return tl.map, humans, most
    return tl.map, humans, len(humans)


def render_status(server: FakeServer, now: float) -> str:
    map_name, humans, header_humans = shown(server, now)
    hibernating = not humans
    bots = [] if hibernating else list(server.bots[: max(0, server.max_players - len(humans))])
    header_bots = len(bots) if server.honest_bot_count else 0
    lines = [
        f"hostname: {server.name}",
        "version : 2.2.4.3 9309 secure  (unknown)",
        f"udp/ip  : 127.0.0.1:{server.port} [ public 203.0.113.7:{server.port} ]",
        "os      :  Linux Dedicated",
        "type    :  community dedicated",
        f"map     : {map_name}",
        f"players : {header_humans} humans, {header_bots} bots ({server.max_players} max) "
        f"({'hibernating' if hibernating else 'not hibernating'}) (reserved 186000000c2b2ee)",
        "",
        "# userid name uniqueid connected ping loss state rate adr",
    ]
    for slot, player in enumerate(humans, start=1):
        uid = (
            f"[U:1:{int(player.steam_id_64) - STEAM_ID64_BASE}]"
            if server.steam3_ids
            else steam2(player.steam_id_64)
        )
        ping = max(5, player.ping + (server.queries % 7) - 3)
        adr = "" if slot % 3 == 0 else f" 198.51.100.{slot}:27005"
        connected = clock_text(max(0.0, now - player.joined_at))
        lines.append(
            f'# {slot + 1} {slot} "{player.name}" {uid} {connected} {ping} 0 active 30000{adr}'
        )
    for index, bot in enumerate(bots):
        userid = len(humans) + index + 2
        lines.append(
            f'#{userid} "{bot}" BOT active' if userid >= 10 else f'# {userid} "{bot}" BOT active'
        )
    lines.append("#end")
    stamp = datetime.now(UTC).strftime("%m/%d/%Y - %H:%M:%S")
    lines.append(f'L {stamp}: rcon from "127.0.0.1:50000": command "status"')
    text = "\n".join(lines) + "\n"
    return text + console_spam(HUGE_REPLY_BYTES) if server.failure == "huge_reply" else text


def console_spam(size: int) -> str:
    """At least `size` bytes of log lines, as a flooded console would print after a reply."""
    line = f'L 01/01/2000 - 00:00:00: "spam<2><STEAM_1:0:1><>" say "{"A" * 960}"\n'
    return line * (size // len(line) + 1)


def reply_for(server: FakeServer, command: str, now: float) -> str:
    word, _, argument = command.strip().partition(" ")
    if word == "status":
        return render_status(server, now)
    if word == "changelevel" and argument:
        server.timeline.map = argument.strip()
        return ""
    if word == "users":
        rows = [
            f'{i}:{p.steam_id_64}:"{p.name}"'
            for i, p in enumerate(server.timeline.players.values())
        ]
        return '<slot:userid:"name">\n' + "\n".join(rows) + f"\n{len(rows)} users\n"
    return f'Unknown command "{word}"\n'


def reply_packets(request_id: int, text: str, split: bool) -> bytes:
    data = text.encode("utf-8")
    size = SPLIT_BODY if split else MAX_BODY
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return b"".join(encode(request_id, SERVERDATA_RESPONSE_VALUE, chunk) for chunk in chunks)


class Connection:
    """Serves one client connection of one fake server."""

    def __init__(self, server: FakeServer, clock: Callable[[], float]) -> None:
        self.server = server
        self.clock = clock
        self.authed = False

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self.converse(reader, writer)
        except (RconError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    async def converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.server.timeline.unreachable(self.clock()) or self.server.failure
        if mode == "blackhole":
            await reader.read()  # hold the connection, answer nothing
            return
        if mode == "not_rcon":
            await self.greet_wrongly(reader, writer)
            return
        decoder = PacketDecoder()
        while data := await reader.read(4096):
            if mode == "garbage_size":
                await self.send(writer, struct.pack("<iii", 2_000_000_000, 1, 0))
                await reader.read()
                return
            for packet in decoder.packets(data):
                out = await self.handle(
                    packet.id, packet.type, packet.body.decode("utf-8", "replace")
                )
                if out is None:
                    return
                await self.send(writer, out)

    async def handle(self, request_id: int, packet_type: int, body: str) -> bytes | None:
        server = self.server
        if packet_type == SERVERDATA_AUTH:
            server.timeline.advance(self.clock())
            if body != server.current_password:
                server.auth_failures += 1
                return encode(request_id, SERVERDATA_RESPONSE_VALUE) + encode(
                    -1, SERVERDATA_AUTH_RESPONSE
                )
            self.authed = True
            return encode(request_id, SERVERDATA_RESPONSE_VALUE) + encode(
                request_id, SERVERDATA_AUTH_RESPONSE
            )
        if not self.authed:
            return None  # srcds drops unauthenticated commands
        if packet_type == SERVERDATA_EXECCOMMAND:
            if server.failure == "slow":
                await asyncio.sleep(server.slow_seconds)
            now = self.clock()
            server.timeline.advance(now)
            server.queries += 1
            reply = reply_for(server, body, now)
            if server.answers is not None and body.split(maxsplit=1)[:1] == ["status"]:
                server.answers.append(now)
            return reply_packets(request_id, reply, server.failure == "split")
        # The end marker: mirror it, then the odd 00 01 00 00 trailer.
        return encode(request_id, SERVERDATA_RESPONSE_VALUE) + encode(
            request_id, SERVERDATA_RESPONSE_VALUE, TRAILER
        )

    async def greet_wrongly(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Another protocol's greeting, then EOF. The client hangs up first: a reset
        from our side could overtake the greeting and turn its error into a network one."""
        greeting = NOT_RCON_GREETINGS[self.server.queries % len(NOT_RCON_GREETINGS)]
        self.server.queries += 1
        writer.write(greeting)
        writer.write_eof()
        with suppress(TimeoutError):
            async with asyncio.timeout(NOT_RCON_LINGER):
                while await reader.read(4096):
                    pass

    async def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if self.server.failure != "byte_at_a_time":
            writer.write(data)
            await writer.drain()
            return
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(0)
