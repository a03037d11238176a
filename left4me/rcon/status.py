"""Parse the text srcds prints for `status` into a `Status`.

Only the header's `map` and `players` lines and the client rows matter. The
header's counts are the truth for humans and bots: rows are never checked
against it (L4D2 often says `0 bots` while listing bot rows). Client rows
are anchored on their tail (uniqueid, connected, ping, ...) after the LAST
quote of the line, because names may contain spaces, quotes, `#` and text
that looks like a SteamID, while the tail never contains a quote.

A reply is untrusted (SPEC section 13): counts above 255 or a roster longer
than the header allows make it invalid, and the map and names come out
cleaned of control, format and bidi characters and cut to their columns, so
what is compared is what is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from left4me.rcon.errors import RconStatusError
from left4me.rcon.text import clean

STEAM_ID64_BASE = 76561197960265728
MAX_LINE = 1024  # a real row is < 300 bytes; longer is not a status reply
MAX_COUNT = 255  # players, bots, max players: srcds allows far fewer
ROSTER_SLACK = 8  # rows beyond max(players, max players): connecting clients, glitches
MAP_LENGTH = 64  # the map column of LiveStateSnapshot / LiveStatus
NAME_LENGTH = 128  # PlayerSession.name_at_join

_MAP = re.compile(r"^map\s*:\s*(\S+)", re.MULTILINE)
# Counts are bounded ASCII digits: int() refuses 4,300+ digit strings with ValueError.
_PLAYERS = re.compile(
    r"^players\s*:\s*(?P<humans>[0-9]{1,6})(?:\s+humans?)?(?:\s*,\s*(?P<bots>[0-9]{1,6})\s+bots?)?"
    r"\s*\((?P<max>[0-9]{1,6})(?:/[0-9]+)?\s+max\)(?P<rest>.*)$",
    re.MULTILINE,
)
PING = re.compile(r"[0-9]{1,6}")
_CLIENT_ROW = re.compile(r"^#\s*\d")
_ROW = re.compile(r'^#\s*(?:\d+\s+)*"(?P<name>.*)"\s+(?P<tail>\S.*)$')
_STEAM2 = re.compile(r"^STEAM_[0-5]:(?P<y>[01]):(?P<z>[0-9]{1,10})$")
_STEAM3 = re.compile(r"^\[U:1:(?P<w>[0-9]{1,10})\]$")
_CONNECTED = re.compile(r"^(?:(?P<h>[0-9]{1,4}):)?(?P<m>[0-9]{1,2}):(?P<s>[0-9]{2})$")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A real player (never a bot): who, for how long, at what ping."""

    steam_id_64: str
    name: str
    connected_seconds: int
    ping: int


@dataclass(frozen=True, slots=True)
class Status:
    map: str
    players: int
    bots: int
    max_players: int
    hibernating: bool
    roster: tuple[RosterEntry, ...]


def shorten(text: str, limit: int = 80) -> str:
    """A repr of `text` of at most `limit` characters (escapes count too)."""
    text = repr(text.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def steam_id_64(uniqueid: str) -> str | None:
    """SteamID64 for `STEAM_X:Y:Z` or `[U:1:W]`; None for BOT, PENDING, LAN and the like."""
    if match := _STEAM2.match(uniqueid):
        return str(STEAM_ID64_BASE + 2 * int(match["z"]) + int(match["y"]))
    if match := _STEAM3.match(uniqueid):
        return str(STEAM_ID64_BASE + int(match["w"]))
    return None


def connected_seconds(text: str) -> int | None:
    match = _CONNECTED.match(text)
    if match is None or int(match["s"]) > 59 or (match["h"] and int(match["m"]) > 59):
        return None
    return int(match["h"] or 0) * 3600 + int(match["m"]) * 60 + int(match["s"])


def parse_row(line: str) -> RosterEntry | None:
    """One client row: a roster entry, None for a non-player, RconError if mangled."""
    match = _ROW.match(line)
    if match is None or len(line) > MAX_LINE:
        raise RconStatusError(f"status: unparseable client row: {shorten(line)}")
    fields = match["tail"].split()
    steam_id = steam_id_64(fields[0])
    if steam_id is None:
        return None  # BOT, STEAM_ID_PENDING, STEAM_ID_LAN, SourceTV...
    seconds = connected_seconds(fields[1]) if len(fields) > 2 else None
    if seconds is None or not PING.fullmatch(fields[2]):
        raise RconStatusError(f"status: unparseable client row: {shorten(line)}")
    return RosterEntry(steam_id, clean(match["name"], NAME_LENGTH), seconds, int(fields[2]))


def parse_header(text: str) -> tuple[str, int, int, int, bool]:
    map_match = _MAP.search(text)
    players = _PLAYERS.search(text)
    if map_match is None or players is None:
        missing = "map" if map_match is None else "players"
        raise RconStatusError(f"status: no {missing} line in reply: {shorten(text)}")
    hibernating = "(hibernating)" in players["rest"]
    humans, bots, most = int(players["humans"]), int(players["bots"] or 0), int(players["max"])
    if max(humans, bots, most) > MAX_COUNT:
        raise RconStatusError(f"status: a count above {MAX_COUNT}: {shorten(players[0])}")
    return clean(map_match[1], MAP_LENGTH), humans, bots, most, hibernating


def parse_status(text: str) -> Status:
    """Parse a `status` reply; anything that is not one raises RconError."""
    if not isinstance(text, str):
        raise RconStatusError("status: reply is not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    map_name, humans, bots, max_players, hibernating = parse_header(text)
    most = min(MAX_COUNT, max(humans, max_players) + ROSTER_SLACK)
    roster = []
    for line in text.split("\n"):
        line = line.strip()
        if line.startswith("#end"):
            break  # anything after it (e.g. an `rcon from` log line) is not status
        if _CLIENT_ROW.match(line) and (entry := parse_row(line)) is not None:
            roster.append(entry)
            if len(roster) > most:  # stop at once: a flood costs one row past the limit
                raise RconStatusError(
                    f"status: over {most} players listed, at most {most} possible"
                )
    return Status(map_name, humans, bots, max_players, hibernating, tuple(roster))
