from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from livestate.tests.factories import session
from steamprofiles.models import SteamProfile
from steamprofiles.tests.conftest import API_KEY

pytestmark = pytest.mark.django_db

ALICE = "76561197960287930"


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("enrich_steam_profiles", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_enriches_from_the_command_with_a_summary(steam, make_server):
    steam.load("summaries_two_players.json")
    session(make_server(), 22202)  # ALICE
    session(make_server(), 999)
    out, _ = run()
    assert "2 SteamIDs, 1 Steam call(s): 1 profiles stored, 1 unresolved" in out


def test_it_refreshes_every_known_id_with_all(steam, make_server):
    session(make_server(), 5, joined_ago=900, left_ago=600)
    SteamProfile.objects.create(steam_id_64=ALICE, fetched_at="2026-01-01T00:00Z")
    out, _ = run("--all")
    assert sorted(len(c) for c in steam.calls) == [2]
    assert "2 SteamIDs" in out


def test_it_says_when_nothing_is_due(steam):
    out, _ = run()
    assert "Nothing to do" in out
    assert steam.calls == []


def test_it_fails_clearly_without_a_key(steam, settings, make_server):
    settings.STEAM_WEB_API_KEY = ""
    session(make_server(), 1)
    with pytest.raises(CommandError, match="no STEAM_WEB_API_KEY"):
        run()


def test_it_fails_clearly_while_backing_off(steam, make_server):
    session(make_server(), 1)
    steam.failures.append(500)
    with pytest.raises(CommandError, match="server error") as first:
        run()
    with pytest.raises(CommandError, match="backing off"):
        run()
    assert API_KEY not in str(first.value)


def test_it_refreshes_from_the_admin_and_hides_foreign_avatars(steam, client, make_user):
    steam.load("summaries_two_players.json")
    SteamProfile.objects.create(steam_id_64=ALICE, fetched_at="2026-01-01T00:00Z")
    SteamProfile.objects.create(
        steam_id_64="76561197985018726", avatar_url="https://evil.example/x.jpg",
        fetched_at="2026-01-01T00:00Z",
    )  # fmt: skip
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    url = reverse("admin:steamprofiles_steamprofile_changelist")
    assert "evil.example" not in client.get(url).content.decode()
    response = client.post(url, {"action": "refresh_now", "_selected_action": [ALICE]}, follow=True)
    assert "Refreshed 1 profile(s)" in response.content.decode()
    assert SteamProfile.objects.get(pk=ALICE).persona_name == "Rabscuttle"
    assert client.get(url, {"q": "Rabscut"}).content.decode().count("Rabscuttle") >= 1
