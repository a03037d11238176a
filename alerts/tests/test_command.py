"""manage.py alerts add | list | test | remove."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from alerts.models import AlertRule, Delivery
from alerts.tests.conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = StringIO()
    call_command("alerts", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def server(make_server):
    return make_server(name="coop", desired_state="running")


def test_it_adds_lists_tests_and_removes_a_rule(server, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    url = receiver.url(f"/hooks/{TOKEN}")
    added = run("add", "coop", "--event", "players_at_least", "--threshold", "3", "--url", url,
                "--format", "json", "--secret", "k")  # fmt: skip
    rule = AlertRule.objects.get()
    assert (
        added
        == f"Added rule {rule.pk}: coop (#{server.pk}): players ≥ 3 → {rule.url_hint} [json, enabled]\n"
    )
    assert str(rule.pk) in run("list")
    assert "players ≥ 3" in run("list", str(server.pk))

    tested = run("test", str(rule.pk))
    assert tested.startswith(f"rule {rule.pk} → {rule.url_hint}: sent (HTTP 204) in ")
    [request] = receiver.received
    assert request.headers["X-Left4me-Event"] == "test"
    assert Delivery.objects.get().status == "sent"

    assert run("remove", str(rule.pk)).startswith(f"Removed rule {rule.pk}: coop")
    assert not AlertRule.objects.exists()
    everything = added + tested + caplog.text
    assert TOKEN not in everything


def test_it_reports_a_failed_test_as_an_error(server, receiver):
    run("add", "coop", "--event", "down", "--url", receiver.url(f"/hooks/{TOKEN}"))
    receiver.answer(404)
    with pytest.raises(CommandError, match=r"failed \(HTTP 404\): the destination refused"):
        run("test", str(AlertRule.objects.get().pk))
    assert Delivery.objects.get().status == "failed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "nope", "--event", "down", "--url", "http://127.0.0.1/x"], "no server"),
        (["add", "coop", "--event", "players_at_most", "--url", "http://127.0.0.1/x"],
         "threshold: Give the number"),
        (["add", "coop", "--event", "player_joined", "--url", "http://127.0.0.1/x",
          "--steam-id", "bob"], "steam_id: Enter a SteamID64"),
        (["add", "coop", "--event", "down", "--url", "ftp://127.0.0.1/x"], "url: The URL must"),
        (["add", "coop", "--event", "sometimes", "--url", "http://127.0.0.1/x"], "invalid choice"),
        (["test", "999"], "no alert rule with id 999"),
        (["remove", "999"], "no alert rule with id 999"),
    ],
)  # fmt: skip
def test_it_refuses_bad_input_and_changes_nothing(server, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not AlertRule.objects.exists()


def test_it_refuses_a_loopback_url_when_the_policy_does(server, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    with pytest.raises(CommandError, match="may not connect to this address"):
        run("add", "coop", "--event", "down", "--url", f"http://127.0.0.1:9/{TOKEN}")
    assert not AlertRule.objects.exists()
