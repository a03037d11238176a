"""The evaluator's reading of new sessions: every join once, even when ids commit out of order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import evaluation
from alerts.models import AlertRule, Delivery, JoinCursor
from livestate.models import PlayerSession
from livestate.tests.factories import live_status, session, steam_id

pytestmark = pytest.mark.django_db

WATCHED = steam_id(42)


@pytest.fixture
def rule(make_rule, make_server):
    server = make_server(desired_state="running")
    live_status(server, polled_at=timezone.now(), answered_at=timezone.now(), players=1)
    return make_rule("player_joined", server=server, steam_id_64=WATCHED)


def joins() -> list[str]:
    return list(Delivery.objects.order_by("pk").values_list("event_key", flat=True))


def test_it_sees_a_session_whose_lower_id_commits_after_a_higher_one(rule):
    now = timezone.now()
    late_id = 1000
    session(rule.server, 7)  # someone else, id 1
    PlayerSession.objects.filter(steam_id_64=steam_id(7)).update(id=2000)  # a later id first
    evaluation.evaluate_alerts(now=now)
    assert joins() == []
    # The transaction holding id 1000 commits only now.
    row = session(rule.server, 42)
    PlayerSession.objects.filter(pk=row.pk).update(id=late_id)
    evaluation.evaluate_alerts(now=now + timedelta(seconds=5))
    evaluation.evaluate_alerts(now=now + timedelta(seconds=10))  # read again: not doubled
    assert joins() == [f"player_joined:{late_id}"]


def test_it_moves_its_cursor_only_past_ids_seen_a_while_ago(rule):
    now = timezone.now()
    first = session(rule.server, 7)
    evaluation.evaluate_alerts(now=now)
    cursor = JoinCursor.objects.get()
    assert (cursor.position, cursor.candidate) == (0, first.pk)
    evaluation.evaluate_alerts(now=now + evaluation.SETTLE - timedelta(seconds=1))
    assert JoinCursor.objects.get().position == 0
    evaluation.evaluate_alerts(now=now + evaluation.SETTLE)
    assert JoinCursor.objects.get().position == first.pk


def test_it_does_not_evaluate_a_paused_or_disabled_rule(rule):
    AlertRule.objects.filter(pk=rule.pk).update(paused_reason="Paused: …")
    session(rule.server, 42)
    assert evaluation.evaluate_alerts(now=timezone.now()).rules == 0
    AlertRule.objects.filter(pk=rule.pk).update(paused_reason="", enabled=False)
    assert evaluation.evaluate_alerts(now=timezone.now()).rules == 0
    assert joins() == []
