"""Celery tasks of alerts: thin wrappers with locks, limits and logging.

`alerts.evaluate` runs on its own beat entry (livestate must not import
alerts): it judges the rules against what polling stored, then hands every
due delivery to `alerts.deliver`. Deliveries are queued by id and expire
after one period: one that waited too long is queued again by the next
evaluation, and the claim in `delivery.deliver` sends each row once at most.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alerts import delivery, evaluation
from left4me.singleflight import single_flight

logger = logging.getLogger(__name__)

EVALUATE_TIME_LIMIT = 30
PRUNE_TIME_LIMIT = 30 * 60


@shared_task(
    name="alerts.evaluate",
    ignore_result=True,
    soft_time_limit=EVALUATE_TIME_LIMIT - 5,
    time_limit=EVALUATE_TIME_LIMIT,
)
def evaluate() -> None:
    """Judge every active rule, then queue the deliveries that are due."""
    period = settings.LIVE_STATE_POLL_SECONDS
    with single_flight("alerts:evaluate", ttl=period) as acquired:
        if not acquired:
            logger.info("alerts: evaluation skipped: another one is running")
            return
        now = timezone.now()
        evaluation.evaluate_alerts(now=now)
        for delivery_id in delivery.due_deliveries(now=now):
            deliver.apply_async((delivery_id,), expires=period)


@shared_task(
    name="alerts.deliver",
    ignore_result=True,
    soft_time_limit=delivery.SEND_TIME_LIMIT - 5,
    time_limit=delivery.SEND_TIME_LIMIT,
)
def deliver(delivery_id: int) -> None:
    """Send one delivery (if it is still pending and due: see delivery.deliver)."""
    delivery.deliver(delivery_id=delivery_id)


@shared_task(
    name="alerts.prune",
    ignore_result=True,
    soft_time_limit=PRUNE_TIME_LIMIT - 60,
    time_limit=PRUNE_TIME_LIMIT,
)
def prune() -> None:
    """Delete finished deliveries older than ALERT_HISTORY_DAYS."""
    with single_flight("alerts:prune", ttl=PRUNE_TIME_LIMIT) as acquired:
        if not acquired:
            return
        count = delivery.prune_deliveries(days=settings.ALERT_HISTORY_DAYS)
    logger.info("alerts: pruned %d deliveries", count)
