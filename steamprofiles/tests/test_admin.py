from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from steamprofiles import admin as profiles_admin
from steamprofiles.models import SteamProfile

pytestmark = pytest.mark.django_db

ALICE, BOB = "76561197960287930", "76561197985018726"
URL = "admin:steamprofiles_steamprofile_changelist"
GOOD = "https://avatars.steamstatic.com/f1dd60a188883caf82d0cbfccfe6aba0af1732d4_medium.jpg"


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def profile(steam_id: str, **fields) -> SteamProfile:
    fields.setdefault("fetched_at", timezone.now())
    return SteamProfile.objects.create(steam_id_64=steam_id, **fields)


def refresh(client, *ids: str):
    data = {"action": "refresh_now", "_selected_action": list(ids)}
    return client.post(reverse(URL), data, follow=True).content.decode()


def test_it_lists_thumbnails_only_from_allowed_hosts(staff):
    profile(ALICE, persona_name="Rabscuttle", avatar_url=GOOD)
    profile(BOB, persona_name="Evil", avatar_url="https://evil.example/x.jpg")
    page = staff.get(reverse(URL)).content.decode()
    assert f'<img src="{GOOD}"' in page
    assert "evil.example" not in page


def test_it_searches_by_steam_id_and_name_and_filters_resolved(staff):
    profile(ALICE, persona_name="Rabscuttle")
    profile(BOB, persona_name="", resolved=False)
    assert "Rabscuttle" in staff.get(reverse(URL), {"q": "Rabscut"}).content.decode()
    assert BOB not in staff.get(reverse(URL), {"q": ALICE}).content.decode()
    unresolved = staff.get(reverse(URL), {"resolved__exact": "0"}).content.decode()
    assert BOB in unresolved
    assert "Rabscuttle" not in unresolved


def test_it_shows_profiles_read_only_and_never_adds(staff):
    profile(ALICE, persona_name="Rabscuttle")
    page = staff.get(reverse("admin:steamprofiles_steamprofile_change", args=[ALICE]))
    assert 'name="persona_name"' not in page.content.decode()
    assert staff.get(reverse("admin:steamprofiles_steamprofile_add")).status_code == 403


def test_it_refreshes_now_ignoring_the_ttl(steam, staff):
    steam.load("summaries_two_players.json")
    profile(ALICE, persona_name="old name")  # fresh: the TTL would skip it
    profile("76561190000000001")
    page = refresh(staff, ALICE, "76561190000000001")
    assert "Refreshed 1 profile(s); 1 unresolved." in page
    assert SteamProfile.objects.get(pk=ALICE).persona_name == "Rabscuttle"


def test_it_refreshes_nothing_while_backing_off(steam, staff):
    profile(ALICE)
    steam.fail(429, headers={"Retry-After": "600"}, body="too_many_requests_429.html")
    assert "rate limit hit (HTTP 429); backing off until" in refresh(staff, ALICE)
    # The admin capitalises messages.
    assert "Backing off after Steam API errors until" in refresh(staff, ALICE)
    assert len(steam.calls) == 1


def test_it_says_when_refresh_is_disabled(steam, staff, settings):
    settings.STEAM_WEB_API_KEY = ""
    profile(ALICE)
    assert "STEAM_WEB_API_KEY is not set" in refresh(staff, ALICE)
    assert steam.calls == []


def test_it_refuses_to_refresh_too_many_at_once(steam, staff, monkeypatch):
    monkeypatch.setattr(profiles_admin, "MAX_REFRESH_IDS", 1)
    profile(ALICE)
    profile(BOB)
    assert "Select at most 1 profiles" in refresh(staff, ALICE, BOB)
    assert steam.calls == []
