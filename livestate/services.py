"""Polling and retention: the only place that combines RCON I/O with writes.

A poll of a chunk of servers claims them (a lease, so no server is polled
twice at once), then queries every one concurrently (asyncio), each bounded
by one deadline that covers its DNS lookup too, so a dead, black-holed or
hostile server costs one timeout in parallel with the others. The results
are reconciled against the stored state and written in one transaction with
a handful of batched statements; if that fails, server by server, so one
server's bad write never costs the others theirs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from left4me import crypto, metrics_store, outbound
from left4me.outbound import AddressRefused
from left4me.rcon import (
    RconAuthError,
    RconError,
    RconNetworkError,
    RconProtocolError,
    RconStatusError,
    Status,
    aquery_status,
)
from livestate import limits, player_totals, progress, reconcile, store
from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    LiveStatus,
    PlayerSession,
    ReachabilityRun,
)
from livestate.store import Target
from servers import addresses
from servers.models import Server

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# SPEC 13: a server may open at most this many sessions a minute; a roster
# of fresh SteamIDs every tick must not flood the history or the Steam key.
SESSION_OPENS_PER_MINUTE = 64
State = LiveStatus.State


PollError = RconError | AddressRefused
UNDECRYPTABLE_TEXT = (
    "the stored RCON password cannot be decrypted: its key is not in RCON_PASSWORD_KEYS "
    "(restore that key, or rotate the password)"
)


def failure_state(error: PollError) -> str:
    """The LiveStatus state a failed query leaves a server in, by the error's kind."""
    if isinstance(error, AddressRefused):
        return State.REFUSED
    if isinstance(error, RconAuthError):
        return State.AUTH_FAILED
    if isinstance(error, RconNetworkError):
        return State.UNREACHABLE
    return State.ERROR


def failure_text(error: PollError) -> str:
    """What the owner reads: never bytes the peer sent, which would make the poller
    an oracle for what listens at an address."""
    if isinstance(error, RconAuthError):
        return "RCON password rejected"
    if isinstance(error, RconStatusError):
        return "sent an invalid status"
    if isinstance(error, RconProtocolError):
        return "not an RCON server (something answered, but not with RCON)"
    return str(error)[:500]  # our own wording: refused, timed out, address not allowed


@dataclass(slots=True)
class PollResult:
    target: Target
    observed_at: datetime
    status: Status | None = None
    error: PollError | None = None
    session_allowance: float = 0.0  # left after this poll's new sessions

    @property
    def state(self) -> str:
        return State.RUNNING if self.error is None else failure_state(self.error)

    @property
    def error_text(self) -> str:
        return failure_text(self.error) if self.error else ""


@dataclass(slots=True)
class PollReport:
    """What one poll of a set of servers (a chunk, or a whole in-process tick) did."""

    results: list[PollResult]
    busy: int  # held by an earlier poll that is still running (or was killed)
    rcon_seconds: float
    db_seconds: float

    @property
    def polled(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.error is not None)

    @property
    def seconds(self) -> float:
        return self.rcon_seconds + self.db_seconds


@dataclass(frozen=True, slots=True)
class TickPlan:
    """Which servers a tick polls, and how many it holds back."""

    server_ids: list[int]
    in_backoff: int  # their current password was rejected within the back-off
    abandoned_closed: int  # stuck sessions of unpolled servers closed now


def select_targets(*, now: datetime) -> tuple[list[int], int]:
    """Servers meant to run with a password, minus those in auth back-off.

    After a rejected login a server waits out RCON_AUTH_BACKOFF_SECONDS even
    if its password is rotated meanwhile: otherwise rotating in a loop would
    send srcds a wrong password every tick and get the panel's IP banned.
    Returns their ids and how many the back-off held back.
    """
    backoff_start = now - timedelta(seconds=settings.RCON_AUTH_BACKOFF_SECONDS)
    servers = Server.objects.filter(desired_state=Server.DesiredState.RUNNING).exclude(
        rcon_password=""
    )
    in_backoff = Q(live_status__auth_failed_at__gt=backoff_start)
    ids = list(servers.exclude(in_backoff).order_by("pk").values_list("pk", flat=True))
    return ids, servers.filter(in_backoff).count()


def plan_tick(*, now: datetime) -> TickPlan:
    """Choose a tick's servers and close the stuck sessions of servers it skips."""
    ids, held = select_targets(now=now)
    closed = close_abandoned_sessions(now=now, polled=set(ids))
    return TickPlan(ids, held, closed)


def query_targets(targets: Sequence[Target], *, timeout: float, clock: Clock) -> list[PollResult]:
    """Query every target concurrently; each result carries when it was observed.

    Each target's host is resolved and checked against the outbound policy
    within the same deadline as its query, and the query goes to exactly the
    address that was checked. Two targets that resolve to one address and
    port are one target: only the first is queried.
    """
    policy = addresses.policy()
    claimed: dict[tuple[str, int], int] = {}

    async def one(target: Target) -> PollResult:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            if crypto.is_undecryptable(target.password):  # its key is gone: never send a guess
                raise RconError(UNDECRYPTABLE_TEXT)
            address = await resolve_target(target, policy=policy, timeout=timeout)
            if claimed.setdefault((address, target.port), target.server_id) != target.server_id:
                raise AddressRefused(f"{target.host}:{target.port} is another server's address")
            left = max(0.001, deadline - loop.time())
            status = await aquery_status(address, target.port, target.password, timeout=left)
        except (RconError, AddressRefused) as error:
            return PollResult(target, clock(), error=error)
        return PollResult(target, clock(), status=status)

    async def every() -> list[PollResult]:
        return list(await asyncio.gather(*(one(t) for t in targets)))

    return asyncio.run(every()) if targets else []


async def resolve_target(target: Target, *, policy: outbound.Policy, timeout: float) -> str:
    """The checked address to query; a lookup failure is a network error."""
    try:
        return await outbound.resolve(target.host, policy=policy, timeout=timeout)
    except TimeoutError:
        raise RconNetworkError(f"looking up {target.host} timed out") from None
    except outbound.InvalidHost:
        raise RconNetworkError(f"{target.host} does not resolve") from None


def reconcile_results(
    results: Sequence[PollResult], last: dict[int, reconcile.LastAnswer]
) -> dict[int, reconcile.Changes]:
    """Decide every write the results imply, loading sessions in a few queries."""
    ids = [r.target.server_id for r in results]
    open_sessions = store.load_open_sessions(ids)
    wanted = {
        r.target.server_id: reconcile.arrivals(r.status, open_sessions.get(r.target.server_id, []))
        for r in results
        if r.status is not None
    }
    wanted = {sid: ids_ for sid, ids_ in wanted.items() if ids_}
    oldest = min((r.observed_at for r in results), default=timezone.now())
    closed = store.load_recently_closed(wanted, since=oldest - timedelta(days=1))
    max_gap = timedelta(seconds=settings.LIVE_STATE_STALE_SECONDS)
    stuck = timedelta(seconds=settings.STUCK_SESSION_SECONDS)
    changes = {}
    for r in results:
        sid = r.target.server_id
        sessions = open_sessions.get(sid, [])
        if r.status is not None:
            allowance = reconcile.session_allowance(
                last.get(sid), r.observed_at, per_minute=SESSION_OPENS_PER_MINUTE
            )
            changes[sid] = reconcile.plan_success(
                status=r.status,
                observed_at=r.observed_at,
                open_sessions=sessions,
                last=last.get(sid),
                recently_closed=closed.get(sid, {}),
                max_gap=max_gap,
                open_budget=int(allowance),
            )
            r.session_allowance = allowance - len(changes[sid].open)
        else:
            changes[sid] = reconcile.plan_failure(
                observed_at=r.observed_at,
                open_sessions=sessions,
                last=last.get(sid),
                stuck_after=stuck,
            )
    return changes


def state_rows(results: Sequence[PollResult]) -> tuple[list[store.Answered], list[store.Failed]]:
    """The new LiveStatus of every polled server, split by the statement that writes it."""
    answered, failed = [], []
    for r in results:
        sid = r.target.server_id
        if r.status is not None:
            s = r.status
            answered.append(
                store.Answered(
                    r.state, r.observed_at, s.players, s.max_players, s.bots, s.map,
                    s.hibernating, r.session_allowance, sid,
                )
            )  # fmt: skip
            continue
        auth_failed = isinstance(r.error, RconAuthError)
        failed.append(
            store.Failed(
                r.state,
                r.observed_at,
                r.error_text,
                r.observed_at if auth_failed else None,
                sid,
            )
        )
    return answered, failed


def poll_servers(
    *, server_ids: Sequence[int], clock: Clock = timezone.now, lease_token: str = ""
) -> PollReport:
    """Poll these servers once: claim, query concurrently, reconcile, write.

    Servers another poll still holds (a slow or killed earlier tick) are
    skipped and counted, so no server is ever polled twice at once.
    """
    now = clock()
    claimed = time.perf_counter()
    claim = store.claim_servers(
        server_ids,
        now=now,
        until=now + timedelta(seconds=limits.chunk_time_limit()),
        token=lease_token,
    )
    claim_seconds = time.perf_counter() - claimed
    try:
        started = time.perf_counter()
        timeout = settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS
        results = query_targets(claim.targets, timeout=timeout, clock=clock)
        queried = time.perf_counter()
        changes = reconcile_results(results, claim.last)
        answered, failed = state_rows(results)
        errors = store.write_poll(
            token=claim.token,
            changes=changes,
            answered=answered,
            failed=failed,
            last_poll=claim.last_poll,
        )
    except BaseException:
        store.release(claim.token)
        raise
    if claim.targets or not server_ids:
        # Progress means servers polled: a chunk whose servers were all still
        # held by an earlier (killed) poll did not move anything forward.
        progress.record_finished(now=clock())
    db_seconds = claim_seconds + time.perf_counter() - queried  # claim, write, stamp
    log_trouble(changes, errors)
    report = PollReport(results, claim.busy, queried - started, db_seconds)
    metrics_store.record_poll(
        seconds=report.seconds, failures=[r.state for r in results if r.error]
    )
    logger.info(
        "polled %d servers, %d failed, %d held by an earlier poll, in %.2f s "
        "(rcon %.2f s, db %.2f s)",
        report.polled,
        report.failed,
        report.busy,
        report.seconds,
        report.rcon_seconds,
        report.db_seconds,
    )
    return report


def log_trouble(changes: dict[int, reconcile.Changes], errors: Mapping[int, Exception]) -> None:
    """Name the server and the reason for whatever one server's poll could not store."""
    for sid, error in errors.items():
        text = str(error).strip()
        reason = text.splitlines()[0][:200] if text else ""
        logger.warning("server %d: poll not stored: %s: %s", sid, type(error).__name__, reason)
    for sid, c in changes.items():
        if c.over_budget:
            logger.warning(
                "server %d: %d new players not recorded: over %d new sessions a minute",
                sid,
                c.over_budget,
                SESSION_OPENS_PER_MINUTE,
            )


def run_tick(
    *, clock: Clock = timezone.now, server_ids: Sequence[int] | None = None
) -> tuple[TickPlan, PollReport]:
    """One whole tick in this process (management command, benchmarks).

    With `server_ids`, only those of the tick's targets are polled.
    """
    plan = plan_tick(now=clock())
    ids = plan.server_ids
    if server_ids is not None:
        wanted = set(server_ids)
        ids = [pk for pk in ids if pk in wanted]
    log_tick(plan, chunks=1)
    progress.record_dispatch(now=clock(), nothing_to_poll=not ids)
    return plan, poll_servers(server_ids=ids, clock=clock)


def log_tick(plan: TickPlan, *, chunks: int) -> None:
    logger.info(
        "tick: %d servers to poll in %d chunk(s), %d in auth back-off",
        len(plan.server_ids),
        chunks,
        plan.in_backoff,
    )


def close_abandoned_sessions(*, now: datetime, polled: set[int]) -> int:
    """Close stuck sessions of servers this tick does not poll (stopped, in back-off).

    Polled servers are handled per result; a server nobody polls would keep
    its players "online" forever otherwise.
    """
    cutoff = now - timedelta(seconds=settings.STUCK_SESSION_SECONDS)
    stuck = PlayerSession.objects.open().filter(last_seen_at__lt=cutoff)
    ids = [pk for pk, server_id in stuck.values_list("pk", "server_id") if server_id not in polled]
    return PlayerSession.objects.filter(pk__in=ids).update(left_at=F("last_seen_at"))


@dataclass(slots=True)
class PruneReport:
    snapshots: int
    sessions: int
    runs: int  # reachability runs
    hourly: int  # hourly rollups
    daily: int  # daily rollups


def prune_live_state(
    *,
    days: int,
    rollup_days: int | None = None,
    batch_size: int = 5000,
    dry_run: bool = False,
) -> PruneReport:
    """Delete snapshots, closed sessions and reachability runs older than `days`, and
    rollups older than `rollup_days` (default LIVE_STATE_ROLLUP_DAYS), in bounded batches.

    Small batches keep each delete's lock short, so polling writes never
    wait long behind retention. Sessions are folded into the players' totals
    first, and only folded ones are deleted: the totals lose nothing.
    """
    now = timezone.now()
    cutoff = now - timedelta(days=days)
    rollup_cutoff = now - timedelta(days=rollup_days or settings.LIVE_STATE_ROLLUP_DAYS)
    sessions = PlayerSession.objects.filter(left_at__lt=cutoff)
    if dry_run:  # what folding first would make deletable
        final = now - player_totals.FINAL_AFTER
        sessions = sessions.filter(Q(folded=True) | Q(left_at__lt=final))
    else:
        player_totals.fold_final_sessions(now=now, batch=batch_size)
        sessions = sessions.filter(folded=True)
    old: list[QuerySet[Any]] = [
        LiveStateSnapshot.objects.filter(last_seen_at__lt=cutoff),
        sessions,
        ReachabilityRun.objects.filter(last_seen_at__lt=cutoff),
        HourlyRollup.objects.filter(hour__lt=rollup_cutoff),
        DailyRollup.objects.filter(day__lt=rollup_cutoff.date()),
    ]
    if dry_run:
        return PruneReport(*(queryset.count() for queryset in old))
    return PruneReport(*(_delete_batched(queryset, batch_size) for queryset in old))


def _delete_batched(queryset: QuerySet[Any], batch_size: int) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        total += queryset.model.objects.filter(pk__in=ids).delete()[0]
