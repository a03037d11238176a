"""Celery's prefork pool, fixed so that a SIGKILLed child cannot wedge the worker.

Each pool child owns a pipe whose read lock it holds while it waits for work.
When the child is SIGKILLed (the OOM killer, an operator), Celery marks the
pipe free and gives it to the replacement child, which then waits forever for
a lock the dead child still "holds": the worker answers `ping`, reserves
tasks and never runs another one (celery#2011; seen here with both brokers).
Celery already throws such pipes away when a child dies half-way through
reading a task; this pool throws them away whenever a child dies, so every
new child starts on fresh pipes.

Selected with CELERY_WORKER_POOL in settings (the `-P` default).
"""

from __future__ import annotations

from typing import Any

from celery.concurrency import asynpool, prefork


class AsynPool(asynpool.AsynPool):
    def _process_cleanup_queues(self, proc: Any) -> None:
        if proc.dead:  # on_partial_read replaced its pipes already
            return
        proc.dead = True
        try:
            pipes = self._find_worker_queues(proc)
        except ValueError:
            return
        if self.destroy_queues(pipes, proc):
            self._queues[self.create_process_queues()] = None


class TaskPool(prefork.TaskPool):
    Pool = AsynPool
