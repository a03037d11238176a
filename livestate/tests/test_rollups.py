"""Hourly and daily rollups from known history, numbers worked out by hand.

Poll period 5 s, stale 30 s, auth back-off 600 s. Server A on 27 Nov:
- snapshots: 2 players 10:50:00-11:10:00, then 4 players 11:10:05-11:29:55
  (the next poll 5 s later: joined), then one poll of 1 player at 12:00:00
  (half an hour of silence before it: not joined).
- reachability: answered 10:50:00-11:29:55, unreachable 11:30:00-11:59:55
  (the outage), answered 12:00:00 (one poll).
- sessions: Alice 10:55-11:20 and again 11:25-12:00:05, Carol open since
  11:59 (last seen 12:00:00), Bob 23:50-00:10 across midnight.
Server B: password rejected at 13:00:00, answered 13:10:10 (0 players).
Server C: history older than reachability runs: a snapshot, no runs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from livestate import rollups, services, tasks
from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    PlayerSession,
    ReachabilityRun,
)
from livestate.tests.factories import steam_id

pytestmark = pytest.mark.django_db

D = date(2026, 11, 27)
ALICE, BOB, CAROL = steam_id(1), steam_id(2), steam_id(3)


def t(hour: int, minute: int = 0, second: int = 0, *, day: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, second, tzinfo=UTC) + timedelta(days=day)


@pytest.fixture(autouse=True)
def _timing(settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    settings.LIVE_STATE_STALE_SECONDS = 30
    settings.RCON_AUTH_BACKOFF_SECONDS = 600


def snap(server, start: datetime, last: datetime, players: int) -> LiveStateSnapshot:
    return LiveStateSnapshot.objects.create(
        server=server, started_at=start, last_seen_at=last, players=players, max_players=8,
        bots=0, map="c1m1_hotel", hibernating=False,
    )  # fmt: skip


def run(server, outcome: str, start: datetime, last: datetime) -> ReachabilityRun:
    return ReachabilityRun.objects.create(
        server=server, outcome=outcome, started_at=start, last_seen_at=last
    )


def play(server, player: str, joined: datetime, left: datetime | None, last=None) -> PlayerSession:
    seen = last or left
    assert seen is not None
    return PlayerSession.objects.create(
        server=server, steam_id_64=player, joined_at=joined, left_at=left,
        last_seen_at=seen, name_at_join="x", min_ping=10, max_ping=20,
    )  # fmt: skip


@pytest.fixture
def history(make_server):
    a, b, c = make_server(name="a"), make_server(name="b"), make_server(name="c")
    snap(a, t(10, 50), t(11, 10), 2)
    snap(a, t(11, 10, 5), t(11, 29, 55), 4)
    snap(a, t(12), t(12), 1)
    run(a, "answered", t(10, 50), t(11, 29, 55))
    run(a, "unreachable", t(11, 30), t(11, 59, 55))
    run(a, "answered", t(12), t(12))
    play(a, ALICE, t(10, 55), t(11, 20))
    play(a, ALICE, t(11, 25), t(12, 0, 5))
    play(a, CAROL, t(11, 59), None, last=t(12))
    play(a, BOB, t(23, 50), t(0, 10, day=1))
    run(b, "auth_failed", t(13), t(13))
    run(b, "answered", t(13, 10, 10), t(13, 10, 10))
    snap(b, t(13, 10, 10), t(13, 10, 10), 0)
    snap(c, t(14), t(14, 30), 3)
    return a, b, c


def table(model, period: str) -> dict[tuple[str, Any], tuple]:
    return {
        (r.server.name, getattr(r, period)): (
            r.answered_seconds, r.player_seconds, r.expected_seconds, r.peak, r.unique_players,
        )
        for r in model.objects.select_related("server")
    }  # fmt: skip


HOURS = {
    # (answered, player seconds, expected, peak, unique players)
    ("a", t(10)): (600, 1200, 600, 2, 1),
    ("a", t(11)): (1800, 605 * 2 + 1195 * 4, 3600, 4, 2),  # Alice twice counts once
    ("a", t(12)): (5, 5, 5, 1, 2),
    ("a", t(23)): (0, 0, 0, 0, 1),
    ("a", t(0, day=1)): (0, 0, 0, 0, 1),
    ("b", t(13)): (5, 0, 615, 0, 0),  # the back-off belongs to the rejected password
    ("c", t(14)): (1805, 1805 * 3, 1805, 3, 0),  # no runs: expected = answered
}
DAYS = {
    ("a", D): (2405, 1200 + 5990 + 5, 4205, 4, 3),
    ("a", D + timedelta(days=1)): (0, 0, 0, 0, 1),
    ("b", D): (5, 0, 615, 0, 0),
    ("c", D): (1805, 5415, 1805, 3, 0),
}


def test_it_rolls_up_hours_and_days_from_known_history(history):
    assert rollups.roll_up(start=t(0), end=t(0, day=2)) == len(HOURS) + len(DAYS)
    assert table(HourlyRollup, "hour") == HOURS
    assert table(DailyRollup, "day") == DAYS


def test_it_gives_the_averages_and_uptime_the_pages_read(history):
    rollups.roll_up(start=t(0), end=t(0, day=1))
    hour = HourlyRollup.objects.get(server=history[0], hour=t(11))
    assert hour.average_players == pytest.approx(5990 / 1800)
    assert hour.answered_seconds / hour.expected_seconds == 0.5  # half an hour of outage


def test_it_is_idempotent(history):
    rollups.roll_up(start=t(0), end=t(0, day=2))
    ids = set(HourlyRollup.objects.values_list("pk", flat=True))
    assert rollups.roll_up(start=t(0), end=t(0, day=2)) == len(HOURS) + len(DAYS)
    assert table(HourlyRollup, "hour") == HOURS
    assert table(DailyRollup, "day") == DAYS
    assert set(HourlyRollup.objects.values_list("pk", flat=True)) == ids  # updated in place


def test_it_recomputes_only_the_periods_asked_for(history):
    assert rollups.roll_up(start=t(11, 15), end=t(11, 20)) == 2  # hour 11 and its day
    # Hour 11 only: the day adds up the stored hours (just that one so far).
    assert set(table(HourlyRollup, "hour")) == {("a", t(11))}
    assert table(DailyRollup, "day") == {("a", D): (1800, 5990, 3600, 4, 3)}


def test_it_deletes_the_row_of_a_period_that_lost_its_history(history):
    rollups.roll_up(start=t(0), end=t(0, day=2))
    PlayerSession.objects.filter(steam_id_64=BOB).delete()
    LiveStateSnapshot.objects.filter(server=history[2]).delete()
    rollups.roll_up(start=t(0), end=t(0, day=2))
    hours = table(HourlyRollup, "hour")
    assert ("a", t(23)) not in hours
    assert ("a", t(0, day=1)) not in hours
    assert ("c", t(14)) not in hours
    assert hours[("a", t(11))] == HOURS[("a", t(11))]
    days = table(DailyRollup, "day")
    assert set(days) == {("a", D), ("b", D)}
    assert days[("a", D)][4] == 2  # Alice and Carol


def test_it_refreshes_the_recent_hours_and_days(history):
    # 12:00:30: hour 11 may still change (a poll can continue its last run).
    assert rollups.roll_up_recent(now=t(12, 0, 30)) == 3
    assert set(table(HourlyRollup, "hour")) == {("a", t(11)), ("a", t(12))}
    assert set(table(DailyRollup, "day")) == {("a", D)}


def test_it_stops_rereading_the_previous_hour_once_it_is_final(history):
    # 12 min after the hour: past back-off (600) + stale (30) + 2 polls + a rollup period (60).
    assert rollups.roll_up_recent(now=t(12, 12)) == 2
    assert set(table(HourlyRollup, "hour")) == {("a", t(12))}
    assert rollups.roll_up_recent(now=t(0, 5, day=1)) == 4  # hour 23 and yesterday too
    assert ("a", t(23)) in table(HourlyRollup, "hour")
    assert set(table(DailyRollup, "day")) == {("a", D), ("a", D + timedelta(days=1))}


def test_it_counts_a_late_poll_and_a_failed_one_where_they_belong(make_server):
    server = make_server()
    snap(server, t(15), t(15, 10), 2)
    snap(server, t(15, 10, 10), t(15, 20), 3)  # after a failed poll at 15:10:05
    snap(server, t(15, 20, 12), t(15, 30), 4)  # a poll 12 s late: still one stretch
    run(server, "answered", t(15), t(15, 10))
    run(server, "unreachable", t(15, 10, 5), t(15, 10, 5))
    run(server, "answered", t(15, 10, 10), t(15, 30))
    rollups.roll_up(start=t(15), end=t(16))
    # answered: 15:00-15:10:05, 15:10:10-15:20:12, 15:20:12-15:30:05
    answered, player_seconds = 605 + 602 + 593, 605 * 2 + 602 * 3 + 593 * 4
    assert table(HourlyRollup, "hour") == {
        (server.name, t(15)): (answered, player_seconds, answered + 5, 4, 0)
    }


def test_an_hour_sees_the_back_off_of_a_password_rejected_before_it(make_server):
    server = make_server()
    run(server, "auth_failed", t(12, 59), t(12, 59))
    run(server, "answered", t(13, 9, 10), t(13, 9, 10))
    snap(server, t(13, 9, 10), t(13, 9, 10), 0)
    rollups.roll_up(start=t(13), end=t(14))
    assert table(HourlyRollup, "hour") == {(server.name, t(13)): (5, 0, 550 + 5, 0, 0)}


def test_a_server_failing_every_other_poll_is_up_half_the_time(make_server):
    server = make_server()
    snap(server, t(16), t(16, 1), 1)  # one snapshot: it continues across the failures
    for second in range(0, 60, 10):
        run(server, "answered", t(16, 0, second), t(16, 0, second))
        run(server, "unreachable", t(16, 0, second + 5), t(16, 0, second + 5))
    run(server, "answered", t(16, 1), t(16, 1))
    rollups.roll_up(start=t(16), end=t(17))
    assert table(HourlyRollup, "hour") == {(server.name, t(16)): (35, 35, 65, 1, 0)}


def test_a_session_counts_in_every_hour_it_overlaps(make_server):
    server = make_server()
    play(server, ALICE, t(9, 30), t(12, 0))  # left exactly at 12:00: still seen then
    rollups.roll_up(start=t(0), end=t(0, day=1))
    hours = table(HourlyRollup, "hour")
    assert sorted(h for _, h in hours) == [t(9), t(10), t(11), t(12)]
    assert {v[4] for v in hours.values()} == {1}


def test_it_prunes_old_runs_and_rollups(make_server):
    server = make_server()
    now = timezone.now()
    run(server, "answered", now - timedelta(days=41), now - timedelta(days=40))
    run(server, "answered", now - timedelta(minutes=5), now)
    HourlyRollup.objects.create(server=server, hour=rollups.floor_hour(now - timedelta(days=401)))
    HourlyRollup.objects.create(server=server, hour=rollups.floor_hour(now - timedelta(days=5)))
    DailyRollup.objects.create(server=server, day=(now - timedelta(days=402)).date())
    DailyRollup.objects.create(server=server, day=(now - timedelta(days=5)).date())
    assert services.prune_live_state(days=30, dry_run=True).runs == 1
    report = services.prune_live_state(days=30, batch_size=1)
    assert (report.runs, report.hourly, report.daily) == (1, 1, 1)
    assert ReachabilityRun.objects.count() == HourlyRollup.objects.count() == 1
    assert DailyRollup.objects.count() == 1
    out = StringIO()
    call_command("prune_live_state", "--rollup-days", "3", stdout=out)
    assert "deleted 1 hourly and 1 daily rollups older than 3 days" in out.getvalue()
    with pytest.raises(CommandError, match="--rollup-days must be at least 1, got 0"):
        call_command("prune_live_state", "--rollup-days", "0", stdout=StringIO())


def test_the_task_rolls_up_what_polling_just_recorded(make_server):
    server = make_server()
    now = timezone.now()
    snap(server, now - timedelta(minutes=3), now, 2)
    tasks.rollup()
    # Sets: three minutes may straddle an hour (or a day) when the test runs.
    assert {r.peak for r in HourlyRollup.objects.filter(server=server)} == {2}
    assert {r.peak for r in DailyRollup.objects.filter(server=server)} == {2}


def test_the_command_rebuilds_day_by_day(make_server, settings):
    server = make_server()
    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Yesterday's noon and today's last minutes: each inside its own day at any
    # time the test runs (a snapshot "a day ago" would cross midnight near it).
    snap(server, today - timedelta(hours=12), today - timedelta(hours=12, minutes=-10), 3)
    snap(server, max(today, now - timedelta(minutes=10)), now, 1)
    out = StringIO()
    call_command("rollup_live_state", "--days", "3", stdout=out)
    *days, total = out.getvalue().splitlines()
    # From the first whole hour of 3 days ago (or of the day after, just before midnight).
    assert 3 <= len(days) <= 4
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d: \d+ rollup rows", line) for line in days)
    assert days[-1].startswith(f"{now:%Y-%m-%d}: ")
    assert total.startswith("rebuilt the rollups of the last 3 days: ")
    assert {r.peak for r in DailyRollup.objects.all()} == {1, 3}
    assert HourlyRollup.objects.filter(peak=3).exists()


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("0", "--days must be at least 1"),
        ("-2", "--days must be at least 1"),
        ("soon", "--days must be a whole number"),
        ("31", r"--days must be at most LIVE_STATE_HISTORY_DAYS \(30\)"),
    ],
)
def test_the_command_refuses_bad_days(days, message):
    with pytest.raises(CommandError, match=message):
        call_command("rollup_live_state", "--days", days, stdout=StringIO())
