"""A real worker on the real Redis runs a task end to end."""

from __future__ import annotations

import pytest
from celery import Celery

pytestmark = pytest.mark.celery_worker


def test_it_runs_a_task_through_a_real_worker(celery_worker_factory, redis_url):
    celery_worker_factory.worker()
    client = Celery("left4me", broker=redis_url, backend=redis_url)
    try:
        result = client.send_task("left4me.ping", queue="default")
        assert result.get(timeout=20) == "pong"
    finally:
        client.close()


@pytest.mark.django_db
def test_it_registers_the_stable_task_names():
    from left4me.celery import app

    app.loader.import_default_modules()
    assert "left4me.ping" in app.tasks
