"""The fake fleet's timelines, seen through our client on a virtual clock."""

from __future__ import annotations

import json

import pytest

from left4me.rcon import RconError, query_status
from left4me.rcon.fleet import load_scenario, random_fleet
from left4me.rcon.tests.conftest import BASE

ALICE, BOB = str(BASE + 11), str(BASE + 12)


def status(handle, name="s", timeout=0.3):
    return query_status("127.0.0.1", handle.server(name).port, "pw", timeout=timeout)


def connected(handle, who=ALICE):
    return {e.steam_id_64: e.connected_seconds for e in status(handle).roster}.get(who)


def join(t, who, name="Alice"):
    return {"at": t, "kind": "join", "steam_id_64": who, "name": name, "ping": 60}


def test_it_plays_joins_leaves_and_reconnects(fleet):
    handle = fleet({"name": "s", "password": "pw", "events": [
        join(10, ALICE), join(20, BOB, "Bob"),
        {"at": 100, "kind": "reconnect", "steam_id_64": ALICE},
        {"at": 150, "kind": "leave", "steam_id_64": BOB},
    ]})  # fmt: skip
    assert status(handle).hibernating
    handle.set_clock(90)
    assert connected(handle) == 80
    assert status(handle).players == 2
    handle.set_clock(105)
    assert connected(handle) == 5  # the reconnect restarted the clock
    handle.set_clock(160)
    assert connected(handle, BOB) is None
    truth = [(r["steam_id_64"], r["joined_at"], r["left_at"]) for r in handle.truth()]
    assert truth == [(ALICE, 10, 100), (BOB, 20, 150), (ALICE, 100, None)]


def test_it_keeps_players_through_a_map_change(fleet):
    handle = fleet({"name": "s", "password": "pw", "events": [
        join(0, ALICE), {"at": 30, "kind": "map_change", "map": "c3m1_plankcountry"},
    ]})  # fmt: skip
    handle.set_clock(40)
    assert status(handle).map == "c3m1_plankcountry"
    assert connected(handle) == 40


def test_it_refuses_during_a_restart_and_forgets_everyone(fleet):
    handle = fleet({"name": "s", "password": "pw", "events": [
        join(0, ALICE), {"at": 50, "kind": "restart", "duration": 20}, join(75, ALICE),
    ]})  # fmt: skip
    handle.set_clock(60)
    with pytest.raises(RconError, match="refused"):
        status(handle)
    handle.set_clock(72)
    assert status(handle).players == 0
    handle.set_clock(80)
    assert connected(handle) == 5
    assert [(r["joined_at"], r["left_at"]) for r in handle.truth()] == [(0, 50), (75, None)]


@pytest.mark.parametrize(("mode", "message"), [("refused", "refused"), ("blackhole", "timed out")])
def test_it_goes_dark_in_an_outage_but_keeps_players(fleet, mode, message):
    handle = fleet({"name": "s", "password": "pw", "events": [
        join(0, ALICE), {"at": 50, "kind": "outage", "duration": 30, "mode": mode},
    ]})  # fmt: skip
    handle.set_clock(60)
    with pytest.raises(RconError, match=message):
        status(handle)
    handle.set_clock(85)
    assert connected(handle) == 85
    assert handle.truth()[0]["left_at"] is None


def test_it_lists_bots_under_a_zero_bots_header_unless_honest(fleet):
    handle = fleet(
        {"name": "s", "password": "pw", "events": [join(0, ALICE)]},
        {"name": "h", "password": "pw", "honest_bot_count": True, "events": [join(0, BOB)]},
    )
    handle.set_clock(5)
    assert status(handle, "s").bots == 0
    assert status(handle, "h").bots == 3
    assert [e.steam_id_64 for e in status(handle, "s").roster] == [ALICE]


def test_it_loads_a_json_scenario(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"servers": [
        {"name": "a", "password": "x", "max_players": 8, "events": [join(1, ALICE)]},
        {"name": "b", "failure": "blackhole"},
    ]}))  # fmt: skip
    servers = load_scenario(path)
    assert [(s.name, s.max_players, s.failure) for s in servers] == [
        ("a", 8, ""),
        ("b", 4, "blackhole"),
    ]
    assert servers[1].password  # generated when absent


def test_it_rejects_unknown_modes_and_events():
    from left4me.rcon.fleet import server_from_dict

    with pytest.raises(ValueError, match="failure mode"):
        server_from_dict({"name": "a", "failure": "explode"})
    with pytest.raises(ValueError, match="event kind"):
        server_from_dict({"name": "a", "events": [{"at": 1, "kind": "teleport"}]})


def test_it_builds_a_random_fleet_with_the_asked_failure_mix():
    servers = random_fleet(200, seed=3, refused_ratio=0.05, blackhole_ratio=0.1, horizon=600)
    failures = [s.failure for s in servers]
    assert (failures.count("refused"), failures.count("blackhole")) == (10, 20)
    assert failures[:30].count("") > 0  # spread, not bunched at the start
    assert len({s.name for s in servers}) == 200
