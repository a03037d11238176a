"""Which reachability run a poll belongs to. Pure: no I/O, no ORM.

Every poll of a server meant to run has an outcome: it answered, or it failed
for one reason. Consecutive polls with one outcome form one run
(`ReachabilityRun`), stored run-length encoded like snapshots, so a year of
5-second polls of a steady server is a handful of rows. A run continues only
while the polls keep coming: a silence longer than LIVE_STATE_STALE_SECONDS
(the panel was down, the server was not meant to run) starts a new run, so
uptime never counts time nobody looked. After a rejected password the server
is not tried again for RCON_AUTH_BACKOFF_SECONDS, and that wait still belongs
to the "password rejected" run: the server was meant to run and could not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from livestate.models import LiveStatus, ReachabilityRun

Outcome = ReachabilityRun.Outcome
OUTCOME_OF_STATE = {
    LiveStatus.State.RUNNING: Outcome.ANSWERED,
    LiveStatus.State.UNREACHABLE: Outcome.UNREACHABLE,
    LiveStatus.State.AUTH_FAILED: Outcome.AUTH_FAILED,
    LiveStatus.State.ERROR: Outcome.ERROR,
    LiveStatus.State.REFUSED: Outcome.REFUSED,
}


class LastPoll(NamedTuple):
    """A server's previous poll, from its LiveStatus."""

    state: str
    polled_at: datetime | None
    run_id: int | None


def allowed_gap(outcome: str, *, stale: timedelta, auth_backoff: timedelta) -> timedelta:
    """How long after a poll with this outcome the next one may come and continue its run."""
    return stale + auth_backoff if outcome == Outcome.AUTH_FAILED else stale


def continues(
    last: LastPoll | None,
    outcome: str,
    polled_at: datetime,
    *,
    stale: timedelta,
    auth_backoff: timedelta,
) -> bool:
    """Does a poll with `outcome` at `polled_at` extend the run of the previous poll?"""
    if last is None or last.run_id is None or last.polled_at is None:
        return False
    if OUTCOME_OF_STATE.get(last.state) != outcome:  # type: ignore[call-overload]
        return False
    gap = polled_at - last.polled_at
    return timedelta(0) <= gap <= allowed_gap(outcome, stale=stale, auth_backoff=auth_backoff)
