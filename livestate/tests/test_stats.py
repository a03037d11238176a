"""Server statistics from known history, computed by hand, in a constant number of queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from livestate import stats
from livestate.models import (
    DailyRollup,
    HourlyRollup,
    LiveStateSnapshot,
    PlayerSession,
    ReachabilityRun,
)
from livestate.stats import Day, MapTime, Outage, PlayerTime
from livestate.tests.factories import steam_id

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
H, M, S, D = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1), timedelta(days=1)


@pytest.fixture(autouse=True)
def _timing(settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    settings.LIVE_STATE_STALE_SECONDS = 30
    settings.RCON_AUTH_BACKOFF_SECONDS = 600
    settings.LIVE_STATE_HISTORY_DAYS = 30


@pytest.fixture
def server(make_server):
    return make_server(listed=True, desired_state="running")


def run(server, outcome: str, started: timedelta, last_seen: timedelta) -> ReachabilityRun:
    """A reachability run from NOW - started to NOW - last_seen."""
    return ReachabilityRun.objects.create(
        server=server, outcome=outcome, started_at=NOW - started, last_seen_at=NOW - last_seen
    )


def history(server) -> None:
    """Answered for weeks, an hour unreachable two days ago, 10 h not meant to
    run, then a rejected password, an invalid reply and an outage still going on."""
    run(server, "unreachable", 40 * D, 39 * D)  # long before the windows
    run(server, "answered", 31 * D, 48 * H + 5 * S)  # -> [N-31d, N-48h)
    run(server, "unreachable", 48 * H, 47 * H + 5 * S)  # -> [N-48h, N-47h)
    run(server, "answered", 47 * H, 30 * H)  # then 10 h off -> [N-47h, N-30h+5s)
    run(server, "answered", 20 * H, 2 * H + 5 * S)  # -> [N-20h, N-2h)
    run(server, "auth_failed", 2 * H, 70 * M)  # retried after the back-off -> [N-2h, N-62m)
    run(server, "error", 62 * M, 60 * M + 5 * S)  # -> [N-62m, N-60m)
    run(server, "answered", 60 * M, 30 * M + 5 * S)  # -> [N-60m, N-30m)
    run(server, "unreachable", 30 * M, 3 * S)  # still failing -> [N-30m, N)


def test_it_computes_uptime_over_each_window_from_the_runs(server):
    history(server)
    uptime = stats.server_stats(server, now=NOW, players_visible=True).uptime
    hour = 3600
    assert uptime["24h"] == pytest.approx(18.5 / 20)
    assert uptime["7d"] == pytest.approx((155.5 * hour + 5) / (158 * hour + 5))
    assert uptime["30d"] == pytest.approx((707.5 * hour + 5) / (710 * hour + 5))


def test_it_has_no_uptime_where_the_server_was_never_meant_to_run(server):
    run(server, "answered", 10 * D, 6 * D)
    uptime = stats.server_stats(server, now=NOW, players_visible=True).uptime
    assert uptime == {"24h": None, "7d": 1.0, "30d": 1.0}


def test_it_lists_outages_newest_first_with_reasons_and_ends(server):
    history(server)
    outages = stats.server_stats(server, now=NOW, players_visible=True).outages
    assert outages == [
        Outage(NOW - 30 * M, None, "unreachable", 30 * 60),
        Outage(NOW - 62 * M, NOW - 60 * M, "error", 120),
        Outage(NOW - 2 * H, NOW - 62 * M, "auth_failed", 58 * 60),
        Outage(NOW - 48 * H, NOW - 47 * H, "unreachable", 3600),
    ]
    assert [o.reason for o in outages] == [
        "unreachable",
        "invalid reply",
        "password rejected",
        "unreachable",
    ]


def test_it_ends_an_outage_one_poll_after_its_last_when_polling_stopped(server):
    run(server, "answered", 5 * H, 3 * H + 5 * S)
    run(server, "refused", 3 * H, 2 * H)
    (outage,) = stats.server_stats(server, now=NOW, players_visible=True).outages
    assert outage == Outage(NOW - 3 * H, NOW - 2 * H + 5 * S, "refused", 3605)
    assert outage.reason == "address not allowed"


def test_it_ends_the_current_outage_when_the_server_is_no_longer_meant_to_run(server):
    run(server, "unreachable", 30 * M, 3 * S)
    server.desired_state = "stopped"
    server.save()
    (outage,) = stats.server_stats(server, now=NOW, players_visible=True).outages
    # Its last poll (3 s ago) + one poll period, but never later than now.
    assert (outage.ended_at, outage.seconds) == (NOW, 30 * 60)


def test_it_lists_the_last_30_days_of_daily_rollups_oldest_first(server):
    today = NOW.date()
    for back, peak, unique in [(0, 3, 7), (1, 5, 9), (29, 2, 4), (30, 8, 8)]:
        DailyRollup.objects.create(
            server=server, day=today - back * D, peak=peak, unique_players=unique
        )
    assert stats.server_stats(server, now=NOW, players_visible=True).daily == [
        Day(date(2026, 10, 29), 2, 4),
        Day(date(2026, 11, 26), 5, 9),
        Day(date(2026, 11, 27), 3, 7),
    ]


def snap(server, map_name: str, players: int, started: timedelta, last_seen: timedelta):
    LiveStateSnapshot.objects.create(
        server=server,
        started_at=NOW - started,
        last_seen_at=NOW - last_seen,
        players=players,
        max_players=8,
        bots=0,
        map=map_name,
        hibernating=False,
    )


def test_it_ranks_maps_by_time_played_with_someone_on_them(server):
    snap(server, "c3m1_plankcountry", 1, 40 * D, 35 * D)  # before the raw history window
    snap(server, "c2m1_highway", 1, 31 * D, 30 * D - 10 * M + 5 * S)  # 600 s inside it
    snap(server, "c1m1_hotel", 2, 2 * H, 1 * H + 5 * S)  # 3600 s
    snap(server, "c1m1_hotel", 0, 1 * H, 20 * M + 5 * S)  # empty: not played
    snap(server, "c2m1_highway", 3, 20 * M, 5 * S)  # 1200 s
    assert stats.server_stats(server, now=NOW, players_visible=True).top_maps == [
        MapTime("c1m1_hotel", 3600),
        MapTime("c2m1_highway", 1800),
    ]


def hourly(server, hour: datetime, player_seconds: float, answered: float) -> None:
    HourlyRollup.objects.create(
        server=server,
        hour=hour,
        player_seconds=player_seconds,
        answered_seconds=answered,
        expected_seconds=3600,
    )


def test_it_averages_players_per_hour_of_the_week(server):
    friday = datetime(2026, 11, 20, 14, tzinfo=UTC)
    hourly(server, friday, 2 * 3600, 3600)
    hourly(server, friday - 7 * D, 4 * 1800, 1800)  # the Friday before
    hourly(server, friday - 35 * D, 1e9, 3600)  # older than 30 days
    hourly(server, datetime(2026, 11, 23, 3, tzinfo=UTC), 0, 3600)  # Monday 03:00, empty
    hourly(server, datetime(2026, 11, 24, 5, tzinfo=UTC), 0, 0)  # Tuesday 05:00, down
    hourly(server, datetime(2026, 11, 21, 10, tzinfo=UTC), 3600, 3600)  # Saturday 10:00
    hourly(server, datetime(2026, 11, 22, 20, tzinfo=UTC), 2.5 * 3600, 3600)  # Sunday 20:00
    heat = stats.server_stats(server, now=NOW, players_visible=True).busiest_hours
    assert len(heat) == 7
    assert all(len(row) == 24 for row in heat)
    friday_14 = heat[4][14]
    assert (friday_14.day_name, friday_14.hour) == ("Fri", 14)
    assert friday_14.average == pytest.approx((7200 + 7200) / 5400)
    assert friday_14.level == "4"
    assert friday_14.title == "Fri 14:00 UTC · avg 2.7"
    assert heat[1][5].title == "Tue 05:00 UTC · no answer"
    assert (heat[0][3].average, heat[0][3].level) == (0, "0")
    assert (heat[1][5].average, heat[1][5].level) == (None, "none")
    assert (heat[5][10].average, heat[5][10].level) == (1, "2")
    assert heat[6][20].level == "4"  # 2.5 of the top 2.67: the top quarter
    assert heat[2][12].level == "none"


def session(server, n: int, name: str, joined: timedelta, left: timedelta | None, seen=None):
    PlayerSession.objects.create(
        server=server,
        steam_id_64=steam_id(n),
        joined_at=NOW - joined,
        last_seen_at=NOW - (seen if left is None else left),
        left_at=None if left is None else NOW - left,
        name_at_join=name,
        min_ping=10,
        max_ping=20,
    )


def sessions(server) -> None:
    session(server, 1, "Alice", 3 * H, 2 * H)  # 3600 s
    session(server, 1, "Alicia", 1 * H, 30 * M)  # 1800 s, her latest name
    session(server, 2, "Bob", 2 * H, None, seen=5 * S)  # playing now: 7195 s so far
    session(server, 3, "Carol", 30 * D + 1 * H, 30 * D - 30 * M)  # 1800 s inside the window
    session(server, 4, "Dave", 40 * D, 39 * D)  # before the window


def test_it_averages_the_sessions_closed_in_the_window(server):
    sessions(server)
    figures = stats.server_stats(server, now=NOW, players_visible=True)
    assert figures.average_session_seconds == pytest.approx((3600 + 1800 + 5400) / 3)
    assert figures.closed_sessions == 3


def test_it_ranks_players_by_playtime_with_their_latest_name(server):
    sessions(server)
    assert stats.server_stats(server, now=NOW, players_visible=True).top_players == [
        PlayerTime(steam_id(2), "Bob", 7195),
        PlayerTime(steam_id(1), "Alicia", 5400),
        PlayerTime(steam_id(3), "Carol", 1800),
    ]


def test_it_leaves_out_top_players_when_players_are_hidden(server):
    sessions(server)
    assert stats.server_stats(server, now=NOW, players_visible=False).top_players is None


def test_it_answers_an_empty_server(server):
    figures = stats.server_stats(server, now=NOW, players_visible=True)
    assert figures.uptime == {"24h": None, "7d": None, "30d": None}
    assert figures.outages == []
    assert (figures.daily, figures.top_maps, figures.top_players) == ([], [], [])
    assert figures.average_session_seconds is None
    assert all(cell.level == "none" for row in figures.busiest_hours for cell in row)


def test_it_keeps_only_the_last_50_outages(server):
    for i in range(60):
        run(server, "unreachable", (2 * i + 2) * H, (2 * i + 1) * H + 5 * S)
        run(server, "answered", (2 * i + 1) * H, 2 * i * H + 5 * S)
    outages = stats.server_stats(server, now=NOW, players_visible=True).outages
    assert len(outages) == stats.OUTAGE_LIMIT
    assert outages[0].started_at == NOW - 2 * H


def lots_of_history(server, n: int, *, skip: int = 0) -> None:
    for i in range(skip, skip + n):
        run(server, "answered", (2 * i + 2) * H, (2 * i + 1) * H + 5 * S)
        run(server, "error", (2 * i + 1) * H, 2 * i * H + 5 * S)
        snap(server, f"map{i % 7}", i % 4, (i + 1) * H, i * H + 5 * S)
        session(server, i, f"p{i}", (i + 1) * H, i * H)
        hourly(server, NOW - (i + 1) * H, 3600, 3600)
        DailyRollup.objects.create(
            server=server, day=NOW.date() - i * D, peak=i, player_seconds=i, answered_seconds=60
        )


@pytest.mark.parametrize(("players_visible", "queries"), [(True, 7), (False, 5)])
def test_it_costs_a_constant_number_of_queries(
    server, django_assert_num_queries, players_visible, queries
):
    lots_of_history(server, 2)
    with django_assert_num_queries(queries):
        stats.server_stats(server, now=NOW, players_visible=players_visible)
    lots_of_history(server, 40, skip=2)
    with django_assert_num_queries(queries):
        figures = stats.server_stats(server, now=NOW, players_visible=players_visible)
    assert len(figures.daily) == 30


@pytest.mark.parametrize("key", ["24h", "7d", "30d", "1y"])
def test_it_draws_each_chart_range_in_one_query(server, django_assert_num_queries, key):
    lots_of_history(server, 30)
    with django_assert_num_queries(1):
        chart = stats.server_chart(server, key=key, now=NOW)
    assert chart.key == key
    assert chart.peak_segments


def test_it_charts_30_days_from_hourly_and_a_year_from_daily_rollups(server):
    hourly(server, datetime(2026, 11, 27, 9, tzinfo=UTC), 2 * 1800, 1800)
    HourlyRollup.objects.filter(server=server).update(peak=4)
    DailyRollup.objects.create(
        server=server, day=date(2026, 3, 3), peak=7, player_seconds=3 * 7200, answered_seconds=7200
    )
    month = stats.server_chart(server, key="30d", now=NOW)
    year = stats.server_chart(server, key="1y", now=NOW)
    assert "Fri 27 Nov 09:00 UTC · peak 4 · avg 2.0" in month.titles
    assert "Tue 03 Mar 2026 · peak 7 · avg 3.0" in year.titles
    assert (len(month.titles), len(year.titles)) == (720, 365)


def test_it_keeps_session_figures_for_the_current_snapshot(server, settings):
    from livestate.tests.factories import live_status

    settings.LIVE_STATE_STATS_CACHE_SECONDS = 60
    sessions(server)
    first = LiveStateSnapshot.objects.create(
        server=server, started_at=NOW - H, last_seen_at=NOW, players=1, max_players=8, bots=0,
        map="c1m1_hotel", hibernating=False,
    )  # fmt: skip
    live_status(server, snapshot=first)
    cached = stats.server_stats(server, now=NOW, players_visible=True, cached=True)
    assert cached.closed_sessions == 3
    session(server, 5, "Eve", 20 * M, 10 * M)
    again = stats.server_stats(server, now=NOW, players_visible=True, cached=True)
    assert again.closed_sessions == 3  # same snapshot: the kept figures
    assert stats.server_stats(server, now=NOW, players_visible=True).closed_sessions == 4
    hidden = stats.server_stats(server, now=NOW, players_visible=False, cached=True)
    assert hidden.top_players is None  # what a viewer may see is part of the key
    live_status(server, snapshot=LiveStateSnapshot.objects.create(
        server=server, started_at=NOW, last_seen_at=NOW, players=0, max_players=8, bots=0,
        map="c1m1_hotel", hibernating=False,
    ))  # fmt: skip
    server = type(server).objects.get(pk=server.pk)  # a new request reads the new snapshot
    fresh = stats.server_stats(server, now=NOW, players_visible=True, cached=True)
    assert fresh.closed_sessions == 4  # Eve left: the count and the snapshot changed
    assert PlayerTime(steam_id(5), "Eve", 600) in (fresh.top_players or [])


def test_it_recomputes_every_time_when_the_cache_is_off(server, django_assert_num_queries):
    sessions(server)
    with django_assert_num_queries(7):
        stats.server_stats(server, now=NOW, players_visible=True, cached=True)
    session(server, 5, "Eve", 20 * M, 10 * M)
    figures = stats.server_stats(server, now=NOW, players_visible=True, cached=True)
    assert figures.closed_sessions == 4


def test_it_charts_what_each_snapshot_covers(server):
    """The coverage rule: a snapshot runs on to the next one when polls kept coming
    (within LIVE_STATE_STALE_SECONDS), else one poll period past its last poll."""
    snap(server, "m", 2, 20 * M, 18 * M + 5 * S)  # 11:40:00-11:41:55, next 20 s later
    snap(server, "m", 4, 17 * M + 45 * S, 16 * M)  # 11:42:15-11:44:00, then silence
    snap(server, "m", 1, 10 * M, 10 * M)  # one poll at 11:50
    chart = stats.server_chart(server, key="24h", now=NOW)
    assert chart.titles[-5:] == [
        "Fri 11:40 UTC · peak 4 · avg 2.9",  # (135 s x 2 + 110 s x 4) / 245 s
        "Fri 11:45 UTC · no answer",
        "Fri 11:50 UTC · peak 1 · avg 1.0",
        "Fri 11:55 UTC · no answer",
        "Fri 12:00 UTC · no answer",
    ]
    assert chart.average == pytest.approx((135 * 2 + 110 * 4 + 5 * 1) / 250)
    assert len(chart.peak_segments) == 2
