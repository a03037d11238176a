"""The beat entry and the task wiring: evaluate queues what is due, deliver sends it."""

from __future__ import annotations

import pytest
from django.conf import settings

from alerts import services, tasks
from alerts.models import Delivery
from left4me.celery import app
from left4me.singleflight import single_flight


def test_it_evaluates_every_poll_period_and_drops_late_runs():
    entry = settings.CELERY_BEAT_SCHEDULE["every-5s-evaluate-alerts"]
    assert entry["task"] == "alerts.evaluate"
    assert entry["schedule"] == entry["options"]["expires"] == settings.LIVE_STATE_POLL_SECONDS
    assert "queue" not in entry["options"]  # the default queue, like delivery
    names = {tasks.evaluate.name, tasks.deliver.name, tasks.prune.name}
    assert names == {"alerts.evaluate", "alerts.deliver", "alerts.prune"}
    assert names <= set(app.tasks)


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_queued_test_through_the_tasks(make_rule, receiver, eager):
    rule = make_rule("down")
    services.queue_test(rule=rule)
    tasks.evaluate.delay()
    assert len(receiver.received) == 1
    assert Delivery.objects.get().status == Delivery.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_it_skips_an_evaluation_while_another_runs(make_rule, receiver, eager):
    services.queue_test(rule=make_rule("down"))
    with single_flight("alerts:evaluate", ttl=5):
        tasks.evaluate.delay()
    assert receiver.received == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING
