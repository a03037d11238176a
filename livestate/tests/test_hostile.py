"""Hostile or broken game servers in the middle of a chunk harm no one but themselves."""

from __future__ import annotations

import threading
import time

import pytest

from left4me import outbound
from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession
from livestate.tests.helpers import ALICE, BOB, at
from servers.models import Server

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = ["huge_counts", "nul_text", "bidi_names", "long_map", "flood_roster", "new_ids",
           "not_rcon", "huge_reply"]  # fmt: skip


def good(name: str, who: str) -> dict:
    return {"name": name, "password": "pw",
            "events": [{"at": 0, "kind": "join", "steam_id_64": who, "name": name}]}  # fmt: skip


@pytest.fixture
def mixed_fleet(polled_fleet, settings):
    settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS = 2  # a 1.5 MiB reply needs a moment
    scenarios = [good("first", ALICE)]
    scenarios += [{"name": mode, "password": "pw", "failure": mode} for mode in HOSTILE]
    scenarios += [good("last", BOB)]
    return polled_fleet(scenarios)


def state(name: str) -> LiveStatus:
    return LiveStatus.objects.get(server__name=name)


def test_every_good_server_is_recorded_whatever_its_neighbours_send(mixed_fleet):
    for t in (5, 10):
        mixed_fleet.poll(t)
    for name, who in (("first", ALICE), ("last", BOB)):
        server = mixed_fleet.servers[name]
        assert (state(name).state, state(name).answered_at) == ("running", at(10))
        assert LiveStateSnapshot.objects.filter(server=server).count() == 1
        assert list(
            PlayerSession.objects.filter(server=server).values_list("steam_id_64", flat=True)
        ) == [who]


def test_invalid_replies_are_stored_in_no_part(mixed_fleet):
    mixed_fleet.poll(5)
    for name in ("huge_counts", "flood_roster"):
        assert (state(name).state, state(name).error) == ("error", "sent an invalid status")
        assert not LiveStateSnapshot.objects.filter(server=mixed_fleet.servers[name]).exists()
        assert not PlayerSession.objects.filter(server=mixed_fleet.servers[name]).exists()
    for name in ("not_rcon", "huge_reply"):
        assert state(name).state == "error"
        assert state(name).error == "not an RCON server (something answered, but not with RCON)"


def test_text_is_stored_clean_and_cut_and_a_long_map_still_runs(mixed_fleet):
    for t in (5, 10, 15):
        mixed_fleet.poll(t)
    texts = list(LiveStateSnapshot.objects.values_list("map", flat=True))
    texts += list(PlayerSession.objects.values_list("name_at_join", flat=True))
    assert all(ch.isprintable() or ch == " " for text in texts for ch in text)
    long_map = LiveStateSnapshot.objects.filter(server=mixed_fleet.servers["long_map"])
    assert long_map.count() == 1  # one run over three polls: cut before it was compared
    assert len(long_map.get().map) == 64


def test_fresh_ids_every_tick_cannot_flood_the_history(polled_fleet):
    fleet = polled_fleet([{"name": "n", "password": "pw", "failure": "new_ids", "max_players": 30}])
    for t in range(5, 65, 5):  # a minute of polls, 30 new players each
        fleet.poll(t)
    assert 64 <= PlayerSession.objects.count() <= 64 + 60  # the bucket, plus its refill
    assert PlayerSession.objects.count() < 12 * 30 / 2


def test_a_hung_dns_lookup_costs_only_its_own_server(polled_fleet, monkeypatch, settings):
    fleet = polled_fleet([{"name": "ok", "password": "pw"}])
    settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS = 0.5
    Server.objects.create(owner=fleet.servers["ok"].owner, name="slow", host="slow.example",
                          port=1, rcon_password="pw", desired_state="running")  # fmt: skip
    release, real_lookup = threading.Event(), outbound._lookup

    def lookup(host):  # a resolver that never answers for one name (no DNS leaves the machine)
        if host == "slow.example":
            release.wait(30)
        return real_lookup(host)

    monkeypatch.setattr(outbound, "_lookup", lookup)
    started = time.monotonic()
    try:
        report = fleet.poll(5)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert elapsed < 10  # the tick did not wait for the 30 s lookup
    assert (state("ok").state, state("slow").state) == ("running", "unreachable")
    assert state("slow").error == "looking up slow.example timed out"
    assert report.polled == 2
