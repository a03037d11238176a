"""Celery tasks of the live state: thin wrappers with locks, limits and logging."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from livestate import locks, services

logger = logging.getLogger(__name__)

PRUNE_LOCK = "livestate:prune-lock"
PRUNE_TIME_LIMIT = 30 * 60


def chunked(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@shared_task(name="livestate.poll", ignore_result=True, soft_time_limit=30, time_limit=60)
def poll() -> None:
    """Fan one tick out to chunk tasks; skip if the previous tick is still running."""
    if cache.get(locks.TICK_LOCK):
        logger.warning("tick skipped: the previous tick is still running")
        return
    ids = services.start_tick(now=timezone.now())
    chunks = chunked(ids, settings.LIVE_STATE_POLL_CHUNK_SIZE)
    if not chunks:
        return
    if not locks.acquire_tick(len(chunks)):
        logger.warning("tick skipped: the previous tick is still running")
        return
    for chunk in chunks:
        poll_chunk.apply_async((chunk,), expires=settings.LIVE_STATE_POLL_SECONDS)
    logger.info("tick dispatched: %d servers in %d chunk(s)", len(ids), len(chunks))


@shared_task(
    name="livestate.poll_chunk",
    ignore_result=True,
    soft_time_limit=locks.chunk_soft_time_limit(),
    time_limit=locks.chunk_time_limit(),
)
def poll_chunk(server_ids: list[int]) -> None:
    """Poll a disjoint set of servers concurrently and write the results."""
    try:
        services.poll_servers(server_ids=server_ids)
    finally:
        locks.finish_chunk()


@shared_task(
    name="livestate.prune",
    ignore_result=True,
    soft_time_limit=PRUNE_TIME_LIMIT - 60,
    time_limit=PRUNE_TIME_LIMIT,
)
def prune() -> None:
    """Delete history older than LIVE_STATE_HISTORY_DAYS in bounded batches."""
    if not cache.add(PRUNE_LOCK, "1", timeout=PRUNE_TIME_LIMIT):
        logger.info("prune skipped: another prune is running")
        return
    try:
        report = services.prune_live_state(days=settings.LIVE_STATE_HISTORY_DAYS)
    finally:
        cache.delete(PRUNE_LOCK)
    logger.info("pruned %d snapshots and %d sessions", report.snapshots, report.sessions)
