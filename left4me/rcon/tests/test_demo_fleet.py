"""The quick start's varied fleet: personalities, busy hours, a scripted outage."""

from __future__ import annotations

import contextlib
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from left4me.rcon import RconError, query_status
from left4me.rcon.fleet import demo_fleet, running_fleet
from left4me.rcon.fleet.variety import (
    CAMPAIGNS,
    OUTAGE_FIRST,
    ROTATION,
    busyness,
    personality,
    plan_world,
)
from left4me.rcon.tests.helpers import HOST

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = 3600.0
DAY = 86400.0
TIMEOUT = 2.0
BUSY, QUIET, FLAKY, HIBERNATING = range(4)


@contextlib.contextmanager
def fleet_at(start: datetime, count: int = 6, **kwargs):
    with running_fleet(demo_fleet(count, start=start, **kwargs)) as handle:
        yield handle


def status(handle, index: int):
    server = handle.servers[index]
    return query_status(HOST, server.port, server.password, timeout=TIMEOUT)


def test_its_servers_differ():
    servers = demo_fleet(6, start=MONDAY, horizon=HOUR)
    assert [s.name for s in servers] == [
        "sim-0001 Busy EU", "sim-0002 Quiet US", "sim-0003 Flaky", "sim-0004 Hibernating",
        "sim-0005 US West", "sim-0006 Asia versus",
    ]  # fmt: skip
    assert [s.max_players for s in servers] == [8, 4, 4, 4, 4, 8]
    assert len({s.password for s in servers}) == 6
    more = {personality(i).title for i in range(6, 30)}
    assert more == {"Busy EU", "Quiet US", "US West", "Asia versus"}  # no more flaky or empty ones


def test_it_is_the_same_world_for_the_same_seed_and_start():
    def world(**kwargs):
        return [s.timeline.events for s in demo_fleet(6, horizon=DAY, **kwargs)]

    assert world(start=MONDAY, seed=3) == world(start=MONDAY, seed=3)
    assert world(start=MONDAY, seed=3) != world(start=MONDAY, seed=4)


def test_the_flaky_server_stops_answering_in_its_window_only():
    with fleet_at(MONDAY, count=3) as handle:
        for window in (OUTAGE_FIRST, OUTAGE_FIRST + 20 * 60):
            handle.set_clock(window - 5)
            assert status(handle, FLAKY).map
            handle.set_clock(window + 1)
            with pytest.raises(RconError, match="refused"):
                status(handle, FLAKY)
            assert status(handle, BUSY).map  # the others keep answering
            handle.set_clock(window + 119)
            with pytest.raises(RconError, match="refused"):
                status(handle, FLAKY)
            handle.set_clock(window + 121)
            assert status(handle, FLAKY).map


def test_counts_follow_the_time_of_day():
    """The busy server (players in UTC+1) is full in the evening and near empty at dawn."""
    evening: list[int] = []
    dawn: list[int] = []
    with fleet_at(MONDAY, count=4) as handle:
        for day in range(3):
            for hour in (3, 4, 5, 6, 17, 18, 19, 20):
                handle.set_clock((day * 24 + hour) * HOUR + 1800)
                players = status(handle, BUSY).players
                (evening if hour >= 17 else dawn).append(players)
                assert status(handle, HIBERNATING).hibernating
    assert sum(evening) > 4 * max(1, sum(dawn))
    assert max(evening) >= 5


def test_the_time_of_day_curve_peaks_in_the_evening_and_at_weekends():
    monday = MONDAY.timestamp()
    assert busyness(monday + 21 * HOUR, 0) == pytest.approx(1.0)
    assert busyness(monday + 9 * HOUR, 0) < 0.1
    assert busyness(monday + 21 * HOUR, -5) < 0.5  # 16:00 in New York
    saturday = monday + 5 * DAY
    assert busyness(saturday + 15 * HOUR, 0) > busyness(monday + 15 * HOUR, 0)


def test_a_week_keeps_within_capacity_and_rotates_through_the_campaigns():
    plans = plan_world(6, seed=1, start=MONDAY, end=MONDAY + timedelta(days=7))
    for plan in plans:
        visits = sorted(plan.visits, key=lambda v: v.joined)
        for visit in visits:
            assert plan.players_at(visit.joined) <= plan.personality.max_players
            assert re.fullmatch(r"7656119\d{10}", visit.steam_id_64)
            assert plan.down_at(visit.joined) is None
        for when, new_map in plan.maps:
            assert plan.players_at(when) > 0  # an empty server stays on its map
            assert new_map in ROTATION
    busy = plans[BUSY]
    assert busy.first_map in {campaign[0] for campaign in CAMPAIGNS}
    first = ROTATION.index(busy.first_map)
    expected = [ROTATION[(first + n) % len(ROTATION)] for n in range(1, len(busy.maps) + 1)]
    assert [m for _, m in busy.maps] == expected
    assert len(busy.maps) > len(ROTATION)  # a week goes through every campaign
    assert plans[HIBERNATING].visits == []
    assert plans[HIBERNATING].maps == []
    quiet = plans[QUIET]
    played = sum(v.left - v.joined for v in quiet.visits)
    assert played < 0.3 * 7 * DAY  # empty most of the time
    assert {d.reason for d in quiet.down} == {"auth_failed"}


def test_no_player_is_on_two_servers_at_once():
    plans = plan_world(6, seed=2, start=MONDAY, end=MONDAY + timedelta(days=2))
    stints: dict[str, list[tuple[float, float]]] = {}
    for plan in plans:
        for visit in plan.visits:
            stints.setdefault(visit.steam_id_64, []).append((visit.joined, visit.left))
    for spans in stints.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
