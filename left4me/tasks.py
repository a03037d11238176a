"""Project-wide Celery tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="left4me.ping", ignore_result=False)
def ping() -> str:
    """Liveness probe for ops: `celery -A left4me call left4me.ping`."""
    return "pong"
