"""The Celery application `left4me`: settings come from Django's CELERY_* names."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "left4me.settings")

app = Celery("left4me")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def start_pool_watchdog(sender: Any = None, **kwargs: Any) -> None:
    """Every worker exits when its pool stops taking work (left4me/watchdog.py)."""
    from django.conf import settings

    from left4me.watchdog import PoolWatchdog

    if settings.WORKER_WEDGED_SECONDS:
        PoolWatchdog(limit=settings.WORKER_WEDGED_SECONDS).start()
