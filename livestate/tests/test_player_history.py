"""One player's history across servers, added up by the database, from known sessions.

Every test runs twice: on the sessions as recorded, and with every closed one
folded into the stored totals first. The history must not tell the difference.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from livestate.models import PlayerSession
from livestate.player_history import (
    SESSION_PAGES_LIMIT,
    SESSIONS_PER_PAGE,
    NameSeen,
    PlayerHistory,
    is_steam_id_64,
    player_history,
)
from livestate.player_totals import fold_final_sessions
from livestate.tests.helpers import ALICE, BOB, T0
from servers.models import Server

pytestmark = pytest.mark.django_db


def found(*args, **kwargs) -> PlayerHistory:
    """player_history() of a player known on these servers (never None here)."""
    history = player_history(*args, **kwargs)
    assert history is not None
    return history


LATER = T0 + timedelta(days=1000)  # every session of these tests is final by then
FOLDED: list[bool] = []  # not empty while a test runs on folded sessions


@pytest.fixture(autouse=True, params=["as recorded", "folded"])
def folding(request):
    FOLDED[:] = [True] if request.param == "folded" else []
    yield
    FOLDED.clear()


def t(seconds: float):
    return T0 + timedelta(seconds=seconds)


def played(server, steam_id, name, joined, left=None, *, seen=None) -> PlayerSession:
    """A session from `joined` to `left` seconds after T0; open (seen until `seen`) if no `left`."""
    return PlayerSession.objects.create(
        server=server,
        steam_id_64=steam_id,
        name_at_join=name,
        joined_at=t(joined),
        left_at=None if left is None else t(left),
        last_seen_at=t(left if left is not None else seen),
        min_ping=40,
        max_ping=60,
    )


@pytest.fixture
def coop(make_server):
    return make_server(name="coop")


@pytest.fixture
def versus(make_server):
    return make_server(name="versus")


@pytest.fixture
def alice(coop, versus):
    """Alice: 1 h and 30 min on coop, then 10 min on versus where she is still playing."""
    played(coop, ALICE, "alice", 0, 3600)
    played(coop, ALICE, "Alice the Second", 7200, 9000)
    played(versus, ALICE, "alice", 10_000, seen=10_600)
    played(coop, BOB, "bob", -5000, 20_000)  # someone else's sessions never count
    return ALICE


def history(steam_id=ALICE, servers=None, **kwargs):
    if FOLDED:
        fold_final_sessions(now=LATER)
        assert not PlayerSession.objects.closed().filter(folded=False).exists()
    return player_history(steam_id, Server.objects.all() if servers is None else servers, **kwargs)


def test_it_adds_up_playtime_and_sessions(alice):
    h = history()
    assert h.playtime_seconds == 3600 + 1800 + 600
    assert h.sessions == 3


def test_it_knows_first_and_last_seen(alice):
    h = history()
    assert h.first_seen == t(0)
    assert h.last_seen == t(10_600)  # the open session counts until it was last seen


def test_it_lists_names_newest_first_with_when_last_used(alice):
    assert history().names == [NameSeen("alice", t(10_000)), NameSeen("Alice the Second", t(7200))]


def test_it_gives_each_servers_playtime_most_first(alice, coop, versus):
    rows = [(s.server_id, s.name, s.playtime_seconds, s.sessions) for s in history().servers]
    assert rows == [(coop.pk, "coop", 5400, 2), (versus.pk, "versus", 600, 1)]
    assert history().servers[1].last_seen == t(10_600)


def test_it_says_where_the_player_is_online(alice, versus):
    assert history().online_on == versus.pk


def test_it_is_offline_when_every_session_closed(coop):
    played(coop, ALICE, "alice", 0, 60)
    assert history().online_on is None


def test_it_counts_an_open_session_until_it_was_last_seen(coop):
    played(coop, ALICE, "alice", 0, seen=125)
    h = history()
    assert (h.playtime_seconds, h.last_seen, h.online_on) == (125, t(125), coop.pk)


def test_it_keeps_fractions_of_seconds_over_days(coop):
    played(coop, ALICE, "alice", 0.25, 3 * 86400 + 0.75)  # 3 days and half a second
    played(coop, ALICE, "alice", 86400 * 10, 86400 * 10 + 0.4)
    assert history().playtime_seconds == 3 * 86400 + 1  # 259200.9 s, rounded


def test_it_counts_only_the_servers_it_is_given(alice, coop, versus):
    h = history(servers=Server.objects.filter(pk=coop.pk))
    assert (h.playtime_seconds, h.sessions, h.online_on) == (5400, 2, None)
    assert h.last_seen == t(9000)
    assert [s.server_id for s in h.servers] == [coop.pk]


def test_it_has_no_history_without_a_session_on_those_servers(alice, versus):
    assert history(servers=Server.objects.none()) is None
    assert history("76561197960265729") is None  # a player never seen


@pytest.mark.parametrize(
    "value",
    ["", "7656119796026572", "765611979602657280", "12345678901234567", "7656119796026572a",
     "76561197960265728\n", " 76561197960265728", "7656119796026572\uff17", "+7656119796026572",
     "76561197960265727", "76561202255233024", "99999999999999999"],
)  # fmt: skip
def test_it_refuses_what_is_not_a_steam_id_64(value):
    assert not is_steam_id_64(value)
    assert player_history(value, Server.objects.none()) is None


@pytest.mark.parametrize(
    "value",
    [ALICE, "76561197960265728", "76561199999999999", "76561200000000000", "76561202255233023"],
)
def test_it_accepts_every_individual_account(value):
    """Account numbers are 32 bits: new accounts will soon start 7656120…, not 7656119…."""
    assert is_steam_id_64(value)


def many(server, steam_id, count, *, start=0):
    """`count` one-minute sessions, one per hour from `start`, oldest first."""
    PlayerSession.objects.bulk_create(
        PlayerSession(
            server=server,
            steam_id_64=steam_id,
            name_at_join=f"name{i % 7}",
            joined_at=t(start + i * 3600),
            left_at=t(start + i * 3600 + 60),
            last_seen_at=t(start + i * 3600 + 60),
            min_ping=1,
            max_ping=2,
        )
        for i in range(count)
    )


def test_it_pages_sessions_newest_first(coop):
    many(coop, ALICE, 2 * SESSIONS_PER_PAGE + 3)
    first = history().page
    second = history(page=2).page
    third = history(page=3).page
    assert (first.number, first.num_pages) == (1, 3)
    assert (first.has_previous, first.has_next) == (False, True)
    assert first.rows[0].joined_at == t((2 * SESSIONS_PER_PAGE + 2) * 3600)
    assert second.rows[0].joined_at == first.rows[-1].joined_at - timedelta(hours=1)
    assert len(third.rows) == 3
    assert third.rows[-1].joined_at == t(0)
    assert (third.has_next, third.has_previous) == (False, True)
    assert third.rows[0].seconds == 60


def test_it_clamps_the_page_number(coop):
    many(coop, ALICE, SESSIONS_PER_PAGE + 1)
    assert history(page=99).page.number == 2
    assert history(page=0).page.number == 1
    assert history(page=-3).page.rows[0].joined_at == t(SESSIONS_PER_PAGE * 3600)


def test_it_lists_only_the_newest_sessions_of_a_churned_steam_id(coop, settings):
    many(coop, ALICE, SESSIONS_PER_PAGE * SESSION_PAGES_LIMIT + 10)
    h = history(page=10**6)
    assert h.sessions == SESSIONS_PER_PAGE * SESSION_PAGES_LIMIT + 10  # totals count them all
    assert (h.page.number, h.page.num_pages) == (SESSION_PAGES_LIMIT, SESSION_PAGES_LIMIT)
    assert h.page.listed == SESSIONS_PER_PAGE * SESSION_PAGES_LIMIT
    assert len(h.page.rows) == SESSIONS_PER_PAGE
    assert h.page.rows[-1].joined_at == t(10 * 3600)  # the 10 oldest are not listed
    assert not h.page.has_next
    assert h.page.more


def test_it_says_when_every_kept_session_is_listed(coop):
    many(coop, ALICE, SESSIONS_PER_PAGE * SESSION_PAGES_LIMIT)
    h = history()
    assert (h.page.listed, h.page.more) == (SESSIONS_PER_PAGE * SESSION_PAGES_LIMIT, False)


def test_it_reads_no_page_when_none_is_asked(coop, django_assert_num_queries):
    many(coop, ALICE, 3)
    history()  # folds, when this test runs on folded sessions
    with django_assert_num_queries(3):
        assert found(ALICE, Server.objects.all(), page=None).page is None


def test_it_shows_an_open_session_as_playing_now(coop):
    played(coop, ALICE, "alice", 0, seen=90)
    (row,) = history().page.rows
    assert (row.left_at, row.seconds, row.server_name) == (None, 90, "coop")


@pytest.mark.parametrize("count", [1, 300])
def test_it_costs_five_queries_however_many_sessions(
    coop, versus, count, django_assert_num_queries
):
    """Figures, stored names, recent names, the count of sessions kept, a page of them."""
    many(coop, ALICE, count)
    many(versus, ALICE, count, start=1800)
    played(versus, ALICE, "now", 10**7, seen=10**7 + 60)
    history()  # folds, when this test runs on folded sessions
    with django_assert_num_queries(5):
        h = found(ALICE, Server.objects.all(), page=2)
        assert h.sessions == 2 * count + 1
