"""The fake fleet's timelines on a virtual clock, seen through our client."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from left4me.rcon import RconError, query, query_status
from left4me.rcon.fleet import Event, Timeline, load_scenario, random_fleet, server_from_dict
from left4me.rcon.tests.helpers import BASE, HOST, spec, timed

ALICE, BOB = str(BASE + 11), str(BASE + 12)
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 2.0  # for queries that should answer: loopback needs far less, even on a busy machine


def status(handle, name="s", timeout=TIMEOUT):
    return query_status(HOST, handle.server(name).port, "pw", timeout=timeout)


def connected(handle, who=ALICE, name="s"):
    return {e.steam_id_64: e.connected_seconds for e in status(handle, name).roster}.get(who)


def join(t, who, name="Alice", ping=60):
    return {"at": t, "kind": "join", "steam_id_64": who, "name": name, "ping": ping}


def sessions(handle):
    return [(r["steam_id_64"], r["joined_at"], r["left_at"]) for r in handle.truth()]


def test_it_plays_joins_leaves_and_reconnects(fleet):
    handle = fleet(spec(events=[
        join(10, ALICE), join(20, BOB, "Bob"),
        {"at": 100, "kind": "reconnect", "steam_id_64": ALICE},
        {"at": 150, "kind": "leave", "steam_id_64": BOB},
    ]))  # fmt: skip
    assert status(handle).hibernating
    assert sessions(handle) == []
    handle.set_clock(90)
    assert (connected(handle), connected(handle, BOB)) == (80, 70)
    assert (status(handle).players, status(handle).hibernating) == (2, False)
    handle.set_clock(105)
    assert connected(handle) == 5  # the reconnect restarted the clock
    handle.set_clock(160)
    assert connected(handle, BOB) is None
    assert status(handle).players == 1
    assert sessions(handle) == [(ALICE, 10, 100), (BOB, 20, 150), (ALICE, 100, None)]


def test_it_writes_complete_ground_truth_rows(fleet):
    handle = fleet(
        spec("a", events=[join(1, ALICE, "Zoë \"#1\""), {"at": 9, "kind": "leave", "steam_id_64": ALICE}]),
        spec("b", events=[join(5, BOB, "Bob")]),
    )  # fmt: skip
    handle.set_clock(30)
    assert handle.truth() == [
        {"server": "a", "port": handle.server("a").port, "steam_id_64": ALICE,
         "name": 'Zoë "#1"', "joined_at": 1, "left_at": 9},
        {"server": "b", "port": handle.server("b").port, "steam_id_64": BOB,
         "name": "Bob", "joined_at": 5, "left_at": None},
    ]  # fmt: skip


def test_it_keeps_players_and_sessions_through_a_map_change(fleet):
    handle = fleet(spec(map="c3m1_plankcountry", events=[
        join(0, ALICE), {"at": 30, "kind": "map_change", "map": "c3m2_swamp"},
    ]))  # fmt: skip
    handle.set_clock(20)
    assert status(handle).map == "c3m1_plankcountry"
    handle.set_clock(40)
    assert status(handle).map == "c3m2_swamp"
    assert connected(handle) == 40
    assert sessions(handle) == [(ALICE, 0, None)]


def test_it_changes_level_on_command(fleet):
    handle = fleet(spec(events=[join(0, ALICE)]))
    handle.set_clock(12)
    port = handle.server("s").port
    assert query(HOST, port, "pw", "changelevel c2m1_highway", timeout=TIMEOUT) == ""
    assert (status(handle).map, connected(handle)) == ("c2m1_highway", 12)


def test_it_refuses_during_a_restart_and_forgets_everyone(fleet):
    handle = fleet(spec(events=[
        join(0, ALICE), join(5, BOB, "Bob"),
        {"at": 50, "kind": "restart", "duration": 20}, join(75, ALICE),
    ]))  # fmt: skip
    handle.set_clock(49)
    assert status(handle).players == 2
    handle.set_clock(50)
    with pytest.raises(RconError, match="refused") as caught:
        timed(status, handle)
    assert caught.value.elapsed < TIMEOUT / 4  # type: ignore[attr-defined]  # set by timed(); turned away at once, not timed out
    handle.set_clock(69.5)
    with pytest.raises(RconError, match="refused"):
        status(handle)
    handle.set_clock(70)  # back up: nobody on yet
    assert (status(handle).players, status(handle).hibernating) == (0, True)
    handle.set_clock(80)
    assert connected(handle) == 5
    assert connected(handle, BOB) is None
    assert sessions(handle) == [(ALICE, 0, 50), (BOB, 5, 50), (ALICE, 75, None)]


@pytest.mark.parametrize(("mode", "message"), [("refused", "refused"), ("blackhole", "timed out")])
def test_it_goes_dark_in_an_outage_but_keeps_players(fleet, mode, message):
    handle = fleet(spec(events=[
        join(0, ALICE), {"at": 50, "kind": "outage", "duration": 30, "mode": mode},
    ]))  # fmt: skip
    handle.set_clock(60)
    with pytest.raises(RconError, match=message):
        status(handle, timeout=0.3)
    assert sessions(handle) == [(ALICE, 0, None)]
    handle.set_clock(80)
    assert connected(handle) == 80
    assert sessions(handle) == [(ALICE, 0, None)]


def test_it_lists_bots_under_a_zero_bots_header_unless_honest(fleet):
    handle = fleet(
        spec("s", events=[join(0, ALICE)]),
        spec("h", honest_bot_count=True, events=[join(0, BOB, "Bob")]),
    )
    handle.set_clock(5)
    port = handle.server("s").port
    assert query(HOST, port, "pw", "status", timeout=TIMEOUT).count('" BOT active') == 3
    assert status(handle, "s").bots == 0
    assert status(handle, "h").bots == 3
    assert [e.steam_id_64 for e in status(handle, "s").roster] == [ALICE]


def test_it_prints_steam3_ids_for_the_same_accounts(fleet):
    handle = fleet(spec(steam3_ids=True, events=[join(0, ALICE), join(0, BOB, "Bob")]))
    handle.set_clock(3)
    text = query(HOST, handle.server("s").port, "pw", "status", timeout=TIMEOUT)
    assert "[U:1:11]" in text
    assert "STEAM_1" not in text
    assert [e.steam_id_64 for e in status(handle).roster] == [ALICE, BOB]


def test_it_never_moves_the_clock_backwards(fleet):
    handle = fleet(spec(events=[join(10, ALICE)]))
    handle.set_clock(100)
    handle.set_clock(20)
    assert handle.now() == 100
    assert connected(handle) == 90


def test_it_ignores_reconnects_and_leaves_of_absent_players_and_double_joins():
    timeline = Timeline(map="m", events=[
        Event(1, "reconnect", ALICE), Event(2, "leave", BOB), Event(3, "join", ALICE, "A"),
        Event(4, "join", ALICE, "A again"),
    ])  # fmt: skip
    timeline.advance(10)
    assert [(s.name, s.joined_at, s.left_at) for s in timeline.truth] == [("A", 3, None)]


def test_it_knows_reachability_at_the_edges():
    timeline = Timeline(map="m", events=[
        Event(10, "restart", duration=5), Event(20, "outage", duration=2, mode="blackhole"),
    ])  # fmt: skip
    states = {t: timeline.unreachable(t) for t in (9.9, 10, 14.9, 15, 20, 21.9, 22)}
    assert states == {9.9: None, 10: "refused", 14.9: "refused", 15: None,
                      20: "blackhole", 21.9: "blackhole", 22: None}  # fmt: skip


def test_it_loads_a_json_scenario_and_serves_it(tmp_path, fleet):
    data = {"servers": [
        {"name": "a", "password": "x", "map": "c5m1_waterfront", "max_players": 8,
         "steam3_ids": True, "honest_bot_count": True, "events": [
             join(1, ALICE), {"at": 2, "kind": "map_change", "map": "c5m2_park"},
             {"at": 3, "kind": "reconnect", "steam_id_64": ALICE},
             {"at": 4, "kind": "outage", "duration": 1, "mode": "blackhole"},
             {"at": 6, "kind": "restart", "duration": 1},
             {"at": 8, "kind": "join", "steam_id_64": BOB, "name": "Bob", "ping": 9},
             {"at": 9, "kind": "leave", "steam_id_64": BOB}]},
        {"name": "b", "failure": "slow", "slow_seconds": 0.5},
    ]}  # fmt: skip
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    servers = load_scenario(path)
    a, b = servers
    assert (a.name, a.password, a.max_players, a.steam3_ids, a.honest_bot_count) == (
        "a", "x", 8, True, True,
    )  # fmt: skip
    assert [e.kind for e in a.timeline.events] == [
        "join", "map_change", "reconnect", "outage", "restart", "join", "leave",
    ]  # fmt: skip
    assert (b.failure, b.slow_seconds, b.max_players, len(b.password) >= 16) == (
        "slow", 0.5, 4, True,
    )  # fmt: skip
    handle = fleet(*data["servers"][:1])
    handle.set_clock(10)
    answer = query_status(HOST, handle.server("a").port, "x", timeout=TIMEOUT)
    assert (answer.map, answer.players, answer.bots, answer.max_players) == ("c5m2_park", 0, 0, 8)
    assert sessions(handle) == [(ALICE, 1, 3), (ALICE, 3, 6), (BOB, 8, 9)]


def test_it_rejects_unknown_modes_and_events():
    with pytest.raises(ValueError, match="failure mode"):
        server_from_dict({"name": "a", "failure": "explode"})
    with pytest.raises(ValueError, match="event kind"):
        server_from_dict({"name": "a", "events": [{"at": 1, "kind": "teleport"}]})


def test_it_builds_a_random_fleet_with_the_asked_failure_mix():
    servers = random_fleet(200, seed=3, refused_ratio=0.05, blackhole_ratio=0.1, horizon=600)
    failures = Counter(s.failure for s in servers)
    assert failures == {"": 170, "blackhole": 20, "refused": 10}
    assert [s.failure for s in servers[:100]].count("") < 100  # spread, not bunched at the end
    assert len({s.name for s in servers}) == len({s.password for s in servers}) == 200
    again = random_fleet(200, seed=3, refused_ratio=0.05, blackhole_ratio=0.1, horizon=600)
    assert [(s.name, s.failure, s.timeline.events) for s in again] == [
        (s.name, s.failure, s.timeline.events) for s in servers
    ]


def test_it_churns_within_each_servers_capacity():
    for server in random_fleet(30, seed=5, horizon=7200):
        timeline = server.timeline
        assert timeline.events == sorted(timeline.events, key=lambda e: e.at)
        for event in timeline.events:
            timeline.advance(event.at)
            assert len(timeline.players) <= server.max_players
        assert len(timeline.truth) > 0
        timeline.advance(10**9)
        assert all(s.left_at is not None and s.left_at >= s.joined_at for s in timeline.truth)


def wait_for_listing(path: Path, process: subprocess.Popen, seconds: float = 60) -> list[dict]:
    """The fleet's listing once it is whole; the fleet writes it after its listeners open."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the fleet exited before writing its listing"
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads(path.read_text())
        time.sleep(0.05)  # a poll interval: the deadline, not this, bounds the wait
    pytest.fail(f"no complete listing after {seconds} s")


def test_it_runs_from_the_command_line_and_writes_the_truth(tmp_path):
    listing, truth = tmp_path / "servers.json", tmp_path / "truth.json"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "left4me.rcon.fleet", "--servers", "4", "--seed", "2",
         "--refused-ratio", "0.25", "--servers-out", str(listing), "--truth-out", str(truth)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        rows = wait_for_listing(listing, fleet)
        answers: Counter[str] = Counter()
        for row in rows:
            try:
                query_status(row["host"], row["port"], row["password"], timeout=TIMEOUT)
                answers["ok"] += 1
            except RconError:
                answers[row["failure"]] += 1
        assert answers == {"ok": 3, "refused": 1}
    finally:
        fleet.send_signal(signal.SIGINT)
        out, _ = fleet.communicate(timeout=10)
    assert fleet.returncode == 0
    assert len(out.splitlines()) == 4
    assert isinstance(json.loads(truth.read_text()), list)


def test_it_stops_on_sigint_even_when_started_with_sigint_ignored(tmp_path):
    """A shell starts background jobs with SIGINT ignored; Ctrl-C must still stop the fleet."""
    listing = tmp_path / "servers.json"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "left4me.rcon.fleet", "--servers", "2", "--servers-out", str(listing)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        wait_for_listing(listing, fleet)
        fleet.send_signal(signal.SIGINT)
        assert fleet.wait(timeout=10) == 0
    finally:
        if fleet.poll() is None:
            fleet.kill()
            fleet.wait()
