from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from steamprofiles.models import SteamProfile, profiles_for

pytestmark = pytest.mark.django_db

AVATAR = "https://avatars.steamstatic.com/f1dd60a188883caf82d0cbfccfe6aba0af1732d4_medium.jpg"


def profile(steam_id: str, *, age: float = 0, **fields) -> SteamProfile:
    fetched_at = timezone.now() - timedelta(seconds=age)
    return SteamProfile.objects.create(steam_id_64=steam_id, fetched_at=fetched_at, **fields)


def test_it_splits_fresh_and_stale_at_the_ttl(settings):
    settings.STEAM_PROFILE_TTL_SECONDS = 3600
    now = timezone.now()
    SteamProfile.objects.create(steam_id_64="1", fetched_at=now - timedelta(seconds=3599))
    SteamProfile.objects.create(steam_id_64="2", fetched_at=now - timedelta(seconds=3600))
    assert list(SteamProfile.objects.fresh(now).values_list("pk", flat=True)) == ["1"]
    assert list(SteamProfile.objects.stale(now).values_list("pk", flat=True)) == ["2"]
    assert SteamProfile.objects.stale(now, ttl_seconds=10).count() == 2


def test_it_gets_display_data_for_many_ids_in_one_query(django_assert_num_queries):
    profile("76561197960287930", persona_name="Rabscuttle")
    profile("76561197985018726", resolved=False)
    with django_assert_num_queries(1):
        found = profiles_for(["76561197960287930", "76561197985018726", "76561190000000000"])
    assert set(found) == {"76561197960287930", "76561197985018726"}
    assert found["76561197960287930"].persona_name == "Rabscuttle"
    with django_assert_num_queries(0):
        assert profiles_for([]) == {}


def test_it_renders_avatars_only_from_hosts_still_allowed(settings):
    alice = profile("76561197960287930", avatar_url=AVATAR)
    assert alice.safe_avatar_url == AVATAR
    settings.STEAM_AVATAR_HOSTS = ["avatars.akamai.steamstatic.com"]
    assert alice.safe_avatar_url == ""
    assert profile("2", avatar_url="http://avatars.steamstatic.com/x.jpg").safe_avatar_url == ""


def test_it_falls_back_to_the_in_game_name_then_the_steam_id():
    unresolved = profile("76561197985018726", resolved=False)
    assert unresolved.display_name("Crone") == "Crone"
    assert unresolved.display_name() == "76561197985018726"
    assert profile("1", persona_name="Rabscuttle").display_name("Crone") == "Rabscuttle"
