"""Versions of the live regions, so a viewer who has the current one gets a 204.

A version is a short digest of what a region shows, read in a few small
queries and without rendering: the page sends it in `hx-headers`, htmx sends
it back as X-Live-Version, and an equal one means "nothing changed". It
lives in the page layer because the panel's version needs page facts (who
is looking, Steam profiles). Every version includes the current minute, so
humanized times ("joined 3 minutes ago") are at most a minute behind.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import blake2b

from django.db.models import OuterRef, Subquery

from livestate import progress, queries
from livestate.badges import live_badge
from livestate.models import PlayerSession
from servers.models import Server
from steamprofiles.models import SteamProfile

HEADER = "X-Live-Version"


def digest(*parts: object) -> str:
    """16 hex characters, the same in every process (no salted hash())."""
    text = "\x1f".join(map(str, parts))
    return blake2b(text.encode(), digest_size=8).hexdigest()


def minute(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M")


def panel_version(
    server: Server, *, now: datetime, polling: progress.Polling, can_manage: bool
) -> str:
    """What the live panel shows of `server` to this class of viewer.

    The server should come with its LiveStatus (select_related); then this
    costs one query, the open sessions with their profiles' fetch times.
    """
    status = queries.status_of(server)
    badge = live_badge(
        server.desired_state,
        status,
        now=now,
        stale_after=queries.stale_after(),
        polling_stalled=polling.stalled,
    )
    players_visible = server.players_public or can_manage
    return digest(
        minute(now),
        server.name,
        server.desired_state,
        players_visible,
        can_manage,
        status.state,
        status.snapshot_id,
        status.answered_at is None,
        status.error if can_manage else "",
        badge,
        polling.stalled,
        open_sessions(server, pings=can_manage) if players_visible else (),
    )


def open_sessions(server: Server, *, pings: bool) -> tuple[tuple[object, ...], ...]:
    """Ids of the open sessions (a join or a leave changes them), with the
    ping range when it is shown and when Steam last described the player."""
    fetched = SteamProfile.objects.filter(steam_id_64=OuterRef("steam_id_64")).values("fetched_at")
    fields = ["id", "profile_at", *(["min_ping", "max_ping"] if pings else [])]
    rows = (
        PlayerSession.objects.open()
        .filter(server=server)
        .annotate(profile_at=Subquery(fetched[:1]))
        .order_by("id")
        .values_list(*fields)
    )
    return tuple(rows)


def rows_version(
    *, now: datetime, polling: progress.Polling, viewer: int | None, sort: str, q: str
) -> str:
    """The list rows change only when a poll tick finishes (or the minute turns)."""
    return digest(minute(now), polling.finished_at, polling.stalled, viewer, sort, q)
