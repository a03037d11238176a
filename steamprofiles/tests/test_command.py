from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from livestate.tests.factories import session
from steamprofiles.models import SteamProfile
from steamprofiles.tests.fake_steam import API_KEY

pytestmark = pytest.mark.django_db

ALICE = "76561197960287930"


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("enrich_steam_profiles", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_enriches_with_a_progress_bar_and_a_summary(steam, make_server):
    steam.load("summaries_two_players.json")
    session(make_server(), 22202)  # ALICE
    session(make_server(), 999)
    out, err = run()
    assert out == (
        "2 SteamID(s) due, 1 Steam call(s): 1 profile(s) stored, "
        "1 unresolved (private, deleted or invalid).\n"
    )
    assert "SteamIDs: 100%" in err
    assert "2/2" in err


def test_it_refreshes_every_known_id_with_all(steam, make_server):
    session(make_server(), 5, joined_ago=900, left_ago=600)
    SteamProfile.objects.create(steam_id_64=ALICE, fetched_at=timezone.now())
    out, _ = run("--all")
    assert [len(c) for c in steam.calls] == [2]
    assert out.startswith("2 SteamID(s) due, 1 Steam call(s)")


def test_it_says_when_nothing_is_due(steam):
    out, err = run()
    assert out == "Nothing to do: every current player's profile is fresh.\n"
    assert (err, steam.calls) == ("", [])


def test_it_exits_1_without_a_key(steam, settings):
    settings.STEAM_WEB_API_KEY = ""
    with pytest.raises(CommandError, match="STEAM_WEB_API_KEY is not set") as caught:
        run()
    assert caught.value.returncode == 1
    assert steam.calls == []


def test_it_exits_1_while_backing_off_and_says_until_when(steam, make_server):
    session(make_server(), 1)
    steam.fail(500, body="internal_error_500.html")
    with pytest.raises(CommandError, match="server error") as first:
        run()
    until = timezone.now() + timedelta(seconds=60)
    with pytest.raises(CommandError, match="backing off after Steam API errors until") as second:
        run()
    assert f"{until:%Y-%m-%d %H:%M}" in str(second.value)
    assert second.value.returncode == 1
    assert len(steam.calls) == 1
    assert API_KEY not in str(first.value) + repr(first.value)


def test_it_reports_what_was_stored_before_a_failure(steam, make_server):
    server = make_server()
    for n in range(150):
        session(server, n + 1)
    steam.failures.extend([(200, {}, b'{"response": {"players": []}}'), (502, {}, b"")])
    with pytest.raises(CommandError, match=r"0 profile\(s\) stored, 100 unresolved.*HTTP 502"):
        run()
