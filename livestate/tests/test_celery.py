"""Real Celery worker and beat on the real Redis, polling a real-clock fake fleet."""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.utils import timezone

from left4me.rcon.fleet import running_fleet, server_from_dict
from left4me.testing import children_of, wait_for
from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession
from livestate.tests.helpers import ALICE, BOB
from servers.models import Server

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

FAST = {"LIVE_STATE_POLL_SECONDS": "1", "LIVE_STATE_QUERY_TIMEOUT_SECONDS": "0.8"}


def all_polled_since(moment) -> bool:
    return not LiveStatus.objects.filter(polled_at__lte=moment).exists() and (
        LiveStatus.objects.count() == Server.objects.count()
    )


def register(fleet, owner):
    for fake in fleet.servers:
        Server.objects.create(
            owner=owner, name=fake.name, port=fake.port, rcon_password=fake.registered_password,
            desired_state="running",
        )  # fmt: skip


def scenario(name, *players, **extra):
    events = [{"at": 0, "kind": "join", "steam_id_64": p, "name": p[-4:]} for p in players]
    return server_from_dict({"name": name, "password": "pw", "events": events, **extra})


def test_it_polls_on_its_own_under_beat(celery_worker_factory, owner):
    fakes = [scenario("a", ALICE), scenario("b", BOB), scenario("c", failure="wrong_password")]
    with running_fleet(fakes, clock="real") as fleet:
        register(fleet, owner)
        celery_worker_factory.worker(**FAST)
        celery_worker_factory.beat(**FAST)
        wait_for(lambda: PlayerSession.objects.open().count() == 2, what="two open sessions")
        first = LiveStateSnapshot.objects.earliest("id").last_seen_at
        wait_for(
            lambda: LiveStateSnapshot.objects.earliest("id").last_seen_at > first,
            what="the snapshot run to be extended by later ticks",
        )
        celery_worker_factory.wait_for_log("worker", "1 in auth back-off")
    assert LiveStateSnapshot.objects.count() == 2
    states = dict(LiveStatus.objects.values_list("server__name", "state"))
    assert states == {"a": "running", "b": "running", "c": "auth_failed"}
    log = celery_worker_factory.log("worker")
    assert "tick: 3 servers to poll in 1 chunk(s), 0 in auth back-off" in log
    assert "polled 3 servers, 1 failed" in log
    # The back-off is counted where it is decided: the dispatch of each tick.
    assert "tick: 2 servers to poll in 1 chunk(s), 1 in auth back-off" in log
    assert "pw" not in log.replace("pwd", "")


def test_it_recovers_cleanly_from_a_worker_killed_mid_tick(celery_worker_factory, owner):
    fakes = [scenario(f"s{i}", str(76561198000000000 + i)) for i in range(6)]
    fakes += [scenario("slow", BOB, failure="slow", slow_seconds=0.6)]
    with running_fleet(fakes, clock="real") as fleet:
        register(fleet, owner)
        worker = celery_worker_factory.worker(name="doomed", **FAST)
        celery_worker_factory.beat(**FAST)
        slow = Server.objects.get(name="slow")
        wait_for(
            lambda: LiveStatus.objects.filter(server=slow).exclude(lease_token="").exists(),
            what="a chunk to hold the slow server (inside the chunk, waiting on it)",
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        killed_at = timezone.now()
        celery_worker_factory.worker(name="survivor", **FAST)
        wait_for(
            lambda: PlayerSession.objects.open().count() == 7, timeout=40, what="7 open sessions"
        )
        # Every server, the killed chunk's included, is polled again after the
        # killed lease ran out, then once more on top.
        wait_for(lambda: all_polled_since(killed_at), timeout=40, what="every server re-polled")
        recovered_at = timezone.now()
        wait_for(lambda: all_polled_since(recovered_at), what="one more tick")
    open_pairs = list(PlayerSession.objects.open().values_list("server_id", "steam_id_64"))
    assert len(open_pairs) == len(set(open_pairs)) == 7
    assert PlayerSession.objects.count() == 7  # nothing split or doubled by the crash


def test_it_releases_a_chunk_lost_with_its_pool_child_at_once(celery_worker_factory, owner):
    """Without the release, the killed chunk's servers wait out its lease (15 s at 5 s periods)."""
    fakes = [scenario("slow", BOB, failure="slow", slow_seconds=3)]
    with running_fleet(fakes, clock="real") as fleet:
        register(fleet, owner)
        slower = {**FAST, "LIVE_STATE_POLL_SECONDS": "2"}  # leases of 2 x 2 + 5 = 9 s
        worker = celery_worker_factory.worker(name="prefork", pool="prefork", **slower)
        celery_worker_factory.beat(**slower)
        slow = Server.objects.get(name="slow")
        status = wait_for(
            lambda: LiveStatus.objects.filter(server=slow).exclude(lease_token="").first(),
            what="a chunk to hold the slow server",
        )
        child = wait_for(lambda: children_of(worker.pid), what="the pool child")[0]
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(
            lambda: (
                LiveStatus.objects.filter(server=slow, lease_token=status.lease_token).count() == 0
            ),
            timeout=20,
            what="the lost chunk's lease released",
        )
        released_after = time.monotonic() - killed_at
    assert "lost with its worker: released 1 servers" in celery_worker_factory.log("prefork")
    assert released_after < 7  # the lease itself would have run 9 s from the claim


def test_it_frees_a_killed_workers_leases_when_it_comes_back(celery_worker_factory, owner):
    """SIGKILL of a whole worker reports nothing; its successor (same node name) frees them."""
    fakes = [scenario("slow", BOB, failure="slow", slow_seconds=3)]
    with running_fleet(fakes, clock="real") as fleet:
        register(fleet, owner)
        slower = {**FAST, "LIVE_STATE_POLL_SECONDS": "2"}  # leases of 2 x 2 + 5 = 9 s
        worker = celery_worker_factory.worker(name="poller", **slower)
        celery_worker_factory.beat(**slower)
        slow = Server.objects.get(name="slow")
        held = wait_for(
            lambda: LiveStatus.objects.filter(server=slow).exclude(lease_token="").first(),
            what="a chunk to hold the slow server",
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        celery_worker_factory.worker(name="poller", **slower)  # the supervisor's restart
        still_held = LiveStatus.objects.filter(server=slow, lease_token=held.lease_token)
        assert not still_held.exists(), "released as the new worker became ready"
    assert "released 1 servers a killed poller@" in celery_worker_factory.log("poller")
