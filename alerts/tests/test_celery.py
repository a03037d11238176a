"""Real Celery worker and beat: a worker killed in the middle of a send."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import delivery, evaluation, judge
from alerts.models import Delivery
from left4me.testing import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

FAST = {"LIVE_STATE_POLL_SECONDS": "1", "LIVE_STATE_QUERY_TIMEOUT_SECONDS": "0.8"}


def occur(rule, key: str) -> Delivery:
    now = timezone.now()
    row = evaluation.delivery_row(
        rule, None, judge.Occurrence(f"down:{key}", now, "test outage", False), None, now=now
    )
    row.save()
    return row


def evaluations(processes) -> int:
    """alerts.evaluate runs the survivor finished so far."""
    return sum(
        1 for line in processes.log("survivor").splitlines()
        if "alerts.evaluate[" in line and "succeeded" in line
    )  # fmt: skip


def test_it_never_sends_twice_when_a_worker_dies_mid_send(
    celery_worker_factory, make_rule, receiver
):
    first_rule = make_rule("down", path="/first")
    second_rule = make_rule("up", server=first_rule.server, path="/second")
    receiver.holding = True  # the destination takes the request and says nothing
    doomed = celery_worker_factory.worker(name="doomed", queues="default", **FAST)
    celery_worker_factory.beat(**FAST)
    row = occur(first_rule, "killed")

    receiver.wait_for(1)
    assert Delivery.objects.get(pk=row.pk).status == Delivery.Status.SENDING
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    receiver.release.set()
    receiver.holding = False

    celery_worker_factory.worker(name="survivor", queues="default", **FAST)
    second = occur(second_rule, "after")
    wait_for(
        lambda: Delivery.objects.filter(pk=second.pk, status=Delivery.Status.SENT).exists(),
        what="the survivor to send a later delivery",
    )
    # The killed send's lease runs out: the row is abandoned, not sent again.
    later = timezone.now() + delivery.LEASE + timedelta(seconds=1)
    delivery.due_deliveries(now=later)
    done = evaluations(celery_worker_factory)
    wait_for(lambda: evaluations(celery_worker_factory) >= done + 3, what="3 more evaluations")
    assert receiver.paths() == ["/first", "/second"]
    row.refresh_from_db()
    assert row.status == Delivery.Status.ABANDONED
    assert row.last_error == delivery.LOST_TEXT
