"""A seeded week of simulated history: what polling would have stored, never mixed
with real history, and its rollups."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from livestate import reachability
from livestate.coverage import run_spans
from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    PlayerSession,
    ReachabilityRun,
)
from livestate.seeding import seed_history
from livestate.tests.factories import snapshot

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 9, 12, 0, 7, tzinfo=UTC)  # a Monday, not on a poll boundary
WEEK = timedelta(days=7)
STEAM_ID = re.compile(r"^7656119\d{10}$")
BUSY, QUIET, FLAKY, HIBERNATING, US_WEST = range(5)


@pytest.fixture
def servers(make_server, settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    settings.LIVE_STATE_STALE_SECONDS = 30
    settings.RCON_AUTH_BACKOFF_SECONDS = 600
    return [make_server(desired_state="running") for _ in range(5)]


@pytest.fixture
def seeded(servers):
    report = seed_history(servers, days=7, now=NOW, seed=1)
    return servers, report


def by_server(model, **filters) -> dict[int, list]:
    rows = defaultdict(list)
    for row in model.objects.filter(**filters).order_by("started_at"):
        rows[row.server_id].append(row)
    return rows


def answered_spans(server_id: int) -> list[tuple[datetime, datetime]]:
    stale, backoff = timedelta(seconds=30), timedelta(seconds=600)
    spans = run_spans(
        ReachabilityRun.objects.filter(server_id=server_id),
        period=timedelta(seconds=5),
        allowed_gap_of=lambda o: reachability.allowed_gap(o, stale=stale, auth_backoff=backoff),
    )
    return [(start, end) for start, end, outcome in spans if outcome == "answered"]


def inside(start: datetime, end: datetime, spans: list[tuple[datetime, datetime]]) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def test_it_seeds_every_server_with_rows_inside_the_week(seeded):
    servers, report = seeded
    assert report.seeded == [s.pk for s in servers]
    assert report.skipped == []
    assert report.snapshots == LiveStateSnapshot.objects.count() > 1000
    assert report.sessions == PlayerSession.objects.count() > 500
    assert report.reachability_runs == ReachabilityRun.objects.count()
    for model in (LiveStateSnapshot, ReachabilityRun):
        assert set(model.objects.values_list("server_id", flat=True)) == set(report.seeded)
        assert not model.objects.filter(started_at__lt=NOW - WEEK).exists()
        assert not model.objects.filter(last_seen_at__gte=NOW).exists()


def test_its_snapshots_never_overlap_and_sit_in_answered_runs(seeded):
    runs = by_server(ReachabilityRun)
    for server_id, rows in by_server(LiveStateSnapshot).items():
        answered = [
            (r.started_at, r.last_seen_at) for r in runs[server_id] if r.outcome == "answered"
        ]
        for before, after in itertools.pairwise(rows):
            assert before.started_at <= before.last_seen_at < after.started_at
            assert (before.players, before.map) != (after.players, after.map) or (
                after.started_at - before.last_seen_at > timedelta(seconds=5)
            )  # run-length encoded: a new row only on a change or after a gap
        for row in rows:
            assert inside(row.started_at, row.last_seen_at, answered), row
            assert row.hibernating == (row.players == 0)
            assert row.players <= row.max_players
        for start, last in answered:  # and an answered run always saw something
            assert any(start <= row.started_at <= last for row in rows)


def test_its_reachability_runs_follow_each_other_and_include_outages(seeded):
    servers, _ = seeded
    runs = by_server(ReachabilityRun)
    for rows in runs.values():
        for before, after in itertools.pairwise(rows):
            assert before.last_seen_at < after.started_at
            assert before.outcome != after.outcome
    flaky = [r for r in runs[servers[FLAKY].pk] if r.outcome == "unreachable"]
    assert len(flaky) > 400  # two minutes every twenty
    assert all(
        timedelta(minutes=1) < r.last_seen_at - r.started_at < timedelta(minutes=3) for r in flaky
    )
    rejected = [r for r in runs[servers[QUIET].pk] if r.outcome == "auth_failed"]
    assert rejected, "the quiet server's password is rejected for a while"
    assert all((r.last_seen_at - r.started_at).total_seconds() % 600 == 0 for r in rejected)
    assert [r.outcome for r in runs[servers[HIBERNATING].pk]] == ["answered"]


def test_its_sessions_are_closed_valid_and_inside_answered_time(seeded):
    servers, _ = seeded
    sessions = PlayerSession.objects.order_by("joined_at")
    assert not sessions.filter(left_at__isnull=True).exists()
    assert not sessions.filter(left_at__gte=NOW).exists()
    spans = {s.pk: answered_spans(s.pk) for s in servers}
    last_left: dict[tuple[int, str], datetime] = {}
    for row in sessions:
        assert STEAM_ID.match(row.steam_id_64), row.steam_id_64
        assert row.name_at_join
        assert row.joined_at <= row.last_seen_at == row.left_at
        assert row.min_ping <= row.max_ping
        assert inside(row.joined_at, row.left_at, spans[row.server_id]), row
        key = (row.server_id, row.steam_id_64)
        assert key not in last_left or last_left[key] < row.joined_at  # one at a time
        last_left[key] = row.left_at
    assert not sessions.filter(server=servers[HIBERNATING]).exists()
    for run in list(LiveStateSnapshot.objects.filter(server=servers[BUSY]).order_by("id"))[::20]:
        on = sessions.filter(
            server=run.server_id, joined_at__lte=run.started_at, left_at__gte=run.started_at
        )
        assert on.count() == run.players  # the polls that counted them saw their sessions


def test_its_players_follow_busy_and_quiet_hours_and_its_rollups_cover_the_week(seeded):
    servers, report = seeded
    assert report.rollups > 0
    for server in servers:
        assert 7 * 24 <= HourlyRollup.objects.filter(server=server).count() <= 7 * 24 + 1
        assert DailyRollup.objects.filter(server=server).count() == 8  # 7 days over 8 dates
    hours = HourlyRollup.objects.filter(server=servers[BUSY])
    evening = [h.average_players or 0 for h in hours if h.hour.hour in (18, 19, 20, 21)]
    morning = [h.average_players or 0 for h in hours if h.hour.hour in (5, 6, 7, 8)]
    assert sum(evening) / len(evening) > 3 * sum(morning) / len(morning)
    whole_days = DailyRollup.objects.filter(day__gt=(NOW - WEEK).date(), day__lt=NOW.date())
    for day in whole_days.filter(server=servers[FLAKY]):
        assert 0.85 < day.answered_seconds / day.expected_seconds < 0.95  # down 2 min in 20
        assert day.unique_players > 5
    assert {d.peak for d in whole_days.filter(server=servers[HIBERNATING])} == {0}


def test_its_maps_rotate_and_the_quiet_server_is_mostly_empty(seeded):
    servers, _ = seeded
    maps = LiveStateSnapshot.objects.filter(server=servers[BUSY]).order_by("started_at")
    seen = list(maps.values_list("map", flat=True))
    assert len(set(seen)) > 15
    assert {"c1m1_hotel", "c5m5_bridge"} <= set(seen)
    quiet = LiveStateSnapshot.objects.filter(server=servers[QUIET])
    empty = sum((s.last_seen_at - s.started_at).total_seconds() for s in quiet if s.players == 0)
    played = sum((s.last_seen_at - s.started_at).total_seconds() for s in quiet if s.players)
    assert empty > 3 * played


def test_it_adds_nothing_when_run_again(seeded):
    servers, _ = seeded
    counts = [m.objects.count() for m in (LiveStateSnapshot, PlayerSession, ReachabilityRun)]
    again = seed_history(servers, days=7, now=NOW + timedelta(hours=1), seed=2)
    assert (again.seeded, again.skipped) == ([], [s.pk for s in servers])
    assert [
        m.objects.count() for m in (LiveStateSnapshot, PlayerSession, ReachabilityRun)
    ] == counts


def test_it_leaves_servers_with_history_alone(servers):
    real = snapshot(servers[0], now=NOW, players=3)
    report = seed_history(servers, days=2, now=NOW, seed=1)
    assert report.skipped == [servers[0].pk]
    assert report.seeded == [s.pk for s in servers[1:]]
    assert list(LiveStateSnapshot.objects.filter(server=servers[0])) == [real]
    assert not PlayerSession.objects.filter(server=servers[0]).exists()
    assert not ReachabilityRun.objects.filter(server=servers[0]).exists()


def test_it_is_the_same_history_for_the_same_seed(servers, make_server):
    seed_history(servers[:2], days=1, now=NOW, seed=4)
    others = [make_server() for _ in range(2)]
    seed_history(others, days=1, now=NOW, seed=4)

    def history(server):
        return [
            (s.steam_id_64, s.joined_at, s.left_at)
            for s in PlayerSession.objects.filter(server=server).order_by("joined_at")
        ]

    assert history(servers[0]) == history(others[0]) != []
    assert history(servers[1]) == history(others[1])


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_history", *args, stdout=out)
    return out.getvalue()


def test_the_command_seeds_the_chosen_servers(servers):
    out = run("--days", "1", "--servers", str(servers[1].pk), str(servers[2].pk))
    assert "Seeded 1 days of simulated history for 2 servers" in out
    assert set(LiveStateSnapshot.objects.values_list("server_id", flat=True)) == {
        servers[1].pk, servers[2].pk,
    }  # fmt: skip
    again = run("--days", "1", "--servers", str(servers[1].pk))
    assert f"Left alone (they already have history): server {servers[1].pk}" in again
    assert "Nothing to seed" in again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days must be between 1 and 30"),
        (["--days", "31"], "--days must be between 1 and 30"),
        (["--days", "a week"], "--days must be a whole number, got 'a week'"),
        (["--servers", "x"], "--servers must be a whole number, got 'x'"),
        (["--servers", "999999"], "no server with id 999999"),
    ],
)
def test_the_command_rejects_bad_arguments(servers, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)
    assert not LiveStateSnapshot.objects.exists()


def test_a_bad_argument_is_one_line_on_the_command_line(tmp_path):
    """Checked in handle(), not while argparse parses: no traceback."""
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_history", "--days", "a week"],
        cwd=settings.BASE_DIR, env={**os.environ, "LEFT4ME_VAR_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "--days must be a whole number, got 'a week'" in result.stderr
    assert "Traceback" not in result.stderr
