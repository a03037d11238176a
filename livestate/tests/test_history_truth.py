"""The history pages against a fleet with a scripted evening: what the panel
says about uptime, outages and a player's time is what the fleet played.

The fleet runs on a virtual clock (livestate.tests.helpers.T0, a few days
ago), polled every 5 s by the real poll service; the pages are read through
the test client, as a visitor would.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from livestate.tests.helpers import ALICE, BOB, at

pytestmark = pytest.mark.django_db(transaction=True)

POLL = 5
EVENING = [
    {"at": 12, "kind": "join", "steam_id_64": ALICE, "name": "Alice", "ping": 40},
    {"at": 47, "kind": "join", "steam_id_64": BOB, "name": "Bob", "ping": 90},
    {"at": 600, "kind": "outage", "duration": 40, "mode": "blackhole"},
    {"at": 903, "kind": "leave", "steam_id_64": ALICE},
    {"at": 1200, "kind": "outage", "duration": 60, "mode": "refused"},
]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_history_pages_tell_what_the_fleet_did(client, polled_fleet):
    evening = polled_fleet([{"name": "coop", "password": "pw", "events": EVENING}])
    evening.poll_every(0, 1500)  # one evening polled once; both halves read it
    uptime_and_outages(client, evening)
    players_time(client, evening)


def uptime_and_outages(client, evening):
    server = evening.servers["coop"]
    data = client.get(f"/servers/{server.pk}/stats.json").json()
    # Answered 0-595, silent 600-635 (the blackhole), answered 640-1195,
    # refused 1200-1255, answered 1260-1500. Each poll stands for the time
    # until the next one: meant to run 0-1505, answering 1505 - 40 - 60 s.
    assert data["uptime"]["7d"] == pytest.approx((1505 - 40 - 60) / 1505)
    assert data["uptime"]["24h"] is None  # T0 is days ago: nothing meant to run since
    outages = sorted(data["outages"], key=lambda o: o["started_at"])
    assert [(when(o["started_at"]), when(o["ended_at"]), o["reason"]) for o in outages] == [
        (at(600), at(640), "unreachable"),
        (at(1200), at(1260), "unreachable"),
    ]


def players_time(client, evening):
    truth = {row["steam_id_64"]: row for row in evening.handle.truth()}
    alice = client.get(f"/players/{ALICE}.json").json()
    real = truth[ALICE]
    assert alice["sessions"] == 1  # the outage did not split her visit
    assert abs(when(alice["first_seen"]) - at(real["joined_at"])).total_seconds() <= 2
    early = (at(real["left_at"]) - when(alice["last_seen"])).total_seconds()
    assert 0 <= early <= POLL + 1  # closed at her last sighting, never later
    played = real["left_at"] - real["joined_at"]
    assert played - (POLL + 1) - 2 <= alice["playtime_seconds"] <= played + 2
    assert alice["online_on"] is None
    bob = client.get(f"/players/{BOB}.json").json()
    assert bob["online_on"] == evening.servers["coop"].pk  # still on at the last poll
    assert bob["servers"] == [
        {
            "id": evening.servers["coop"].pk,
            "name": "coop",
            "playtime_seconds": bob["playtime_seconds"],
        }
    ]
