"""Every Steam Web API call is counted by result, read back through /metrics."""

from __future__ import annotations

import pytest
import requests
from django.core.cache import cache

from left4me.tests.metrics_helpers import scrape, use_store, value
from livestate.tests.factories import session, steam_id
from steamprofiles import services

pytestmark = pytest.mark.django_db

CALLS = "left4me_steam_api_calls_total"


def test_it_counts_calls_by_result(steam, make_server, client, settings):
    use_store(settings, "database")
    server = make_server()
    session(server, 1)
    services.enrich_steam_profiles()  # ok
    failures = [(429, {"Retry-After": "0"}, b""), (503, {}, b""), requests.ConnectionError("down")]
    for failure in failures:
        steam.failures.append(failure)
        cache.delete(services.BACKOFF_KEY)  # the previous failure's pause is over
        services.refresh_steam_profiles(steam_ids=[steam_id(1)])
    samples = scrape(client)
    results = ("ok", "rate-limited", "server", "connection", "rejected", "malformed")
    assert {r: value(samples, CALLS, result=r) for r in results} == {
        "ok": 1, "rate-limited": 1, "server": 1, "connection": 1, "rejected": 0, "malformed": 0,
    }  # fmt: skip
    assert len(steam.calls) == 4


def test_it_counts_nothing_when_no_call_is_made(steam, make_server, client, settings):
    use_store(settings, "database")
    settings.STEAM_WEB_API_KEY = ""
    session(make_server(), 1)
    services.enrich_steam_profiles()
    assert value(scrape(client), CALLS, result="ok") == 0
    assert steam.calls == []
