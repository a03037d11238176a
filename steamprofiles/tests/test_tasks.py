from __future__ import annotations

import logging

import pytest
from django.core.cache import cache

from livestate.tests.factories import session
from steamprofiles import tasks
from steamprofiles.models import SteamProfile
from steamprofiles.tests.fake_steam import API_KEY

pytestmark = pytest.mark.django_db

ALICE = "76561197960287930"


def test_it_enriches_and_logs_the_tally_without_the_key(steam, make_server, caplog):
    caplog.set_level(logging.DEBUG)
    steam.load("summaries_two_players.json")
    server = make_server()
    session(server, 22202)  # ALICE
    session(server, 999)  # left out by Steam
    tasks.enrich()
    assert SteamProfile.objects.filter(pk=ALICE, resolved=True).exists()
    assert "Steam profiles: 2 due, 1 call(s), 1 stored, 1 unresolved" in caplog.text
    assert API_KEY not in caplog.text
    assert cache.get(tasks.ENRICH_LOCK) is None


def test_it_skips_while_another_run_holds_the_lock(steam, make_server, caplog):
    caplog.set_level(logging.INFO)
    session(make_server(), 1)
    cache.add(tasks.ENRICH_LOCK, "1", timeout=60)
    tasks.enrich()
    assert steam.calls == []
    assert "previous run is still going" in caplog.text


def test_it_bounds_the_calls_of_one_run(steam, make_server):
    server = make_server()
    for n in range(tasks.ENRICH_MAX_CALLS * 100 + 1):
        session(server, n + 1)
    tasks.enrich()
    assert len(steam.calls) == tasks.ENRICH_MAX_CALLS
    assert tasks.ENRICH_SOFT_TIME_LIMIT < tasks.ENRICH_TIME_LIMIT


def test_it_releases_the_lock_and_hides_the_key_when_steam_fails(steam, make_server, caplog):
    caplog.set_level(logging.DEBUG)
    session(make_server(), 1)
    steam.fail(403, body="forbidden_403.html")
    tasks.enrich()
    assert "Steam rejected the API key" in caplog.text
    assert API_KEY not in caplog.text
    assert cache.get(tasks.ENRICH_LOCK) is None
