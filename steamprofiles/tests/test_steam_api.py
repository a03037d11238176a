from __future__ import annotations

import logging

import pytest
import requests

from steamprofiles.steam_api import SteamApiError, fetch_player_summaries, redact
from steamprofiles.tests.conftest import API_KEY

pytestmark = pytest.mark.django_db

HOSTS = ["avatars.steamstatic.com", "avatars.akamai.steamstatic.com"]
IDS = ["76561197960287930", "76561197985018726"]


def fetch(ids=IDS):
    return fetch_player_summaries(ids, api_key=API_KEY, avatar_hosts=HOSTS)


def test_it_parses_real_shaped_summaries(steam):
    steam.load("summaries_two_players.json")
    found = fetch()
    assert found[IDS[0]].persona_name == "Rabscuttle"
    assert found[IDS[0]].avatar_url.endswith("_medium.jpg")
    assert found[IDS[1]].persona_name == "Crone ☠️"  # control character stripped
    assert steam.calls == [IDS]


def test_it_keeps_only_https_avatars_on_steam_hosts(steam):
    steam.load("summaries_foreign_avatar.json")
    found = fetch()
    assert found[IDS[0]].avatar_url == ""  # plain http
    assert found[IDS[1]].avatar_url == ""  # foreign host
    assert found[IDS[1]].profile_url == ""


def test_it_returns_nothing_for_ids_steam_leaves_out(steam):
    assert fetch() == {}


def test_it_refuses_more_than_100_ids(steam):
    with pytest.raises(ValueError, match="1 to 100"):
        fetch([str(76561197960265728 + i) for i in range(101)])
    assert steam.calls == []


@pytest.mark.parametrize(
    ("failure", "kind", "retry_after"),
    [
        ((429, {"Retry-After": "120"}, b""), "rate_limited", 120.0),
        (429, "rate_limited", None),
        (500, "server", None),
        (503, "server", None),
        (403, "rejected", None),
        ((200, {}, b"<html>not json</html>"), "malformed", None),
        ((200, {}, b'{"response": {}}'), "malformed", None),
        ((200, {}, b'{"response": {"players": [{"personaname": "no id"}]}}'), "malformed", None),
        (
            requests.ConnectTimeout("https://api.steampowered.com/?key=SECRETKEY123ABC"),
            "connection",
            None,
        ),
        (
            requests.ReadTimeout("https://api.steampowered.com/?key=SECRETKEY123ABC"),
            "connection",
            None,
        ),
        (
            requests.ConnectionError("Max retries exceeded with url: /x?key=SECRETKEY123ABC"),
            "connection",
            None,
        ),
    ],
)
def test_it_turns_every_failure_into_a_keyless_error(steam, caplog, failure, kind, retry_after):
    caplog.set_level(logging.DEBUG)
    steam.failures.append(failure)
    with pytest.raises(SteamApiError) as caught:
        fetch()
    error = caught.value
    assert error.kind == kind
    assert error.retry_after == retry_after
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    assert API_KEY not in caplog.text


def test_it_redacts_keys_from_urls():
    assert redact("GET /x?key=SECRETKEY123ABC&steamids=1") == "GET /x?key=[redacted]&steamids=1"
