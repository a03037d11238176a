"""Live badges, the live panel and its JSON, as players, owners and staff see them."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from livestate.tests.factories import live_status, session, snapshot, steam_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(make_server):
    server = make_server(name="coop", listed=True, desired_state="running")
    live_status(server, state="running")
    return server


def list_page(client) -> str:
    return client.get(reverse("servers:list")).content.decode()


def test_it_shows_players_and_map_on_the_list(client, running):
    snapshot(running, players=2, map="c1m2_streets")
    assert "2/4 · c1m2_streets" in list_page(client)


def test_it_marks_a_hibernating_server_idle(client, running):
    snapshot(running, players=0, hibernating=True)
    assert "0/4 · idle · c1m1_hotel" in list_page(client)


def test_it_shows_a_dash_for_a_server_not_meant_to_run(client, make_server):
    server = make_server(listed=True, desired_state="stopped")
    snapshot(server, players=3)
    page = list_page(client)
    assert "badge-off" in page
    assert "3/4" not in page


def test_it_says_why_data_is_stale(client, running):
    snapshot(running, seen_ago=185, players=2)
    live_status(running, state="unreachable")
    page = list_page(client)
    assert "unreachable for 3\xa0minutes" in page
    assert "2/4" not in page


def test_it_says_under_a_minute_rather_than_zero_minutes(client, running):
    snapshot(running, seen_ago=40, players=2)
    live_status(running, state="unreachable")
    page = list_page(client)
    assert "unreachable for under a minute" in page
    assert "0\xa0minutes" not in page


def test_it_says_when_the_password_was_rejected(client, running):
    live_status(running, state="auth_failed")
    assert "RCON password rejected" in list_page(client)


def test_it_links_to_steam_connect(client, running):
    assert f"steam://connect/127.0.0.1:{running.port}" in list_page(client)


def test_it_refreshes_only_the_rows_for_htmx(client, running):
    snapshot(running, players=1)
    response = client.get(reverse("servers:list"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'id="server-rows"' in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_lists_servers_in_constant_queries(client, make_server):
    make_server(listed=True, desired_state="running")
    few = count_queries(client, reverse("servers:list"))
    for _ in range(30):
        snapshot(make_server(listed=True, desired_state="running"), players=1)
    assert count_queries(client, reverse("servers:list")) == few


def test_it_renders_the_panel_in_constant_queries(client, running):
    snapshot(running, players=1)
    session(running, 1)
    url = reverse("servers:live", args=[running.pk])
    few = count_queries(client, url)
    for n in range(2, 40):
        session(running, n, joined_ago=n * 60 + 300, left_ago=n * 60)
        session(running, 100 + n)
        snapshot(running, seen_ago=n * 300, players=n % 4)
    assert count_queries(client, url) == few


def test_it_shows_current_and_recent_players(client, running):
    snapshot(running, players=1)
    session(running, 1, name="Alice")
    session(running, 2, name="Bob", joined_ago=4 * 3600, left_ago=3 * 3600)
    session(running, 1, name="Alice", joined_ago=9000, left_ago=8000)  # an earlier visit
    panel = client.get(reverse("servers:live", args=[running.pk])).content.decode()
    current, recent = panel.split("Recent players")
    assert "Alice" in current
    assert "Bob" in recent
    assert "Alice" not in recent
    assert "3\xa0hours ago" in recent


def test_it_shows_a_renamed_player_once(client, running):
    session(running, 5, name="OldName", joined_ago=9000, left_ago=7200)
    session(running, 5, name="NewName", joined_ago=3000, left_ago=2000)
    recent = client.get(reverse("servers:live", args=[running.pk])).content.decode()
    assert recent.count("player-card") == 1
    assert "NewName" in recent


def test_it_renders_a_hostile_name_inert(client, running):
    session(running, 1, name="<script>alert(1)</script>")
    page = client.get(running.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_it_shows_ping_ranges_to_the_owner_only(client, owner, running):
    session(running, 1, ping=(33, 77))
    url = reverse("servers:live", args=[running.pk])
    assert "33–77" not in client.get(url).content.decode()
    client.force_login(owner)
    assert "33–77" in client.get(url).content.decode()


def test_it_hides_the_player_list_when_the_owner_asks(client, owner, running):
    running.players_public = False
    running.save()
    snapshot(running, players=1)
    session(running, 1, name="Alice")
    url = reverse("servers:live", args=[running.pk])
    public = client.get(url).content.decode()
    assert "Alice" not in public
    assert "1/4" in public
    assert "keeps the player list private" in public
    client.force_login(owner)
    assert "Alice" in client.get(url).content.decode()


def test_it_serves_json_without_steam_ids_or_pings_for_the_public(client, owner, running):
    snapshot(running, players=1, map="c2m1_highway")
    session(running, 1, name="Alice", ping=(11, 99))
    url = reverse("servers:live_json", args=[running.pk])
    public = client.get(url).json()
    assert public["live"]["map"] == "c2m1_highway"
    assert public["current_players"][0]["name"] == "Alice"
    text = json.dumps(public)
    assert steam_id(1) not in text
    assert "min_ping" not in text
    assert running.rcon_password not in text
    client.force_login(owner)
    mine = client.get(url).json()
    assert mine["current_players"][0]["steam_id_64"] == steam_id(1)


def test_it_stops_htmx_polling_for_a_stopped_server(client, make_server):
    server = make_server(listed=True, desired_state="stopped")
    assert client.get(reverse("servers:live", args=[server.pk])).status_code == 286


VISIBILITY = [
    # (who, listed, expected status)
    ("anonymous", True, 200),
    ("anonymous", False, 404),
    ("owner", True, 200),
    ("owner", False, 200),
    ("other", True, 200),
    ("other", False, 404),
    ("staff", True, 200),
    ("staff", False, 200),
]


@pytest.mark.parametrize("url_name", ["servers:detail", "servers:live", "servers:live_json"])
@pytest.mark.parametrize(("who", "listed", "expected"), VISIBILITY)
def test_it_applies_the_visibility_matrix(
    client, make_user, owner, make_server, url_name, who, listed, expected
):
    server = make_server(listed=listed, desired_state="running")
    users = {
        "owner": owner,
        "other": make_user("other"),
        "staff": make_user("staff", is_staff=True),
    }
    if who in users:
        client.force_login(users[who])
    response = client.get(reverse(url_name, args=[server.pk]))
    assert response.status_code == expected
    if expected == 200:
        assert server.rcon_password not in response.content.decode()


def test_it_shows_steam_names_and_only_allowed_avatars(client, running):
    from django.utils import timezone

    from steamprofiles.models import SteamProfile

    session(running, 1, name="ingame1")
    session(running, 2, name="ingame2")
    good = "https://avatars.steamstatic.com/abc_medium.jpg"
    SteamProfile.objects.create(
        steam_id_64=steam_id(1),
        persona_name="Steam One",
        avatar_url=good,
        fetched_at=timezone.now(),
    )
    SteamProfile.objects.create(
        steam_id_64=steam_id(2),
        persona_name="",
        avatar_url="https://evil.example/x.jpg",
        fetched_at=timezone.now(),
    )
    page = client.get(reverse("servers:live", args=[running.pk])).content.decode()
    assert "Steam One" in page
    assert "ingame1" not in page
    assert "ingame2" in page  # no Steam name: the in-game one
    assert good in page
    assert "evil.example" not in page


def test_it_renders_one_badge_the_same_way_on_the_list_and_the_panel(client, running):
    snapshot(running, seen_ago=185, players=2)
    live_status(running, state="unreachable")
    badge = (
        '<span class="badge badge-stale" title="unreachable for 3\xa0minutes">?</span> '
        '<span class="badge-reason muted">unreachable for 3\xa0minutes</span>'
    )
    assert badge in list_page(client)
    assert badge in client.get(reverse("servers:live", args=[running.pk])).content.decode()


def test_it_shows_a_server_never_polled_as_waiting(client, make_server):
    make_server(name="fresh", listed=True, desired_state="running")
    page = list_page(client)
    assert "waiting for the first poll" in page
    assert '<span class="state state-unknown">Unknown</span>' in page
