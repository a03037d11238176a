"""Polling and retention: the only place that combines RCON I/O with writes.

A poll of a chunk of servers runs in two phases. First every server is
queried concurrently (asyncio), each bounded by one deadline, so a dead or
black-holed server costs one timeout in parallel with the others. Then the
results are reconciled against the stored state and written in one
transaction with a handful of batched statements.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from left4me.rcon import RconAuthError, RconError, Status, aquery_status
from livestate import reconcile, store
from livestate.models import LiveStateSnapshot, PlayerSession
from servers.models import Server

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
UNREACHABLE_PREFIXES = ("timed out", "connection", "network error")


@dataclass(frozen=True, slots=True)
class Target:
    server_id: int
    name: str
    host: str
    port: int
    password: str = field(repr=False)


@dataclass(slots=True)
class PollResult:
    target: Target
    observed_at: datetime
    status: Status | None = None
    error: RconError | None = None

    @property
    def state(self) -> str:
        if self.error is None:
            return Server.ActualState.RUNNING
        if isinstance(self.error, RconAuthError):
            return Server.ActualState.AUTH_FAILED
        if str(self.error).startswith(UNREACHABLE_PREFIXES):
            return Server.ActualState.UNREACHABLE
        return Server.ActualState.ERROR

    @property
    def error_text(self) -> str:
        if isinstance(self.error, RconAuthError):
            return "RCON password rejected"
        return str(self.error)[:500] if self.error else ""


@dataclass(slots=True)
class TickReport:
    results: list[PollResult]
    skipped_backoff: int
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


def password_fingerprint(password: str) -> str:
    """Identifies which password failed without storing anything reusable."""
    return hashlib.sha256(password.encode()).hexdigest()[:16]


def select_targets(
    *, now: datetime, server_ids: Sequence[int] | None = None
) -> tuple[list[Target], int]:
    """Servers meant to run with a password, minus those in auth back-off.

    Returns the targets and how many were held back by the back-off.
    """
    servers = Server.objects.filter(desired_state=Server.DesiredState.RUNNING).exclude(
        rcon_password=""
    )
    if server_ids is not None:
        servers = servers.filter(pk__in=server_ids)
    backoff_start = now - timedelta(seconds=settings.RCON_AUTH_BACKOFF_SECONDS)
    targets, held = [], 0
    rows = servers.order_by("pk").values_list(
        "pk",
        "name",
        "host",
        "port",
        "rcon_password",
        "rcon_auth_failed_at",
        "rcon_auth_failed_fingerprint",
    )
    for pk, name, host, port, password, failed_at, fingerprint in rows:
        if (
            failed_at
            and failed_at > backoff_start
            and fingerprint == password_fingerprint(password)
        ):
            held += 1
            continue
        targets.append(Target(pk, name, host, port, password))
    return targets, held


def query_targets(targets: Sequence[Target], *, timeout: float, clock: Clock) -> list[PollResult]:
    """Query every target concurrently; each result carries when it was observed."""

    async def one(target: Target) -> PollResult:
        try:
            status = await aquery_status(target.host, target.port, target.password, timeout=timeout)
        except RconError as error:
            return PollResult(target, clock(), error=error)
        return PollResult(target, clock(), status=status)

    async def every() -> list[PollResult]:
        return list(await asyncio.gather(*(one(t) for t in targets)))

    return asyncio.run(every()) if targets else []


def reconcile_results(results: Sequence[PollResult]) -> dict[int, reconcile.Changes]:
    """Decide every write the results imply, loading state in a few queries."""
    ids = [r.target.server_id for r in results]
    latest = store.load_latest_snapshots(ids)
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
            changes[sid] = reconcile.plan_success(
                status=r.status,
                observed_at=r.observed_at,
                open_sessions=sessions,
                latest=latest.get(sid),
                recently_closed=closed.get(sid, {}),
                max_gap=max_gap,
            )
        else:
            changes[sid] = reconcile.plan_failure(
                observed_at=r.observed_at,
                open_sessions=sessions,
                latest=latest.get(sid),
                stuck_after=stuck,
            )
    return changes


def server_state_rows(results: Sequence[PollResult]) -> list[tuple]:
    rows = []
    for r in results:
        auth_failed = isinstance(r.error, RconAuthError)
        rows.append(
            (
                r.state,
                r.observed_at,
                r.error_text,
                r.observed_at if auth_failed else None,
                password_fingerprint(r.target.password) if auth_failed else "",
                r.target.server_id,
            )
        )
    return rows


def poll_servers(
    *, server_ids: Sequence[int] | None = None, clock: Clock = timezone.now
) -> TickReport:
    """One tick for the given servers (all targets when None): query, reconcile, write."""
    now = clock()
    targets, held = select_targets(now=now, server_ids=server_ids)
    if server_ids is None:
        close_abandoned_sessions(now=now, polled={t.server_id for t in targets})
    started = time.perf_counter()
    results = query_targets(targets, timeout=settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS, clock=clock)
    queried = time.perf_counter()
    if results:
        observed = {r.target.server_id: r.observed_at for r in results}
        store.write_poll(reconcile_results(results), server_state_rows(results), observed)
    report = TickReport(results, held, queried - started, time.perf_counter() - queried)
    logger.info(
        "polled %d servers, %d failed, %d in auth back-off, in %.2f s (rcon %.2f s, db %.2f s)",
        report.polled,
        report.failed,
        held,
        report.seconds,
        report.rcon_seconds,
        report.db_seconds,
    )
    return report


def close_abandoned_sessions(*, now: datetime, polled: set[int]) -> int:
    """Close stuck sessions of servers this tick does not poll (stopped, in back-off).

    Polled servers are handled per result; a server nobody polls would keep
    its players "online" forever otherwise.
    """
    cutoff = now - timedelta(seconds=settings.STUCK_SESSION_SECONDS)
    stuck = PlayerSession.objects.open().filter(last_seen_at__lt=cutoff)
    ids = [pk for pk, server_id in stuck.values_list("pk", "server_id") if server_id not in polled]
    return PlayerSession.objects.filter(pk__in=ids).update(left_at=F("last_seen_at"))


def start_tick(*, now: datetime) -> list[int]:
    """Begin a fanned-out tick: sweep abandoned sessions, return the IDs to poll."""
    targets, _ = select_targets(now=now)
    ids = [t.server_id for t in targets]
    close_abandoned_sessions(now=now, polled=set(ids))
    return ids


@dataclass(slots=True)
class PruneReport:
    snapshots: int
    sessions: int


def prune_live_state(*, days: int, batch_size: int = 5000, dry_run: bool = False) -> PruneReport:
    """Delete snapshots and closed sessions older than `days`, in bounded batches.

    Small batches keep each delete's lock short, so polling writes never
    wait long behind retention.
    """
    cutoff = timezone.now() - timedelta(days=days)
    old_snapshots = LiveStateSnapshot.objects.filter(last_seen_at__lt=cutoff)
    old_sessions = PlayerSession.objects.filter(Q(left_at__lt=cutoff))
    if dry_run:
        return PruneReport(old_snapshots.count(), old_sessions.count())
    return PruneReport(
        _delete_batched(old_snapshots, batch_size), _delete_batched(old_sessions, batch_size)
    )


def _delete_batched(queryset, batch_size: int) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        total += queryset.model.objects.filter(pk__in=ids).delete()[0]
