"""Rows for page and query tests, built directly (the poller is tested elsewhere)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from livestate.models import LiveStateSnapshot, PlayerSession

STEAM_BASE = 76561197960265728


def steam_id(n: int) -> str:
    return str(STEAM_BASE + n)


def snapshot(
    server, *, seen_ago: float = 1, lasted: float = 60, now: datetime | None = None, **state
):
    now = now or timezone.now()
    fields = {"players": 0, "max_players": 4, "bots": 0, "map": "c1m1_hotel", "hibernating": False}
    fields.update(state)
    last_seen = now - timedelta(seconds=seen_ago)
    return LiveStateSnapshot.objects.create(
        server=server,
        started_at=last_seen - timedelta(seconds=lasted),
        last_seen_at=last_seen,
        **fields,
    )


def session(
    server,
    n: int,
    *,
    name: str = "",
    joined_ago: float = 600,
    left_ago: float | None = None,
    ping=(40, 60),
):
    now = timezone.now()
    left_at = now - timedelta(seconds=left_ago) if left_ago is not None else None
    return PlayerSession.objects.create(
        server=server,
        steam_id_64=steam_id(n),
        joined_at=now - timedelta(seconds=joined_ago),
        last_seen_at=left_at or now,
        left_at=left_at,
        name_at_join=name or f"player{n}",
        min_ping=ping[0],
        max_ping=ping[1],
    )
