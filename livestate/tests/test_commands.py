"""poll_live_state and prune_live_state, as ops run them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from livestate.models import LiveStateSnapshot, PlayerSession
from livestate.tests.factories import session, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_polls_once_and_prints_a_table(polled_fleet):
    polled_fleet([
        {"name": "alive", "password": "pw", "map": "c1m3_mall"},
        {"name": "dead", "password": "pw", "failure": "refused"},
    ])  # fmt: skip
    out = run("poll_live_state", "--once")
    assert "0/4 · c1m3_mall · idle" in out
    assert "connection refused" in out
    assert "polled 2, failed 1" in out
    assert LiveStateSnapshot.objects.count() == 1


def test_it_polls_only_the_named_server(polled_fleet):
    fleet = polled_fleet([{"name": "a", "password": "pw"}, {"name": "b", "password": "pw"}])
    out = run("poll_live_state", "--once", "--server", str(fleet.servers["b"].pk))
    assert "polled 1," in out
    assert " b " in out


def test_it_refuses_an_unknown_server_id():
    with pytest.raises(CommandError, match="no server with id 999"):
        run("poll_live_state", "--once", "--server", "999")


def test_it_prunes_old_history_and_keeps_the_rest(make_server):
    server = make_server()
    snapshot(server, seen_ago=40 * 86400)
    snapshot(server, seen_ago=60)
    session(server, 1, joined_ago=41 * 86400, left_ago=40 * 86400)
    session(server, 2, joined_ago=50 * 86400)  # still open: never pruned
    assert "would delete 1 snapshots, 1 closed sessions and 0 reachability runs" in run(
        "prune_live_state", "--dry-run"
    )
    assert LiveStateSnapshot.objects.count() == 2
    out = run("prune_live_state")
    assert "deleted 1 snapshots, 1 closed sessions and 0 reachability runs" in out
    assert "runs older than 30 days" in out
    assert "deleted 0 hourly and 0 daily rollups older than 400 days" in out
    assert LiveStateSnapshot.objects.count() == 1
    assert PlayerSession.objects.count() == 1


def test_it_prunes_in_batches(make_server):
    from livestate.services import prune_live_state

    server = make_server()
    for _ in range(7):
        snapshot(server, seen_ago=40 * 86400)
    assert prune_live_state(days=30, batch_size=3).snapshots == 7
    assert not LiveStateSnapshot.objects.exists()


@pytest.mark.parametrize("days", ["0", "-3", "abc"])
def test_it_rejects_bad_days(days):
    with pytest.raises(CommandError, match="--days must be"):
        run("prune_live_state", "--days", days)


def test_it_runs_the_prune_task(make_server):
    from livestate import tasks

    snapshot(make_server(), seen_ago=40 * 86400)
    tasks.prune()
    assert not LiveStateSnapshot.objects.exists()
