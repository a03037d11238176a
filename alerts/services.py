"""Managing alert rules: what the owner page, the admin and `manage.py alerts` share.

Input is validated before it gets here (alerts/forms.py, the one place that
judges a URL, a threshold or a SteamID); these functions write.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from alerts import delivery, destinations, evaluation, judge
from alerts.models import TEST_EVENT, AlertRule, Delivery, Event
from livestate.models import PlayerSession
from servers.models import Server

logger = logging.getLogger(__name__)


def create_rule(
    *,
    server: Server,
    event: str,
    url: str,
    format: str,
    threshold: int | None = None,
    steam_id_64: str = "",
    secret: str = "",
) -> AlertRule:
    rule = AlertRule(
        server=server,
        event=event,
        format=format,
        threshold=threshold if event in (Event.PLAYERS_AT_LEAST, Event.PLAYERS_AT_MOST) else None,
        steam_id_64=steam_id_64 if event == Event.PLAYER_JOINED else "",
        secret=secret,
        session_floor=latest_session_id(),
    )
    set_url(rule, url)
    rule.save()
    logger.info("alerts: rule %d added on server %d (%s → %s)", rule.pk, server.pk, event,
                rule.url_hint)  # fmt: skip
    return rule


def set_url(rule: AlertRule, url: str) -> None:
    """The URL and what may be shown of it (saved by the caller)."""
    rule.url = url.strip()
    rule.url_hint = destinations.redact(url)
    rule.destination = destinations.parse(url).host


def latest_session_id() -> int:
    """player_joined rules see sessions opened after this id only: no alert for the past."""
    return int(PlayerSession.objects.aggregate(latest=Max("pk"))["latest"] or 0)


def remove_rule(*, rule: AlertRule) -> None:
    pk, server_id = rule.pk, rule.server_id
    rule.delete()
    logger.info("alerts: rule %d removed from server %d", pk, server_id)


def resume_rule(*, rule: AlertRule) -> None:
    """Alert again after a pause: the failing clock and the rule's memory start afresh."""
    fresh = judge.Memory()
    AlertRule.objects.filter(pk=rule.pk).update(
        paused_reason="",
        failing_since=None,
        enabled=True,
        session_floor=latest_session_id(),
        **{name: getattr(fresh, name) for name in evaluation.MEMORY_FIELDS},
    )
    rule.refresh_from_db()


def queue_test(*, rule: AlertRule, now: datetime | None = None) -> Delivery:
    """A test delivery, sent by the next evaluation (the page never talks to the broker)."""
    now = now or timezone.now()
    status = evaluation.live_status(rule.server)
    occurrence = judge.Occurrence(
        f"test:{uuid.uuid4().hex}", now, "This is a test alert from left4me.", True
    )
    return Delivery.objects.create(
        rule=rule,
        event=TEST_EVENT,
        event_key=occurrence.key,
        occurred_at=now,
        payload=evaluation.payload(rule.server, status, event=TEST_EVENT, occurrence=occurrence),
        destination=rule.destination,
        next_attempt_at=now,
        created_at=now,
    )


def send_test(*, rule: AlertRule) -> delivery.Attempt:
    """A test delivery sent now, in this process (one attempt, no retry)."""
    now = timezone.now()
    row = queue_test(rule=rule, now=now)
    attempt = delivery.deliver(delivery_id=row.pk, now=now)
    if attempt is None:
        return delivery.Attempt(row.pk, "skipped", error="another worker took it first")
    if attempt.outcome == "postponed":  # a test is now or never: try again later by hand
        return delivery.drop(row.pk, f"not sent: {attempt.error}; try again in a minute")
    return attempt
