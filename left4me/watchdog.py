"""A watchdog in every Celery worker: when the pool stops taking work, exit.

A worker whose pool is wedged still answers `celery inspect ping` and keeps
reserving tasks, so nothing outside notices. The fix in left4me/pool.py
covers the wedge we know (a SIGKILLed child's pipe handed to its successor)
for the event-loop pool; the embedded broker's worker runs billiard's
blocking pool, where all children share one pipe and its lock, and a child
killed while holding that lock stops them all. Whatever the cause, the sign
is the same: tasks wait for the pool while no task runs. After `limit`
seconds of that, the watchdog kills the pool and exits with WEDGED_EXIT_CODE;
the quick start's supervisor, Docker's restart policy or systemd starts a
fresh worker, and the reserved tasks (periodic ticks) come again next period.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from billiard import process as billiard_process
from celery.worker import state

logger = logging.getLogger(__name__)

WEDGED_EXIT_CODE = 75  # EX_TEMPFAIL: try again


def pool_is_stuck() -> bool:
    """Tasks are waiting for the pool and none is running."""
    return len(state.reserved_requests) > 0 and len(state.active_requests) == 0


def kill_pool() -> None:
    for child in billiard_process.active_children():
        if child.pid:
            os.kill(child.pid, signal.SIGKILL)


class PoolWatchdog(threading.Thread):
    """Checks twice a second; a stuck pool for `limit` seconds ends the worker."""

    def __init__(
        self,
        *,
        limit: float,
        stuck: Callable[[], bool] = pool_is_stuck,
        on_wedged: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="left4me-pool-watchdog", daemon=True)
        self.limit = limit
        self.stuck = stuck
        self.on_wedged = on_wedged or self.exit
        self.stopped = threading.Event()

    def run(self) -> None:
        stuck_since: float | None = None
        while not self.stopped.wait(0.5):
            if not self.stuck():
                stuck_since = None
                continue
            now = time.monotonic()
            stuck_since = stuck_since or now
            if now - stuck_since >= self.limit:
                waiting = len(state.reserved_requests)
                logger.critical(
                    "worker pool wedged: %d task(s) waited %.0f s while none ran; "
                    "exiting so that a fresh worker takes over",
                    waiting,
                    now - stuck_since,
                )
                self.on_wedged()
                return

    def exit(self) -> None:
        for handler in logging.getLogger().handlers + logger.handlers:
            handler.flush()
        kill_pool()
        os._exit(WEDGED_EXIT_CODE)
