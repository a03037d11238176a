"""Rows for page and query tests, built directly (the poller is tested elsewhere)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession

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
    row = LiveStateSnapshot.objects.create(
        server=server,
        started_at=last_seen - timedelta(seconds=lasted),
        last_seen_at=last_seen,
        **fields,
    )
    # The newest run is the server's last answer, as the poller records it.
    live_status(server, answered_at=last_seen, snapshot=row, **fields)
    return row


def live_status(server, **fields) -> LiveStatus:
    """Create or update the server's LiveStatus (state "running" unless given)."""
    status, _ = LiveStatus.objects.get_or_create(server=server)
    if "state" not in fields and status.state == LiveStatus.State.UNKNOWN:
        fields["state"] = LiveStatus.State.RUNNING
    for name, value in fields.items():
        setattr(status, name, value)
    status.save()
    return status


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
