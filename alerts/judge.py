"""When a rule's event happens: pure decisions over what polling last saw.

No database and no clock of its own: the evaluator hands in each server's
`Observation` (its LiveStatus), the rule's `Memory` and `now`; `judge`
updates the memory and returns the occurrence to deliver, if any. Every
occurrence has a key that two evaluators reading the same rows compute
alike, so one occurrence is one delivery row whoever evaluates.

Rules of each event:

- `down`: the server is meant to run, its last poll failed (unreachable,
  error, address refused) and it has not answered for `down_after` since
  the later of its last answer and the moment the rule began watching it
  (now, the first time the evaluator sees it meant to run). Judged only
  while the panel polls it (its last poll is recent and polling is not
  stalled): a panel that stopped polling must not call every server down.
  A map change or one lost poll lasts less than `down_after`: never an alert.
  An auth failure is not `down` (see `password_rejected`).
- `up`: the server answers again after an outage that met the `down` rule
  above; each rule keeps its own outage (`outage_since`), so an `up` rule
  works with or without a `down` rule beside it.
- `password_rejected`: the state turns `auth_failed`; once per transition
  (re-armed by any other state; the back-off means the server is not even
  polled again for a while).
- `players_at_least N` / `players_at_most N`: the count of an answer
  crosses N; once per crossing. Hysteresis: after firing, the rule re-arms
  only when the count has gone back past N by MARGIN (at_least: players <=
  N - 2; at_most: players >= N + 2) or has stayed on the other side of N
  for REARM_AFTER of answers. A count flapping 3, 4, 3, 4 around 4 fires
  once. A new rule adopts the present count without firing: a crossing
  needs a before.
- `player_joined` is not judged here: the evaluator reads new sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.models import Event

RUNNING, AUTH_FAILED, UNKNOWN = "running", "auth_failed", "unknown"
DOWN_STATES = frozenset({"unreachable", "error", "refused"})
MARGIN = 2
REARM_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Observation:
    """A server as polling last saw it (its LiveStatus), and whether it is meant to run."""

    wanted: bool
    state: str = UNKNOWN
    polled_at: datetime | None = None
    answered_at: datetime | None = None
    auth_failed_at: datetime | None = None
    players: int = 0
    error: str = ""


@dataclass(slots=True)
class Memory:
    """What a rule remembers between evaluations (columns of AlertRule)."""

    watch_from: datetime | None = None
    outage_since: datetime | None = None
    armed: bool | None = None
    rearm_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Context:
    now: datetime
    down_after: timedelta
    fresh_within: timedelta  # a server polled longer ago than this is not being polled
    polling_alive: bool

    def polls(self, seen: Observation) -> bool:
        """Time-based judgements need the panel to be polling this server now."""
        return (
            self.polling_alive
            and seen.polled_at is not None
            and self.now - seen.polled_at <= self.fresh_within
        )


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str
    occurred_at: datetime
    reason: str
    live: bool  # the server answered: its players and map are current


def judge(
    event: str, threshold: int | None, memory: Memory, seen: Observation, ctx: Context
) -> Occurrence | None:
    """Update `memory` with this observation; the occurrence it makes, if any."""
    if event in (Event.DOWN, Event.UP):
        return _outage(event, memory, seen, ctx)
    if event == Event.PASSWORD_REJECTED:
        return _password(memory, seen)
    if event in (Event.PLAYERS_AT_LEAST, Event.PLAYERS_AT_MOST) and threshold is not None:
        return _players(event, threshold, memory, seen)
    return None


def _outage(event: str, memory: Memory, seen: Observation, ctx: Context) -> Occurrence | None:
    if not seen.wanted:
        memory.watch_from = memory.outage_since = None
        return None
    watch_from = memory.watch_from = memory.watch_from or ctx.now
    if memory.outage_since is not None:
        since = memory.outage_since
        if seen.state != RUNNING or seen.answered_at is None or seen.answered_at <= since:
            return None
        memory.outage_since = None
        if event != Event.UP:
            return None
        gap = duration(seen.answered_at - since)
        return Occurrence(
            f"up:{since.isoformat()}", seen.answered_at, f"answering again after {gap}", True
        )
    if seen.state not in DOWN_STATES or not ctx.polls(seen):
        return None
    last = max(seen.answered_at or watch_from, watch_from)
    if ctx.now - last < ctx.down_after:
        return None
    memory.outage_since = last
    if event != Event.DOWN:
        return None
    why = f" ({seen.error})" if seen.error else ""
    reason = f"not answering for {duration(ctx.now - last)}{why}"
    return Occurrence(f"down:{last.isoformat()}", ctx.now, reason, False)


def _password(memory: Memory, seen: Observation) -> Occurrence | None:
    if seen.state == UNKNOWN:
        return None
    rejected = seen.state == AUTH_FAILED
    if memory.armed is None or not rejected:
        memory.armed = not rejected
        return None
    if not memory.armed:
        return None
    memory.armed = False
    at = seen.auth_failed_at or seen.polled_at
    if at is None:
        return None
    reason = "the server rejected the panel's RCON password (server.cfg not reloaded?)"
    return Occurrence(f"password_rejected:{at.isoformat()}", at, reason, False)


def _players(event: str, n: int, memory: Memory, seen: Observation) -> Occurrence | None:
    if seen.state != RUNNING or seen.answered_at is None:
        return None
    at_least = event == Event.PLAYERS_AT_LEAST
    count = seen.players
    met = count >= n if at_least else count <= n
    if memory.armed is None:
        memory.armed, memory.rearm_since = not met, None
        return None
    if met:
        memory.rearm_since = None
        if not memory.armed:
            return None
        memory.armed = False
        words = "at least" if at_least else "at most"
        reason = f"{count} player{'s' if count != 1 else ''} on the server ({words} {n})"
        return Occurrence(f"{event}:{seen.answered_at.isoformat()}", seen.answered_at, reason, True)
    if memory.armed:
        return None
    back = count <= n - MARGIN if at_least else count >= n + MARGIN
    memory.rearm_since = memory.rearm_since or seen.answered_at
    if back or seen.answered_at - memory.rearm_since >= REARM_AFTER:
        memory.armed, memory.rearm_since = True, None
    return None


def duration(delta: timedelta) -> str:
    """75 s, 3 min, 2 h 5 min: how long, for people."""
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
