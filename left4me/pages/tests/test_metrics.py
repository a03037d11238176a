"""/metrics values against a known database and a known shared store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from left4me import metrics_store
from left4me.tests.metrics_helpers import parse, scrape, use_store, value
from livestate import progress
from livestate.models import LiveStatus, PlayerSession
from servers.models import Server

pytestmark = pytest.mark.django_db

LAST_TICK = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    """The shared store on each backend: the database (no Redis) and Redis."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    use_store(settings, request.param, url)
    yield request.param
    use_store(settings, request.param, url)


def live(server, state, *, answered_ago=None, players=0, max_players=0):
    now = timezone.now()
    answered = now - timedelta(seconds=answered_ago) if answered_ago is not None else None
    return LiveStatus.objects.create(
        server=server, state=state, polled_at=now, answered_at=answered, players=players,
        max_players=max_players, map="c1m1_hotel",
    )  # fmt: skip


@pytest.fixture
def known_world(make_server, settings):
    """One server meant to run in every live state, one stopped, sessions and a tick stamp."""
    settings.LIVE_STATE_STALE_SECONDS = 30
    running = Server.DesiredState.RUNNING
    servers = {name: make_server(name=name, desired_state=running) for name in (
        "fresh", "stale", "auth", "unreachable", "error", "refused", "new",
    )}  # fmt: skip
    live(servers["fresh"], "running", answered_ago=5, players=3, max_players=8)
    live(servers["stale"], "running", answered_ago=120, players=2, max_players=8)
    live(servers["auth"], "auth_failed")
    live(servers["unreachable"], "unreachable", answered_ago=300, players=1, max_players=4)
    live(servers["error"], "error")
    live(servers["refused"], "refused")
    stopped = make_server(name="stopped", desired_state=Server.DesiredState.STOPPED)
    live(stopped, "running", answered_ago=1, players=4, max_players=4)
    joined = timezone.now() - timedelta(minutes=5)
    for steam_id, left in (("1", None), ("2", None), ("3", joined + timedelta(minutes=1))):
        PlayerSession.objects.create(
            server=servers["fresh"], steam_id_64=f"7656119800000000{steam_id}", joined_at=joined,
            last_seen_at=joined, left_at=left, name_at_join=steam_id, min_ping=1, max_ping=1,
        )  # fmt: skip
    progress.record_finished(now=LAST_TICK)
    return servers


def test_it_reports_each_server_meant_to_run_from_the_database(client, known_world, store):
    samples = scrape(client)
    ups = {
        dict(labels)["name"]: v for (n, labels), v in samples.items() if n == "left4me_server_up"
    }
    assert ups == {
        "fresh": 1, "stale": 0, "auth": 0, "unreachable": 0, "error": 0, "refused": 0, "new": 0,
    }  # fmt: skip
    fresh = {"server_id": str(known_world["fresh"].pk), "name": "fresh"}
    assert value(samples, "left4me_server_players", **fresh) == 3
    assert value(samples, "left4me_server_max_players", **fresh) == 8
    # A count that is no longer current is not reported as one.
    players = [labels for (n, labels), _ in samples.items() if n == "left4me_server_players"]
    assert players == [tuple(sorted(fresh.items()))]
    assert value(samples, "left4me_sessions_open") == 2
    assert value(samples, "left4me_poll_last_tick_timestamp_seconds") == LAST_TICK.timestamp()


def test_it_reports_the_counters_workers_share(client, store):
    metrics_store.record_poll(seconds=0.3, failures=["unreachable", "unreachable", "auth_failed"])
    metrics_store.record_poll(seconds=2.2, failures=[])
    metrics_store.record_poll(seconds=99, failures=["refused"])
    for result in ("ok", "ok", "rate-limited"):
        metrics_store.record_steam_call(result)
    metrics_store.record_alert_sent("down", "sent")
    metrics_store.record_alert_sent("down", "sent")
    metrics_store.record_alert_sent("players_at_least", "failed")
    samples = scrape(client)
    bucket = "left4me_poll_tick_seconds_bucket"
    cumulative = {le: value(samples, bucket, le=le) for le in ("0.25", "0.5", "2.0", "2.5", "60.0")}
    assert cumulative == {"0.25": 0, "0.5": 1, "2.0": 1, "2.5": 2, "60.0": 2}
    assert value(samples, bucket, le="+Inf") == 3
    assert value(samples, "left4me_poll_tick_seconds_count") == 3
    assert value(samples, "left4me_poll_tick_seconds_sum") == pytest.approx(101.5)
    failures = {
        kind: value(samples, "left4me_poll_failures_total", kind=kind)
        for kind in ("unreachable", "auth_failed", "error", "refused")
    }
    assert failures == {"unreachable": 2, "auth_failed": 1, "error": 0, "refused": 1}
    steam = "left4me_steam_api_calls_total"
    assert value(samples, steam, result="ok") == 2
    assert value(samples, steam, result="rate-limited") == 1
    assert value(samples, steam, result="server") == 0  # known results start at 0
    alerts = "left4me_alerts_sent_total"
    assert value(samples, alerts, event="down", result="sent") == 2
    assert value(samples, alerts, event="players_at_least", result="failed") == 1


def test_it_starts_from_zero_with_an_empty_store(client, store):
    progress.record_finished(now=LAST_TICK)
    samples = scrape(client)
    assert value(samples, "left4me_poll_tick_seconds_count") == 0
    assert value(samples, "left4me_poll_failures_total", kind="error") == 0
    assert not [n for n, _ in samples if n == "left4me_alerts_sent_total"]
    assert value(samples, "left4me_sessions_open") == 0


@pytest.mark.polling_stalled
def test_it_leaves_out_the_last_tick_before_the_first(client, settings):
    use_store(settings, "database")
    samples = scrape(client)
    assert value(samples, "left4me_poll_last_tick_timestamp_seconds") is None


@pytest.mark.parametrize(
    "name", ['the "best" server', "two\nlines", "back\\slash \\n", 'émoji 🧟 \\"', 'x",evil="1']
)
def test_it_escapes_owner_names_in_labels(client, make_server, name, settings):
    use_store(settings, "database")
    server = make_server(name=name, desired_state=Server.DesiredState.RUNNING)
    live(server, "running", answered_ago=1, players=1, max_players=4)
    text = client.get("/metrics").content.decode()
    samples = parse(text)
    labels = {"server_id": str(server.pk), "name": name}
    assert value(samples, "left4me_server_up", **labels) == 1
    assert value(samples, "left4me_server_players", **labels) == 1
    server_labels = {labels for n, labels in samples if n.startswith("left4me_server_")}
    assert {tuple(k for k, _ in labels) for labels in server_labels} == {("name", "server_id")}


def test_it_costs_the_same_queries_for_one_server_or_many(
    client, make_server, django_assert_num_queries, settings
):
    use_store(settings, "database")
    metrics_store.record_poll(seconds=1, failures=["error"])
    make_server(desired_state=Server.DesiredState.RUNNING)
    # Servers with their live status, open sessions, the tick stamp, the stored counters.
    with django_assert_num_queries(4):
        client.get("/metrics")
    for _ in range(6):
        server = make_server(desired_state=Server.DesiredState.RUNNING)
        live(server, "running", answered_ago=1, players=2, max_players=4)
    with django_assert_num_queries(4):
        samples = scrape(client)
    assert sum(v for (n, _), v in samples.items() if n == "left4me_server_up") == 6


def test_it_reads_counters_from_redis_without_a_database_query(
    client, redis_url, settings, django_assert_num_queries
):
    use_store(settings, "redis", redis_url)
    metrics_store.record_steam_call("ok")
    with django_assert_num_queries(3):
        samples = scrape(client)
    assert value(samples, "left4me_steam_api_calls_total", result="ok") == 1
