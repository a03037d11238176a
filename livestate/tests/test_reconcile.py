"""The session and snapshot rules, decided without sockets or a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from left4me.rcon import RosterEntry, Status
from livestate.reconcile import (
    ClosedSession,
    LastAnswer,
    OpenSession,
    plan_failure,
    plan_success,
    session_allowance,
)

pytestmark = pytest.mark.nodb

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GAP = timedelta(seconds=30)
ALICE = "76561197960287930"
BOB = "76561197985018726"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def status(*roster: RosterEntry, map: str = "c1m1_hotel", hibernating: bool = False) -> Status:
    return Status(
        map=map, players=len(roster), bots=0, max_players=4, hibernating=hibernating, roster=roster
    )


def player(steam_id: str = ALICE, connected: int = 30, ping: int = 50) -> RosterEntry:
    return RosterEntry(steam_id_64=steam_id, name="Alice", connected_seconds=connected, ping=ping)


def session(joined: float = 0, seen: float = 30, steam_id: str = ALICE) -> OpenSession:
    return OpenSession(7, steam_id, at(joined), at(seen), 40, 60)


def success(st: Status, now: float, sessions=(), last=None, closed=None):
    return plan_success(
        status=st,
        observed_at=at(now),
        open_sessions=list(sessions),
        last=last,
        recently_closed=closed or {},
        max_gap=GAP,
    )


def test_it_opens_a_session_backdated_by_connected_time():
    changes = success(status(player(connected=125)), now=300)
    [new] = changes.open
    assert new.joined_at == at(175)
    assert new.steam_id_64 == ALICE
    assert changes.close == []


def test_it_keeps_a_continuing_player_open_and_widens_the_ping_range():
    changes = success(status(player(connected=35, ping=90)), now=35, sessions=[session()])
    assert changes.touch == [(at(35), 40, 90, 7)]
    assert changes.open == []
    assert changes.close == []


def test_it_closes_a_missing_player_at_the_last_observation():
    changes = success(status(), now=35, sessions=[session(seen=30)])
    assert changes.close == [(at(30), 7)]


def test_it_splits_a_reconnect_between_polls_into_two_sessions():
    # Seen at 30 s with 30 s connected; at 35 s only 2 s connected: a new connection.
    changes = success(status(player(connected=2)), now=35, sessions=[session(seen=30)])
    assert changes.close == [(at(30), 7)]
    assert [n.joined_at for n in changes.open] == [at(33)]


def test_it_detects_a_reconnect_even_when_connected_time_grew():
    # A long outage hides the drop: last seen at 30 s, back at 300 s with 100 s connected.
    changes = success(status(player(connected=100)), now=300, sessions=[session(seen=30)])
    assert changes.close == [(at(30), 7)]
    assert [n.joined_at for n in changes.open] == [at(200)]


def test_it_splits_a_reconnect_seconds_after_joining():
    # Issue 14: seen at 115 s with 3 s on, at 120 s with 4 s on: this connection began
    # at 116 s, not 112 s. Before, 4 s was compared with max(5 s since seen, 3 s reached),
    # where a connection that went on would show their sum.
    changes = success(status(player(connected=4)), now=120, sessions=[session(112, seen=115)])
    assert changes.close == [(at(115), 7)]
    assert [n.joined_at for n in changes.open] == [at(116)]


def test_it_tells_a_reconnect_during_a_freeze_by_the_implied_join():
    # Last seen at 30 s, then a freeze; back at 45 s with 10 s on: it began at 35 s.
    changes = success(status(player(connected=10)), now=45, sessions=[session(seen=30)])
    assert changes.close == [(at(30), 7)]
    assert [n.joined_at for n in changes.open] == [at(35)]


@pytest.mark.parametrize(
    ("joined", "now", "connected"),
    [
        (10.9, 15, 5),  # implies 10.0 s: first seen 0.9 s after it began (whole seconds)
        (10.0, 21.9, 10),  # implies 11.9 s: rounding, plus a reply stamped late
        (10.0, 17, 5),  # implies 12.0 s: exactly the tolerance
        (100, 140, 50),  # implies 90 s: a start held back by an older rule, same connection
    ],
)
def test_the_same_connection_keeps_its_session(joined, now, connected):
    changes = success(
        status(player(connected=connected)), now=now, sessions=[session(joined, seen=now - 5)]
    )
    assert (changes.close, changes.open, len(changes.touch)) == ([], [], 1)


def test_a_join_implied_just_past_the_tolerance_is_a_new_connection():
    changes = success(status(player(connected=5)), now=17.1, sessions=[session(10, seen=12)])
    assert [n.joined_at for n in changes.open] == [at(12.1)]


def test_a_reconnect_told_late_ends_the_session_before_the_new_connection_began():
    # Joined at 9 s; a reconnect 1.5 s later looked like the same connection in whole
    # seconds, so polls at 15 s and 20 s touched the session. At 26.2 s the new
    # connection implies 11.2 s: the old one had ended by 10.2 s, not at 20 s.
    changes = success(status(player(connected=15)), now=26.2, sessions=[session(9, seen=20)])
    assert changes.close == [(at(10.2), 7)]
    assert [n.joined_at for n in changes.open] == [at(11.2)]


def test_it_tolerates_a_second_of_jitter_in_connected_time():
    changes = success(status(player(connected=34)), now=35, sessions=[session(seen=30)])
    assert changes.close == []
    assert len(changes.touch) == 1


def test_it_reopens_a_session_closed_during_an_outage_on_the_same_connection():
    closed = {ALICE: ClosedSession(9, at(0), at(30), 45, 55)}
    changes = success(status(player(connected=200, ping=70)), now=200, closed=closed)
    assert changes.reopen == [(at(200), 45, 70, 9)]
    assert changes.open == []


def test_it_reopens_a_session_whose_start_was_held_back():
    closed = {ALICE: ClosedSession(9, at(100), at(130), 45, 55)}
    changes = success(status(player(connected=50)), now=140, closed=closed)
    assert [r.session_id for r in changes.reopen] == [9]


def test_it_opens_anew_when_the_closed_session_was_another_connection():
    closed = {ALICE: ClosedSession(9, at(0), at(30), 45, 55)}
    changes = success(status(player(connected=20)), now=200, closed=closed)
    assert changes.reopen == []
    assert [n.joined_at for n in changes.open] == [at(180)]


def test_it_ends_the_last_session_before_a_newer_connection_it_saw_began():
    # Seen until 100 s, but the connection on now began at 90 s: the session's
    # last observations were of this one, so it ended before (never two at once).
    closed = {ALICE: ClosedSession(9, at(0), at(100), 45, 55)}
    changes = success(status(player(connected=50)), now=140, closed=closed)
    assert changes.close == [(at(89), 9)]
    assert [n.joined_at for n in changes.open] == [at(90)]


def test_it_counts_a_duplicated_row_once():
    changes = success(status(player(), player()), now=30)
    assert len(changes.open) == 1


def snapshot(seen: float, **state) -> LastAnswer:
    fields: dict[str, Any] = {
        "players": 1,
        "max_players": 4,
        "bots": 0,
        "map": "c1m1_hotel",
        "hibernating": False,
    }
    fields.update(state)
    return LastAnswer(snapshot_id=3, answered_at=at(seen), **fields)


def test_it_extends_the_snapshot_run_when_nothing_changed():
    changes = success(status(player()), now=35, last=snapshot(30))
    assert changes.snapshot_touch == 3
    assert changes.snapshot_new is None


@pytest.mark.parametrize(
    ("state", "st"),
    [
        ({"map": "c1m2_streets"}, status(player())),
        ({}, status(player(), hibernating=True)),
        ({"players": 2}, status(player())),
    ],
)
def test_it_starts_a_new_snapshot_on_any_change(state, st):
    changes = success(st, now=35, last=snapshot(30, **state))
    assert changes.snapshot_touch is None
    assert changes.snapshot_new == st


def test_it_starts_a_run_on_a_first_answer_even_when_counts_match_the_defaults():
    never = LastAnswer(None, None, players=1, max_players=4, bots=0, map="c1m1_hotel",
                       hibernating=False)  # fmt: skip
    changes = success(status(player()), now=35, last=never)
    assert changes.snapshot_touch is None
    assert changes.snapshot_new is not None


def test_it_starts_a_new_snapshot_after_a_gap_so_the_gap_stays_visible():
    changes = success(status(player()), now=300, last=snapshot(30))
    assert changes.snapshot_new is not None


def test_it_keeps_sessions_open_through_a_short_outage():
    changes = plan_failure(
        observed_at=at(80),
        open_sessions=[session(seen=30)],
        last=snapshot(30),
        stuck_after=timedelta(seconds=60),
    )
    assert changes.close == []


def test_it_closes_stuck_sessions_at_their_last_observation():
    changes = plan_failure(
        observed_at=at(91),
        open_sessions=[session(seen=30)],
        last=snapshot(30),
        stuck_after=timedelta(seconds=60),
    )
    assert changes.close == [(at(30), 7)]


def test_it_opens_no_more_sessions_than_its_budget_and_counts_the_rest():
    crowd = status(*(player(str(int(ALICE) + i)) for i in range(5)))
    changes = plan_success(
        status=crowd, observed_at=at(30), open_sessions=[], last=None, recently_closed={},
        max_gap=GAP, open_budget=3,
    )  # fmt: skip
    assert (len(changes.open), changes.over_budget) == (3, 2)


def test_a_reconnect_over_budget_still_closes_the_old_session():
    changes = plan_success(
        status=status(player(connected=5)), observed_at=at(300), open_sessions=[session(seen=290)],
        last=None, recently_closed={}, max_gap=GAP, open_budget=0,
    )  # fmt: skip
    assert (changes.close, changes.open, changes.over_budget) == ([(at(290), 7)], [], 1)


def test_the_session_budget_refills_at_its_rate_up_to_its_size():
    spent = LastAnswer(3, at(0), 1, 4, 0, "m", False, session_allowance=0.0)
    assert session_allowance(spent, at(30), per_minute=64) == pytest.approx(32)
    assert session_allowance(spent, at(600), per_minute=64) == 64
    assert session_allowance(None, at(0), per_minute=64) == 64
