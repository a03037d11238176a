"""The stored history against the fleet's ground truth (SPEC 12), on a virtual clock.

Random worlds (`left4me.rcon.fleet.churn`): servers whose players join,
leave, reconnect after any delay, hop between servers and share SteamIDs,
through map changes, freezes, outages, crashes, restarts and password
changes, polled by the real service every 5 s with ticks up to 2 s late and
the odd tick skipped, then judged by `livestate.truth.judge`. A failing
seed is named with the command that replays it; `LEFT4ME_TRUTH_SEEDS=1-500`
runs other seeds. Scripted cases pin each hard case down on its own.
"""

from __future__ import annotations

import os

import pytest

from left4me.rcon.fleet import running_fleet
from left4me.rcon.fleet.churn import World, churn_world
from livestate import services
from livestate.models import PlayerSession
from livestate.tests.helpers import ALICE, BOB, T0, at
from livestate.truth import Recorded, Stint, Verdict, judge, recorded_sessions, stints_from_truth
from servers.models import Server

POLL = 5.0
SERVERS = 20
MINUTES = 3
SUITE_SEEDS = "1-8"  # 2,980 stints played, 2,215 of them had to be recorded
REGRESSION_SEED = 11  # issue 14: a reconnect 3 s after joining was stored as one session
db = pytest.mark.django_db


def seeds() -> list[int]:
    """LEFT4ME_TRUTH_SEEDS ("7", "1-500", "3,9,20-30"), else the suite's own."""
    chosen: list[int] = []
    for part in os.environ.get("LEFT4ME_TRUTH_SEEDS", SUITE_SEEDS).split(","):
        low, _, high = part.partition("-")
        chosen += range(int(low), int(high or low) + 1)
    return chosen


@pytest.fixture
def truth_settings(settings):
    settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS = 0.3
    settings.LIVE_STATE_POLL_SECONDS = POLL
    settings.STUCK_SESSION_SECONDS = 60
    settings.LIVE_STATE_STALE_SECONDS = 30
    settings.RCON_AUTH_BACKOFF_SECONDS = 20  # a password mix-up costs a gap, not the run


def play(world: World, owner) -> Verdict:
    """Poll the world on its virtual clock as beat would, then judge what was stored."""
    with running_fleet(world.servers, clock="virtual") as fleet:
        for fake in world.servers:
            Server.objects.create(
                owner=owner, name=fake.name, port=fake.port,
                rcon_password=fake.registered_password, desired_state="running",
            )  # fmt: skip
        pending = list(world.panel_passwords)
        for t in world.poll_times(POLL):
            while pending and pending[0].at <= t:
                change = pending.pop(0)  # the owner saves the new password in the panel
                Server.objects.filter(name=change.server).update(rcon_password=change.password)
            fleet.set_clock(t)
            services.run_tick(clock=lambda: at(fleet.now()))
        stints, answers = stints_from_truth(fleet.truth()), fleet.answers()
    return judge(stints, recorded_sessions(T0), answers, interval=POLL)


def world(seed: int) -> World:
    return churn_world(seed, servers=SERVERS, duration=MINUTES * 60, hang=False)


def failure(seed: int, verdict: Verdict) -> str:
    replay = f"LEFT4ME_TRUTH_SEEDS={seed} .venv/bin/python -m pytest livestate/tests/test_truth.py"
    return f"seed {seed}: {verdict.report()}\nreplay: {replay} -k random"


def stored(server=None, who=None):
    """(joined, left) of the stored sessions, in fleet seconds."""
    rows = PlayerSession.objects.order_by("server__name", "steam_id_64", "joined_at")
    if server:
        rows = rows.filter(server__name=server)
    if who:
        rows = rows.filter(steam_id_64=who)
    return [
        (round((s.joined_at - T0).total_seconds(), 1),
         None if s.left_at is None else round((s.left_at - T0).total_seconds(), 1))
        for s in rows
    ]  # fmt: skip


@db
@pytest.mark.parametrize("seed", seeds())
def test_random_worlds_are_recorded_exactly(seed, owner, truth_settings):
    verdict = play(world(seed), owner)
    assert verdict.ok, failure(seed, verdict)
    assert verdict.required > 150  # the world really churned


@db
def test_seed_11_a_reconnect_seconds_after_joining_is_two_sessions(owner, truth_settings):
    # Before issue 14 this world stored truth 77.9-80.9 then 80.9-on as one session
    # 78-open: the reconnect test compared the new connected time with the larger of
    # "since last seen" and "reached", where a connection that went on shows their sum.
    verdict = play(world(REGRESSION_SEED), owner)
    assert verdict.ok, failure(REGRESSION_SEED, verdict)
    assert stored("churn-004", "76561197961265752") == [(78.0, 80.0), (81.0, None)]


# --- Scripted cases: each hard case on its own ---------------------------------


def join(t, who=ALICE):
    return {"at": t, "kind": "join", "steam_id_64": who, "name": who[-4:]}


def leave(t, who=ALICE):
    return {"at": t, "kind": "leave", "steam_id_64": who}


def reconnect(t, who=ALICE):
    return {"at": t, "kind": "reconnect", "steam_id_64": who}


def freeze(t, seconds):
    return {"at": t, "kind": "outage", "duration": seconds, "mode": "blackhole"}


def poll_and_judge(polled_fleet, scenarios, times):
    fleet = polled_fleet([{"password": "pw", **s} for s in scenarios])
    for fake in fleet.handle.servers:
        fake.answers = []  # keep them: the judge needs to know what could be seen
    for t in times:
        fleet.poll(t)
    verdict = judge(
        stints_from_truth(fleet.handle.truth()),
        recorded_sessions(T0),
        fleet.handle.answers(),
        interval=POLL,
    )
    assert verdict.ok, verdict.report()
    return verdict


def every(start, end, step=POLL):
    return [start + step * k for k in range(int((end - start) // step) + 1)]


@db
def test_a_reconnect_four_seconds_after_joining_is_two_sessions(polled_fleet):
    # Issue 14's first example: truth 111.8-116.0 then 116.0-139.2, stored as 112-135.
    events = [join(111.8), reconnect(116.0), leave(139.2)]
    poll_and_judge(polled_fleet, [{"name": "s", "events": events}], every(100, 150))
    assert stored() == [(112.0, 115.0), (116.0, 135.0)]


@db
def test_a_reconnect_seven_seconds_after_joining_is_two_sessions(polled_fleet):
    # Issue 14's second example: truth 133.9-141.0 then 141.0-on, stored as 134-open.
    events = [join(133.9), reconnect(141.0)]
    poll_and_judge(polled_fleet, [{"name": "s", "events": events}], every(130, 150))
    assert stored() == [(134.0, 140.0), (141.0, None)]


@db
def test_a_reconnect_too_soon_to_tell_is_split_once_the_rounding_shows_it(polled_fleet):
    # 1.5 s after joining the two connections look alike (joined 9 s vs 10.5 s, in
    # whole seconds) until a poll's rounding shows the later one: the first session
    # then ends before the new connection began, not at its own last observation.
    events = [join(9.0), reconnect(10.5)]
    poll_and_judge(polled_fleet, [{"name": "s", "events": events}], [10, 15, 20, 26.2, 30])
    assert stored() == [(9.0, 10.2), (11.2, None)]


@db
def test_a_reconnect_during_a_freeze_is_two_sessions(polled_fleet):
    events = [join(3), freeze(18, 12), reconnect(25)]
    verdict = poll_and_judge(polled_fleet, [{"name": "s", "events": events}], every(5, 60))
    assert stored() == [(3.0, 15.0), (25.0, None)]
    assert verdict.wide_gaps == 1  # the first stint's leave fell into the freeze


@db
def test_a_player_moving_between_servers_within_one_poll_is_on_each_in_turn(polled_fleet):
    scenarios = [
        {"name": "a", "events": [join(3), leave(21)]},
        {"name": "b", "events": [join(22.5)]},
    ]
    poll_and_judge(polled_fleet, scenarios, every(0, 40))
    assert (stored("a"), stored("b")) == ([(3.0, 20.0)], [(23.0, None)])


@db
def test_one_steam_id_on_two_servers_at_once_is_recorded_on_both(polled_fleet):
    scenarios = [
        {"name": "a", "events": [join(3), reconnect(12), leave(40)]},
        {"name": "b", "events": [join(10), leave(31)]},
    ]
    poll_and_judge(polled_fleet, scenarios, every(0, 50))
    assert (stored("a"), stored("b")) == ([(3.0, 10.0), (12.0, 35.0)], [(10.0, 30.0)])


@db
def test_late_polls_keep_joins_within_two_seconds(polled_fleet):
    events = [join(4.1), reconnect(13.9, ALICE), join(8.2, BOB), leave(20.5, BOB)]
    times = [0, 6.9, 10, 16.8, 20, 27, 30.5]
    poll_and_judge(polled_fleet, [{"name": "s", "max_players": 8, "events": events}], times)
    assert stored() == [(4.9, 10.0), (14.8, None), (9.0, 20.0)]  # Alice, then Bob


@db
def test_bots_never_get_sessions(polled_fleet):
    # Two humans on a four-slot server: the status lists two bots beside them.
    events = [join(3), join(4, BOB), reconnect(20, BOB)]
    poll_and_judge(polled_fleet, [{"name": "s", "events": events}], every(0, 30))
    assert set(PlayerSession.objects.values_list("steam_id_64", flat=True)) == {ALICE, BOB}


# --- The judge itself ------------------------------------------------------------


def stint(joined, left, who=ALICE, server="s"):
    return Stint(server, who, joined, left)


def session(joined, left, who=ALICE, server="s"):
    return Recorded(server, who, joined, left)


def judged(stints, sessions, answers=None):
    return judge(stints, sessions, {"s": answers or every(0, 100)}, interval=POLL)


@pytest.mark.nodb
def test_the_judge_accepts_a_history_within_the_bars():
    verdict = judged([stint(3, 32.5), stint(32.5, None)], [session(4.9, 30), session(33.9, None)])
    assert (verdict.ok, verdict.required, verdict.exact) == (True, 2, 2)
    assert verdict.join_errors == pytest.approx([1.9, 1.4])
    assert verdict.leave_errors == pytest.approx([-2.5])


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("sessions", "counts"),
    [
        ([session(3, 30)], {"missed": 1, "merges": 0}),  # the second stint never stored
        ([session(3, None)], {"missed": 2, "merges": 1}),  # both as one
        ([session(3, 15), session(15, 30), session(33, None)], {"missed": 1, "splits": 1}),
        ([session(3, 30), session(33, None), session(60, 70, BOB)], {"phantoms": 1}),
        ([session(5.5, 30), session(33, None)], {"missed": 1}),  # joined 2.5 s late
        ([session(3, 24), session(33, None)], {"missed": 1}),  # left 8.5 s early
        ([session(3, 34), session(33, None)], {"missed": 1}),  # left after the truth
    ],
)
def test_the_judge_finds_every_kind_of_error(sessions, counts):
    verdict = judged([stint(3, 32.5), stint(32.5, None)], sessions)
    assert not verdict.ok
    for name, count in counts.items():
        assert getattr(verdict, name) == count, verdict.report()


@pytest.mark.nodb
def test_the_judge_excuses_stints_no_poll_could_see_or_too_short():
    stints = [stint(1, 4), stint(9, 12.5), stint(20, None)]  # between polls; seen, but short
    verdict = judged(stints, [session(9, 10), session(20, None)])
    assert (verdict.ok, verdict.required, verdict.stints) == (True, 1, 3)


@pytest.mark.nodb
def test_the_judge_widens_the_leave_bar_by_the_silence_around_it():
    answers = [0, 5, 10, 30, 35]  # nobody answered between 10 and 30
    ok = judged([stint(3, 28)], [session(3, 10)], answers)
    assert (ok.ok, ok.wide_gaps) == (True, 1)
    assert not judged([stint(3, 28)], [session(3, 5)], answers).ok  # seen at 10: left by 5?


@pytest.mark.nodb
def test_the_judge_accepts_a_stuck_close_when_nothing_answered_after():
    verdict = judged([stint(3, None)], [session(3, 10)], [0, 5, 10])
    assert verdict.ok
