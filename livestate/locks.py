"""The tick lock: a tick never starts while the previous one still runs.

Held in the shared cache (Redis, or the database cache on one machine). The
dispatcher takes it and counts the chunks it sent; the last chunk to finish
releases it. Its TTL covers the worst case (a chunk that starts at its expiry
and runs to its hard time limit), so a crashed worker delays polling by at
most that, and two ticks never poll the same server at once.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

TICK_LOCK = "livestate:tick-lock"
TICK_PENDING = "livestate:tick-pending"


def chunk_soft_time_limit() -> float:
    return 2 * settings.LIVE_STATE_POLL_SECONDS


def chunk_time_limit() -> float:
    return chunk_soft_time_limit() + 5


def tick_lock_ttl() -> int:
    return int(settings.LIVE_STATE_POLL_SECONDS + chunk_time_limit()) + 1


def acquire_tick(chunks: int) -> bool:
    """Take the lock for a tick that will run `chunks` chunk tasks."""
    if not cache.add(TICK_LOCK, uuid.uuid4().hex, timeout=tick_lock_ttl()):
        return False
    cache.set(TICK_PENDING, chunks, timeout=tick_lock_ttl())
    return True


def finish_chunk() -> None:
    """Called by each chunk; the last one releases the lock."""
    try:
        remaining = cache.decr(TICK_PENDING)
    except ValueError:  # counter expired: the lock has too
        return
    if remaining <= 0:
        release_tick()


def release_tick() -> None:
    cache.delete_many([TICK_LOCK, TICK_PENDING])


@contextmanager
def in_process_tick(wait: float):
    """Hold the lock for a whole in-process tick (management command)."""
    deadline = time.monotonic() + wait
    while not acquire_tick(1):
        if time.monotonic() > deadline:
            raise TimeoutError("another tick is still running; try again in a few seconds")
        time.sleep(0.2)
    try:
        yield
    finally:
        release_tick()
