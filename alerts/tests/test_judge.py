"""The rules of each event, without a database: alerts/judge.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.judge import Context, Memory, Observation, duration, judge

pytestmark = pytest.mark.nodb

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ctx(t: float, *, alive: bool = True) -> Context:
    return Context(at(t), timedelta(seconds=60), timedelta(seconds=15), polling_alive=alive)


def answer(t: float, players: int = 0) -> Observation:
    return Observation(True, "running", at(t), at(t), None, players)


def failed(t: float, last_answer: float, state: str = "unreachable") -> Observation:
    return Observation(True, state, at(t), at(last_answer), None, 0, "connection refused")


def players_series(event: str, n: int, counts: list[int], memory: Memory | None = None):
    memory = memory or Memory()
    fired = []
    for i, count in enumerate(counts):
        t = 5 * i
        if judge(event, n, memory, answer(t, count), ctx(t)):
            fired.append(t)
    return fired


def test_it_fires_once_for_a_count_flapping_around_the_threshold():
    assert players_series("players_at_least", 4, [0, 4, 3, 4, 3, 4, 3, 4]) == [5]


def test_it_rearms_when_the_count_goes_back_past_the_margin():
    assert players_series("players_at_least", 4, [0, 4, 3, 2, 4]) == [5, 20]


def test_it_rearms_after_a_minute_on_the_other_side():
    counts = [0, 4] + [3] * 13 + [4]  # 3 from t=10 to t=70: 60 s
    assert players_series("players_at_least", 4, counts) == [5, 75]
    assert players_series("players_at_least", 4, [0, 4] + [3] * 12 + [4]) == [5]


def test_it_fires_at_most_alerts_the_mirror_way():
    assert players_series("players_at_most", 0, [3, 0, 1, 0, 1, 2, 0]) == [5, 30]


def test_it_adopts_the_present_count_of_a_new_rule_without_firing():
    assert players_series("players_at_least", 2, [5, 5, 5]) == []
    assert players_series("players_at_most", 0, [0, 0, 1, 0]) == []


def test_it_calls_a_server_down_after_a_minute_without_an_answer():
    memory = Memory()
    judge("down", None, memory, answer(0), ctx(0))
    fired = [t for t in range(5, 120, 5) if judge("down", None, memory, failed(t, 0), ctx(t))]
    assert fired == [60]
    assert memory.outage_since == at(0)


def test_it_never_calls_a_server_down_on_one_lost_poll_or_an_auth_failure():
    memory = Memory()
    for t in range(0, 300, 5):
        seen = failed(t, t - 5) if t % 30 == 0 else answer(t)
        assert judge("down", None, memory, seen, ctx(t)) is None
    for t in range(300, 500, 5):
        assert judge("down", None, memory, failed(t, 295, "auth_failed"), ctx(t)) is None


def test_it_judges_no_outage_while_the_panel_is_not_polling():
    memory = Memory()
    judge("down", None, memory, answer(0), ctx(0))
    for t in range(5, 300, 5):
        assert judge("down", None, memory, failed(t, 0), ctx(t, alive=False)) is None
    stale = Observation(True, "unreachable", at(5), at(0))  # last polled at 5
    assert judge("down", None, memory, stale, ctx(100)) is None
    assert judge("down", None, memory, failed(100, 0), ctx(100)) is not None


def test_it_counts_an_outage_from_when_the_rule_began_watching():
    memory = Memory()
    assert judge("down", None, memory, failed(1000, 0), ctx(1000)) is None  # watching from 1000
    assert judge("down", None, memory, failed(1055, 0), ctx(1055)) is None
    assert judge("down", None, memory, failed(1060, 0), ctx(1060)) is not None


def test_it_says_up_once_after_an_outage_and_keys_both_alike():
    down, up = Memory(), Memory()
    for t in range(0, 100, 5):
        seen = answer(t) if t == 0 else failed(t, 0)
        judge("down", None, down, seen, ctx(t))
        judge("up", None, up, seen, ctx(t))
    went_up = judge("up", None, up, answer(100), ctx(100))
    assert went_up is not None
    assert went_up.key == "up:" + at(0).isoformat()
    assert went_up.reason == "answering again after 100 s"
    assert judge("up", None, up, answer(105), ctx(105)) is None
    assert judge("down", None, down, answer(100), ctx(100)) is None
    assert down.outage_since is None


def test_it_forgets_an_outage_when_the_server_is_no_longer_meant_to_run():
    memory = Memory()
    for t in range(0, 100, 5):
        judge("up", None, memory, answer(t) if t == 0 else failed(t, 0), ctx(t))
    assert memory.outage_since is not None
    judge("up", None, memory, Observation(False, "unreachable", at(100), at(0)), ctx(100))
    assert judge("up", None, memory, answer(105), ctx(105)) is None


def test_it_reports_a_rejected_password_once_per_transition():
    memory = Memory()
    rejected = Observation(True, "auth_failed", at(10), at(5), at(10))
    assert judge("password_rejected", None, memory, answer(5), ctx(5)) is None
    first = judge("password_rejected", None, memory, rejected, ctx(10))
    assert first is not None
    assert first.key == "password_rejected:" + at(10).isoformat()
    again = Observation(True, "auth_failed", at(700), at(5), at(700))
    assert judge("password_rejected", None, memory, again, ctx(700)) is None
    judge("password_rejected", None, memory, answer(1400), ctx(1400))
    later = Observation(True, "auth_failed", at(2000), at(1400), at(2000))
    assert judge("password_rejected", None, memory, later, ctx(2000)) is not None


def test_it_words_durations_for_people():
    assert [duration(timedelta(seconds=s)) for s in (75, 180, 7500)] == [
        "75 s", "3 min", "2 h 5 min",
    ]  # fmt: skip
