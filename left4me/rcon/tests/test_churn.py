"""Random churn worlds for ground-truth tests: replayable, realistic, and hard enough."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import pairwise

import pytest

from left4me.rcon import RconAuthError, RconError, query_status
from left4me.rcon.fleet.churn import churn_world
from left4me.rcon.tests.helpers import BASE, HOST, spec

TIMEOUT = 2.0
ALICE = str(BASE + 11)


def events(world):
    return [(s.name, e) for s in world.servers for e in s.timeline.events]


def truth(world):
    """(server, SteamID, joined, left) of every stint the world plays."""
    rows = []
    for server in world.servers:
        server.timeline.advance(world.duration)
        rows += [
            (server.name, s.steam_id_64, s.joined_at, s.left_at) for s in server.timeline.truth
        ]
    return rows


def test_a_seed_replays_the_same_world():
    one, again, other = churn_world(7), churn_world(7), churn_world(8)
    assert events(one) == events(again)
    assert one.panel_passwords == again.panel_passwords
    assert [s.password for s in one.servers] == [s.password for s in again.servers]
    assert events(one) != events(other)


def test_a_world_plays_every_hard_case():
    worlds = [churn_world(seed) for seed in (1, 2, 3)]
    kinds = Counter(e.kind for w in worlds for _, e in events(w))
    assert {k: kinds[k] > 0 for k in ("join", "leave", "reconnect", "map_change", "password")} == (
        dict.fromkeys(("join", "leave", "reconnect", "map_change", "password"), True)
    )
    outages = [e for w in worlds for _, e in events(w) if e.kind in ("outage", "restart")]
    assert any(e.mode == "blackhole" and 4 <= e.duration <= 12 for e in outages)  # freezes
    assert any(e.kind == "restart" and e.duration < 15 for e in outages)  # crashes
    assert any(e.kind == "restart" and e.duration > 60 for e in outages)  # long restarts
    assert any(e.kind == "outage" and e.duration > 60 for e in outages)  # sessions go stuck
    stints = [row for w in worlds for row in truth(w)]
    lengths = [left - joined for _, _, joined, left in stints if left is not None]
    assert min(lengths) < 1
    assert max(lengths) > 100
    assert len(stints) > 900
    assert sum(length < 5 for length in lengths) > 50  # a poll may never see these
    follows = Counter(kind for w in worlds for kind in transitions(w))
    assert {"reconnect", "under 3 s", "3-12 s", "over 12 s", "moved"} <= set(follows)
    assert twins_at_once(stints)


def transitions(world):
    """How each player's next stint followed the one before (per SteamID, in time order)."""
    by_player = defaultdict(list)
    for server, who, joined, left in truth(world):
        by_player[who].append((joined, left, server))
    for stints in by_player.values():
        for (_, left, server), (joined, _, next_server) in pairwise(sorted(stints)):
            if left is None or joined < left:
                continue  # a twin's stint elsewhere overlaps
            gap = joined - left
            if server != next_server:
                yield "moved" if gap < 4 else "elsewhere later"
            elif gap == 0:
                yield "reconnect"
            else:
                yield "under 3 s" if gap < 3 else "3-12 s" if gap < 12 else "over 12 s"


def twins_at_once(stints) -> bool:
    """One SteamID on two servers at the same moment."""
    by_player = defaultdict(list)
    for server, who, joined, left in stints:
        by_player[who].append((joined, left if left is not None else float("inf"), server))
    return any(
        a[2] != b[2] and a[0] < b[1] and b[0] < a[1]
        for spans in by_player.values()
        for a, b in pairwise(sorted(spans))
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_players_fit_the_slots_and_never_join_a_crashed_server(seed):
    world = churn_world(seed)
    for server in world.servers:
        timeline = server.timeline
        crashes = [(e.at, e.at + e.duration) for e in timeline.events if e.kind == "restart"]
        for event in timeline.events:
            timeline.advance(event.at)
            assert len(timeline.players) <= server.max_players
            if event.kind == "join":
                assert not any(start <= event.at < end for start, end in crashes)


def test_without_hangs_every_outage_refuses():
    world = churn_world(5, hang=False)
    modes = {e.mode for _, e in events(world) if e.kind == "outage"}
    assert modes == {"refused"}


def test_the_panel_learns_a_new_password_seconds_before_or_after_the_server():
    worlds = [churn_world(seed) for seed in range(1, 6)]
    changes = {
        (s.name, e.password): e.at for w in worlds for s in w.servers
        for e in s.timeline.events if e.kind == "password"
    }  # fmt: skip
    panel = [p for w in worlds for p in w.panel_passwords]
    assert len(panel) == len(changes) > 0
    for change in panel:
        assert -6 <= change.at - changes[change.server, change.password] <= 8


def test_a_password_change_takes_effect_at_its_time(fleet):
    handle = fleet(spec(events=[{"at": 10, "kind": "password", "password": "new"}]))
    port = handle.server("s").port
    handle.set_clock(9)
    assert query_status(HOST, port, "pw", timeout=TIMEOUT).map
    handle.set_clock(10)
    with pytest.raises(RconAuthError):
        query_status(HOST, port, "pw", timeout=TIMEOUT)
    assert query_status(HOST, port, "new", timeout=TIMEOUT).map


def test_it_keeps_the_times_it_answered_status_only_when_asked(fleet):
    handle = fleet(
        spec("kept", events=[{"at": 20, "kind": "outage", "duration": 5, "mode": "refused"}]),
        spec("not"),
    )
    handle.server("kept").answers = []
    for t in (5, 10, 22, 30):
        handle.set_clock(t)
        query_status(HOST, handle.server("not").port, "pw", timeout=TIMEOUT)
        if t == 22:  # refused: nothing answered
            with pytest.raises(RconError):
                query_status(HOST, handle.server("kept").port, "pw", timeout=TIMEOUT)
        else:
            query_status(HOST, handle.server("kept").port, "pw", timeout=TIMEOUT)
    assert handle.answers() == {"kept": [5, 10, 30]}


def test_its_poll_schedule_is_late_by_up_to_two_seconds_and_replayable():
    world = churn_world(9, duration=600)
    times = world.poll_times(5)
    assert times == churn_world(9, duration=600).poll_times(5)
    lateness = [t - 5 * round((t - 1) / 5) for t in times]
    assert all(0 <= late <= 2 for late in lateness)
    assert any(late > 1 for late in lateness)
    assert lateness.count(0) > 20
    assert 100 < len(times) < 121  # a few ticks never sent
