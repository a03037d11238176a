from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone

from livestate.tests.factories import session, steam_id
from steamprofiles import services
from steamprofiles.models import SteamProfile
from steamprofiles.tests.fake_steam import API_KEY

pytestmark = pytest.mark.django_db

ALICE, BOB = "76561197960287930", "76561197985018726"
PRIVATE = steam_id(999)


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def ttl(settings) -> timedelta:
    return timedelta(seconds=settings.STEAM_PROFILE_TTL_SECONDS)


def play(server, *ids: str, **kwargs):
    for sid in ids:
        session(server, int(sid) - 76561197960265728, **kwargs)


def test_it_stores_profiles_and_caches_ids_steam_left_out(steam, server):
    steam.load("summaries_two_players.json")
    play(server, ALICE, BOB, PRIVATE)
    now = timezone.now()
    report = services.enrich_steam_profiles(now=now)
    assert (report.due, report.calls, report.stored, report.unresolved) == (3, 1, 2, 1)
    assert steam.calls == [sorted([ALICE, BOB, PRIVATE])]
    alice = SteamProfile.objects.get(pk=ALICE)
    assert (alice.persona_name, alice.resolved, alice.fetched_at) == ("Rabscuttle", True, now)
    assert alice.avatar_url.startswith("https://avatars.steamstatic.com/")
    private = SteamProfile.objects.get(pk=PRIVATE)
    assert (private.persona_name, private.avatar_url, private.resolved) == ("", "", False)
    assert private.fetched_at == now


def test_it_caches_everyone_as_unresolved_after_an_empty_reply(steam, server):
    play(server, ALICE, BOB)
    report = services.enrich_steam_profiles()
    assert (report.stored, report.unresolved) == (0, 2)
    assert SteamProfile.objects.filter(resolved=False).count() == 2


def test_it_stores_private_profiles_steam_still_returns(steam, server):
    steam.load("summaries_private_profile.json")
    play(server, "76561198034567890")
    services.enrich_steam_profiles()
    assert SteamProfile.objects.get(pk="76561198034567890").persona_name == "quietone"


def test_it_updates_a_profile_after_the_ttl(steam, server, ttl):
    steam.load("summaries_two_players.json")
    play(server, ALICE)
    now = timezone.now()
    services.enrich_steam_profiles(now=now)
    steam.known[ALICE] = {**steam.known[ALICE], "personaname": "Renamed", "avatarmedium": ""}
    services.enrich_steam_profiles(now=now + ttl + timedelta(seconds=1))
    alice = SteamProfile.objects.get(pk=ALICE)
    assert (alice.persona_name, alice.avatar_url) == ("Renamed", "")
    assert alice.fetched_at == now + ttl + timedelta(seconds=1)


def test_it_keeps_the_last_name_when_steam_stops_resolving_an_id(steam, server, ttl):
    steam.load("summaries_two_players.json")
    play(server, ALICE)
    services.enrich_steam_profiles()
    before = SteamProfile.objects.get(pk=ALICE)
    steam.known.clear()
    later = timezone.now() + ttl
    report = services.enrich_steam_profiles(now=later)
    alice = SteamProfile.objects.get(pk=ALICE)
    assert (report.stored, report.unresolved) == (0, 1)
    assert (alice.persona_name, alice.avatar_url) == ("Rabscuttle", before.avatar_url)
    assert (alice.resolved, alice.fetched_at) == (False, later)
    services.enrich_steam_profiles(now=later + ttl / 2)
    assert len(steam.calls) == 2  # cached unresolved: not asked again within the TTL


def test_it_asks_nothing_again_within_the_ttl(steam, server, ttl):
    steam.load("summaries_two_players.json")
    play(server, ALICE, PRIVATE)
    now = timezone.now()
    services.enrich_steam_profiles(now=now)
    again = services.enrich_steam_profiles(now=now + ttl - timedelta(seconds=1))
    assert (len(steam.calls), again.calls, again.due) == (1, 0, 0)


def test_it_asks_unresolved_ids_again_only_after_the_ttl(steam, server, ttl):
    play(server, PRIVATE)
    now = timezone.now()
    services.enrich_steam_profiles(now=now)
    for seconds in (5, 3600, ttl.total_seconds() - 1):
        services.enrich_steam_profiles(now=now + timedelta(seconds=seconds))
    assert steam.calls == [[PRIVATE]]
    services.enrich_steam_profiles(now=now + ttl)
    assert steam.calls == [[PRIVATE], [PRIVATE]]


def test_it_batches_150_ids_across_servers_into_two_calls(steam, make_server):
    first, second = make_server(), make_server()
    for n in range(150):
        session(first if n % 2 else second, n + 1)
    session(second, 2)  # also on `first`: asked once
    report = services.enrich_steam_profiles()
    assert [len(ids) for ids in steam.calls] == [100, 50]
    assert sorted(steam.calls[0] + steam.calls[1]) == [steam_id(n + 1) for n in range(150)]
    assert (report.due, report.calls, report.unresolved) == (150, 2, 150)


def test_it_stops_after_max_calls_and_finishes_next_time(steam, server):
    for n in range(250):
        session(server, n + 1)
    first = services.enrich_steam_profiles(max_calls=2)
    second = services.enrich_steam_profiles(max_calls=2)
    assert (first.calls, second.calls, second.due) == (2, 1, 50)


def test_it_ignores_players_who_left(steam, server):
    play(server, ALICE, joined_ago=900, left_ago=600)
    assert services.enrich_steam_profiles().due == 0
    assert steam.calls == []


def test_it_refreshes_every_known_id_with_all_known(steam, server, ttl):
    play(server, ALICE, joined_ago=900, left_ago=600)
    SteamProfile.objects.create(steam_id_64=BOB, fetched_at=timezone.now())  # fresh: asked anyway
    report = services.enrich_steam_profiles(all_known=True)
    assert steam.calls == [[ALICE, BOB]]
    assert report.due == 2


def test_it_calls_nothing_without_a_key(steam, server, settings, django_assert_num_queries):
    settings.STEAM_WEB_API_KEY = ""
    play(server, ALICE)
    with django_assert_num_queries(0):
        report = services.enrich_steam_profiles()
    assert steam.calls == []
    assert report.disabled
    assert "STEAM_WEB_API_KEY is not set" in report.problem


def test_it_calls_nothing_when_nobody_is_due(steam, server):
    report = services.enrich_steam_profiles()
    assert (report.calls, report.problem) == (0, "")
    assert steam.calls == []


def test_it_backs_off_for_every_worker_and_doubles(steam, server):
    play(server, ALICE)
    now = timezone.now()
    steam.fail(500, body="internal_error_500.html")
    steam.fail(500)
    first = services.enrich_steam_profiles(now=now)
    assert first.backoff_until == now + timedelta(seconds=60)
    assert "server error (HTTP 500); backing off until" in first.problem
    assert cache.get(services.BACKOFF_KEY)  # shared: every process reads it there
    blocked = services.enrich_steam_profiles(now=now + timedelta(seconds=59))
    assert (len(steam.calls), blocked.calls) == (1, 0)
    assert "backing off after Steam API errors until" in blocked.problem
    services.enrich_steam_profiles(now=now + timedelta(seconds=60))
    assert len(steam.calls) == 2  # second failure: two minutes
    services.enrich_steam_profiles(now=now + timedelta(seconds=60 + 119))
    assert len(steam.calls) == 2
    steam.load("summaries_two_players.json")
    services.enrich_steam_profiles(now=now + timedelta(seconds=60 + 120))
    assert len(steam.calls) == 3
    assert SteamProfile.objects.get(pk=ALICE).resolved
    assert cache.get(services.BACKOFF_KEY) is None  # a success resets the doubling


def test_it_caps_the_back_off_at_an_hour(steam, server):
    now = timezone.now()
    error = services.steam_api.SteamApiError("x", kind=services.steam_api.ErrorKind.SERVER)
    delays = []
    for _ in range(9):
        backoff = services.record_failure(error=error, now=now)
        delays.append((backoff.until - now).total_seconds())
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


@pytest.mark.parametrize(
    ("header", "seconds"), [("600", 600), ("0", 0), ("99999999", 86400), ("junk", 60)]
)
def test_it_honours_retry_after(steam, server, header, seconds):
    play(server, ALICE)
    now = timezone.now()
    steam.fail(429, body="too_many_requests_429.html", headers={"Retry-After": header})
    report = services.enrich_steam_profiles(now=now)
    assert report.backoff_until == now + timedelta(seconds=seconds)
    services.enrich_steam_profiles(now=now + timedelta(seconds=seconds) - timedelta(seconds=1))
    services.enrich_steam_profiles(now=now + timedelta(seconds=seconds))
    assert len(steam.calls) == 2  # blocked until exactly then


@pytest.mark.parametrize(
    "failure",
    [
        requests.ReadTimeout(f"Read timed out. (url: /?key={API_KEY})"),
        requests.ConnectTimeout(f"Connect timed out. (url: /?key={API_KEY})"),
        requests.ConnectionError(f"Max retries exceeded with url: /?key={API_KEY}"),
        (200, {}, b"<html>not json</html>"),
        (403, {}, b"<html>Forbidden. Please verify your <pre>key=</pre> parameter.</html>"),
    ],
)
def test_it_backs_off_after_any_failure_and_never_logs_the_key(steam, server, caplog, failure):
    caplog.set_level(logging.DEBUG)
    play(server, ALICE)
    steam.failures.append(failure)
    now = timezone.now()
    report = services.enrich_steam_profiles(now=now)
    assert report.backoff_until == now + timedelta(seconds=60)
    assert services.enrich_steam_profiles(now=now + timedelta(seconds=30)).calls == 0
    assert "Steam profile lookup failed" in caplog.text
    assert API_KEY not in caplog.text
    assert API_KEY not in report.problem
    assert API_KEY not in repr(report)


def test_it_says_when_steam_rejects_the_key(steam, server):
    play(server, ALICE)
    steam.fail(403, body="forbidden_403.html")
    assert "Steam rejected the API key (HTTP 403)" in services.enrich_steam_profiles().problem


def test_it_keeps_earlier_chunks_when_a_later_one_fails(steam, server):
    for n in range(250):
        session(server, n + 1)
    original = steam.send

    def second_fails(request, **kwargs):
        if len(steam.calls) == 1:
            steam.fail(503)
        return original(request, **kwargs)

    steam.send = second_fails
    report = services.enrich_steam_profiles()
    assert (report.calls, report.unresolved) == (2, 100)  # the third chunk is never asked
    assert SteamProfile.objects.count() == 100
    assert report.backoff_until is not None


def test_it_refreshes_on_demand_ignoring_the_ttl_but_not_the_back_off(steam, server):
    steam.load("summaries_two_players.json")
    play(server, ALICE)
    services.enrich_steam_profiles()
    report = services.refresh_steam_profiles(steam_ids=[ALICE, ALICE, "not-an-id"])
    assert (len(steam.calls), report.stored) == (2, 1)
    steam.fail(500)
    services.refresh_steam_profiles(steam_ids=[ALICE])
    blocked = services.refresh_steam_profiles(steam_ids=[ALICE])
    assert "backing off" in blocked.problem
    assert len(steam.calls) == 3


def test_it_reads_no_corrupt_back_off_from_the_cache(steam, server):
    cache.set(services.BACKOFF_KEY, "garbage")
    play(server, ALICE)
    assert services.enrich_steam_profiles().calls == 1


def cached(steam_id: str, *, age: timedelta, **fields) -> SteamProfile:
    fetched_at = timezone.now() - age
    return SteamProfile.objects.create(steam_id_64=steam_id, fetched_at=fetched_at, **fields)


def test_it_tops_up_a_call_with_recent_players_whose_profile_is_ageing(steam, server, ttl):
    steam.load("summaries_two_players.json")
    ageing, young, private = steam_id(1), steam_id(2), steam_id(3)
    left, long_gone = steam_id(4), steam_id(5)
    play(server, ALICE, ageing, young, private)
    play(server, left, joined_ago=900, left_ago=600)  # likely back soon
    play(server, long_gone, joined_ago=ttl.total_seconds() + 900, left_ago=ttl.total_seconds())
    cached(ageing, age=ttl * 0.6, persona_name="ageing")
    cached(young, age=ttl * 0.4, persona_name="young")
    cached(private, age=ttl * 0.6, resolved=False)  # keeps its full TTL
    cached(left, age=ttl * 0.7, persona_name="left")
    cached(long_gone, age=ttl * 0.9, persona_name="long gone")
    report = services.enrich_steam_profiles()
    assert steam.calls == [[ALICE, ageing, left]]  # the due ID, then the top-up
    assert (report.due, report.topped_up, report.calls) == (1, 2, 1)
    assert "1 SteamID(s) due (+2 refreshed early)" in report.summary()


def test_it_never_makes_a_call_just_to_top_up(steam, server, ttl):
    play(server, ALICE)
    cached(ALICE, age=ttl * 0.9, persona_name="ageing")
    assert services.enrich_steam_profiles().calls == 0


def test_it_tops_up_only_free_slots(steam, server, ttl):
    for n in range(100):
        session(server, n + 1)
    play(server, ALICE)
    cached(ALICE, age=ttl * 0.9, persona_name="ageing")
    report = services.enrich_steam_profiles()
    assert ([len(c) for c in steam.calls], report.topped_up) == ([100], 0)


def test_one_server_with_a_huge_roster_cannot_take_a_call_from_the_others(steam, make_server):
    flood, quiet = make_server(), make_server()
    for n in range(1000, 1250):  # 250 players with fresh IDs on one server
        session(flood, n)
    session(quiet, 5000)  # sorts after every flood ID: a plain sorted list leaves it out
    services.enrich_steam_profiles(max_calls=1)
    [first_call] = steam.calls
    assert steam_id(5000) in first_call  # the quiet server's player went in the first call
    assert len(first_call) == 100


def test_it_shares_each_call_round_robin_among_servers():
    pairs = [(1, f"1{n:02}") for n in range(5)] + [(2, "201"), (2, "202"), (3, "301")]
    assert services.fair_order(pairs) == ["100", "201", "301", "101", "202", "102", "103", "104"]
    assert services.fair_order([(1, "x"), (2, "x")]) == ["x"]  # one player on two servers


def test_it_prunes_profiles_no_session_references(server):
    now = timezone.now()
    kept = session(server, 1)
    SteamProfile.objects.bulk_create(
        SteamProfile(steam_id_64=steam_id(n), persona_name=f"p{n}", fetched_at=now)
        for n in (1, 2, 3)
    )
    assert services.prune_profiles(batch_size=1) == 2
    assert list(SteamProfile.objects.values_list("pk", flat=True)) == [kept.steam_id_64]
