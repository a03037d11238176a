from __future__ import annotations

import pytest
from django.urls import reverse

from livestate.tests.factories import session, snapshot, steam_id

pytestmark = pytest.mark.django_db


def test_it_lists_snapshots_read_only_and_filters_by_map(staff_client, make_server):
    server = make_server()
    snapshot(server, map="c1m1_hotel")
    snapshot(server, map="c5m1_waterfront")
    url = reverse("admin:livestate_livestatesnapshot_changelist")
    page = staff_client.get(url, {"q": "waterfront"}).content.decode()
    assert "c5m1_waterfront" in page
    assert "c1m1_hotel" not in page.split("result_list")[1]
    assert staff_client.get(reverse("admin:livestate_livestatesnapshot_add")).status_code == 403


def test_it_searches_sessions_by_steam_id_and_name_and_filters_open_ones(staff_client, make_server):
    server = make_server()
    session(server, 1, name="Alice")
    session(server, 2, name="Bob", joined_ago=900, left_ago=600)
    url = reverse("admin:livestate_playersession_changelist")
    assert "Bob" in staff_client.get(url, {"q": steam_id(2)}).content.decode()
    assert "Alice" in staff_client.get(url, {"q": "Ali"}).content.decode()
    open_only = staff_client.get(url, {"open": "yes"}).content.decode().split("result_list")[1]
    assert "Alice" in open_only
    assert "Bob" not in open_only


def test_it_shows_sessions_without_a_way_to_edit_them(staff_client, make_server):
    row = session(make_server(), 1, name="Alice")
    url = reverse("admin:livestate_playersession_change", args=[row.pk])
    page = staff_client.get(url).content.decode()
    assert "Alice" in page
    assert 'name="name_at_join"' not in page
    assert staff_client.post(url, {"name_at_join": "Mallory"}).status_code == 403


def test_it_shows_the_last_poll_on_the_server_list(staff_client, make_server):
    server = make_server(name="alpha")
    snapshot(server, players=3, map="c2m1_highway")
    page = staff_client.get(reverse("admin:servers_server_changelist")).content.decode()
    assert "3/4 · c2m1_highway" in page
    assert server.rcon_password not in page
