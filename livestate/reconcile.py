"""Turn one poll result into the writes it implies. Pure: no I/O, no Django ORM.

The rules (SPEC section 4) in one place, so they can be tested exhaustively
without sockets or a database:

- a player first seen opens a session joined at poll time - connected time;
- a player missing from a successful poll is closed at their last observation;
- a player still on the same connection shows the same implied join time
  (poll time - connected time) at every poll, however late the poll and
  however long the silence before it; one whose implied join moved later
  than the session's by more than JOIN_TOLERANCE reconnected: close the old
  session at its last observation (or, if that may already have been the new
  connection, just before the new one began) and open a new one;
- a player closed while the server was silent who turns up still on the same
  connection (no later implied join) gets that session re-opened, so an
  outage never splits a session; on a newer connection, a new session (and
  the closed one ends before the new one began, if it saw it);
- failed polls keep sessions open until the server has been silent for
  STUCK_SESSION_SECONDS, then they close at their last observation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from left4me.rcon import RosterEntry, Status

# How much later than a session's join the implied join of the connection
# seen now may be, and still be that connection. `status` floors connected
# time to whole seconds and a reply is stamped when it arrives, so one
# connection's implied joins spread over 1 s plus that delay: the tolerance
# must be wider than that. And a new connection taken for the old one is
# recorded as joined when the old one did, at most this much early: the
# history promises joins within 2 s (SPEC 12), so it may not be wider.
JOIN_TOLERANCE = timedelta(seconds=2)
# A connection whose implied join is t began after t - this (whole seconds, floored).
CONNECTED_ROUNDING = timedelta(seconds=1)


@dataclass(slots=True)
class OpenSession:
    id: int
    steam_id_64: str
    joined_at: datetime
    last_seen_at: datetime
    min_ping: int
    max_ping: int


@dataclass(slots=True, frozen=True)
class ClosedSession:
    id: int
    joined_at: datetime
    left_at: datetime
    min_ping: int
    max_ping: int


@dataclass(slots=True, frozen=True)
class LastAnswer:
    """What the server said the last time it answered (from its LiveStatus)."""

    snapshot_id: int | None  # the history row that answer's run lives in
    answered_at: datetime | None
    players: int
    max_players: int
    bots: int
    map: str
    hibernating: bool
    session_allowance: float = 64.0

    def same_state(self, status: Status) -> bool:
        return (self.players, self.max_players, self.bots, self.map, self.hibernating) == (
            status.players,
            status.max_players,
            status.bots,
            status.map,
            status.hibernating,
        )


@dataclass(slots=True, frozen=True)
class NewSession:
    steam_id_64: str
    name: str
    joined_at: datetime
    seen_at: datetime
    ping: int


class SessionClose(NamedTuple):
    """Parameters of one session close, in the order of store's SQL."""

    left_at: datetime
    session_id: int


class SessionSeen(NamedTuple):
    """A session seen again (touched, or re-opened), in the order of store's SQL."""

    seen_at: datetime
    min_ping: int
    max_ping: int
    session_id: int


@dataclass(slots=True)
class Changes:
    """Every write one server's poll implies, grouped for batched execution."""

    snapshot_touch: int | None = None  # id of the snapshot whose run continues
    snapshot_new: Status | None = None
    close: list[SessionClose] = field(default_factory=list)
    touch: list[SessionSeen] = field(default_factory=list)
    reopen: list[SessionSeen] = field(default_factory=list)
    open: list[NewSession] = field(default_factory=list)
    over_budget: int = 0  # arrivals not stored: the server opened too many sessions lately

    def add_open(self, session: NewSession, budget: int) -> None:
        if len(self.open) < budget:
            self.open.append(session)
        else:
            self.over_budget += 1


def implied_join(entry: RosterEntry, observed_at: datetime) -> datetime:
    return observed_at - timedelta(seconds=entry.connected_seconds)


def reconnected(session: OpenSession, entry: RosterEntry, observed_at: datetime) -> bool:
    """Is the connection seen now a newer one than the session's?

    A connection that simply went on shows the implied join the session
    was opened with; a newer one began later, however soon after joining
    and however long ago we last saw the player (a freeze, late polls).
    Only later counts: an earlier implied join is still this connection
    (a session stored by the rule before issue 14 may start late, held
    back so as not to overlap the one before).
    """
    return implied_join(entry, observed_at) - session.joined_at > JOIN_TOLERANCE


def same_connection(closed: ClosedSession, entry: RosterEntry, observed_at: datetime) -> bool:
    """Is this the connection a session was closed on (closed while the server was silent)?"""
    return implied_join(entry, observed_at) - closed.joined_at <= JOIN_TOLERANCE


def ping_range(session: OpenSession, ping: int) -> tuple[int, int]:
    return min(session.min_ping, ping), max(session.max_ping, ping)


def roster_by_id(status: Status) -> dict[str, RosterEntry]:
    """First row wins if a SteamID is listed twice (a glitch, not two players)."""
    roster: dict[str, RosterEntry] = {}
    for entry in status.roster:
        roster.setdefault(entry.steam_id_64, entry)
    return roster


def arrivals(status: Status, open_sessions: list[OpenSession]) -> set[str]:
    """SteamIDs in this poll without an open session (candidates for re-opening)."""
    return set(roster_by_id(status)) - {s.steam_id_64 for s in open_sessions}


def plan_snapshot(
    changes: Changes,
    last: LastAnswer | None,
    status: Status,
    observed_at: datetime,
    max_gap: timedelta,
) -> None:
    """Extend the last answer's run if nothing changed and no gap opened; else start one."""
    if (
        last is not None
        and last.snapshot_id is not None
        and last.answered_at is not None
        and observed_at - last.answered_at <= max_gap
        and last.same_state(status)
    ):
        changes.snapshot_touch = last.snapshot_id
    else:
        changes.snapshot_new = status


def plan_success(
    *,
    status: Status,
    observed_at: datetime,
    open_sessions: list[OpenSession],
    last: LastAnswer | None,
    recently_closed: dict[str, ClosedSession],
    max_gap: timedelta,
    open_budget: int = 255,
) -> Changes:
    """Writes for a server that answered.

    At most `open_budget` sessions are opened; further arrivals are counted
    (a reconnect over budget still closes its old session: that one ended).
    """
    changes = Changes()
    plan_snapshot(changes, last, status, observed_at, max_gap)
    roster = roster_by_id(status)
    for session in open_sessions:
        entry = roster.pop(session.steam_id_64, None)
        if entry is None:
            changes.close.append(SessionClose(session.last_seen_at, session.id))
        elif reconnected(session, entry, observed_at):
            left = ended_by(session.last_seen_at, entry, observed_at)
            changes.close.append(SessionClose(left, session.id))
            changes.add_open(new_session(entry, observed_at), open_budget)
        else:
            low, high = ping_range(session, entry.ping)
            changes.touch.append(SessionSeen(observed_at, low, high, session.id))
    for steam_id, entry in roster.items():
        plan_arrival(changes, entry, recently_closed.get(steam_id), observed_at, open_budget)
    return changes


def plan_arrival(
    changes: Changes,
    entry: RosterEntry,
    closed: ClosedSession | None,
    observed_at: datetime,
    open_budget: int,
) -> None:
    """A player without an open session: their last session re-opened, or a new one."""
    if closed is not None and same_connection(closed, entry, observed_at):
        low, high = min(closed.min_ping, entry.ping), max(closed.max_ping, entry.ping)
        changes.reopen.append(SessionSeen(observed_at, low, high, closed.id))
        return
    if closed is not None:
        left = ended_by(closed.left_at, entry, observed_at)
        if left < closed.left_at:  # its last observations were of this newer connection
            changes.close.append(SessionClose(left, closed.id))
    changes.add_open(new_session(entry, observed_at), open_budget)


def ended_by(last_seen: datetime, entry: RosterEntry, observed_at: datetime) -> datetime:
    """When a session ended, given that `entry` is a newer connection of its player.

    At its last observation, unless that may already have been the new
    connection: one player is connected once, so the old connection ended
    before the new one began, and that began after its implied join - 1 s.
    (A reconnect within 2 s of joining looks like the same connection until
    a later poll's rounding gives it away: by then the session has been
    touched by the new connection.) So the history never shows the player
    twice at once.
    """
    return min(last_seen, implied_join(entry, observed_at) - CONNECTED_ROUNDING)


def new_session(entry: RosterEntry, observed_at: datetime) -> NewSession:
    joined = implied_join(entry, observed_at)
    return NewSession(entry.steam_id_64, entry.name, joined, observed_at, entry.ping)


def plan_failure(
    *,
    observed_at: datetime,
    open_sessions: list[OpenSession],
    last: LastAnswer | None,
    stuck_after: timedelta,
) -> Changes:
    """Writes for a server that did not answer: only close stuck sessions."""
    changes = Changes()
    if not open_sessions:
        return changes
    answers = [s.last_seen_at for s in open_sessions]
    if last is not None and last.answered_at is not None:
        answers.append(last.answered_at)
    if observed_at - max(answers) >= stuck_after:
        changes.close = [SessionClose(s.last_seen_at, s.id) for s in open_sessions]
    return changes


def session_allowance(last: LastAnswer | None, observed_at: datetime, *, per_minute: int) -> float:
    """Sessions a server may open now: a bucket of `per_minute`, refilled continuously."""
    if last is None or last.answered_at is None:
        return float(per_minute)
    elapsed = max(0.0, (observed_at - last.answered_at).total_seconds())
    return min(float(per_minute), last.session_allowance + elapsed * per_minute / 60)
