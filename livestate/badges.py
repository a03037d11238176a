"""The one-line live badge of a server, decided from its latest snapshot.

`2/4 · c1m2_streets` when fresh, `0/4 · idle · c1m1_hotel` when hibernating,
`—` when the server is not meant to run, and a dim `?` with the reason when
the last successful poll is older than LIVE_STATE_STALE_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.timesince import timesince

from livestate.models import LiveStateSnapshot
from servers.models import Server

STALE_REASONS = {
    Server.ActualState.AUTH_FAILED: "RCON password rejected",
    Server.ActualState.UNREACHABLE: "unreachable",
    Server.ActualState.ERROR: "not answering RCON properly",
    Server.ActualState.UNKNOWN: "waiting for the first poll",
    Server.ActualState.RUNNING: "no recent answer",
}


@dataclass(frozen=True, slots=True)
class Badge:
    kind: str  # "live", "idle", "off" or "stale"
    text: str
    reason: str = ""

    @property
    def is_fresh(self) -> bool:
        return self.kind in ("live", "idle")


def live_badge(
    server: Server, snapshot: LiveStateSnapshot | None, *, now: datetime, stale_after: timedelta
) -> Badge:
    if server.desired_state != Server.DesiredState.RUNNING:
        return Badge("off", "—", "not meant to be running")
    if snapshot is not None and now - snapshot.last_seen_at <= stale_after:
        count = f"{snapshot.players}/{snapshot.max_players}"
        if snapshot.hibernating:
            return Badge("idle", f"{count} · idle · {snapshot.map}")
        return Badge("live", f"{count} · {snapshot.map}")
    return Badge("stale", "?", stale_reason(server, snapshot, now=now))


def stale_reason(server: Server, snapshot: LiveStateSnapshot | None, *, now: datetime) -> str:
    reason = STALE_REASONS.get(server.actual_state, "no recent answer")
    if server.actual_state == Server.ActualState.AUTH_FAILED:
        return reason
    if snapshot is None:
        return (
            reason
            if server.actual_state == Server.ActualState.UNKNOWN
            else f"{reason}, never answered"
        )
    return f"{reason} for {timesince(snapshot.last_seen_at, now, depth=1)}"
