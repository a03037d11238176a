"""Final sessions folded into lifetime totals: exactly once, losing nothing, outliving retention."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livestate import services, tasks
from livestate.models import PlayerName, PlayerSession, PlayerTotal
from livestate.player_history import PlayerHistory, player_history
from livestate.player_totals import FINAL_AFTER, fold_final_sessions
from livestate.tests.helpers import ALICE, BOB, T0
from servers.models import Server

pytestmark = pytest.mark.django_db


def found(*args, **kwargs) -> PlayerHistory:
    """player_history() of a player known on these servers (never None here)."""
    history = player_history(*args, **kwargs)
    assert history is not None
    return history


HOUR = 3600


def played(server, steam_id, name, joined, left=None, *, seen=None, now=T0) -> PlayerSession:
    """A session from `joined` to `left` seconds before `now`; open (seen `seen` ago) if no `left`."""
    left_at = None if left is None else now - timedelta(seconds=left)
    return PlayerSession.objects.create(
        server=server,
        steam_id_64=steam_id,
        name_at_join=name,
        joined_at=now - timedelta(seconds=joined),
        left_at=left_at,
        last_seen_at=left_at or now - timedelta(seconds=seen or 0),
        min_ping=40,
        max_ping=60,
    )


def ago(seconds: float, now=T0):
    return now - timedelta(seconds=seconds)


@pytest.fixture
def coop(make_server):
    return make_server(name="coop", listed=True)


@pytest.fixture
def versus(make_server):
    return make_server(name="versus", listed=True)


def totals() -> dict[tuple[str, int], tuple]:
    """Seconds to the millisecond: SQLite's julianday() keeps no more."""
    return {
        (t.steam_id_64, t.server_id): (
            t.sessions, round(t.seconds, 3), t.first_joined_at, t.last_seen_at,
        )
        for t in PlayerTotal.objects.all()
    }  # fmt: skip


def names() -> dict[tuple[str, int, str], object]:
    return {(n.steam_id_64, n.server_id, n.name): n.last_used_at for n in PlayerName.objects.all()}


def folded_ids() -> set[int]:
    return set(PlayerSession.objects.filter(folded=True).values_list("pk", flat=True))


# --- what is folded --------------------------------------------------------------


def test_it_folds_exactly_the_sessions_closed_before_the_final_age(coop):
    final = played(coop, ALICE, "alice", 30 * HOUR, 26 * HOUR)
    played(coop, ALICE, "alice", 25 * HOUR + 60, FINAL_AFTER.total_seconds())  # on the line
    played(coop, ALICE, "alice", 24 * HOUR + 60, 24 * HOUR)  # the poller may re-open it
    played(coop, ALICE, "alice", 3 * HOUR, 2 * HOUR)
    played(coop, ALICE, "alice", 40 * HOUR, seen=30 * HOUR)  # open for ever so long
    assert fold_final_sessions(now=T0) == 1
    assert folded_ids() == {final.pk}
    assert totals() == {(ALICE, coop.pk): (1, 4 * HOUR, ago(30 * HOUR), ago(26 * HOUR))}
    assert names() == {(ALICE, coop.pk, "alice"): ago(30 * HOUR)}


def test_it_adds_up_per_player_and_server(coop, versus):
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    played(coop, ALICE, "Alice II", 90 * HOUR, 89.5 * HOUR)
    played(versus, ALICE, "alice", 80 * HOUR, 79.75 * HOUR)
    played(coop, BOB, "bob", 95 * HOUR, 94 * HOUR)
    assert fold_final_sessions(now=T0) == 4
    assert totals() == {
        (ALICE, coop.pk): (2, 1.5 * HOUR, ago(100 * HOUR), ago(89.5 * HOUR)),
        (ALICE, versus.pk): (1, 0.25 * HOUR, ago(80 * HOUR), ago(79.75 * HOUR)),
        (BOB, coop.pk): (1, HOUR, ago(95 * HOUR), ago(94 * HOUR)),
    }
    assert names() == {
        (ALICE, coop.pk, "alice"): ago(100 * HOUR),
        (ALICE, coop.pk, "Alice II"): ago(90 * HOUR),
        (ALICE, versus.pk, "alice"): ago(80 * HOUR),
        (BOB, coop.pk, "bob"): ago(95 * HOUR),
    }


def test_it_adds_later_folds_into_the_stored_totals(coop):
    """Sums add up; first seen only moves earlier and last seen only later, whatever the order."""
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    fold_final_sessions(now=T0)
    played(coop, ALICE, "alice", 200 * HOUR, 50 * HOUR)  # began earlier, ended later
    played(coop, ALICE, "old", 300 * HOUR, 299 * HOUR)
    fold_final_sessions(now=T0)
    played(coop, ALICE, "alice", 98 * HOUR, 97 * HOUR)  # inside: moves neither
    fold_final_sessions(now=T0)
    assert totals() == {(ALICE, coop.pk): (4, 153 * HOUR, ago(300 * HOUR), ago(50 * HOUR))}
    assert names() == {
        (ALICE, coop.pk, "alice"): ago(98 * HOUR),
        (ALICE, coop.pk, "old"): ago(300 * HOUR),
    }


def test_folding_again_adds_nothing(coop, versus):
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    played(versus, BOB, "bob", 50 * HOUR, 49 * HOUR)
    assert fold_final_sessions(now=T0) == 2
    before = totals(), names()
    assert fold_final_sessions(now=T0) == 0
    assert fold_final_sessions(now=T0 + timedelta(days=5)) == 0
    assert (totals(), names()) == before


def test_it_folds_in_batches_to_the_same_totals(coop, versus):
    for i in range(7):
        played(coop if i % 2 else versus, ALICE, f"n{i % 3}", (50 + i) * HOUR, (49 + i) * HOUR)
    assert fold_final_sessions(now=T0, batch=2) == 7
    assert len(folded_ids()) == 7
    batched = totals(), names()
    PlayerTotal.objects.all().delete()
    PlayerName.objects.all().delete()
    PlayerSession.objects.update(folded=False)
    assert fold_final_sessions(now=T0) == 7
    assert (totals(), names()) == batched


def test_a_failed_fold_leaves_no_half(coop, monkeypatch):
    """Totals and the folded marks are written together or not at all."""
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)

    def broken(sessions):
        raise RuntimeError("crash after the totals")

    monkeypatch.setattr("livestate.player_totals._add_names", broken)
    with pytest.raises(RuntimeError):
        fold_final_sessions(now=T0)
    assert (totals(), folded_ids()) == ({}, set())
    monkeypatch.undo()
    assert fold_final_sessions(now=T0) == 1
    assert totals()[(ALICE, coop.pk)][0] == 1


@pytest.mark.parametrize("count", [1, 300])
def test_a_batch_costs_the_same_queries_however_many_sessions(coop, versus, count):
    for i in range(count):
        played(coop if i % 2 else versus, str(76561198000000000 + i), "x", 50 * HOUR, 49 * HOUR)
    with CaptureQueriesContext(connection) as ctx:
        fold_final_sessions(now=T0)
    # select a batch, two upserts, the marks; then a select that finds nothing
    # (and the transactions' savepoint statements, if any).
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 5


# --- the history reads the same before and after ---------------------------------


@pytest.fixture
def lifetime(make_server):
    """A player on three servers, one hidden: old, recent and open sessions, fractions of seconds."""
    coop, versus = make_server(name="coop", listed=True), make_server(name="versus", listed=True)
    hidden = make_server(name="hidden", listed=True, players_public=False)
    for day in range(40):
        base = (60 - day) * 24 * HOUR
        played(coop, ALICE, f"alice{day % 4}", base + 0.25, base - 1800.5)
        played(versus, ALICE, "alice", base - 5 * HOUR, base - 5.5 * HOUR + 0.125)
    played(hidden, ALICE, "SecretAlice", 70 * 24 * HOUR, 69 * 24 * HOUR)
    played(hidden, ALICE, "SecretAlice", 3 * HOUR, 2 * HOUR)
    played(coop, ALICE, "alice-today", 3 * HOUR, 2 * HOUR)  # closed 2 h ago: stays unfolded
    played(versus, ALICE, "alice-now", HOUR, seen=5)  # playing now
    played(coop, BOB, "bob", 90 * 24 * HOUR, 89 * 24 * HOUR)
    return coop, versus, hidden


def as_read(servers):
    h = found(ALICE, servers, page=2)
    return (
        h.playtime_seconds, h.sessions, h.first_seen, h.last_seen, h.online_on, h.names,
        h.servers, h.page,
    )  # fmt: skip


def test_the_history_is_the_same_before_and_after_folding(lifetime):
    coop, _, hidden = lifetime
    views = [
        Server.objects.all(),
        Server.objects.filter(players_public=True),
        Server.objects.filter(pk=coop.pk),
        Server.objects.filter(pk=hidden.pk),
    ]
    before = [as_read(servers) for servers in views]
    assert fold_final_sessions(now=T0) == 40 + 40 + 1 + 1
    assert PlayerTotal.objects.filter(steam_id_64=ALICE).count() == 3
    assert [as_read(servers) for servers in views] == before


def test_a_session_closed_two_hours_ago_is_not_folded_and_still_counts(coop):
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    recent = played(coop, ALICE, "alice-today", 3 * HOUR, 2 * HOUR)
    fold_final_sessions(now=T0)
    assert PlayerSession.objects.get(pk=recent.pk).folded is False
    h = found(ALICE, Server.objects.all())
    assert (h.sessions, h.playtime_seconds, h.last_seen) == (2, 2 * HOUR, ago(2 * HOUR))
    assert h.names[0].name == "alice-today"


def test_a_name_used_only_where_players_are_hidden_stays_hidden(coop, make_server):
    hidden = make_server(listed=True, players_public=False)
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    played(hidden, ALICE, "SecretAlice", 50 * HOUR, 49 * HOUR)
    fold_final_sessions(now=T0)
    h = found(ALICE, Server.objects.filter(players_public=True))
    assert [n.name for n in h.names] == ["alice"]
    assert [s.server_id for s in h.servers] == [coop.pk]


def test_totals_alone_make_a_player_known(coop):
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    fold_final_sessions(now=T0)
    PlayerSession.objects.all().delete()  # as retention would
    h = found(ALICE, Server.objects.all())
    assert (h.sessions, h.playtime_seconds, h.first_seen) == (1, HOUR, ago(100 * HOUR))
    assert h.page is not None
    assert (h.page.rows, h.page.listed, h.page.num_pages) == ([], 0, 1)
    assert player_history(ALICE, Server.objects.none()) is None


def test_deleting_a_server_deletes_its_totals(coop, versus):
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    played(versus, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    fold_final_sessions(now=T0)
    coop.delete()
    assert set(totals()) == {(ALICE, versus.pk)}
    assert set(names()) == {(ALICE, versus.pk, "alice")}


def test_staff_find_totals_by_steam_id_and_cannot_change_them(staff_client, coop):
    played(coop, ALICE, "alice", 100 * HOUR, 99 * HOUR)
    played(coop, BOB, "bob", 100 * HOUR, 99 * HOUR)
    fold_final_sessions(now=T0)
    url = reverse("admin:livestate_playertotal_changelist")
    found = staff_client.get(url, {"q": BOB}).content.decode().split("result_list")[1]
    assert BOB in found
    assert ALICE not in found
    row = PlayerTotal.objects.get(steam_id_64=BOB)
    for name in ("add", "delete"):
        args = [] if name == "add" else [row.pk]
        assert (
            staff_client.get(reverse(f"admin:livestate_playertotal_{name}", args=args)).status_code
            == 403
        )
    change = reverse("admin:livestate_playertotal_change", args=[row.pk])
    assert staff_client.post(change, {"sessions": 99}).status_code == 403
    assert PlayerTotal.objects.get(pk=row.pk).sessions == 1


# --- retention and the tasks -------------------------------------------------------


def test_the_totals_survive_the_prune_of_their_sessions(coop):
    now = timezone.now()
    played(coop, ALICE, "alice", 41 * 24 * HOUR, 40 * 24 * HOUR, now=now)
    played(coop, ALICE, "alice", 3 * HOUR, 2 * HOUR, now=now)
    before = found(ALICE, Server.objects.all(), page=None)
    assert services.prune_live_state(days=30).sessions == 1
    after = found(ALICE, Server.objects.all())
    assert (after.sessions, after.playtime_seconds, after.first_seen) == (
        before.sessions, before.playtime_seconds, before.first_seen,
    )  # fmt: skip
    assert after.page is not None
    assert (after.sessions, after.page.listed) == (2, 1)


def test_prune_folds_before_it_deletes(coop):
    now = timezone.now()
    played(coop, ALICE, "alice", 41 * 24 * HOUR, 40 * 24 * HOUR, now=now)
    assert services.prune_live_state(days=30, dry_run=True).sessions == 1
    assert not PlayerTotal.objects.exists()  # a dry run changes nothing
    assert services.prune_live_state(days=30).sessions == 1
    assert not PlayerSession.objects.exists()
    assert totals() == {
        (ALICE, coop.pk): (1, 24 * HOUR, ago(41 * 24 * HOUR, now), ago(40 * 24 * HOUR, now))
    }


def test_prune_never_deletes_a_session_it_could_not_fold(coop):
    """Retention of a day is shorter than FINAL_AFTER: a session between the two is kept."""
    now = timezone.now()
    final = played(coop, ALICE, "alice", 27 * HOUR, 26 * HOUR, now=now)
    waiting = played(coop, ALICE, "alice", 25 * HOUR, 24.5 * HOUR, now=now)
    assert services.prune_live_state(days=1, dry_run=True).sessions == 1
    assert services.prune_live_state(days=1).sessions == 1
    assert list(PlayerSession.objects.values_list("pk", "folded")) == [(waiting.pk, False)]
    assert not PlayerSession.objects.filter(pk=final.pk).exists()
    h = found(ALICE, Server.objects.all())
    assert (h.sessions, h.playtime_seconds) == (2, 1.5 * HOUR)


def test_the_rollup_task_folds(coop):
    played(coop, ALICE, "alice", 30 * HOUR, 26 * HOUR, now=timezone.now())
    tasks.rollup()
    assert PlayerSession.objects.get().folded
    assert PlayerTotal.objects.get().sessions == 1


# --- two folds at once -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time")
def test_two_folds_at_once_add_each_session_once(make_server, monkeypatch):
    """The prune and rollup tasks may fold together: each skips the batch the other holds."""
    from livestate import player_totals

    server = make_server()
    played(server, ALICE, "alice", 100 * HOUR, 99 * HOUR)  # the worker takes this one first
    played(server, BOB, "bob", 90 * HOUR, 89 * HOUR)
    holding, release = threading.Event(), threading.Event()
    add_totals = player_totals._add_totals

    def slow_in_the_thread(sessions):
        add_totals(sessions)
        if threading.current_thread() is not threading.main_thread():
            holding.set()
            release.wait(10)

    monkeypatch.setattr(player_totals, "_add_totals", slow_in_the_thread)
    folded_there: list[int] = []

    def other_worker():
        try:
            folded_there.append(fold_final_sessions(now=T0, batch=1))
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert holding.wait(10)
    folded_here = fold_final_sessions(now=T0, batch=1)  # skips the row the worker holds
    release.set()
    worker.join(10)
    assert (folded_here, folded_there) == (1, [1])
    assert {key: value[:2] for key, value in totals().items()} == {
        (ALICE, server.pk): (1, HOUR),
        (BOB, server.pk): (1, HOUR),
    }
