"""The one-line live badge of a server, decided from its LiveStatus (data only).

`2/4 · c1m2_streets` when fresh, `0/4 · idle · c1m1_hotel` when hibernating,
`—` when the server is not meant to run, and a dim `?` with the reason when
the last answer is older than LIVE_STATE_STALE_SECONDS. One template partial,
`livestate/_badge.html`, renders it for the list and the panel alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from django.utils.timesince import timesince

from livestate.models import LiveStatus
from servers.models import Server

State = LiveStatus.State

STALE_REASONS: dict[str, str] = {
    State.AUTH_FAILED: "RCON password rejected",
    State.UNREACHABLE: "unreachable",
    State.ERROR: "not answering RCON properly",
    State.UNKNOWN: "waiting for the first poll",
    State.RUNNING: "no recent answer",
    State.REFUSED: "address not allowed",
}


class LiveFacts(Protocol):
    """What a badge needs of a server's live state: a LiveStatus, or a row of one."""

    @property
    def state(self) -> str: ...
    @property
    def answered_at(self) -> datetime | None: ...
    @property
    def players(self) -> int: ...
    @property
    def max_players(self) -> int: ...
    @property
    def map(self) -> str: ...
    @property
    def hibernating(self) -> bool: ...


class LiveRow(NamedTuple):
    """LiveFacts read as plain values (a 1,000-server list skips building models)."""

    state: str
    answered_at: datetime | None
    players: int
    max_players: int
    map: str
    hibernating: bool


@dataclass(frozen=True, slots=True)
class Badge:
    kind: str  # "live", "idle", "off" or "stale"
    text: str
    reason: str = ""

    @property
    def is_fresh(self) -> bool:
        return self.kind in ("live", "idle")


def is_fresh(status: LiveFacts, *, now: datetime, stale_after: timedelta) -> bool:
    return status.answered_at is not None and now - status.answered_at <= stale_after


NOT_POLLING = "the panel is not polling"


def live_badge(
    desired_state: str,
    status: LiveFacts,
    *,
    now: datetime,
    stale_after: timedelta,
    polling_stalled: bool = False,
) -> Badge:
    """The badge of a server meant to be in `desired_state` whose last poll left `status`.

    When the panel itself has stopped polling, an old answer is the panel's
    fault, not the server's: the reason says so instead of "unreachable".
    """
    if desired_state != Server.DesiredState.RUNNING:
        return Badge("off", "—", "not meant to be running")
    if is_fresh(status, now=now, stale_after=stale_after):
        count = f"{status.players}/{status.max_players}"
        if status.hibernating:
            return Badge("idle", f"{count} · idle · {status.map}")
        return Badge("live", f"{count} · {status.map}")
    if polling_stalled:
        return Badge("stale", "?", NOT_POLLING)
    return Badge("stale", "?", stale_reason(status, now=now))


def stale_reason(status: LiveFacts, *, now: datetime) -> str:
    reason = STALE_REASONS.get(status.state, "no recent answer")
    if status.state in (State.AUTH_FAILED, State.REFUSED):
        return reason
    if status.answered_at is None:
        return reason if status.state == State.UNKNOWN else f"{reason}, never answered"
    if now - status.answered_at < timedelta(minutes=1):  # timesince would say "0 minutes"
        return f"{reason} for under a minute"
    return f"{reason} for {timesince(status.answered_at, now, depth=1)}"
