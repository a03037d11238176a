from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from livestate.tests.factories import session, steam_id
from steamprofiles import services, tasks
from steamprofiles.models import SteamProfile
from steamprofiles.tests.conftest import API_KEY

pytestmark = pytest.mark.django_db

ALICE, BOB = "76561197960287930", "76561197985018726"


@pytest.fixture
def server(make_server):
    return make_server()


def play(server, *ids):
    for steam in ids:
        session(server, int(steam) - 76561197960265728)


def test_it_stores_profiles_and_caches_ids_steam_left_out(steam, server):
    steam.load("summaries_two_players.json")
    private = steam_id(999)
    play(server, ALICE, BOB, private)
    report = services.enrich_steam_profiles()
    assert (report.calls, report.stored, report.unresolved) == (1, 2, 1)
    assert SteamProfile.objects.get(pk=ALICE).persona_name == "Rabscuttle"
    assert SteamProfile.objects.get(pk=private).resolved is False


def test_it_asks_nothing_again_within_the_ttl(steam, server):
    steam.load("summaries_two_players.json")
    play(server, ALICE, steam_id(999))
    services.enrich_steam_profiles()
    services.enrich_steam_profiles()
    assert len(steam.calls) == 1


def test_it_asks_again_after_the_ttl(steam, server, settings):
    play(server, steam_id(999))
    services.enrich_steam_profiles()
    later = timezone.now() + timedelta(seconds=settings.STEAM_PROFILE_TTL_SECONDS + 1)
    services.enrich_steam_profiles(now=later)
    assert len(steam.calls) == 2


def test_it_batches_150_ids_into_two_calls_across_servers(steam, make_server):
    first, second = make_server(), make_server()
    for n in range(150):
        session(first if n % 2 else second, n + 1)
    report = services.enrich_steam_profiles()
    assert [len(ids) for ids in steam.calls] == [100, 50]
    assert report.unresolved == 150


def test_it_calls_nothing_without_a_key(steam, server, settings):
    settings.STEAM_WEB_API_KEY = ""
    play(server, ALICE)
    report = services.enrich_steam_profiles()
    assert steam.calls == []
    assert "no STEAM_WEB_API_KEY" in report.skipped


def test_it_calls_nothing_when_nobody_is_due(steam, server):
    assert services.enrich_steam_profiles().calls == 0
    assert steam.calls == []


def test_it_ignores_players_who_left(steam, make_server):
    session(make_server(), 5, joined_ago=900, left_ago=600)
    services.enrich_steam_profiles()
    assert steam.calls == []


def test_it_backs_off_for_everyone_and_doubles(steam, server):
    play(server, ALICE)
    now = timezone.now()
    steam.failures += [500, 500]
    first = services.enrich_steam_profiles(now=now)
    assert "backing off" in first.error
    services.enrich_steam_profiles(now=now + timedelta(seconds=59))
    assert len(steam.calls) == 1  # still backing off: no call
    services.enrich_steam_profiles(now=now + timedelta(seconds=61))
    assert len(steam.calls) == 2
    services.enrich_steam_profiles(now=now + timedelta(seconds=61 + 119))
    assert len(steam.calls) == 2  # second failure: two minutes
    steam.load("summaries_two_players.json")
    services.enrich_steam_profiles(now=now + timedelta(seconds=61 + 121))
    assert len(steam.calls) == 3
    assert SteamProfile.objects.get(pk=ALICE).resolved


def test_it_honours_retry_after(steam, server):
    play(server, ALICE)
    now = timezone.now()
    steam.failures.append((429, {"Retry-After": "600"}, b""))
    services.enrich_steam_profiles(now=now)
    services.enrich_steam_profiles(now=now + timedelta(seconds=599))
    assert len(steam.calls) == 1
    services.enrich_steam_profiles(now=now + timedelta(seconds=601))
    assert len(steam.calls) == 2


def test_it_keeps_earlier_chunks_when_a_later_one_fails(steam, server):
    for n in range(150):
        session(server, n + 1)
    original = steam.send

    def second_fails(request, **kwargs):
        if len(steam.calls) == 1:
            steam.failures.append(503)
        return original(request, **kwargs)

    steam.send = second_fails
    report = services.enrich_steam_profiles()
    assert report.calls == 2
    assert SteamProfile.objects.count() == 100


def test_it_refreshes_on_demand_ignoring_the_ttl_but_not_the_back_off(steam, server):
    steam.load("summaries_two_players.json")
    play(server, ALICE)
    services.enrich_steam_profiles()
    services.refresh_steam_profiles(steam_ids=[ALICE])
    assert len(steam.calls) == 2
    steam.failures.append(500)
    services.refresh_steam_profiles(steam_ids=[ALICE])
    blocked = services.refresh_steam_profiles(steam_ids=[ALICE])
    assert "backing off" in blocked.skipped
    assert len(steam.calls) == 3


def test_it_keeps_a_known_name_when_the_profile_turns_private(steam, server, settings):
    steam.load("summaries_two_players.json")
    play(server, ALICE)
    services.enrich_steam_profiles()
    steam.known.clear()
    later = timezone.now() + timedelta(seconds=settings.STEAM_PROFILE_TTL_SECONDS + 1)
    services.enrich_steam_profiles(now=later)
    profile = SteamProfile.objects.get(pk=ALICE)
    assert (profile.persona_name, profile.resolved) == ("Rabscuttle", False)


def test_it_never_logs_the_key(steam, server, caplog):
    caplog.set_level(logging.DEBUG)
    play(server, ALICE)
    steam.failures.append(requests.ConnectionError("boom https://x/?key=" + API_KEY))
    services.enrich_steam_profiles()
    tasks.enrich()
    assert API_KEY not in caplog.text


def test_it_runs_as_a_task(steam, server):
    steam.load("summaries_two_players.json")
    play(server, ALICE)
    tasks.enrich()
    assert SteamProfile.objects.filter(pk=ALICE, resolved=True).exists()
