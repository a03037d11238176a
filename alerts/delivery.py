"""Sending deliveries: at most once each, retried with back-off, rate-limited per host.

At most once, even with several workers or one killed mid-send:
1. a worker claims a row with a compare-and-set UPDATE (pending → sending,
   with a lease longer than the send's hard time limit); one claim wins;
2. it sends, then records the outcome with another compare-and-set that
   needs its own lease to be still in place;
3. a row found still `sending` after its lease is a send whose worker died
   (killed, out of memory, machine lost). Whether the destination got it is
   unknowable, so it becomes `abandoned` and is never sent again: a missed
   alert is better than a doubled one, and the owner sees it in the log.

Retries: connection errors, timeouts, 5xx and 429 are retried up to
MAX_ATTEMPTS times, BACKOFF doubling up to BACKOFF_CAP; a 429's Retry-After
is honoured (capped at RETRY_AFTER_CAP) and holds every pending delivery to
that host. Other answers (4xx, redirects, a refused address) fail at once.
A rule whose deliveries have all failed for ALERT_PAUSE_AFTER_SECONDS is
paused with the reason; its pending deliveries are dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from alerts import client, webhooks
from alerts.models import TEST_EVENT, AlertRule, Delivery
from left4me import crypto, metrics_store
from servers import addresses

logger = logging.getLogger(__name__)

Status = Delivery.Status
SEND_TIME_LIMIT = 20  # the deliver task's hard limit: DNS 2 s + connect 3 s + read 5 s, and more
LEASE = timedelta(seconds=SEND_TIME_LIMIT + 10)
MAX_ATTEMPTS = 8
BACKOFF, BACKOFF_CAP = timedelta(seconds=30), timedelta(minutes=30)
RETRY_AFTER_CAP = timedelta(hours=1)
RATE_WINDOW = timedelta(minutes=1)
UNDECRYPTABLE_TEXT = (
    "the stored URL cannot be decrypted: its key is not in RCON_PASSWORD_KEYS (restore the key, "
    "or replace the URL)"
)
LOST_TEXT = "worker lost during the send; not retried so it is never sent twice"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one call of `deliver` did, for the command, the task's log and tests."""

    delivery_id: int
    outcome: str  # sent, retry, failed, postponed, skipped
    status_code: int | None = None
    error: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        if self.outcome == "sent":
            return f"sent{code} in {self.seconds:.2f} s"
        return f"{self.outcome}{code}: {self.error}" if self.error else self.outcome


def due_deliveries(*, now: datetime, limit: int = 500) -> list[int]:
    """Pending rows whose time has come (abandoning lost sends first)."""
    abandon_lost(now=now)
    due = Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    return list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def abandon_lost(*, now: datetime) -> int:
    lost = Delivery.objects.filter(status=Status.SENDING, lease_until__lt=now)
    count = lost.update(status=Status.ABANDONED, last_error=LOST_TEXT, lease_until=None)
    if count:
        logger.warning("alerts: %d delivery(ies) abandoned: %s", count, LOST_TEXT)
    return count


def deliver(*, delivery_id: int, now: datetime | None = None) -> Attempt | None:
    """Send one pending, due delivery; None when it is not ours to send."""
    now = now or timezone.now()
    row = Delivery.objects.select_related("rule", "rule__server").filter(pk=delivery_id).first()
    if row is None or row.status != Status.PENDING or row.next_attempt_at > now:
        return None
    rule = row.rule
    if not rule.active and row.event != TEST_EVENT:
        return drop(row.pk, "not sent: the rule is paused or disabled")
    wait = rate_limit_wait(row.destination, now=now)
    if wait is not None:
        Delivery.objects.filter(pk=row.pk, status=Status.PENDING).update(next_attempt_at=now + wait)
        return Attempt(row.pk, "postponed", error=f"over {rate_limit()} sends a minute to the host")
    lease = now + LEASE
    claimed = Delivery.objects.filter(
        pk=row.pk, status=Status.PENDING, next_attempt_at__lte=now
    ).update(status=Status.SENDING, lease_until=lease, attempts=F("attempts") + 1,
             last_attempt_at=now)  # fmt: skip
    if not claimed:
        return None  # another worker claimed it first
    attempt = _send(row, rule, now=now, lease=lease, attempts=row.attempts + 1)
    metrics_store.record_alert_sent(row.event, attempt.outcome)  # sent, retry or failed
    logger.info(
        "alerts: delivery %d (rule %d, %s, %s): %s",
        row.pk, rule.pk, row.event, rule.url_hint, attempt.describe(),
    )  # fmt: skip
    return attempt


def _send(
    row: Delivery, rule: AlertRule, *, now: datetime, lease: datetime, attempts: int
) -> Attempt:
    if crypto.is_undecryptable(rule.url):  # its key is gone: there is nowhere to send
        error = client.SendError(UNDECRYPTABLE_TEXT, kind=client.ErrorKind.INVALID)
        return _failed(row, rule, error, now=now, lease=lease, attempts=attempts)
    body, headers = webhooks.render(
        row.payload, format=rule.format, secret=rule.secret, delivery_id=row.pk
    )
    try:
        sent = client.post(
            rule.url, body, headers, policy=addresses.policy(),
            verify=settings.ALERT_CA_BUNDLE or True,
        )  # fmt: skip
    except client.SendError as error:
        return _failed(row, rule, error, now=now, lease=lease, attempts=attempts)
    done = now + timedelta(seconds=sent.seconds)
    _finish(row, lease, status=Status.SENT, sent_at=done, last_status_code=sent.status_code,
            last_error="")  # fmt: skip
    if row.event != TEST_EVENT and rule.failing_since is not None:
        AlertRule.objects.filter(pk=rule.pk).update(failing_since=None)
    return Attempt(row.pk, "sent", sent.status_code, seconds=sent.seconds)


def _failed(
    row: Delivery,
    rule: AlertRule,
    error: client.SendError,
    *,
    now: datetime,
    lease: datetime,
    attempts: int,
) -> Attempt:
    """Retry or fail the row; times count from the claim (`now`), one clock per attempt."""
    text = str(error)
    retry = error.retryable and attempts < MAX_ATTEMPTS and row.event != TEST_EVENT
    if retry:
        wait = backoff(attempts, error.retry_after)
        _finish(row, lease, status=Status.PENDING, next_attempt_at=now + wait,
                last_status_code=error.status_code,
                last_error=f"{text}; retrying in {int(wait.total_seconds())} s")  # fmt: skip
        if error.retry_after is not None:  # the host asked every sender to wait
            Delivery.objects.filter(
                destination=row.destination, status=Status.PENDING, next_attempt_at__lt=now + wait
            ).update(next_attempt_at=now + wait)
    else:
        _finish(row, lease, status=Status.FAILED, last_status_code=error.status_code,
                last_error=text)  # fmt: skip
    if row.event != TEST_EVENT:
        note_failure(rule, now=now, error=text)
    return Attempt(row.pk, "retry" if retry else "failed", error.status_code, text)


def _finish(row: Delivery, lease: datetime, **changes: object) -> None:
    """Record the outcome only if our lease still holds (else the row was abandoned)."""
    ours = Delivery.objects.filter(pk=row.pk, status=Status.SENDING, lease_until=lease)
    if not ours.update(lease_until=None, **changes):
        logger.warning("alerts: delivery %d: outcome not recorded, its lease had ended", row.pk)


def drop(delivery_id: int, reason: str) -> Attempt:
    """A pending delivery that will not be sent, and why."""
    Delivery.objects.filter(pk=delivery_id, status=Status.PENDING).update(
        status=Status.FAILED, last_error=reason
    )
    return Attempt(delivery_id, "skipped", error=reason)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Retry-After when the destination gave one, else 30 s doubling to 30 min."""
    if retry_after is not None:
        return min(max(timedelta(seconds=retry_after), timedelta(seconds=1)), RETRY_AFTER_CAP)
    return min(BACKOFF * 2 ** (attempts - 1), BACKOFF_CAP)


def rate_limit() -> int:
    return int(settings.ALERT_RATE_PER_MINUTE)


def rate_limit_wait(destination: str, *, now: datetime) -> timedelta | None:
    """How long to wait before the host may get another send (None: now is fine).

    Counts deliveries whose last attempt went to the host within the last
    minute: in the database, so every worker sees the same count.
    """
    recent = Delivery.objects.filter(
        destination=destination, last_attempt_at__gt=now - RATE_WINDOW
    ).order_by("-last_attempt_at")
    times = list(recent.values_list("last_attempt_at", flat=True)[: rate_limit()])
    if len(times) < rate_limit() or times[-1] is None:
        return None
    return max(times[-1] + RATE_WINDOW - now, timedelta(seconds=1))


def note_failure(rule: AlertRule, *, now: datetime, error: str) -> None:
    """Start the rule's failing clock, and pause it once it has failed long enough."""
    AlertRule.objects.filter(pk=rule.pk, failing_since__isnull=True).update(failing_since=now)
    since = AlertRule.objects.filter(pk=rule.pk).values_list("failing_since", flat=True).first()
    limit = timedelta(seconds=settings.ALERT_PAUSE_AFTER_SECONDS)
    if since is None or now - since < limit:
        return
    reason = (
        f"Paused: every delivery since {since:%Y-%m-%d %H:%M} UTC failed (last: {error}). "
        "Fix the webhook, then resume."
    )[:300]
    if AlertRule.objects.filter(pk=rule.pk, paused_reason="").update(paused_reason=reason):
        dropped = Delivery.objects.filter(rule=rule, status=Status.PENDING).exclude(
            event=TEST_EVENT
        )
        dropped.update(status=Status.FAILED, last_error="not sent: the rule was paused")
        logger.warning("alerts: rule %d paused: deliveries failing since %s", rule.pk, since)


def prune_deliveries(*, days: int, batch_size: int = 5000) -> int:
    """Delete finished deliveries older than `days`, in bounded batches."""
    cutoff = timezone.now() - timedelta(days=days)
    old = Delivery.objects.filter(created_at__lt=cutoff).exclude(
        status__in=[Status.PENDING, Status.SENDING]
    )
    total = 0
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        total += Delivery.objects.filter(pk__in=ids).delete()[0]
    return total
