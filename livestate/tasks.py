"""Celery tasks of the live state: thin wrappers with locks, limits and logging."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import Task, shared_task
from celery.signals import celeryd_init, task_failure, worker_ready
from django.conf import settings
from django.utils import timezone

from left4me.singleflight import single_flight
from livestate import limits, player_totals, progress, rollups, services, store

logger = logging.getLogger(__name__)

DISPATCH_TIME_LIMIT = 30
PRUNE_TIME_LIMIT = 30 * 60
ROLLUP_TIME_LIMIT = 5 * 60


def chunked(ids: list[int], most: int) -> list[list[int]]:
    """Split into as few chunks of at most `most` as possible, of even sizes.

    Even sizes matter: 5,000 servers at most 3,000 a chunk make two chunks
    of 2,500 that a 2-slot poller runs side by side, where 3,000 + 2,000 or
    2,000 + 2,000 + 1,000 would leave one chunk the last to finish or waiting.
    """
    count = -(-len(ids) // most)
    return [ids[i::count] for i in range(count)] if ids else []


@shared_task(
    name="livestate.poll",
    ignore_result=True,
    soft_time_limit=DISPATCH_TIME_LIMIT - 5,
    time_limit=DISPATCH_TIME_LIMIT,
)
def poll() -> None:
    """Fan one tick out to chunk tasks.

    Chunks expire after one period, so a late tick is dropped, never queued
    behind the next; a server an earlier chunk still polls is skipped by the
    lease in `store.claim_servers`, so nothing here waits for earlier chunks.
    """
    # The lock lives one period: dispatch takes milliseconds, and a dispatcher
    # killed while holding it must not hold up the next tick (leases keep two
    # polls of one server apart, whatever happens to this lock).
    with single_flight("livestate:poll", ttl=settings.LIVE_STATE_POLL_SECONDS) as acquired:
        if not acquired:
            logger.warning("tick skipped: another dispatch of livestate.poll is running")
            return
        plan = services.plan_tick(now=timezone.now())
        chunks = chunked(plan.server_ids, settings.LIVE_STATE_POLL_CHUNK_SIZE)
        services.log_tick(plan, chunks=len(chunks))
        progress.record_dispatch(now=timezone.now(), nothing_to_poll=not chunks)
        for chunk in chunks:
            poll_chunk.apply_async(
                (chunk,),
                expires=settings.LIVE_STATE_POLL_SECONDS,
                # celery-types says int; Celery's own settings type these as float.
                soft_time_limit=limits.chunk_soft_time_limit(),  # type: ignore[arg-type]
                time_limit=limits.chunk_time_limit(),  # type: ignore[arg-type]
            )


@shared_task(name="livestate.poll_chunk", ignore_result=True, bind=True)
def poll_chunk(self: Task, server_ids: list[int]) -> None:
    """Poll a set of servers concurrently and write the results (limits set at dispatch)."""
    token = lease_token_of(self.request.id, node=self.request.hostname)
    services.poll_servers(server_ids=server_ids, lease_token=token)


def node_prefix(node: str | None) -> str:
    """8 hex digits naming a worker node (`poller@host`): unique among running workers."""
    return hashlib.sha256((node or "").encode()).hexdigest()[:8]


def lease_token_of(task_id: str | None, *, node: str | None) -> str:
    """A chunk's leases name its worker and its task, so either can release them:
    the worker when the pool child running it dies, a restarted worker for a
    whole worker that was killed (same node name, a new process)."""
    return node_prefix(node) + (task_id or "").replace("-", "")[:24]


_this_node: list[str] = []  # set in the worker's main process, inherited by its children
_started_at: list[datetime] = []


@celeryd_init.connect
def remember_node(sender: str | None = None, **kwargs: Any) -> None:
    _this_node[:] = [sender or ""]
    _started_at[:] = [timezone.now()]


@worker_ready.connect
def release_leases_of_a_killed_predecessor(**kwargs: Any) -> None:
    """A worker killed whole (SIGKILL, OOM) reported nothing: its successor, started
    under the same node name, frees what it held instead of letting those
    servers wait out the lease (three poll periods)."""
    if not _this_node:
        return
    # Only leases taken before this process started: never one of its own children's.
    before = _started_at[0] + timedelta(seconds=limits.chunk_time_limit())
    released = store.release_prefix(node_prefix(_this_node[0]), claimed_before=before)
    if released:
        logger.warning("released %d servers a killed %s held", released, _this_node[0])


@task_failure.connect
def release_lost_chunk(
    sender: Task | None = None, task_id: str | None = None, **kwargs: Any
) -> None:
    """A pool child killed mid-chunk (SIGKILL, OOM) took its leases with it: without
    this, its servers would wait out the lease (the chunk's hard time limit,
    three poll periods) before anyone polls them again. The worker's main
    process reports the loss here; the child did not write, so nothing is lost.
    """
    if sender is None or sender.name != "livestate.poll_chunk" or not task_id:
        return
    if not isinstance(kwargs.get("exception"), WorkerLostError):
        return  # a failure inside the task released its leases already
    node = _this_node[0] if _this_node else None
    released = store.release(lease_token_of(task_id, node=node))
    logger.warning("chunk %s lost with its worker: released %d servers", task_id, released)


@shared_task(
    name="livestate.prune",
    ignore_result=True,
    soft_time_limit=PRUNE_TIME_LIMIT - 60,
    time_limit=PRUNE_TIME_LIMIT,
)
def prune() -> None:
    """Delete history older than LIVE_STATE_HISTORY_DAYS (rollups: LIVE_STATE_ROLLUP_DAYS)
    in bounded batches."""
    with single_flight("livestate:prune", ttl=PRUNE_TIME_LIMIT) as acquired:
        if not acquired:
            logger.info("prune skipped: another prune is running")
            return
        report = services.prune_live_state(days=settings.LIVE_STATE_HISTORY_DAYS)
    logger.info(
        "pruned %d snapshots, %d sessions, %d reachability runs, %d hourly and %d daily rollups",
        report.snapshots,
        report.sessions,
        report.runs,
        report.hourly,
        report.daily,
    )


@shared_task(
    name="livestate.rollup",
    ignore_result=True,
    soft_time_limit=ROLLUP_TIME_LIMIT - 30,
    time_limit=ROLLUP_TIME_LIMIT,
)
def rollup() -> None:
    """Refresh the hourly and daily rollups of the recent hours and days, and fold
    final sessions into the players' lifetime totals."""
    with single_flight("livestate:rollup", ttl=ROLLUP_TIME_LIMIT) as acquired:
        if not acquired:
            logger.info("rollup skipped: another rollup is running")
            return
        written = rollups.roll_up_recent(now=timezone.now())
        folded = player_totals.fold_final_sessions(now=timezone.now())
    logger.info("rolled up live state: %d rollup rows written, %d sessions folded", written, folded)
