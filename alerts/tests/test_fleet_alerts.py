"""A fleet server's evening, polled for real, judged and delivered to a loopback receiver.

The issue's "Done when": an outage, a recovery, a map change, a rejected
password, threshold crossings (with flapping) and a watched player's join
give exactly the expected deliveries, and none for the map change.
"""

from __future__ import annotations

import json

import pytest

from alerts import delivery, evaluation
from alerts.models import Delivery
from alerts.tests.conftest import TOKEN
from livestate.tests.helpers import ALICE, BOB, CAROL

pytestmark = pytest.mark.django_db(transaction=True)

DAVE = "76561198000000042"  # the watched player
ERIN = "76561198000000043"


def join(t, who, name):
    return {"at": t, "kind": "join", "steam_id_64": who, "name": name}


def leave(t, who):
    return {"at": t, "kind": "leave", "steam_id_64": who}


EVENING = [
    # Three players: players_at_least 3 crosses once...
    join(12, ALICE, "Alice"), join(20, BOB, "Bob"), join(30, CAROL, "Carol"),
    # ...and the count flapping 3, 2, 3, 2, 3 around it sends nothing more.
    leave(41, CAROL), join(52, CAROL, "Carol"), leave(63, CAROL), join(74, CAROL, "Carol"),
    # A map change with a lost poll or two: no alert of any kind.
    {"at": 100, "kind": "map_change", "map": "c2m1_highway"},
    {"at": 100, "kind": "outage", "duration": 8, "mode": "refused"},
    # The watched player joins (and someone else): one player_joined.
    join(130, DAVE, "Dave"), join(132, ERIN, "Erin"),
    # Everyone leaves: players_at_most 0 fires; players_at_least 3 re-arms.
    *(leave(150 + i, who) for i, who in enumerate([ALICE, BOB, CAROL, DAVE, ERIN])),
    # An outage of two minutes: one down, then one up.
    {"at": 200, "kind": "outage", "duration": 120, "mode": "refused"},
    # Three players again: the second crossing of players_at_least 3.
    join(340, ALICE, "Alice"), join(345, BOB, "Bob"), join(350, CAROL, "Carol"),
    # The game server's password changes: one password_rejected, and no `down`
    # while the panel waits out its auth back-off.
    {"at": 400, "kind": "password", "password": "changed-behind-our-back"},
]  # fmt: skip


def run(fleet, receiver_count_before=0, *, start=0, end=520):
    """Poll, evaluate and deliver every 5 s of fleet time, as beat would."""
    t = start
    while t <= end:
        fleet.poll(t)
        now = fleet.clock()
        evaluation.evaluate_alerts(now=now)
        for pk in delivery.due_deliveries(now=now):
            delivery.deliver(delivery_id=pk, now=now)
        t += 5


def test_it_alerts_exactly_once_per_occurrence_through_an_evening(
    polled_fleet, make_rule, receiver
):
    fleet = polled_fleet([{"name": "coop", "password": "pw", "max_players": 8, "events": EVENING}])
    server = fleet.servers["coop"]
    make_rule("down", server=server, format="discord")
    make_rule("up", server=server)
    make_rule("password_rejected", server=server)
    make_rule("players_at_least", server=server, threshold=3, secret="s3cret")
    make_rule("players_at_most", server=server, threshold=0)
    make_rule("player_joined", server=server, steam_id_64=DAVE)

    run(fleet)

    received = sorted(path.split("/")[2] for path in receiver.paths())
    assert received == sorted([
        "down", "up", "password_rejected",
        "players_at_least", "players_at_least", "players_at_most", "player_joined",
    ])  # fmt: skip
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert Delivery.objects.count() == 7

    bodies = {r.path.split("/")[2]: json.loads(r.body) for r in receiver.received}
    joined = bodies["player_joined"]
    assert joined["player"] == {"steam_id_64": DAVE, "name": "Dave"}
    assert joined["map"] == "c2m1_highway"
    assert joined["server"]["name"] == "coop"
    down = bodies["down"]["embeds"][0]
    assert down["title"] == "🔴 coop is down"
    assert "not answering for" in down["description"]
    assert bodies["up"]["reason"].startswith("answering again after 2 min")
    crossings = [json.loads(r.body) for r in receiver.received if "at_least" in r.path]
    assert [c["players"] for c in crossings] == [3, 3]


def test_it_sends_nothing_for_a_map_change_or_a_lost_poll(polled_fleet, make_rule, receiver):
    fleet = polled_fleet([{
        "name": "s", "password": "pw",
        "events": [
            {"at": 50, "kind": "map_change", "map": "c3m1_plankcountry"},
            {"at": 50, "kind": "outage", "duration": 12, "mode": "blackhole"},
            {"at": 150, "kind": "outage", "duration": 4, "mode": "refused"},
        ],
    }])  # fmt: skip
    server = fleet.servers["s"]
    for event in ("down", "up", "password_rejected"):
        make_rule(event, server=server)
    make_rule("players_at_most", server=server, threshold=0)

    run(fleet, end=250)

    assert receiver.received == []
    assert Delivery.objects.count() == 0


def test_it_judges_nothing_time_based_while_the_panel_is_not_polling(
    polled_fleet, make_rule, receiver
):
    """The server fails its polls from t=5, then the panel stops polling: its silence
    is the panel's, not the server's. Polling again, the panel sees it down."""
    fleet = polled_fleet([{
        "name": "s", "password": "pw",
        "events": [{"at": 5, "kind": "outage", "duration": 3600, "mode": "refused"}],
    }])  # fmt: skip
    make_rule("down", server=fleet.servers["s"])
    run(fleet, end=5)
    for t in range(10, 400, 5):  # evaluations go on, polls do not
        fleet.handle.set_clock(t)
        evaluation.evaluate_alerts(now=fleet.clock())
    assert Delivery.objects.count() == 0
    run(fleet, start=400, end=420)
    assert receiver.paths() == [f"/hooks/down/{TOKEN}"]


def test_it_watches_only_joins_after_the_rule_began(polled_fleet, make_rule, receiver):
    fleet = polled_fleet([{
        "name": "s", "password": "pw",
        "events": [join(3, DAVE, "Dave"), leave(40, DAVE), join(80, DAVE, "Dave")],
    }])  # fmt: skip
    run(fleet, end=20)  # Dave's first visit is already stored
    make_rule("player_joined", server=fleet.servers["s"], steam_id_64=DAVE)
    run(fleet, start=25, end=200)
    assert len(receiver.received) == 1
    assert TOKEN in receiver.received[0].path
    assert Delivery.objects.get().payload["occurred_at"].startswith("2026-11-27T12:01:20")
