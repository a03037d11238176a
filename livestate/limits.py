"""Time limits of polling, read from settings at call time (tests and ops change them)."""

from __future__ import annotations

from django.conf import settings


def chunk_soft_time_limit() -> float:
    """A chunk that overruns two poll periods is stuck: interrupt it."""
    return 2 * settings.LIVE_STATE_POLL_SECONDS


def chunk_time_limit() -> float:
    """The hard limit, and how long a chunk's lease on its servers lasts."""
    return chunk_soft_time_limit() + 5
