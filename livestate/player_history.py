"""Read model of one player's history across servers: data, never HTML.

A player can have 100,000 sessions (a hostile server may churn one SteamID;
the benchmark has that many), and their page shows a lifetime, longer than
sessions are kept. So it reads what `player_totals` stored: each server's
PlayerTotal and PlayerName rows, plus the few sessions not folded into them
yet (open, or closed within a day), added up the same way. One query gives
each server's figures, two the names seen, two a page of the sessions kept:
five whatever the history, each an index lookup.

Only sessions on the servers passed in count (the caller passes the servers
whose players the viewer may see): a player with none there has no history.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Min, QuerySet, Sum, Value

from left4me.rcon.status import STEAM_ID64_BASE
from livestate.models import PlayerName, PlayerSession, PlayerTotal
from livestate.sql import Seconds
from servers.models import Server

SESSIONS_PER_PAGE = 50
# Offset pages cost the rows they skip: only the newest 5,000 sessions are
# listed, so no page of a churned SteamID walks 100,000 index entries.
SESSION_PAGES_LIMIT = 100
NAMES_LIMIT = 20

# SteamID64 of an individual account: the base plus a 32-bit account number,
# 17 ASCII digits (7656119… today, 7656120… once account numbers pass ~2.04e9).
STEAM_ID_64 = re.compile(r"[0-9]{17}")
LAST_STEAM_ID_64 = STEAM_ID64_BASE + 2**32 - 1


def is_steam_id_64(value: str) -> bool:
    return STEAM_ID_64.fullmatch(value) is not None and (
        STEAM_ID64_BASE <= int(value) <= LAST_STEAM_ID_64
    )


@dataclass(frozen=True, slots=True)
class NameSeen:
    name: str
    last_used: datetime  # when a session under this name last began


@dataclass(frozen=True, slots=True)
class ServerPlaytime:
    server_id: int
    name: str
    playtime_seconds: int
    sessions: int
    first_seen: datetime
    last_seen: datetime
    online: bool  # a session of the player is open there


@dataclass(frozen=True, slots=True)
class SessionRow:
    server_id: int
    server_name: str
    joined_at: datetime
    left_at: datetime | None  # None: playing now
    last_seen_at: datetime

    @property
    def seconds(self) -> int:
        return round(((self.left_at or self.last_seen_at) - self.joined_at).total_seconds())


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of sessions, newest first (offset pages over the SteamID index)."""

    number: int
    num_pages: int
    rows: list[SessionRow]
    listed: int  # sessions the pages reach (the newest, at most SESSION_PAGES_LIMIT pages)
    more: bool  # more sessions are kept than the pages reach

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


@dataclass(frozen=True, slots=True)
class PlayerHistory:
    steam_id_64: str
    names: list[NameSeen]  # newest first
    servers: list[ServerPlaytime]  # most playtime first
    page: SessionPage | None  # None when no page was asked for

    @property
    def first_seen(self) -> datetime:
        return min(s.first_seen for s in self.servers)

    @property
    def last_seen(self) -> datetime:
        return max(s.last_seen for s in self.servers)

    @property
    def playtime_seconds(self) -> int:
        return sum(s.playtime_seconds for s in self.servers)

    @property
    def sessions(self) -> int:
        return sum(s.sessions for s in self.servers)

    @property
    def online_on(self) -> int | None:
        """The server with an open session (the most recently seen, if several)."""
        online = [s for s in self.servers if s.online]
        return max(online, key=lambda s: s.last_seen).server_id if online else None


def player_history(
    steam_id_64: str, servers: QuerySet[Server], *, page: int | None = 1
) -> PlayerHistory | None:
    """The player's history on these servers, or None if they have no session there.

    `page` is the page of sessions to read (clamped to the last), None for none.
    """
    if not is_steam_id_64(steam_id_64):
        return None
    sessions = PlayerSession.objects.filter(steam_id_64=steam_id_64, server__in=servers)
    unfolded = sessions.filter(folded=False)
    per_server = _per_server(steam_id_64, servers, unfolded)
    if not per_server:
        return None
    return PlayerHistory(
        steam_id_64=steam_id_64,
        names=_names(steam_id_64, servers, unfolded),
        servers=per_server,
        page=None if page is None else _session_page(sessions, page),
    )


def _per_server(
    steam_id_64: str, servers: QuerySet[Server], unfolded: QuerySet[PlayerSession]
) -> list[ServerPlaytime]:
    """Each server's playtime, sessions, first and last seen, and whether the player is on.

    The stored totals UNION ALL the unfolded sessions grouped by server: the
    closed ones count until they left, the open ones (never folded) until
    they were last seen. All three parts read a few rows by index.
    """
    stored = (
        PlayerTotal.objects.filter(steam_id_64=steam_id_64, server__in=servers)
        .order_by()
        .values("server_id", "server__name")
        .annotate(
            secs=F("seconds"),
            n=F("sessions"),
            first=F("first_joined_at"),
            last=F("last_seen_at"),
            online=Value(False),
        )
    )
    closed = _totals(unfolded.filter(left_at__isnull=False), end="left_at", online=False)
    playing = _totals(unfolded.filter(left_at__isnull=True), end="last_seen_at", online=True)
    totals: dict[int, ServerPlaytime] = {}
    seconds: dict[int, float] = defaultdict(float)  # rounded once summed
    for row in stored.union(closed, playing, all=True):
        pk = row["server_id"]
        seconds[pk] += row["secs"] or 0
        part = ServerPlaytime(
            pk,
            row["server__name"],
            0,
            row["n"],
            row["first"],
            row["last"],
            online=bool(row["online"]),
        )
        totals[pk] = _merge(totals[pk], part) if pk in totals else part
    rows = [replace(t, playtime_seconds=round(seconds[pk])) for pk, t in totals.items()]
    return sorted(rows, key=lambda s: (-s.playtime_seconds, s.name, s.server_id))


def _totals(sessions: QuerySet[PlayerSession], *, end: str, online: bool) -> QuerySet[Any]:
    return (
        sessions.order_by()
        .values("server_id", "server__name")
        .annotate(
            secs=Sum(Seconds(F(end), F("joined_at"))),
            n=Count("id"),
            first=Min("joined_at"),
            last=Max(end),
            online=Value(online),
        )
    )


def _merge(a: ServerPlaytime, b: ServerPlaytime) -> ServerPlaytime:
    return replace(
        a,
        sessions=a.sessions + b.sessions,
        first_seen=min(a.first_seen, b.first_seen),
        last_seen=max(a.last_seen, b.last_seen),
        online=a.online or b.online,
    )


def _names(
    steam_id_64: str, servers: QuerySet[Server], unfolded: QuerySet[PlayerSession]
) -> list[NameSeen]:
    """The newest names: the stored ones' newest, merged with the unfolded sessions' names.

    A name of the top NAMES_LIMIT overall is among the stored top or the
    unfolded ones, so the two short lists merged give the exact answer.
    """
    stored = (
        PlayerName.objects.filter(steam_id_64=steam_id_64, server__in=servers)
        .order_by()
        .values("name")
        .annotate(last_used=Max("last_used_at"))
        .order_by("-last_used", "name")[:NAMES_LIMIT]
    )
    recent = unfolded.order_by().values("name_at_join").annotate(last_used=Max("joined_at"))
    last_used: dict[str, datetime] = {}
    for name, when in [
        *((row["name"], row["last_used"]) for row in stored),
        *((row["name_at_join"], row["last_used"]) for row in recent),
    ]:
        last_used[name] = max(when, last_used.get(name, when))
    newest = sorted(last_used.items(), key=lambda item: (-item[1].timestamp(), item[0]))
    return [NameSeen(name, when) for name, when in newest[:NAMES_LIMIT]]


def _session_page(sessions: QuerySet[PlayerSession], number: int) -> SessionPage:
    """Offset pages of the sessions kept, over the SteamID's newest-first index.

    Sessions are kept LIVE_STATE_HISTORY_DAYS, so the lifetime count is no
    guide: the sessions kept are counted, up to one past what the pages reach.
    """
    limit = SESSIONS_PER_PAGE * SESSION_PAGES_LIMIT
    kept = sessions.order_by()[: limit + 1].count()
    listed = min(kept, limit)
    num_pages = max(1, -(-listed // SESSIONS_PER_PAGE))
    number = min(max(number, 1), num_pages)
    offset = (number - 1) * SESSIONS_PER_PAGE
    rows = sessions.order_by("-joined_at", "id").values_list(
        "server_id", "server__name", "joined_at", "left_at", "last_seen_at"
    )[offset : min(offset + SESSIONS_PER_PAGE, listed)]
    return SessionPage(
        number, num_pages, [SessionRow(*row) for row in rows], listed, more=kept > limit
    )
