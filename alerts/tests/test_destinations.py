"""Webhook URLs: what is accepted, how it is shown, and the outbound policy at save."""

from __future__ import annotations

import pytest

from alerts.destinations import InvalidDestination, parse, redact
from alerts.forms import AlertRuleForm, clean_steam_id
from alerts.models import AlertRule

DISCORD = "https://discord.com/api/webhooks/1234567890/AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789"


@pytest.mark.nodb
def test_it_shows_only_scheme_host_and_the_last_four_characters():
    assert redact(DISCORD) == "https://discord.com/…6789"
    assert redact("http://LAN-Box.local:8080/h/x?token=s3cret-value") == (
        "http://lan-box.local:8080/…alue"
    )
    assert redact("https://example.org/short") == "https://example.org/…"  # too short to show
    assert redact("not a url") == "(not a valid URL)"


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.org/x", "https://"),
        ("https://user:pw@example.org/x", "user name or password"),
        ("https://127.1/x", "four decimal numbers"),
        ("https://example.org:0/x", "port"),
        ("https://example.org:99999/x", "port"),
        ("https://exa mple.org/x", "percent-encoded"),
        ("https://example.org/" + "x" * 2000, "longer than"),
        ("", "Enter"),
    ],
)
def test_it_refuses_urls_it_cannot_use_safely(url, why):
    with pytest.raises(InvalidDestination, match=why):
        parse(url)


@pytest.mark.nodb
def test_it_keeps_path_and_query_exactly():
    destination = parse("https://Example.ORG:8443/a/b?x=1&y=%20#frag")
    assert (destination.host, destination.port, destination.target) == (
        "example.org", 8443, "/a/b?x=1&y=%20",
    )  # fmt: skip
    assert destination.netloc == "example.org:8443"


@pytest.mark.nodb
def test_it_reads_steam_ids_in_every_spelling():
    assert clean_steam_id("STEAM_0:1:23") == clean_steam_id("[U:1:47]") == "76561197960265775"
    assert clean_steam_id(" 76561197960265775 ") == "76561197960265775"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
    ],
)
def test_it_refuses_loopback_and_metadata_addresses_at_save(make_server, settings, url):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    form = AlertRuleForm({"event": "down", "url": url, "format": "json"}, server=make_server())
    assert not form.is_valid()
    assert "may not connect to this address" in str(form.errors["url"])
    assert AlertRule.objects.count() == 0


@pytest.mark.django_db
def test_it_asks_each_event_for_what_it_needs(make_server):
    server = make_server()
    url = "http://127.0.0.1:9/hook"
    form = AlertRuleForm({"event": "players_at_least", "url": url, "format": "json"}, server=server)
    assert "threshold" in form.errors
    form = AlertRuleForm({"event": "player_joined", "url": url, "format": "json"}, server=server)
    assert "steam_id" in form.errors
    form = AlertRuleForm(
        {"event": "players_at_most", "url": url, "format": "json", "threshold": "256"},
        server=server,
    )
    assert "threshold" in form.errors
    form = AlertRuleForm(
        {"event": "player_joined", "url": url, "format": "json", "steam_id": "STEAM_0:1:23"},
        server=server,
    )
    assert form.is_valid(), form.errors
    rule = form.save()
    assert (rule.steam_id_64, rule.url_hint, rule.destination) == (
        "76561197960265775", "http://127.0.0.1:9/…", "127.0.0.1",
    )  # fmt: skip
