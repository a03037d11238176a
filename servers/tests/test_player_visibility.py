"""Whose players a viewer may see: listed servers with players public, their own, staff all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from servers.models import Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def servers(make_server):
    return {
        "public": make_server(name="public", listed=True, players_public=True),
        "hidden-players": make_server(name="hidden-players", listed=True, players_public=False),
        "unlisted": make_server(name="unlisted", listed=False, players_public=True),
        "unlisted-hidden": make_server(name="unlisted-hidden", listed=False, players_public=False),
    }


def names(user) -> set[str]:
    return set(Server.objects.players_visible_to(user).values_list("name", flat=True))


def test_it_shows_anonymous_visitors_only_listed_servers_with_public_players(servers):
    assert names(AnonymousUser()) == {"public"}


def test_it_shows_another_user_only_listed_servers_with_public_players(servers, make_user):
    assert names(make_user("other")) == {"public"}


def test_it_shows_the_owner_all_their_servers(servers, owner, make_user, make_server):
    make_server(name="someone-elses", owner=make_user("other"), listed=False)
    assert names(owner) == {"public", "hidden-players", "unlisted", "unlisted-hidden"}


def test_it_shows_staff_every_server(servers, make_user, make_server):
    make_server(name="someone-elses", owner=make_user("other"), listed=False)
    staff = make_user("staff", is_staff=True)
    assert names(staff) == {
        "public", "hidden-players", "unlisted", "unlisted-hidden", "someone-elses",
    }  # fmt: skip


def test_it_agrees_with_what_the_server_page_shows(servers, owner, make_user):
    """Exactly the servers whose page shows its players to that viewer."""
    for user in (AnonymousUser(), owner, make_user("other"), make_user("s", is_staff=True)):
        expected = {
            server.name
            for server in Server.objects.visible_to(user)
            if server.players_public or server.shows_private_details_to(user)
        }
        assert names(user) == expected
