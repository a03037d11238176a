"""The alerts part of the server page's owner section, and its forms."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from alerts import services
from alerts.models import AlertRule, Delivery
from alerts.tests.conftest import TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(make_server):
    return make_server(name="coop", listed=True, desired_state="running")


@pytest.fixture
def rule(make_rule, server):
    return make_rule("players_at_least", server=server, threshold=4)


def page(client, server) -> str:
    response = client.get(server.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def add_url(server):
    return reverse("alerts:add", args=[server.pk])


def test_it_shows_rules_and_their_log_to_the_owner_with_the_url_shortened(
    client, owner, server, rule
):
    services.queue_test(rule=rule)
    Delivery.objects.update(status="failed", last_error="the destination refused (HTTP 404)")
    client.force_login(owner)
    html = page(client, server)
    assert "players ≥ 4" in html
    assert rule.url_hint.endswith("/…cdef")
    assert rule.url_hint in html
    assert "the destination refused (HTTP 404)" in html
    assert TOKEN not in html
    assert TOKEN[:-4] not in html


@pytest.mark.parametrize("who", ["anonymous", "stranger", "staff_without_powers"])
def test_it_hides_the_section_from_everyone_who_may_not_edit_the_server(
    client, make_user, server, rule, who
):
    if who == "stranger":
        client.force_login(make_user("stranger"))
    elif who == "staff_without_powers":
        client.force_login(make_user("staffer", is_staff=True))
    html = page(client, server)
    assert "Alerts" not in html
    assert rule.url_hint not in html


def test_it_shows_the_section_to_staff_who_may_change_servers(client, make_user, server, rule):
    editor = make_user("editor", is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_server"))
    client.force_login(editor)
    assert rule.url_hint in page(client, server)


def test_it_adds_a_rule_and_redirects_to_the_page(client, owner, server, receiver):
    client.force_login(owner)
    url = receiver.url(f"/hooks/{TOKEN}")
    response = client.post(add_url(server), {"event": "down", "url": url, "format": "discord"})
    assert response.status_code == 302
    assert response["Location"] == f"{server.get_absolute_url()}#alerts"
    rule = AlertRule.objects.get()
    assert (rule.event, rule.url, rule.format) == ("down", url, "discord")
    html = page(client, server)
    assert "Alert added: server down" in html
    assert TOKEN not in html


def test_it_refuses_bad_input_and_changes_nothing(client, owner, server, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    client.force_login(owner)
    response = client.post(
        add_url(server),
        {"event": "players_at_least", "url": "http://169.254.169.254/x", "format": "json"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "may not connect to this address" in html
    assert "Give the number of players" in html
    assert not AlertRule.objects.exists()


def test_it_gives_404_to_whoever_may_not_edit_the_server(client, make_user, server, rule):
    client.force_login(make_user("stranger"))
    for name in ("remove", "resume", "test"):
        assert client.post(reverse(f"alerts:{name}", args=[server.pk, rule.pk])).status_code == 404
    assert client.get(add_url(server)).status_code == 404
    assert AlertRule.objects.filter(pk=rule.pk, enabled=True).exists()
    assert not Delivery.objects.exists()


def test_it_removes_resumes_and_tests_a_rule(client, owner, server, rule, make_server):
    client.force_login(owner)
    AlertRule.objects.filter(pk=rule.pk).update(paused_reason="Paused: every delivery failed.")
    assert "Paused: every delivery failed." in page(client, server)
    client.post(reverse("alerts:resume", args=[server.pk, rule.pk]))
    assert AlertRule.objects.get(pk=rule.pk).paused_reason == ""
    client.post(reverse("alerts:test", args=[server.pk, rule.pk]))
    assert Delivery.objects.get().event == "test"
    other = make_server(name="other")
    assert client.post(reverse("alerts:remove", args=[other.pk, rule.pk])).status_code == 404
    client.post(reverse("alerts:remove", args=[server.pk, rule.pk]))
    assert not AlertRule.objects.exists()


def test_it_wants_the_csrf_token(owner, server, rule):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("alerts:remove", args=[server.pk, rule.pk])).status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_it_renders_no_inline_script(client, owner, server, rule):
    client.force_login(owner)
    html = page(client, server)
    section = html[html.index('id="alerts"') : html.index("Add alert</button>")]
    assert "<script" not in section
    assert "onclick" not in section


def test_it_reads_the_section_in_the_same_queries_however_many_rules(
    client, owner, server, make_rule
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(client, server)
        return len(captured)

    services.queue_test(rule=make_rule("down", server=server))
    one = queries()
    for threshold in range(4):
        rule = make_rule("players_at_least", server=server, threshold=threshold)
        services.queue_test(rule=rule)
        services.queue_test(rule=rule)
    assert queries() == one
