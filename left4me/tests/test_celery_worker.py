"""A real worker on the real Redis runs a task end to end."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from celery import Celery
from django.conf import settings

pytestmark = pytest.mark.celery_worker


STABLE_NAMES = {
    "steamprofiles.prune",
    "left4me.ping", "livestate.poll", "livestate.poll_chunk", "livestate.prune",
    "livestate.rollup", "steamprofiles.enrich", "alerts.evaluate", "alerts.deliver",
    "alerts.prune",
}  # fmt: skip


def test_it_runs_a_task_through_a_real_worker(celery_worker_factory, redis_url):
    celery_worker_factory.worker()
    client = Celery("left4me", broker=redis_url, backend=redis_url)
    try:
        result = client.send_task("left4me.ping", queue="default")
        assert result.get(timeout=20) == "pong"
    finally:
        client.close()
    inspect = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "left4me", "inspect", "registered", "--timeout", "5"],
        env=celery_worker_factory.env(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert set(re.findall(r"\* (\S+)", inspect.stdout)) >= STABLE_NAMES


def test_it_schedules_every_beat_entry_on_a_registered_task():
    from left4me.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == {
        "livestate.poll", "livestate.prune", "livestate.rollup", "steamprofiles.enrich",
        "steamprofiles.prune", "alerts.evaluate", "alerts.prune",
    }  # fmt: skip
    poll = settings.CELERY_BEAT_SCHEDULE["every-5s-poll-servers"]
    assert poll["options"]["expires"] == poll["schedule"] == settings.LIVE_STATE_POLL_SECONDS
    rollup = settings.CELERY_BEAT_SCHEDULE["every-minute-roll-up-live-state"]
    assert rollup["options"]["expires"] == rollup["schedule"] == settings.LIVE_STATE_ROLLUP_SECONDS
    assert app.conf.task_routes["livestate.poll_chunk"] == {"queue": "polling"}


@pytest.mark.django_db
def test_it_registers_the_stable_task_names():
    from left4me.celery import app

    app.loader.import_default_modules()
    assert set(app.tasks) >= STABLE_NAMES
