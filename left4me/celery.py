"""The Celery application `left4me`: settings come from Django's CELERY_* names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import beat_init, before_task_publish, worker_ready

from left4me import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "left4me.settings")
broker.install()  # filesystem:// is the safe embedded broker (left4me/broker.py)

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


@beat_init.connect
def start_beat_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    """In beat only: each task beat sends touches var/beat-heartbeat."""
    before_task_publish.connect(touch_beat_heartbeat, weak=False)


def touch_beat_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    from django.conf import settings

    from left4me.heartbeat import BEAT_HEARTBEAT, touch

    touch(Path(settings.VAR_DIR) / BEAT_HEARTBEAT)
