"""Listed servers are public, unlisted ones owner-only, everything else 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PUBLIC_URLS = ["servers:detail"]
OWNER_URLS = ["servers:edit", "servers:cfg"]


@pytest.fixture
def unlisted(make_server):
    return make_server(name="secret-base", listed=False)


@pytest.fixture
def listed(make_server):
    return make_server(name="public-base", listed=True)


def test_it_lists_listed_servers_to_anonymous_visitors(client, listed, unlisted):
    page = client.get(reverse("servers:list")).content.decode()
    assert "public-base" in page
    assert "secret-base" not in page


def test_it_lists_unlisted_servers_to_their_owner(client, owner, listed, unlisted):
    client.force_login(owner)
    page = client.get(reverse("servers:list")).content.decode()
    assert "public-base" in page
    assert "secret-base" in page


@pytest.mark.parametrize("name", PUBLIC_URLS + OWNER_URLS)
def test_it_hides_an_unlisted_server_from_another_user(client, make_user, unlisted, name):
    client.force_login(make_user("intruder"))
    assert client.get(reverse(name, args=[unlisted.pk])).status_code == 404


def test_it_hides_an_unlisted_server_from_anonymous_visitors(client, unlisted):
    assert client.get(unlisted.get_absolute_url()).status_code == 404


def test_it_answers_a_missing_server_like_a_hidden_one(client, make_user, unlisted):
    client.force_login(make_user("intruder"))
    hidden = client.get(unlisted.get_absolute_url())
    missing = client.get(reverse("servers:detail", args=[unlisted.pk + 999]))
    assert hidden.status_code == missing.status_code == 404


@pytest.mark.parametrize("name", OWNER_URLS)
def test_it_keeps_owner_pages_of_a_listed_server_from_others(client, make_user, listed, name):
    client.force_login(make_user("intruder"))
    assert client.get(reverse(name, args=[listed.pk])).status_code == 404


def test_it_refuses_rotation_by_another_user(client, make_user, listed):
    client.force_login(make_user("intruder"))
    before = listed.rcon_password
    response = client.post(reverse("servers:rotate_password", args=[listed.pk]))
    listed.refresh_from_db()
    assert response.status_code == 404
    assert listed.rcon_password == before


def test_it_shows_everything_to_staff(client, make_user, unlisted):
    client.force_login(make_user("staff", is_staff=True))
    assert client.get(unlisted.get_absolute_url()).status_code == 200
