"""A player's page and JSON: what they show, to whom, and what is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from left4me.pages.durations import ago, humanize_seconds
from livestate.models import PlayerSession
from livestate.player_history import SESSIONS_PER_PAGE
from livestate.player_totals import fold_final_sessions
from livestate.tests.factories import session, steam_id
from livestate.tests.helpers import T0
from steamprofiles.models import SteamProfile

pytestmark = pytest.mark.django_db

ALICE = steam_id(1)
AVATAR = "https://avatars.steamstatic.com/abc_medium.jpg"


def detail(steam_id_64: str) -> str:
    return reverse("players:detail", args=[steam_id_64])


def json_url(steam_id_64: str) -> str:
    return reverse("players:json", args=[steam_id_64])


def test_it_routes_both_urls():
    assert detail(ALICE) == f"/players/{ALICE}/"
    assert json_url(ALICE) == f"/players/{ALICE}.json"


# --- who sees what -----------------------------------------------------------

SERVERS = {
    "listed+public": {"listed": True, "players_public": True},
    "unlisted": {"listed": False, "players_public": True},
    "players hidden": {"listed": True, "players_public": False},
}
SEES = {  # viewer -> the servers whose players they see
    "anonymous": {"listed+public"},
    "other user": {"listed+public"},
    "owner": {"listed+public", "unlisted", "players hidden"},
    "staff": {"listed+public", "unlisted", "players hidden"},
}
MATRIX = [(who, kind, kind in sees) for who, sees in SEES.items() for kind in SERVERS]


def log_in(client, who, owner, make_user):
    users = {
        "owner": owner,
        "other user": make_user("other"),
        "staff": make_user("s", is_staff=True),
    }
    if who in users:
        client.force_login(users[who])


@pytest.mark.parametrize("url", [detail, json_url])
@pytest.mark.parametrize(("who", "kind", "visible"), MATRIX)
def test_it_applies_the_visibility_matrix(
    client, owner, make_user, make_server, url, who, kind, visible
):
    server = make_server(name=f"the {kind} server", **SERVERS[kind])
    session(server, 1, name="Alice")
    log_in(client, who, owner, make_user)
    response = client.get(url(ALICE))
    assert response.status_code == (200 if visible else 404)
    body = response.content.decode()
    assert ("Alice" in body) is visible
    assert (f"the {kind} server" in body) is visible


@pytest.mark.parametrize("url", [detail, json_url])
def test_it_answers_a_hidden_player_exactly_like_an_unknown_one(client, make_server, url):
    server = make_server(listed=False)
    session(server, 1, name="Alice")
    hidden, unknown = client.get(url(ALICE)), client.get(url(steam_id(2)))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content == unknown.content


@pytest.mark.parametrize(
    "bad", ["abc", "7656119796026572", "765611979602657290", "12345678901234567", "0", "-1",
            "76561197960265729%0A", "7656119796026572%EF%BC%97", "..", ALICE + ".html"],
)  # fmt: skip
@pytest.mark.parametrize("suffix", ["/", ".json"])
def test_it_answers_404_to_a_malformed_steam_id(client, make_server, bad, suffix):
    session(make_server(listed=True), 1)
    assert client.get(f"/players/{bad}{suffix}").status_code == 404


def test_it_counts_only_the_sessions_the_viewer_may_see(client, owner, make_server):
    public = make_server(name="public", listed=True)
    hidden = make_server(name="hidden", listed=True, players_public=False)
    session(public, 1, name="Alice", joined_ago=7200, left_ago=3600)
    session(hidden, 1, name="SecretAlice", joined_ago=600)
    anonymous = client.get(json_url(ALICE)).json()
    assert (anonymous["sessions"], anonymous["online_on"]) == (1, None)
    assert anonymous["names"] == ["Alice"]
    assert [s["name"] for s in anonymous["servers"]] == ["public"]
    assert "SecretAlice" not in client.get(detail(ALICE)).content.decode()
    client.force_login(owner)
    mine = client.get(json_url(ALICE)).json()
    assert (mine["sessions"], mine["online_on"]) == (2, hidden.pk)
    assert mine["names"] == ["SecretAlice", "Alice"]


# --- the JSON ----------------------------------------------------------------


def recorded(server, steam_id_64, name, joined, left=None, seen=None):
    """A session at fixed times: seconds after T0."""
    return PlayerSession.objects.create(
        server=server, steam_id_64=steam_id_64, name_at_join=name,
        joined_at=T0 + timedelta(seconds=joined),
        left_at=None if left is None else T0 + timedelta(seconds=left),
        last_seen_at=T0 + timedelta(seconds=left if left is not None else seen),
        min_ping=10, max_ping=20,
    )  # fmt: skip


def test_it_serves_the_figures_as_json(client, make_server):
    coop = make_server(name="coop", listed=True)
    versus = make_server(name="versus", listed=True)
    recorded(coop, ALICE, "alice", 0, 3600)
    recorded(coop, ALICE, "Alice II", 7200, 9000.4)
    recorded(versus, ALICE, "alice", 10_000, seen=10_600)
    recorded(coop, steam_id(2), "bob", 0, 99_999)
    response = client.get(json_url(ALICE))
    assert response["Cache-Control"] == "no-cache"
    assert response.json() == {
        "steam_id_64": ALICE,
        "names": ["alice", "Alice II"],
        "first_seen": "2026-11-27T12:00:00+00:00",
        "last_seen": "2026-11-27T14:56:40+00:00",
        "playtime_seconds": 6000,
        "sessions": 3,
        "servers": [
            {"id": coop.pk, "name": "coop", "playtime_seconds": 5400},
            {"id": versus.pk, "name": "versus", "playtime_seconds": 600},
        ],
        "online_on": versus.pk,
    }


def test_it_never_puts_pings_or_passwords_in_the_json(client, make_server):
    server = make_server(listed=True)
    session(server, 1, ping=(12345, 23456))
    text = client.get(json_url(ALICE)).content.decode()
    for secret in ("12345", "23456", server.rcon_password, "ping"):
        assert secret not in text


# --- the page ----------------------------------------------------------------


@pytest.fixture
def coop(make_server):
    return make_server(name="coop", listed=True)


def test_it_shows_the_history_on_the_page(client, coop, make_server):
    versus = make_server(name="versus", listed=True)
    session(coop, 1, name="OldAlice", joined_ago=9 * 3600, left_ago=6 * 3600)
    session(coop, 1, name="alice", joined_ago=5 * 3600, left_ago=5 * 3600 - 720)
    session(versus, 1, name="alice", joined_ago=600)
    page = client.get(detail(ALICE)).content.decode()
    assert "3 h 22 min" in page  # 3 h + 12 min + 10 min
    assert page.index("OldAlice") > page.index("alice")  # newest name first
    facts = page.split('class="player-facts"')[1].split("</dl>")[0]
    assert "First seen</dt><dd><time" in facts
    assert ">9 h ago</time>" in facts
    assert "Last seen</dt><dd>now" in facts
    playing = page.split('class="playing-now"')[1].split("</p>")[0]
    assert f'href="{versus.get_absolute_url()}"' in playing
    assert ">versus</a>" in playing
    servers = page.split("<h2>Servers</h2>")[1].split("</table>")[0]
    assert servers.index("coop") < servers.index("versus")  # most playtime first
    assert "3 h 12 min" in servers
    assert f'href="{coop.get_absolute_url()}"' in servers
    sessions = page.split('id="sessions"')[1]
    assert sessions.index("playing now") < sessions.index("12 min") < sessions.index("3 h")
    assert "?page=" not in sessions  # one page only


def test_it_shows_steam_name_and_avatar_when_known(client, coop):
    session(coop, 1, name="ingame")
    SteamProfile.objects.create(
        steam_id_64=ALICE, persona_name="Steam Alice", avatar_url=AVATAR, fetched_at=timezone.now()
    )
    page = client.get(detail(ALICE)).content.decode()
    assert "<h1>Steam Alice</h1>" in page
    assert f'src="{AVATAR}"' in page
    assert "ingame" in page  # among the names seen


def test_it_shows_the_newest_in_game_name_without_a_profile(client, coop):
    session(coop, 1, name="first", joined_ago=900, left_ago=800)
    session(coop, 1, name="latest", joined_ago=300, left_ago=200)
    SteamProfile.objects.create(
        steam_id_64=ALICE, avatar_url="https://evil.example/x.jpg", fetched_at=timezone.now()
    )
    page = client.get(detail(ALICE)).content.decode()
    assert "<h1>latest</h1>" in page
    assert "evil.example" not in page


def test_it_renders_a_hostile_name_inert(client, coop):
    session(coop, 1, name="<script>alert(1)</script>")
    page = client.get(detail(ALICE)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def sessions_of(server, count):
    now = timezone.now()
    PlayerSession.objects.bulk_create(
        PlayerSession(
            server=server, steam_id_64=ALICE, name_at_join=f"n{i}",
            joined_at=now - timedelta(hours=i + 1), left_at=now - timedelta(hours=i + 1, minutes=-5),
            last_seen_at=now - timedelta(hours=i + 1, minutes=-5), min_ping=1, max_ping=2,
        )
        for i in range(count)
    )  # fmt: skip


def test_it_says_when_not_every_session_is_listed(client, coop, monkeypatch):
    monkeypatch.setattr("livestate.player_history.SESSION_PAGES_LIMIT", 1)
    sessions_of(coop, SESSIONS_PER_PAGE + 1)
    page = client.get(detail(ALICE)).content.decode()
    assert f"Listing the newest {SESSIONS_PER_PAGE} sessions only." in page
    assert "?page=2" not in page


def test_it_says_the_totals_are_lifetime_and_the_list_recent(client, coop, settings):
    """Totals outlive the sessions: a player whose sessions retention deleted keeps them."""
    session(coop, 1, name="alice", joined_ago=50 * 86400, left_ago=50 * 86400 - 3600)
    fold_final_sessions(now=timezone.now())
    PlayerSession.objects.all().delete()  # as retention would
    page = client.get(detail(ALICE)).content.decode()
    note = f"the sessions below are those of the last {settings.LIVE_STATE_HISTORY_DAYS} days"
    assert f"Totals since first seen; {note}." in page
    assert ">1 h</dd>" in page
    assert ">50 days ago</time>" in page  # first seen
    assert f"No session in the last {settings.LIVE_STATE_HISTORY_DAYS} days." in page


def rows(page: str) -> int:
    return page.split('id="sessions"')[1].count("<tr>") - 1  # less the header


def test_it_pages_the_sessions(client, coop):
    sessions_of(coop, SESSIONS_PER_PAGE + 7)
    first = client.get(detail(ALICE)).content.decode()
    assert rows(first) == SESSIONS_PER_PAGE
    assert 'href="?page=2#sessions"' in first
    assert "page 1 of 2" in first
    second = client.get(detail(ALICE), {"page": 2}).content.decode()
    assert rows(second) == 7
    assert 'href="?page=1#sessions"' in second
    assert 'href="?page=3' not in second


@pytest.mark.parametrize("page", ["x", "-1", "0", "99999999999999999999", "1.5"])
def test_it_shows_a_page_for_any_page_number(client, coop, page):
    sessions_of(coop, SESSIONS_PER_PAGE + 1)
    assert client.get(detail(ALICE), {"page": page}).status_code == 200


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [detail, json_url])
def test_it_costs_the_same_queries_for_1_or_300_sessions(client, owner, make_server, url):
    client.force_login(owner)
    few = make_server(listed=True)
    session(few, 1)
    one = count_queries(client, url(ALICE))
    for server in (few, make_server(listed=False), make_server(listed=True)):
        sessions_of(server, 100)
    assert count_queries(client, url(ALICE)) == one


# --- names on server pages link here -------------------------------------------


def test_it_links_current_and_recent_players_from_the_server_page(client, coop):
    session(coop, 1, name="Alice")
    session(coop, 2, name="Bob", joined_ago=7200, left_ago=3600)
    page = client.get(coop.get_absolute_url()).content.decode()
    current, recent = page.split("Recent players")
    assert f'href="{detail(ALICE)}">Alice</a>' in current
    assert f'href="{detail(steam_id(2))}">Bob</a>' in recent
    assert client.get(detail(steam_id(2))).status_code == 200


def test_it_links_no_player_where_players_are_hidden(client, make_server):
    server = make_server(listed=True, players_public=False)
    session(server, 1, name="Alice")
    assert "/players/" not in client.get(server.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59.4, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"),
     (3600 + 12 * 60 + 5, "1 h 12 min"), (200 * 3600 + 60, "200 h 1 min"), (-5, "0 s")],
)  # fmt: skip
def test_it_humanizes_durations(seconds, text):
    assert humanize_seconds(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-30, "just now"), (59, "just now"), (60, "1 min ago"), (3599, "59 min ago"),
     (3600, "1 h ago"), (86399, "23 h ago"), (86400, "1 day ago"), (40 * 86400, "40 days ago")],
)  # fmt: skip
def test_it_says_how_long_ago(seconds, text):
    assert ago(seconds) == text


def test_it_gives_exact_utc_times_on_hover(client, coop):
    PlayerSession.objects.create(
        server=coop, steam_id_64=ALICE, name_at_join="alice", joined_at=T0,
        left_at=T0 + timedelta(minutes=5), last_seen_at=T0 + timedelta(minutes=5),
        min_ping=1, max_ping=2,
    )  # fmt: skip
    page = client.get(detail(ALICE)).content.decode()
    assert '<time datetime="2026-11-27T12:00:00+00:00" title="2026-11-27 12:00 UTC">' in page
