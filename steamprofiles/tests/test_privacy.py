"""Forgetting a player: the service, the admin's actions and page, the command."""

from __future__ import annotations

import io
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from livestate.models import PlayerName, PlayerSession, PlayerTotal
from livestate.player_totals import fold_final_sessions
from livestate.tests.factories import session, steam_id
from steamprofiles import privacy
from steamprofiles.models import SteamProfile

pytestmark = pytest.mark.django_db

ALICE, BOB = steam_id(1), steam_id(2)
FORGET = "admin:steamprofiles_steamprofile_forget"


def profile(steam_id_64: str) -> SteamProfile:
    return SteamProfile.objects.create(
        steam_id_64=steam_id_64, persona_name=f"Steam {steam_id_64[-2:]}", fetched_at=timezone.now()
    )


@pytest.fixture
def alice_and_bob(make_server):
    """Alice played on two servers (still on one) and has a profile; so does Bob."""
    coop, versus = make_server(name="coop"), make_server(name="versus")
    session(coop, 1, name="alice", joined_ago=9000, left_ago=8000)
    session(coop, 1, name="alice2", joined_ago=7000, left_ago=6000)
    session(versus, 1, name="alice", joined_ago=600)
    session(coop, 2, name="bob")
    profile(ALICE)
    profile(BOB)
    return coop, versus


def stored(steam_id_64: str) -> tuple[int, bool]:
    sessions = PlayerSession.objects.filter(steam_id_64=steam_id_64).count()
    return sessions, SteamProfile.objects.filter(pk=steam_id_64).exists()


@pytest.fixture
def boss(make_user):
    return make_user("boss", is_staff=True, is_superuser=True)


# --- the service ---------------------------------------------------------------


def test_it_erases_every_session_and_the_profile(alice_and_bob, boss):
    report = privacy.forget_player(ALICE, actor=boss)
    assert (report.sessions, report.servers, report.profile) == (3, 2, True)
    assert report.playing_on == ("versus",)
    assert stored(ALICE) == (0, False)
    assert stored(BOB) == (1, True)  # nobody else is touched


def test_it_records_the_erasure_in_the_admin_log(alice_and_bob, boss):
    privacy.forget_player(ALICE, actor=boss)
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id) == (boss, DELETION, ALICE)
    assert entry.object_repr == f"player {ALICE}"
    assert entry.content_type == ContentType.objects.get_for_model(SteamProfile)
    assert entry.get_change_message() == (
        "Forgot the player (privacy request): erased 3 session(s) on 2 server(s) "
        "and the Steam profile."
    )
    assert "alice" not in entry.change_message  # the log keeps no name it erased


def folded(steam_id_64: str) -> tuple[int, int]:
    totals = PlayerTotal.objects.filter(steam_id_64=steam_id_64).count()
    return totals, PlayerName.objects.filter(steam_id_64=steam_id_64).count()


def test_it_erases_the_lifetime_totals_and_names(alice_and_bob, boss):
    coop, versus = alice_and_bob
    session(coop, 1, name="old alice", joined_ago=50 * 86400, left_ago=49 * 86400)
    session(versus, 1, name="old alice", joined_ago=40 * 86400, left_ago=39 * 86400)
    session(coop, 1, name="alice", joined_ago=3 * 86400, left_ago=2 * 86400)
    session(coop, 2, name="bob", joined_ago=3 * 86400, left_ago=2 * 86400)
    assert fold_final_sessions(now=timezone.now()) == 4
    PlayerSession.objects.filter(folded=True, steam_id_64=ALICE, name_at_join="old alice").delete()
    assert privacy.footprint(ALICE).summary() == (
        "4 session(s) on 2 server(s), lifetime totals on 2 server(s), 3 name(s) kept with "
        "them and the Steam profile"
    )
    report = privacy.forget_player(ALICE, actor=boss)
    assert (report.totals, report.names) == (2, 3)
    assert folded(ALICE) == (0, 0)
    assert stored(ALICE) == (0, False)
    assert folded(BOB) == (1, 1)  # nobody else is touched


def test_it_forgets_a_player_known_only_by_totals(make_server, boss):
    session(make_server(), 1, joined_ago=50 * 86400, left_ago=49 * 86400)
    fold_final_sessions(now=timezone.now())
    PlayerSession.objects.all().delete()  # as retention would
    report = privacy.forget_player(ALICE, actor=boss)
    assert not report.empty
    assert report.summary() == "lifetime totals on 1 server(s) and 1 name(s) kept with them"
    assert folded(ALICE) == (0, 0)
    assert LogEntry.objects.get().change_message.endswith("1 name(s) kept with them.")


def test_it_forgets_a_player_without_a_profile(make_server, boss):
    session(make_server(), 1, joined_ago=100, left_ago=50)
    report = privacy.forget_player(ALICE, actor=boss)
    assert (report.sessions, report.profile, report.summary()) == (
        1, False, "1 session(s) on 1 server(s)",
    )  # fmt: skip
    assert stored(ALICE) == (0, False)


def test_it_forgets_a_profile_without_sessions(boss):
    profile(ALICE)
    assert privacy.forget_player(ALICE, actor=boss).summary() == "the Steam profile"
    assert stored(ALICE) == (0, False)


def test_it_logs_nothing_when_nothing_is_stored(boss):
    report = privacy.forget_player(ALICE, actor=boss)
    assert report.empty
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("bad", ["", "123", "76561197960265728x", "7656119796026572", "%"])
def test_it_refuses_an_invalid_steam_id_and_changes_nothing(alice_and_bob, boss, bad):
    with pytest.raises(privacy.InvalidSteamID, match="not a SteamID64"):
        privacy.forget_player(bad, actor=boss)
    assert PlayerSession.objects.count() == 4
    assert not LogEntry.objects.exists()


def test_it_erases_all_or_nothing(alice_and_bob, django_user_model):
    unsaved = django_user_model(username="ghost")  # the log entry cannot be written
    with pytest.raises(IntegrityError):
        privacy.forget_player(ALICE, actor=unsaved)
    assert stored(ALICE) == (3, True)


def test_it_previews_without_erasing(alice_and_bob):
    preview = privacy.footprint(ALICE)
    assert (preview.sessions, preview.servers, preview.profile) == (3, 2, True)
    assert not preview.empty
    assert stored(ALICE) == (3, True)


# --- the admin -----------------------------------------------------------------


@pytest.fixture
def staff(client, boss):
    client.force_login(boss)
    return client


def act(client, changelist: str, action: str, selected: list):
    data = {"action": action, "_selected_action": selected}
    return client.post(reverse(changelist), data)


def forget_url(*ids: str) -> str:
    return f"{reverse(FORGET)}?{urlencode({'ids': ' '.join(ids)})}"


def test_it_offers_the_action_on_profiles_with_a_confirmation(staff, alice_and_bob):
    response = act(staff, "admin:steamprofiles_steamprofile_changelist", "forget_players", [ALICE])
    assert response.status_code == 302
    assert response["Location"] == forget_url(ALICE)
    page = staff.get(response["Location"]).content.decode()
    assert "Erase everything stored of 1 player?" in page
    assert "<td>3</td><td>2</td><td>yes</td><td>versus</td>" in page
    assert "next poll records this player again" in page
    assert stored(ALICE) == (3, True)  # nothing happens before the confirmation


def test_it_offers_the_action_on_sessions_for_the_whole_player(staff, alice_and_bob):
    one = PlayerSession.objects.filter(steam_id_64=ALICE).earliest("joined_at")
    bob = PlayerSession.objects.get(steam_id_64=BOB)
    response = act(
        staff, "admin:livestate_playersession_changelist", "forget_players", [one.pk, bob.pk]
    )
    assert response["Location"] == forget_url(ALICE, BOB)


def test_it_forgets_on_confirmation_and_logs_it(staff, boss, alice_and_bob):
    response = staff.post(reverse(FORGET), {"ids": f"{ALICE} {BOB}"}, follow=True)
    page = response.content.decode()
    erased = "erased 3 session(s) on 2 server(s) and the Steam profile."
    assert f"Forgot player {ALICE}: {erased}" in page
    assert f"{ALICE} was playing on versus: the next poll records them again." in page
    assert stored(ALICE) == stored(BOB) == (0, False)
    logged = set(LogEntry.objects.values_list("object_id", "user"))
    assert logged == {(ALICE, boss.pk), (BOB, boss.pk)}
    log = staff.get(reverse("admin:index")).content.decode()
    assert f"player {ALICE}" in log  # the recent actions list


def test_it_takes_a_typed_steam_id(staff, make_server):
    session(make_server(), 1, joined_ago=100, left_ago=50)
    form = staff.get(reverse(FORGET)).content.decode()
    assert 'name="ids"' in form
    preview = staff.get(reverse(FORGET), {"ids": f" {ALICE},\n{ALICE} "}).content.decode()
    assert preview.count(f"<td>{ALICE}</td>") == 1
    assert "Yes, forget them" in preview


def test_it_rejects_typed_ids_that_are_not_steam_ids(staff, alice_and_bob):
    page = staff.get(reverse(FORGET), {"ids": f"{ALICE} nonsense"}).content.decode()
    assert "Not a SteamID64 of a player account: nonsense" in page
    staff.post(reverse(FORGET), {"ids": f"{ALICE} nonsense"})
    assert stored(ALICE) == (3, True)


def test_it_says_when_nothing_is_stored(staff):
    page = staff.get(reverse(FORGET), {"ids": ALICE}).content.decode()
    assert "Nothing is stored for this player." in page
    assert "Yes, forget them" not in page


def test_it_links_the_page_from_the_profile_list(staff):
    page = staff.get(reverse("admin:steamprofiles_steamprofile_changelist")).content.decode()
    assert f'href="{reverse(FORGET)}"' in page


def test_it_needs_both_delete_permissions(client, make_user, alice_and_bob):
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_steamprofile", "view_playersession",
                                                 "delete_steamprofile"])
    )  # fmt: skip
    client.force_login(clerk)
    assert client.post(reverse(FORGET), {"ids": ALICE}).status_code == 403
    changelist = client.get(reverse("admin:steamprofiles_steamprofile_changelist")).content.decode()
    assert "forget_players" not in changelist
    assert f'href="{reverse(FORGET)}"' not in changelist
    assert stored(ALICE) == (3, True)
    clerk.user_permissions.add(Permission.objects.get(codename="delete_playersession"))
    assert client.post(reverse(FORGET), {"ids": ALICE}).status_code == 302
    assert stored(ALICE) == (0, False)


def test_it_keeps_anonymous_visitors_out(client, alice_and_bob):
    response = client.post(reverse(FORGET), {"ids": ALICE})
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert stored(ALICE) == (3, True)


# --- the command ---------------------------------------------------------------


def forget(*args) -> str:
    out = StringIO()
    call_command("forget_player", *args, stdout=out)
    return out.getvalue()


def test_it_forgets_from_the_command_line(alice_and_bob, boss):
    out = forget(ALICE, "--yes")
    assert f"{ALICE}: 3 session(s) on 2 server(s) and the Steam profile." in out
    assert f"Forgot player {ALICE}: erased 3 session(s) on 2 server(s)" in out
    assert "recorded in the admin log as boss" in out
    assert f"Note: {ALICE} was playing on versus: the next poll records them again." in out
    assert stored(ALICE) == (0, False)
    assert LogEntry.objects.get().user == boss


@pytest.mark.parametrize("bad", ["123", "abc", "765611979602877930", "76561197960287930 "])
def test_it_refuses_a_bad_steam_id_from_the_command_line(alice_and_bob, boss, bad):
    with pytest.raises(CommandError, match=r"not a SteamID64 of a player account.*nothing changed"):
        forget(bad, "--yes")
    assert PlayerSession.objects.count() == 4


def test_it_needs_a_user_when_there_is_no_superuser(alice_and_bob):
    with pytest.raises(CommandError, match="no active superuser to record this under: pass --user"):
        forget(ALICE, "--yes")
    assert stored(ALICE) == (3, True)


def test_it_needs_a_user_when_there_are_several_superusers(alice_and_bob, boss, make_user):
    make_user("boss2", is_staff=True, is_superuser=True)
    with pytest.raises(CommandError, match=r"several superusers .*pass --user USERNAME"):
        forget(ALICE, "--yes")
    out = forget(ALICE, "--yes", "--user", "boss2")
    assert "recorded in the admin log as boss2" in out
    assert LogEntry.objects.get().user.username == "boss2"


@pytest.mark.parametrize("name", ["nobody", "plain"])
def test_it_refuses_a_user_who_is_not_staff(alice_and_bob, boss, make_user, name):
    make_user("plain")
    with pytest.raises(CommandError, match=f"No active staff user named '{name}'"):
        forget(ALICE, "--yes", "--user", name)
    assert stored(ALICE) == (3, True)


def test_it_says_when_nothing_is_stored_from_the_command_line(boss):
    assert forget(ALICE, "--yes") == f"Nothing stored for {ALICE}; nothing to forget.\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_it_asks_before_erasing_at_a_terminal(alice_and_bob, boss, monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal("no\n"))
    with pytest.raises(CommandError, match="Cancelled; nothing changed"):
        forget(ALICE)
    assert stored(ALICE) == (3, True)
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    assert "Forgot player" in forget(ALICE)
    assert stored(ALICE) == (0, False)


def test_it_needs_yes_without_a_terminal(alice_and_bob, boss, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    with pytest.raises(CommandError, match="pass --yes"):
        forget(ALICE)
    assert stored(ALICE) == (3, True)


def count_forget_queries(steam_id_64, boss) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        privacy.forget_player(steam_id_64, actor=boss)
    return len(ctx.captured_queries)


def test_it_erases_in_a_constant_number_of_queries(make_server, boss):
    """One DELETE whatever the sessions (no row is loaded into Python)."""
    ContentType.objects.get_for_model(SteamProfile)  # cached from then on
    server = make_server()
    session(server, 1, joined_ago=100, left_ago=50)
    for n in range(300):
        session(server, 2, joined_ago=300_000 - n * 300, left_ago=299_900 - n * 300)
        session(server, 2, name=f"bob{n}", joined_ago=200_000, left_ago=199_000)
    fold_final_sessions(now=timezone.now())
    assert folded(BOB) == (1, 301)
    assert count_forget_queries(ALICE, boss) == count_forget_queries(BOB, boss)
    assert stored(BOB) == (0, False)
    assert folded(BOB) == (0, 0)
