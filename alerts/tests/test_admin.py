"""Staff manage rules in the admin without ever seeing a URL or secret whole."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import AlertRule
from alerts.tests.conftest import TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(make_rule):
    return make_rule("down", secret="hmac-key-1234567890")


def test_it_lists_rules_with_their_urls_shortened(staff_client, rule):
    html = staff_client.get(reverse("admin:alerts_alertrule_changelist")).content.decode()
    assert rule.url_hint in html
    assert TOKEN not in html


def test_it_shows_only_the_short_url_and_offers_to_replace_it(staff_client, rule, receiver):
    change = reverse("admin:alerts_alertrule_change", args=[rule.pk])
    html = staff_client.get(change).content.decode()
    assert rule.url_hint in html
    assert "Replace URL" in html
    assert TOKEN not in html
    assert "hmac-key" not in html
    new = receiver.url("/hooks/replaced-0123456789")
    data = {"server": rule.server_id, "event": "down", "format": "json", "enabled": "on",
            "new_url": new}  # fmt: skip
    response = staff_client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule.refresh_from_db()
    assert rule.url == new
    assert rule.url_hint.endswith("/…6789")
    assert rule.secret == "hmac-key-1234567890"  # kept: not replaced


def test_it_refuses_a_forbidden_url_in_the_admin(staff_client, rule, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    change = reverse("admin:alerts_alertrule_change", args=[rule.pk])
    data = {"server": rule.server_id, "event": "down", "format": "json", "enabled": "on",
            "new_url": "http://169.254.169.254/latest"}  # fmt: skip
    html = staff_client.post(change, data).content.decode()
    assert "may not connect to this address" in html
    assert AlertRule.objects.get(pk=rule.pk).url == rule.url


def test_it_adds_a_rule_with_a_url(staff_client, make_server, receiver):
    server = make_server()
    data = {"server": server.pk, "event": "players_at_most", "threshold": "0", "format": "discord",
            "enabled": "on", "new_url": receiver.url(f"/hooks/{TOKEN}")}  # fmt: skip
    response = staff_client.post(reverse("admin:alerts_alertrule_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AlertRule.objects.get()
    assert (rule.event, rule.threshold, rule.destination) == ("players_at_most", 0, "127.0.0.1")


def test_it_shows_deliveries_read_only(staff_client, rule):
    from alerts import services

    delivery = services.queue_test(rule=rule)
    html = staff_client.get(
        reverse("admin:alerts_delivery_change", args=[delivery.pk])
    ).content.decode()
    assert "test" in html
    assert TOKEN not in html
    assert staff_client.get(reverse("admin:alerts_delivery_add")).status_code == 403
