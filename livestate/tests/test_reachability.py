"""Reachability runs: every poll's outcome, run-length encoded, as uptime and outages need."""

from __future__ import annotations

from datetime import timedelta

import pytest

from livestate.models import LiveStatus, ReachabilityRun
from livestate.reachability import LastPoll, continues
from livestate.tests.helpers import at
from servers.models import Server

STALE = timedelta(seconds=30)
BACKOFF = timedelta(seconds=600)


def runs(server=None):
    rows = ReachabilityRun.objects.order_by("started_at")
    if server is not None:
        rows = rows.filter(server=server)
    return [(r.outcome, r.started_at, r.last_seen_at) for r in rows]


def seconds(*values):
    return tuple(at(v) if isinstance(v, (int, float)) else v for v in values)


class TestContinues:
    def test_the_same_outcome_soon_after_continues_the_run(self):
        last = LastPoll("running", at(0), 7)
        assert continues(last, "answered", at(5), stale=STALE, auth_backoff=BACKOFF)
        assert continues(last, "answered", at(30), stale=STALE, auth_backoff=BACKOFF)

    def test_a_silence_longer_than_stale_starts_a_new_run(self):
        last = LastPoll("running", at(0), 7)
        assert not continues(last, "answered", at(31), stale=STALE, auth_backoff=BACKOFF)

    def test_another_outcome_starts_a_new_run(self):
        last = LastPoll("running", at(0), 7)
        assert not continues(last, "unreachable", at(5), stale=STALE, auth_backoff=BACKOFF)
        last = LastPoll("unreachable", at(0), 7)
        assert not continues(last, "error", at(5), stale=STALE, auth_backoff=BACKOFF)

    def test_a_rejected_password_run_spans_its_back_off(self):
        last = LastPoll("auth_failed", at(0), 7)
        assert continues(last, "auth_failed", at(630), stale=STALE, auth_backoff=BACKOFF)
        assert not continues(last, "auth_failed", at(631), stale=STALE, auth_backoff=BACKOFF)

    def test_no_previous_run_or_a_clock_gone_backwards_starts_a_new_run(self):
        assert not continues(None, "answered", at(5), stale=STALE, auth_backoff=BACKOFF)
        never = LastPoll("unknown", None, None)
        assert not continues(never, "answered", at(5), stale=STALE, auth_backoff=BACKOFF)
        assert not continues(
            LastPoll("running", at(10), 7), "answered", at(5), stale=STALE, auth_backoff=BACKOFF
        )


@pytest.mark.django_db(transaction=True)
class TestPolling:
    def test_outages_become_runs_with_their_reason(self, polled_fleet):
        fleet = polled_fleet([{
            "name": "s", "password": "pw",
            "events": [
                {"at": 100, "kind": "outage", "duration": 40, "mode": "blackhole"},
                {"at": 300, "kind": "outage", "duration": 20, "mode": "refused"},
            ],
        }])  # fmt: skip
        fleet.poll_every(0, 400)
        got = runs()
        assert [outcome for outcome, *_ in got] == [
            "answered", "unreachable", "answered", "unreachable", "answered",
        ]  # fmt: skip
        # Each run spans exactly the polls that had its outcome.
        assert got[0][1:] == seconds(0, 95)
        assert got[1][1:] == seconds(100, 135)
        assert got[2][1:] == seconds(140, 295)
        assert got[3][1:] == seconds(300, 315)
        assert got[4][1:] == seconds(320, 400)
        status = LiveStatus.objects.get()
        assert status.reachability_id == ReachabilityRun.objects.latest("started_at").pk

    def test_a_steady_server_is_one_row_however_long_it_is_polled(self, polled_fleet):
        fleet = polled_fleet([{"name": "s", "password": "pw"}])
        fleet.poll_every(0, 600)
        assert runs() == [("answered", at(0), at(600))]

    def test_a_rejected_password_is_one_run_across_its_back_off(self, polled_fleet):
        fleet = polled_fleet([{"name": "s", "password": "pw", "failure": "wrong_password"}])
        fleet.poll_every(0, 1300)
        assert runs() == [("auth_failed", at(0), at(1200))]

    def test_a_pause_in_polling_starts_a_new_run(self, polled_fleet):
        fleet = polled_fleet([{"name": "s", "password": "pw"}])
        fleet.poll_every(0, 100)
        fleet.poll_every(200, 300)  # nobody polled for 100 s: not counted either way
        assert runs() == [("answered", at(0), at(100)), ("answered", at(200), at(300))]

    def test_servers_keep_runs_of_their_own(self, polled_fleet):
        fleet = polled_fleet([
            {"name": "up", "password": "pw"},
            {"name": "down", "password": "pw", "failure": "blackhole"},
            {"name": "garbled", "password": "pw", "failure": "garbage_size"},
        ])  # fmt: skip
        fleet.poll_every(0, 60)
        up, down, garbled = (Server.objects.get(name=n) for n in ("up", "down", "garbled"))
        assert runs(up) == [("answered", at(0), at(60))]
        assert runs(down) == [("unreachable", at(0), at(60))]
        assert [r[0] for r in runs(garbled)] == ["error"]
