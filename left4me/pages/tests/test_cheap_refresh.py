"""Cheap refreshes: a viewer who already has the current version gets a 204.

The live panel and the list rows carry a version in `hx-headers`; htmx sends
it back as X-Live-Version, and an equal version costs a few small queries and
no template. Also the list's sort, filter and total.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from left4me.pages import versions
from livestate import progress
from livestate.models import LiveStatus, PollProgress
from livestate.tests.factories import live_status, session, snapshot, steam_id
from servers.models import Server
from steamprofiles.models import SteamProfile

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
VERSION = re.compile(r"""hx-headers='\{"X-Live-Version": "([0-9a-f]+)"\}'""")


@pytest.fixture(autouse=True)
def _same_minute():
    """The version rolls each minute: start well inside one, so a pair of
    requests in a test sees the same minute."""
    second = timezone.now().second + timezone.now().microsecond / 1e6
    if second > 55:
        time.sleep(60.2 - second)


@pytest.fixture
def running(make_server):
    server = make_server(name="coop", listed=True, desired_state="running")
    snapshot(server, players=1, map="c1m2_streets")
    return server


def version_in(response) -> str:
    found = VERSION.findall(response.content.decode())
    assert len(found) == 1, found
    return found[0]


def live(client, server, version: str | None = None):
    headers = dict(HX, **({versions.HEADER: version} if version is not None else {}))
    return client.get(reverse("servers:live", args=[server.pk]), headers=headers)


def assert_unchanged(response) -> None:
    assert response.status_code == 204
    assert response.content == b""


# The live panel


def test_it_gives_the_panel_with_its_version_first(client, running):
    response = live(client, running)
    assert response.status_code == 200
    assert 'id="live-panel"' in response.content.decode()
    assert len(version_in(response)) == 16


def test_it_puts_the_version_on_the_server_page_too(client, running):
    page = client.get(running.get_absolute_url())
    assert version_in(page) == version_in(live(client, running))


def test_it_answers_204_with_the_poll_age_when_nothing_changed(client, running):
    version = version_in(live(client, running))
    response = live(client, running, version)
    assert_unchanged(response)
    seconds = json.loads(response["HX-Trigger"])["live-polled"]["seconds"]
    assert 1 <= seconds <= 3  # the snapshot was seen 1 s before the first request


def test_it_leaves_out_the_age_before_the_first_answer(client, make_server):
    server = make_server(listed=True, desired_state="running")
    version = version_in(live(client, server))
    response = live(client, server, version)
    assert_unchanged(response)
    assert json.loads(response["HX-Trigger"]) == {"live-polled": {}}


def test_it_renders_again_for_another_version(client, running):
    assert live(client, running, "0123456789abcdef").status_code == 200


def test_it_renders_for_a_plain_request_without_a_version(client, running):
    version_in(live(client, running))
    assert client.get(reverse("servers:live", args=[running.pk])).status_code == 200


def test_it_ignores_a_poll_that_changed_nothing_shown(client, running):
    """The next poll only moves the run's last_seen_at and answered_at."""
    version = version_in(live(client, running))
    status = LiveStatus.objects.select_related("snapshot").get(server=running)
    run = status.snapshot
    assert run is not None
    status.answered_at = run.last_seen_at = timezone.now()
    run.save()
    status.save()
    response = live(client, running, version)
    assert_unchanged(response)
    assert json.loads(response["HX-Trigger"])["live-polled"]["seconds"] == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: snapshot(s, players=2, map="c1m2_streets"), id="new-snapshot"),
        pytest.param(lambda s: live_status(s, state="unreachable"), id="new-state"),
        pytest.param(lambda s: session(s, 7, name="Zoey"), id="a-player-joins"),
        pytest.param(lambda s: snapshot(s, seen_ago=40, players=1), id="goes-stale"),
    ],
)
def test_it_renders_again_after_a_poll_that_changed_something(client, running, change):
    version = version_in(live(client, running))
    change(running)
    response = live(client, running, version)
    assert response.status_code == 200
    assert version_in(response) != version
    assert_unchanged(live(client, running, version_in(response)))


def test_it_renders_again_when_a_player_leaves(client, running):
    alice = session(running, 1, name="Alice")
    version = version_in(live(client, running))
    alice.left_at = timezone.now()
    alice.save()
    response = live(client, running, version)
    assert response.status_code == 200
    assert "Alice" in response.content.decode().split("Recent players")[1]


def test_it_renders_again_when_steam_names_a_player(client, running):
    session(running, 1, name="ingame")
    version = version_in(live(client, running))
    SteamProfile.objects.create(
        steam_id_64=steam_id(1), persona_name="Steam Name", fetched_at=timezone.now()
    )
    response = live(client, running, version)
    assert response.status_code == 200
    assert "Steam Name" in response.content.decode()


def test_it_renders_again_when_the_owner_hides_the_players(client, running):
    version = version_in(live(client, running))
    running.players_public = False
    running.save()
    assert live(client, running, version).status_code == 200


def test_it_renders_again_when_polling_stalls(client, running):
    version = version_in(live(client, running))
    progress.record_finished(now=timezone.now() - timedelta(minutes=5))
    response = live(client, running, version)
    assert response.status_code == 200
    assert "not polling" in response.content.decode()


def test_it_gives_the_owner_another_version_than_the_public(client, owner, running):
    session(running, 1, ping=(33, 77))
    public = version_in(live(client, running))
    client.force_login(owner)
    assert live(client, running, public).status_code == 200
    mine = version_in(live(client, running))
    assert mine != public
    assert_unchanged(live(client, running, mine))


def test_it_renders_again_for_the_owner_when_a_ping_moves(client, owner, running):
    alice = session(running, 1, ping=(33, 77))
    client.force_login(owner)
    version = version_in(live(client, running))
    alice.max_ping = 120
    alice.save()
    response = live(client, running, version)
    assert response.status_code == 200
    assert "33–120" in response.content.decode()


def test_it_rolls_the_version_each_minute(running, settings):
    """So "joined 3 minutes ago" is never more than a minute behind."""
    settings.LIVE_STATE_STALE_SECONDS = 600  # the badge stays the same meanwhile
    server = Server.objects.select_related("live_status").get(pk=running.pk)
    start = timezone.now().replace(second=0, microsecond=0)
    polling = progress.polling_state(now=start)

    def at(seconds: float) -> str:
        now = start + timedelta(seconds=seconds)
        return versions.panel_version(server, now=now, polling=polling, can_manage=False)

    assert at(1) == at(59)
    assert at(59) != at(60)


def test_it_keeps_stopping_the_polling_of_a_stopped_server(client, make_server):
    server = make_server(listed=True, desired_state="stopped")
    response = live(client, server, "whatever")
    assert response.status_code == 286
    assert 'id="live-panel"' in response.content.decode()


def test_it_answers_404_for_a_hidden_server_whatever_the_version(client, make_server):
    server = make_server(listed=False, desired_state="running")
    assert live(client, server, "0123456789abcdef").status_code == 404


def test_it_varies_on_the_version_header(client, running):
    response = live(client, running)
    assert versions.HEADER in response["Vary"]
    assert versions.HEADER in live(client, running, version_in(response))["Vary"]


def count_queries(client, *args) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = live(client, *args)
    return len(ctx.captured_queries), response


def test_it_answers_204_in_a_few_queries_however_many_players(
    client, running, django_assert_num_queries
):
    for n in range(10):
        session(running, n)
        session(running, 100 + n, joined_ago=4000, left_ago=3000)
    full, response = count_queries(client, running)
    version = version_in(response)
    # the server with its LiveStatus, PollProgress, the open sessions with their profiles
    with django_assert_num_queries(3):
        assert_unchanged(live(client, running, version))
    assert full >= 2 * 3  # a full render costs at least twice as much
    for n in range(10, 40):
        session(running, n)
    version = version_in(live(client, running))
    with django_assert_num_queries(3):
        assert_unchanged(live(client, running, version))


def test_it_answers_204_to_a_signed_in_viewer_in_a_few_queries(
    client, make_user, running, django_assert_num_queries
):
    client.force_login(make_user())
    version = version_in(live(client, running))
    with django_assert_num_queries(5):  # plus the session and the user
        assert_unchanged(live(client, running, version))


def test_a_thousand_viewers_of_a_new_version_cost_one_render(client, make_user, running):
    """When the version turns, every open page asks for the panel at once: the
    first draws it, the others get the same HTML for the queries of a 204."""
    session(running, 1)
    stale = "0" * 16
    first, drawn = count_queries(client, running, stale)
    other = type(client)()
    other.force_login(make_user())  # signed in, yet shown no private details
    again, shared = count_queries(other, running, stale)
    assert drawn.status_code == shared.status_code == 200
    assert shared.content == drawn.content
    assert again <= 5 < first  # the 204's queries (+ session and user), not a render's
    assert json.loads(shared["HX-Trigger-After-Swap"])["live-polled"]["seconds"] >= 0


def test_the_owner_never_gets_the_shared_panel(client, owner, running):
    session(running, 1, ping=(33, 77))
    public = live(client, running).content.decode()
    client.force_login(owner)
    mine = live(client, running).content.decode()
    assert "33–77" in mine
    assert "33–77" not in public


# The server list


def rows(client, **params):
    headers = dict(HX)
    if "version" in params:
        headers[versions.HEADER] = params.pop("version")
    return client.get(reverse("servers:list"), params, headers=headers)


def names_in(response) -> list[str]:
    return re.findall(
        r'<td class="col-name"><a href="[^"]+">([^<]+)</a>', response.content.decode()
    )


@pytest.fixture
def fleet(make_server):
    """Four servers: players 3, 0 (fresh), 5 but stale, 2; plus one stopped with old data."""
    made = {}
    for name, players, seen_ago, desired in [
        ("bravo", 3, 1, "running"),
        ("Alpha", 0, 1, "running"),
        ("charlie", 5, 120, "running"),
        ("delta", 2, 1, "running"),
        ("echo", 4, 1, "stopped"),
    ]:
        made[name] = server = make_server(name=name, listed=True, desired_state=desired)
        snapshot(server, players=players, seen_ago=seen_ago, map=f"c{len(made)}m1_{name}_map")
    return made


def test_it_sorts_by_players_then_name_by_default(client, fleet):
    assert names_in(rows(client)) == ["bravo", "delta", "Alpha", "charlie", "echo"]


def test_it_sorts_by_name_on_request(client, fleet):
    assert names_in(rows(client, sort="name")) == ["Alpha", "bravo", "charlie", "delta", "echo"]


def test_it_falls_back_to_the_default_sort(client, fleet):
    response = rows(client, sort="'; drop table")
    assert response.status_code == 200
    assert names_in(response) == names_in(rows(client))


def test_it_counts_the_players_online(client, fleet):
    """Stale and stopped servers show no count, so they add none."""
    assert "5 players online on 2 servers" in rows(client).content.decode()


def test_it_says_when_nobody_plays(client, make_server):
    snapshot(make_server(listed=True, desired_state="running"), players=0)
    assert "Nobody is playing right now" in rows(client).content.decode()


def test_it_counts_one_player_in_the_singular(client, make_server):
    snapshot(make_server(listed=True, desired_state="running"), players=1)
    assert "1 player online on 1 server." in rows(client).content.decode()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ALPHA", ["Alpha"]),
        ("rav", ["bravo"]),
        ("c4m1", ["delta"]),  # the map
        ("_MAP", ["bravo", "delta", "Alpha", "charlie", "echo"]),
        ("  delta ", ["delta"]),
        ("%", []),
        ("nothing", []),
    ],
)
def test_it_filters_by_name_or_map(client, fleet, q, expected):
    assert names_in(rows(client, q=q)) == expected


def test_it_totals_only_the_servers_the_filter_keeps(client, fleet):
    assert "2 players online on 1 server." in rows(client, q="delta").content.decode()


def test_it_says_when_the_filter_matches_nothing(client, fleet):
    assert "No server matches" in rows(client, q="nothing").content.decode()


def test_it_filters_in_the_one_query_of_the_rows(client, fleet):
    with CaptureQueriesContext(connection) as ctx:
        rows(client, q="alp", sort="name")
    selects = [q["sql"] for q in ctx.captured_queries if "servers_server" in q["sql"]]
    assert len(selects) == 1
    assert "LIKE" in selects[0].upper()


def test_it_keeps_sort_and_filter_in_the_refresh(client, fleet):
    body = client.get(reverse("servers:list"), {"q": "a&b", "sort": "name"}).content.decode()
    assert 'hx-get="/servers/?sort=name&amp;q=a%26b"' in body
    assert 'value="a&amp;b"' in body
    assert '<option value="name" selected>' in body


def test_it_offers_a_filter_form_that_works_without_javascript(client, fleet):
    body = client.get(reverse("servers:list")).content.decode()
    form = body.split('<form class="server-filter"', 1)[1].split("</form>", 1)[0]
    assert 'method="get"' in form
    assert 'name="q"' in form
    assert 'hx-target="#server-rows"' in form
    assert "delay:300ms" in form
    page = client.get(reverse("servers:list"), {"q": "delta"})
    assert "<html" in page.content.decode()
    assert names_in(page) == ["delta"]


def test_it_answers_204_to_rows_of_the_current_tick(client, fleet, django_assert_num_queries):
    version = version_in(rows(client))
    with django_assert_num_queries(1):  # PollProgress
        assert_unchanged(rows(client, version=version))


def test_it_renders_the_rows_after_a_new_tick(client, fleet):
    version = version_in(rows(client))
    PollProgress.objects.update(finished_at=timezone.now() + timedelta(seconds=1))
    response = rows(client, version=version)
    assert response.status_code == 200
    assert version_in(response) != version


def test_it_renders_the_rows_when_polling_stalls(client, fleet):
    version = version_in(rows(client))
    progress.record_finished(now=timezone.now() - timedelta(minutes=5))
    response = rows(client, version=version)
    assert response.status_code == 200
    assert "not polling" in response.content.decode()


def test_it_versions_the_rows_per_sort_filter_and_viewer(client, owner, fleet):
    version = version_in(rows(client))
    assert rows(client, version=version, sort="name").status_code == 200
    assert rows(client, version=version, q="a").status_code == 200
    client.force_login(owner)
    assert rows(client, version=version).status_code == 200


def test_it_puts_the_rows_version_on_the_full_page(client, fleet):
    page = client.get(reverse("servers:list"))
    assert_unchanged(rows(client, version=version_in(page)))


def test_it_renders_the_whole_page_without_htmx_whatever_the_version(client, fleet):
    version = version_in(rows(client))
    page = client.get(reverse("servers:list"), headers={versions.HEADER: version})
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert versions.HEADER in page["Vary"]
    assert "HX-Request" in page["Vary"]
