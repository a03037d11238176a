"""A real Celery worker polls and counts; this process reads the counts through /metrics."""

from __future__ import annotations

import pytest

from left4me.rcon.fleet import running_fleet
from left4me.tests.metrics_helpers import scrape, use_store, value
from livestate.tests.helpers import ALICE
from livestate.tests.test_celery import FAST, register, scenario, wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("backend", ["redis", "database"])
def test_it_reads_what_a_worker_counted(celery_worker_factory, owner, client, settings, backend):
    """Redis when REDIS_URL is set; without it, the database (the broker stays Redis here)."""
    redis_url = celery_worker_factory.redis_url
    use_store(settings, backend, redis_url)
    store = {"REDIS_URL": redis_url if backend == "redis" else ""}
    fakes = [scenario("a", ALICE), scenario("b", failure="refused")]
    fakes += [scenario("c", failure="wrong_password")]
    with running_fleet(fakes, clock="real") as fleet:
        register(fleet, owner)
        celery_worker_factory.worker(**FAST, **store)
        celery_worker_factory.beat(**FAST, **store)

        def counted():
            samples = scrape(client)
            polls = value(samples, "left4me_poll_tick_seconds_count") or 0
            return samples if polls >= 3 else None

        samples = wait_for(counted, what="three polls counted by the worker")
    kind = "left4me_poll_failures_total"
    assert (value(samples, kind, kind="unreachable") or 0) >= 3  # "b" fails every tick
    assert value(samples, kind, kind="auth_failed") == 1  # then "c" waits out its back-off
    assert value(samples, kind, kind="error") == 0
    up = {dict(labels)["name"]: v for (n, labels), v in samples.items() if n == "left4me_server_up"}
    assert up == {"a": 1, "b": 0, "c": 0}
    assert value(samples, "left4me_sessions_open") == 1
    assert value(samples, "left4me_poll_last_tick_timestamp_seconds") is not None
    assert "metrics not recorded" not in celery_worker_factory.log("worker")
