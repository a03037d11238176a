"""The statistics on a server page, its JSON and the chart fragment, as viewers see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livestate.models import DailyRollup, LiveStateSnapshot, PlayerSession, ReachabilityRun
from livestate.tests.factories import live_status, session, snapshot, steam_id

pytestmark = pytest.mark.django_db

H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _timing(settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    settings.LIVE_STATE_STALE_SECONDS = 30
    settings.RCON_AUTH_BACKOFF_SECONDS = 600


@pytest.fixture
def running(make_server):
    server = make_server(name="coop", listed=True, desired_state="running")
    live_status(server, state="running")
    return server


def history(server):
    """20 h meant to run: answered, an hour unreachable, answered again."""
    now = timezone.now()
    for outcome, started, last_seen in [
        ("answered", 20 * H, 2 * H + 5 * S),
        ("unreachable", 2 * H, 1 * H + 5 * S),
        ("answered", 1 * H, 2 * S),
    ]:
        ReachabilityRun.objects.create(
            server=server, outcome=outcome, started_at=now - started, last_seen_at=now - last_seen
        )
    DailyRollup.objects.create(server=server, day=now.date(), peak=3, unique_players=5)
    LiveStateSnapshot.objects.create(
        server=server,
        started_at=now - 2 * H,
        last_seen_at=now - H - 5 * S,
        players=2,
        max_players=8,
        bots=0,
        map="c1m1_hotel",
        hibernating=False,
    )
    session(server, 1, name="Alice", joined_ago=3 * 3600, left_ago=2 * 3600)
    return now


def stats_json(client, server):
    response = client.get(reverse("servers:stats_json", args=[server.pk]))
    assert response.status_code == 200
    return response.json()


def test_it_serves_the_statistics_as_json(client, running):
    now = history(running)
    data = stats_json(client, running)
    assert data["uptime"] == {
        "24h": pytest.approx(19 / 20, rel=1e-4),
        "7d": pytest.approx(19 / 20, rel=1e-4),
        "30d": pytest.approx(19 / 20, rel=1e-4),
    }
    assert data["outages"] == [
        {
            "started_at": (now - 2 * H).isoformat(),
            "ended_at": (now - H).isoformat(),
            "seconds": 3600,
            "reason": "unreachable",
            "outcome": "unreachable",
        }
    ]
    assert data["daily"] == [{"date": now.date().isoformat(), "peak": 3, "unique_players": 5}]
    assert data["top_maps"] == [{"map": "c1m1_hotel", "seconds": 3600}]
    assert data["average_session_seconds"] == 3600
    assert data["top_players"] == [{"steam_id_64": steam_id(1), "name": "Alice", "seconds": 3600}]
    assert len(data["busiest_hours"]) == 7
    assert data["server"] == {"id": running.pk, "name": "coop"}


def test_it_answers_null_uptime_and_an_open_outage_in_json(client, running):
    ReachabilityRun.objects.create(
        server=running,
        outcome="auth_failed",
        started_at=timezone.now() - 10 * M,
        last_seen_at=timezone.now() - 2 * M,
    )
    data = stats_json(client, running)
    assert data["uptime"]["24h"] == 0
    assert data["outages"][0]["ended_at"] is None
    assert data["outages"][0]["reason"] == "password rejected"
    empty = stats_json(
        client,
        running.__class__.objects.create(owner=running.owner, name="new", port=27999, listed=True),
    )
    assert empty["uptime"] == {"24h": None, "7d": None, "30d": None}


def test_it_hides_top_players_when_players_are_private(client, owner, running):
    history(running)
    running.players_public = False
    running.save()
    public = stats_json(client, running)
    assert "top_players" not in public
    assert steam_id(1) not in str(public)
    page = client.get(running.get_absolute_url()).content.decode()
    assert "Top players" not in page
    client.force_login(owner)
    assert stats_json(client, running)["top_players"][0]["name"] == "Alice"
    assert "Top players" in client.get(running.get_absolute_url()).content.decode()


@pytest.mark.parametrize("url_name", ["servers:stats_json", "servers:chart"])
@pytest.mark.parametrize(
    ("who", "listed", "expected"),
    [("anonymous", True, 200), ("anonymous", False, 404), ("other", False, 404),
     ("owner", False, 200), ("staff", False, 200)],
)  # fmt: skip
def test_it_shows_statistics_to_whoever_sees_the_server(
    client, make_user, owner, make_server, url_name, who, listed, expected
):
    server = make_server(listed=listed, desired_state="running")
    users = {"owner": owner, "other": make_user("other"), "staff": make_user("s", is_staff=True)}
    if who in users:
        client.force_login(users[who])
    assert client.get(reverse(url_name, args=[server.pk])).status_code == expected


def test_it_404s_for_a_server_that_does_not_exist(client):
    assert client.get(reverse("servers:stats_json", args=[999])).status_code == 404
    assert client.get(reverse("servers:chart", args=[999])).status_code == 404


def chart(client, server, query: str = "") -> str:
    response = client.get(reverse("servers:chart", args=[server.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("key", "buckets"), [("24h", 288), ("7d", 168), ("30d", 720), ("1y", 365)])
def test_it_draws_the_chart_of_each_range(client, running, key, buckets):
    body = chart(client, running, f"?range={key}")
    assert f'data-range="{key}"' in body
    assert body.count("<title>") == buckets
    assert f'aria-current="true">{key}</a>' in body
    assert "<html" not in body


@pytest.mark.parametrize("query", ["?range=2y", "?range=", "", "?range=%3Cscript%3E"])
def test_it_draws_24_hours_for_a_bad_range(client, running, query):
    body = chart(client, running, query)
    assert 'data-range="24h"' in body
    assert "&lt;script" not in body


def test_it_switches_ranges_with_links_that_work_without_javascript(client, running):
    body = chart(client, running, "?range=7d")
    page_url, fragment = running.get_absolute_url(), reverse("servers:chart", args=[running.pk])
    for key in ["24h", "7d", "30d", "1y"]:
        assert f'href="{page_url}?range={key}#charts"' in body
        assert f'hx-get="{fragment}?range={key}"' in body
    assert 'hx-target="#charts"' in body
    assert 'id="charts"' in body


def test_it_draws_gaps_in_the_chart_where_the_server_was_silent(client, running):
    snapshot(running, seen_ago=3 * 3600, lasted=3600, players=2)
    snapshot(running, seen_ago=5, lasted=3600, players=3)
    body = chart(client, running, "?range=24h")
    assert body.count('class="series"') == 2
    assert body.count('class="series series-avg"') == 2
    assert "peak 3 · avg 3.0" in body
    assert "no answer" in body


def test_it_opens_the_page_on_the_range_asked_for(client, running):
    page = client.get(running.get_absolute_url() + "?range=1y").content.decode()
    assert 'data-range="1y"' in page


def test_it_orders_the_page_live_first_then_statistics_then_the_owner(client, owner, running):
    history(running)
    client.force_login(owner)
    page = client.get(running.get_absolute_url()).content.decode()
    positions = [
        page.index("<h1>"),
        page.index('id="live-panel"'),
        page.index('id="statistics"'),
        page.index('id="owner-actions"'),
    ]
    assert positions == sorted(positions)
    statistics = page[positions[2] : positions[3]]
    assert "Current players" not in statistics  # the live panel refreshes; the statistics do not
    assert 'id="live-panel"' not in statistics


def test_it_shows_the_statistics_on_the_server_page(client, running):
    history(running)
    page = client.get(running.get_absolute_url()).content.decode()
    statistics = page[page.index('id="statistics"') :]
    assert 'data-uptime="24h">95\xa0%' in statistics
    assert "c1m1_hotel" in statistics
    assert "1 h" in statistics  # the map's time, the session and the outage
    assert "unreachable" in statistics
    assert f'href="{reverse("players:detail", args=[steam_id(1)])}">Alice</a>' in statistics
    assert statistics.count('class="heat heat-') == 7 * 24
    assert "Fri 14:00 UTC · no answer" in statistics


def test_it_renders_hostile_map_and_player_names_inert(client, running):
    now = timezone.now()
    LiveStateSnapshot.objects.create(
        server=running, started_at=now - H, last_seen_at=now, players=1, max_players=4, bots=0,
        map="<img src=x onerror=alert(1)>", hibernating=False,
    )  # fmt: skip
    session(running, 7, name="<script>alert(2)</script>", joined_ago=600, left_ago=60)
    page = client.get(running.get_absolute_url()).content.decode()
    assert "<img src=x" not in page
    assert "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_it_says_how_long_recent_players_played(client, running):
    session(running, 2, name="Bob", joined_ago=3 * 3600 + 65 * 60, left_ago=3 * 3600)
    panel = client.get(reverse("servers:live", args=[running.pk])).content.decode()
    assert "played 1 h 5 min · last seen 3\xa0hours ago" in panel


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("query", ["", "?range=30d"])
def test_it_renders_the_page_and_json_in_constant_queries(client, running, query):
    history(running)
    urls = [running.get_absolute_url() + query, reverse("servers:stats_json", args=[running.pk])]
    few = [count_queries(client, url) for url in urls]
    now = timezone.now()
    for n in range(2, 40):
        session(running, n, joined_ago=n * 600 + 300, left_ago=n * 600)
        snapshot(running, seen_ago=n * 300, players=n % 4, map=f"map{n % 5}")
        ReachabilityRun.objects.create(
            server=running,
            outcome="error",
            started_at=now - n * 24 * H,
            last_seen_at=now - n * 23 * H,
        )
        DailyRollup.objects.create(server=running, day=now.date() - n * timedelta(days=1), peak=n)
    assert PlayerSession.objects.count() > 30
    assert [count_queries(client, url) for url in urls] == few


def render(source: str, **context) -> str:
    from django.template import Context, Template

    return Template(source).render(Context(context))


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(None, "—"), (0, "0\xa0%"), (0.5, "50\xa0%"), (0.123, "12.3\xa0%"), (0.9951, "99.51\xa0%"),
     (0.99999, "99.99\xa0%"), (1, "100\xa0%")],
)  # fmt: skip
def test_it_words_uptime_as_a_percentage_never_rounded_up_to_100(fraction, text):
    assert render("{% load durations %}{{ f|percent }}", f=fraction) == text


def test_it_escapes_what_the_chart_and_heat_map_filters_draw():
    from livestate.stats import HeatCell

    boxes = render("{% load stats_tags %}{{ t|hover_boxes }}", t=['<b>"x"</b>'])
    assert boxes == (
        '<rect x="0" width="1" height="1" class="hit">'
        "<title>&lt;b&gt;&quot;x&quot;&lt;/b&gt;</title></rect>"
    )
    cells = render("{% load stats_tags %}{{ row|heat_cells }}", row=[HeatCell(4, 14, 2.5, "3")])
    assert cells == '<td class="heat heat-3" title="Fri 14:00 UTC · avg 2.5"></td>'
