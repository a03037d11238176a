"""A player's history as the page shows it: Steam's name and avatar, and
every time and length already put into words (the template only places them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from left4me.pages.durations import ago, humanize_seconds
from livestate.player_history import PlayerHistory, ServerPlaytime, SessionRow
from steamprofiles.models import profiles_for

STEAM_COMMUNITY = "https://steamcommunity.com/profiles/"


@dataclass(frozen=True, slots=True)
class When:
    """A moment: how long ago, with the exact UTC time for hover and machines."""

    ago: str
    iso: str
    exact: str


def when(moment: datetime, now: datetime) -> When:
    utc = moment.astimezone(UTC)
    return When(ago((now - moment).total_seconds()), utc.isoformat(), f"{utc:%Y-%m-%d %H:%M} UTC")


@dataclass(frozen=True, slots=True)
class ServerLine:
    row: ServerPlaytime
    playtime: str
    last_seen: When


@dataclass(frozen=True, slots=True)
class SessionLine:
    row: SessionRow
    joined: When
    left: When | None  # None: playing now
    played: str


@dataclass(frozen=True, slots=True)
class NameLine:
    name: str
    last_used: When


@dataclass(frozen=True, slots=True)
class PlayerPage:
    history: PlayerHistory
    name: str  # Steam's name when known, else the newest in-game name
    avatar_url: str
    steam_url: str
    playtime: str
    first_seen: When
    last_seen: When
    online_on: ServerPlaytime | None
    names: list[NameLine]
    servers: list[ServerLine]
    sessions: list[SessionLine]
    history_days: int  # sessions are listed this far back; the totals are lifetime


def player_page(history: PlayerHistory, *, now: datetime) -> PlayerPage:
    """The page's data, with the player's cached Steam profile (one query)."""
    steam_id = history.steam_id_64
    profile = profiles_for([steam_id]).get(steam_id)
    in_game = history.names[0].name
    online = [s for s in history.servers if s.server_id == history.online_on]
    rows = history.page.rows if history.page else []
    return PlayerPage(
        history=history,
        name=profile.display_name(in_game) if profile else in_game,
        avatar_url=profile.safe_avatar_url if profile else "",
        steam_url=STEAM_COMMUNITY + steam_id,
        playtime=humanize_seconds(history.playtime_seconds),
        first_seen=when(history.first_seen, now),
        last_seen=when(history.last_seen, now),
        online_on=online[0] if online else None,
        names=[NameLine(n.name, when(n.last_used, now)) for n in history.names],
        servers=[
            ServerLine(s, humanize_seconds(s.playtime_seconds), when(s.last_seen, now))
            for s in history.servers
        ],
        sessions=[
            SessionLine(
                r,
                when(r.joined_at, now),
                when(r.left_at, now) if r.left_at else None,
                humanize_seconds(r.seconds),
            )
            for r in rows
        ],
        history_days=settings.LIVE_STATE_HISTORY_DAYS,
    )
