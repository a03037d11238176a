"""Polls count their duration and their failures by kind, read back through /metrics."""

from __future__ import annotations

import pytest

from left4me import metrics_store
from left4me.tests.metrics_helpers import scrape, use_store, value
from livestate.tests.helpers import ALICE
from servers.models import Server

pytestmark = pytest.mark.django_db

KINDS = ("unreachable", "auth_failed", "error", "refused")


def failures(samples) -> dict[str, float | None]:
    return {kind: value(samples, "left4me_poll_failures_total", kind=kind) for kind in KINDS}


@pytest.fixture
def world(polled_fleet, settings):
    use_store(settings, "database")
    fleet = polled_fleet([
        {"name": "ok", "password": "pw",
         "events": [{"at": 0, "kind": "join", "steam_id_64": ALICE, "name": "Alice"}]},
        {"name": "dead", "password": "pw", "failure": "refused"},
        {"name": "locked", "password": "pw", "failure": "wrong_password"},
        {"name": "junk", "password": "pw", "failure": "garbage_size"},
    ])  # fmt: skip
    Server.objects.create(
        owner=fleet.servers["ok"].owner, name="nowhere", host="0.0.0.0", port=27999,
        rcon_password="pw", desired_state="running",
    )  # fmt: skip
    return fleet


def test_it_counts_each_poll_and_each_failure_by_kind(client, world):
    world.poll(5)
    samples = scrape(client)
    assert failures(samples) == {"unreachable": 1, "auth_failed": 1, "error": 1, "refused": 1}
    assert value(samples, "left4me_poll_tick_seconds_count") == 1
    assert value(samples, "left4me_sessions_open") == 1

    world.poll(10)  # the rejected password waits out its back-off: not polled, not counted
    samples = scrape(client)
    assert failures(samples) == {"unreachable": 2, "auth_failed": 1, "error": 2, "refused": 2}
    assert value(samples, "left4me_poll_tick_seconds_count") == 2
    seconds = value(samples, "left4me_poll_tick_seconds_sum")
    assert seconds is not None
    assert 0 < seconds < 10


def test_it_polls_on_when_the_store_is_down(world, settings, caplog, monkeypatch):
    """A metrics write failure costs the counts, never the poll."""
    monkeypatch.setattr(metrics_store, "_failing", False)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    report = world.poll(5)
    assert report.polled == 5
    assert Server.objects.get(name="ok").live_status.players == 1
    assert "metrics not recorded" in caplog.text
