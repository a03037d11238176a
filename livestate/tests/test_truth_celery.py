"""The history against the ground truth on the real clock, through a real Celery worker.

A churning world (black-holed freezes and all) plays on the real clock while
`livestate.poll` is sent as beat sends it (its queue and expiry) every 5 s,
some ticks up to 2 s late, to a worker on Redis that polls with the default
timeouts. What the worker stored is judged like the virtual-clock runs.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from left4me.celery import app
from left4me.rcon.fleet import running_fleet
from left4me.rcon.fleet.churn import churn_world
from livestate import services
from livestate.models import LiveStatus
from livestate.truth import judge, recorded_sessions, stints_from_truth
from servers.models import Server

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SEED = 1
SECONDS = 30
POLL = 5.0
WORKER = {
    "LIVE_STATE_POLL_SECONDS": str(POLL),
    "LIVE_STATE_QUERY_TIMEOUT_SECONDS": "2",
    "RCON_AUTH_BACKOFF_SECONDS": "10",  # a password mix-up costs a gap, not the run
}


def send_tick(redis_url: str) -> None:
    """What beat sends each period: the poll entry's task with its options."""
    entry = settings.CELERY_BEAT_SCHEDULE["every-5s-poll-servers"]
    with app.connection_for_write(redis_url) as connection:
        app.send_task(entry["task"], connection=connection, **entry["options"])


def polled_since(moment) -> bool:
    """Every server the tick sent at `moment` polls (those not in auth back-off) is done."""
    wanted, _ = services.select_targets(now=moment)
    return LiveStatus.objects.filter(server_id__in=wanted, polled_at__gte=moment).count() == len(
        wanted
    )


def test_a_churning_fleet_is_recorded_exactly_through_a_worker(
    celery_worker_factory, redis_url, owner
):
    world = churn_world(SEED, servers=20, duration=SECONDS)
    celery_worker_factory.worker(**WORKER)
    with running_fleet(world.servers, clock="real") as fleet:
        origin = timezone.now() - timedelta(seconds=fleet.now())
        for fake in world.servers:
            Server.objects.create(
                owner=owner, name=fake.name, port=fake.port,
                rcon_password=fake.registered_password, desired_state="running",
            )  # fmt: skip
        pending = list(world.panel_passwords)
        for t in world.poll_times(POLL):
            while fleet.now() < t:
                while pending and pending[0].at <= fleet.now():
                    change = pending.pop(0)
                    Server.objects.filter(name=change.server).update(rcon_password=change.password)
                time.sleep(0.02)
            sent = timezone.now()
            send_tick(redis_url)
        deadline = time.monotonic() + 15
        while not polled_since(sent) and time.monotonic() < deadline:
            time.sleep(0.1)  # the last tick lands before the worker stops
        celery_worker_factory.stop()
        stints, answers = stints_from_truth(fleet.truth()), fleet.answers()
    verdict = judge(stints, recorded_sessions(origin), answers, interval=POLL)
    assert verdict.ok, verdict.report() + "\n" + celery_worker_factory.log("worker")[-3000:]
    assert verdict.required > 60, celery_worker_factory.log("worker")[-3000:]
