"""Sending: signature, retries and 429 back-off, rate limit, SSRF at send, at most once, pause."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from alerts import client, delivery, evaluation, judge, services
from alerts.models import AlertRule, Delivery
from alerts.tests.conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
Status = Delivery.Status


def occur(rule, key="k1", now=NOW) -> Delivery:
    """A pending delivery of the rule's event, as the evaluator stores one."""
    occurrence = judge.Occurrence(f"{rule.event}:{key}", now, "because", False)
    row = evaluation.delivery_row(rule, None, occurrence, None, now=now)
    row.save()
    return row


def send(row, now=NOW):
    return delivery.deliver(delivery_id=row.pk, now=now)


def refreshed(row) -> Delivery:
    row.refresh_from_db()
    return row


def test_it_signs_the_exact_body_with_the_rule_secret(make_rule, receiver):
    signed = make_rule("down", secret="correct horse", path="/signed")
    plain = make_rule("up", server=signed.server, path="/plain")
    send(occur(signed))
    send(occur(plain))
    by_path = {r.path: r for r in receiver.wait_for(2)}
    body = by_path["/signed"].body
    expected = "sha256=" + hmac.new(b"correct horse", body, hashlib.sha256).hexdigest()
    assert by_path["/signed"].headers["X-Left4me-Signature"] == expected
    assert "X-Left4me-Signature" not in by_path["/plain"].headers
    document = json.loads(body)
    assert set(document) == {
        "event", "server", "occurred_at", "players", "max_players", "map", "reason", "player",
    }  # fmt: skip
    assert set(document["server"]) == {"id", "name", "address", "url"}


def test_it_honours_retry_after_for_the_whole_host(make_rule, receiver):
    rule = make_rule("down")
    first, second = occur(rule, "a"), occur(rule, "b")
    receiver.answer(429, Retry_After="120")
    attempt = send(first)
    assert attempt.outcome == "retry"
    assert attempt.status_code == 429
    first, second = refreshed(first), refreshed(second)
    assert first.status == Status.PENDING
    assert first.next_attempt_at == NOW + timedelta(seconds=120)
    assert "HTTP 429" in first.last_error
    assert second.next_attempt_at == NOW + timedelta(seconds=120)  # the host asked us all
    assert delivery.due_deliveries(now=NOW + timedelta(seconds=119)) == []
    assert send(first, NOW + timedelta(seconds=60)) is None
    assert send(first, NOW + timedelta(seconds=120)).outcome == "sent"
    assert len(receiver.received) == 2


def test_it_reads_retry_after_as_seconds_or_a_date():
    assert client.retry_after("30") == 30
    assert client.retry_after("Fri, 27 Nov 2026 12:01:00 GMT", now=NOW) == 60
    assert client.retry_after("soon") is None


def test_it_backs_off_exponentially_then_gives_up(make_rule, receiver):
    rule = make_rule("down")
    row = occur(rule)
    now, waits = NOW, []
    for _ in range(delivery.MAX_ATTEMPTS):
        receiver.answer(503)
        attempt = send(row, now)
        row = refreshed(row)
        if attempt.outcome == "retry":
            waits.append((row.next_attempt_at - now).total_seconds())
            now = row.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1800]
    assert row.status == Status.FAILED
    assert row.attempts == delivery.MAX_ATTEMPTS
    assert row.last_error == "the destination failed (HTTP 503)"


def test_it_fails_at_once_on_a_refusal_and_never_follows_a_redirect(make_rule, receiver):
    rule = make_rule("down")
    receiver.answer(302, Location=receiver.url("/elsewhere"))
    moved = send(occur(rule, "a"))
    receiver.answer(404)
    gone = send(occur(rule, "b"))
    assert (moved.outcome, gone.outcome) == ("failed", "failed")
    assert "redirects are not followed" in moved.error
    assert gone.error == "the destination refused the delivery (HTTP 404)"
    assert "/elsewhere" not in receiver.paths()


def test_it_limits_sends_per_destination_host(make_rule, receiver, settings):
    settings.ALERT_RATE_PER_MINUTE = 2
    rule = make_rule("down")
    rows = [occur(rule, str(i), NOW + timedelta(seconds=i)) for i in range(3)]
    outcomes = [send(row, NOW + timedelta(seconds=10 + i)).outcome for i, row in enumerate(rows)]
    assert outcomes == ["sent", "sent", "postponed"]
    assert refreshed(rows[2]).next_attempt_at == NOW + timedelta(seconds=70)  # first send + 1 min
    assert send(rows[2], NOW + timedelta(seconds=70)).outcome == "sent"
    assert len(receiver.received) == 3


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:{port}/hook", "http://169.254.169.254/latest/meta-data/iam"]
)
def test_it_refuses_forbidden_addresses_at_send(make_server, receiver, settings, url):
    """Saved while allowed (or DNS changed since): checked again when sending."""
    rule = services.create_rule(
        server=make_server(), event="down", url=url.format(port=receiver.port), format="json"
    )
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    attempt = send(occur(rule))
    assert attempt.outcome == "failed"
    assert attempt.error == "the destination's address is not one the panel may connect to"
    assert receiver.received == []


def test_it_sends_a_delivery_once_even_when_two_workers_try(make_rule, receiver):
    rule = make_rule("down")
    row = occur(rule)
    receiver.holding = True
    first = threading.Thread(target=send, args=(row,))
    first.start()
    receiver.wait_for(1)
    assert send(row) is None  # claimed by the first: not ours
    receiver.release.set()
    first.join(timeout=30)
    assert refreshed(row).status == Status.SENT
    assert send(row) is None
    assert len(receiver.received) == 1


def test_it_abandons_a_send_whose_worker_was_lost(make_rule, receiver):
    rule = make_rule("down")
    row = occur(rule)
    Delivery.objects.filter(pk=row.pk).update(
        status=Status.SENDING, lease_until=NOW + delivery.LEASE, attempts=1
    )
    assert delivery.due_deliveries(now=NOW + delivery.LEASE) == []
    assert refreshed(row).status == Status.SENDING  # the lease still holds
    assert delivery.due_deliveries(now=NOW + delivery.LEASE + timedelta(seconds=1)) == []
    row = refreshed(row)
    assert row.status == Status.ABANDONED
    assert row.last_error == delivery.LOST_TEXT
    assert receiver.received == []


def test_it_pauses_a_rule_failing_for_a_day_and_resumes_it(make_rule, receiver, settings):
    rule = make_rule("down")
    for _ in range(2):
        receiver.answer(404)
    send(occur(rule, "a"))
    assert AlertRule.objects.get(pk=rule.pk).failing_since == NOW
    waiting = occur(rule, "later", NOW + timedelta(hours=30))
    send(occur(rule, "b", NOW + timedelta(hours=24)), NOW + timedelta(hours=24))
    rule.refresh_from_db()
    assert rule.paused_reason.startswith("Paused: every delivery since 2026-11-27 12:00 UTC")
    assert "HTTP 404" in rule.paused_reason
    assert rule.enabled
    assert refreshed(waiting).status == Status.FAILED  # dropped, not sent after a resume
    assert evaluation.evaluate_alerts(now=NOW + timedelta(hours=25)).rules == 0

    services.resume_rule(rule=rule)
    assert (rule.paused_reason, rule.failing_since) == ("", None)
    assert send(occur(rule, "c", NOW + timedelta(hours=26)), NOW + timedelta(hours=26)).outcome == (
        "sent"
    )


def test_it_clears_the_failing_clock_on_a_success(make_rule, receiver):
    rule = make_rule("down")
    receiver.answer(500)
    send(occur(rule, "a"))
    assert AlertRule.objects.get(pk=rule.pk).failing_since == NOW
    send(occur(rule, "b"))
    assert AlertRule.objects.get(pk=rule.pk).failing_since is None


def test_it_drops_deliveries_of_a_disabled_rule(make_rule, receiver):
    rule = make_rule("down")
    row = occur(rule)
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    assert send(row).outcome == "skipped"
    assert refreshed(row).status == Status.FAILED
    assert receiver.received == []


def test_it_fails_a_rule_whose_url_no_key_opens(make_rule, receiver, settings):
    from left4me.crypto import generate_key

    rule = make_rule("down")
    settings.RCON_PASSWORD_KEYS = [generate_key()]  # the key that encrypted it is gone
    attempt = send(occur(AlertRule.objects.get(pk=rule.pk)))
    assert attempt.outcome == "failed"
    assert attempt.error == delivery.UNDECRYPTABLE_TEXT
    assert receiver.received == []


def test_it_counts_each_attempt_for_metrics(make_rule, receiver, settings):
    from left4me import metrics_store

    settings.REDIS_URL = ""  # the database store
    rule = make_rule("down")
    send(occur(rule, "a"))
    receiver.answer(503)
    send(occur(rule, "b"))
    receiver.answer(404)
    send(occur(rule, "c"))
    counted = metrics_store.read()
    for result in ("sent", "retry", "failed"):
        assert (
            counted[metrics_store.series(metrics_store.ALERTS_SENT, event="down", result=result)]
            == 1
        )


def test_it_never_logs_the_webhook_token(make_rule, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    rule = make_rule("down")
    send(occur(rule, "ok"))
    receiver.answer(500)
    send(occur(rule, "server-error"))
    closed = services.create_rule(
        server=rule.server, event="up", url=f"http://127.0.0.1:1/hooks/{TOKEN}", format="json"
    )
    send(occur(closed, "refused"))
    assert len(receiver.received) == 2
    assert "connection failed or was refused" in caplog.text  # the failures were logged
    assert "/…" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN[-20:] not in caplog.text


def test_it_prunes_only_old_finished_deliveries(make_rule):
    rule = make_rule("down")
    old = timezone_now() - timedelta(days=40)
    finished = occur(rule, "old-sent", old)
    Delivery.objects.filter(pk=finished.pk).update(status=Status.SENT)
    occur(rule, "old-pending", old)
    occur(rule, "new")
    assert delivery.prune_deliveries(days=30) == 1
    assert sorted(Delivery.objects.values_list("event_key", flat=True)) == [
        "down:new", "down:old-pending",
    ]  # fmt: skip


def timezone_now():
    from django.utils import timezone

    return timezone.now()
