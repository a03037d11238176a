"""The poller against the fake fleet: stored history versus the fleet's ground truth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from livestate import services
from livestate.models import LiveStateSnapshot, LiveStatus, PlayerSession
from livestate.tests.helpers import ALICE, BOB, CAROL, at
from servers.models import Server
from servers.services import rotate_rcon_password

pytestmark = pytest.mark.django_db(transaction=True)

POLL = 5


def join(t, who, name="Player", ping=50):
    return {"at": t, "kind": "join", "steam_id_64": who, "name": name, "ping": ping}


def leave(t, who):
    return {"at": t, "kind": "leave", "steam_id_64": who}


def sessions(server, who=None):
    rows = PlayerSession.objects.filter(server=server).order_by("joined_at")
    return list(rows.filter(steam_id_64=who) if who else rows)


def assert_matches_truth(fleet, server_name):
    """Joins within 2 s, leaves within one poll interval + 1 s, same count (no splits)."""
    server = fleet.servers[server_name]
    truth = sorted(
        (row for row in fleet.handle.truth() if row["server"] == server_name),
        key=lambda row: (row["steam_id_64"], row["joined_at"]),
    )
    stored = sorted(sessions(server), key=lambda s: (s.steam_id_64, s.joined_at))
    assert [(s.steam_id_64) for s in stored] == [t["steam_id_64"] for t in truth]
    for real, mine in zip(truth, stored, strict=True):
        assert abs((mine.joined_at - at(real["joined_at"])).total_seconds()) <= 2
        if real["left_at"] is None:
            assert mine.left_at is None
        else:
            assert mine.left_at is not None
            early = (at(real["left_at"]) - mine.left_at).total_seconds()
            assert 0 <= early <= POLL + 1, (real, mine.left_at)


def test_it_records_true_sessions_through_a_scripted_evening(polled_fleet):
    fleet = polled_fleet([{
        "name": "coop", "password": "pw", "map": "c1m1_hotel",
        "events": [
            join(12, ALICE, "Alice"), join(47, BOB, "Bob", ping=120),
            {"at": 300, "kind": "map_change", "map": "c1m2_streets"},
            {"at": 420, "kind": "reconnect", "steam_id_64": BOB},
            {"at": 600, "kind": "outage", "duration": 40, "mode": "blackhole"},
            {"at": 800, "kind": "outage", "duration": 30, "mode": "refused"},
            leave(903, ALICE), join(950, CAROL, "Carol"),
            {"at": 1200, "kind": "restart", "duration": 20},
            join(1230, ALICE, "Alice"),
        ],
    }])  # fmt: skip
    fleet.poll_every(0, 1500)

    assert_matches_truth(fleet, "coop")
    alice = sessions(fleet.servers["coop"], ALICE)
    assert len(alice) == 2  # the restart ended the first visit
    assert len(sessions(fleet.servers["coop"], BOB)) == 2  # the reconnect
    assert alice[0].name_at_join == "Alice"


def test_it_keeps_one_session_across_a_map_change_and_a_short_outage(polled_fleet):
    fleet = polled_fleet([{
        "name": "s", "password": "pw",
        "events": [
            join(3, ALICE), {"at": 100, "kind": "map_change", "map": "c2m1_highway"},
            {"at": 200, "kind": "outage", "duration": 45, "mode": "blackhole"},
        ],
    }])  # fmt: skip
    fleet.poll_every(0, 400)
    [session] = sessions(fleet.servers["s"])
    assert session.left_at is None
    assert abs((session.joined_at - at(3)).total_seconds()) <= 2


def test_it_closes_sessions_stuck_behind_a_long_outage_then_reopens(polled_fleet):
    fleet = polled_fleet([{
        "name": "s", "password": "pw",
        "events": [
            join(3, ALICE),
            {"at": 100, "kind": "outage", "duration": 120, "mode": "refused"},
        ],
    }])  # fmt: skip
    fleet.poll_every(0, 190)
    [session] = sessions(fleet.servers["s"])
    assert session.left_at is not None
    assert session.left_at <= at(100)
    fleet.poll_every(225, 300)
    [session] = sessions(fleet.servers["s"])  # same connection: re-opened, not split
    assert session.left_at is None


def test_it_tracks_the_ping_range(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw", "events": [join(0, ALICE, ping=80)]}])
    fleet.poll_every(5, 60)
    [session] = sessions(fleet.servers["s"])
    assert session.min_ping < session.max_ping
    assert 70 <= session.min_ping <= 80 <= session.max_ping <= 90


def test_it_encodes_snapshots_as_runs(polled_fleet):
    fleet = polled_fleet([{
        "name": "s", "password": "pw", "max_players": 8,
        "events": [join(20, ALICE), {"at": 60, "kind": "map_change", "map": "c5m1_waterfront"}],
    }])  # fmt: skip
    fleet.poll_every(0, 100)
    runs = list(
        LiveStateSnapshot.objects.order_by("id").values_list("players", "map", "hibernating")
    )
    assert runs == [
        (0, "c1m1_hotel", True),
        (1, "c1m1_hotel", False),
        (1, "c5m1_waterfront", False),
    ]
    last = LiveStateSnapshot.objects.latest()
    assert last.last_seen_at == at(100)
    assert last.started_at == at(60)


def test_it_records_outcomes_on_the_server(polled_fleet):
    fleet = polled_fleet(
        [
            {"name": "ok", "password": "pw"},
            {"name": "dead", "password": "pw", "failure": "refused"},
            {"name": "hole", "password": "pw", "failure": "blackhole"},
            {"name": "junk", "password": "pw", "failure": "garbage_size"},
        ]
    )
    report = fleet.poll(5)
    assert (report.polled, report.failed) == (4, 3)
    states = {
        s.server.name: (s.state, s.error) for s in LiveStatus.objects.select_related("server")
    }
    assert states["ok"] == ("running", "")
    assert states["dead"] == ("unreachable", "connection refused")
    assert states["hole"][0] == "unreachable"
    assert "timed out" in states["hole"][1]
    assert states["junk"][0] == "error"
    ok = LiveStatus.objects.get(server__name="ok")
    assert (ok.polled_at, ok.answered_at, ok.map) == (at(5), at(5), "c1m1_hotel")
    hole = LiveStatus.objects.get(server__name="hole")
    assert (hole.polled_at, hole.answered_at) == (at(5), None)


def test_it_costs_one_timeout_however_many_servers_are_dead(polled_fleet, settings):
    fleet = polled_fleet(
        [{"name": f"hole{i}", "password": "pw", "failure": "blackhole"} for i in range(10)]
        + [{"name": "ok", "password": "pw"}]
    )
    report = fleet.poll(5)
    assert report.failed == 10
    assert report.rcon_seconds < settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS * 3


def test_it_tries_a_wrong_password_once_per_back_off_window(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw", "failure": "wrong_password"}])
    fleet.poll_every(0, 595)
    status = LiveStatus.objects.get()
    assert fleet.fake("s").auth_failures == 1
    assert status.state == "auth_failed"
    assert status.error == "RCON password rejected"
    fleet.poll_every(600, 900)
    assert fleet.fake("s").auth_failures == 2


def test_a_rotation_does_not_cut_the_back_off_short(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw", "failure": "wrong_password"}])
    fleet.poll(0)
    for t in (5, 10, 15):  # rotating in a loop must not buy a login attempt a tick
        rotate_rcon_password(server=Server.objects.get())
        fleet.poll(t)
    assert fleet.fake("s").auth_failures == 1
    fleet.poll(601)
    assert fleet.fake("s").auth_failures == 2


def test_it_polls_only_servers_meant_to_run_with_a_password(polled_fleet):
    fleet = polled_fleet([{"name": "a", "password": "pw"}, {"name": "b", "password": "pw"}])
    Server.objects.filter(name="a").update(desired_state="stopped")
    Server.objects.filter(name="b").update(rcon_password="")
    assert fleet.poll(5).polled == 0


def test_it_closes_sessions_of_a_server_no_longer_polled(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw", "events": [join(0, ALICE)]}])
    fleet.poll_every(5, 30)
    Server.objects.update(desired_state="stopped")
    fleet.poll(60)
    assert PlayerSession.objects.open().count() == 1  # not stuck yet
    fleet.poll(91)
    [session] = sessions(fleet.servers["s"])
    assert session.left_at == at(30)


def test_it_polls_one_server_on_request(polled_fleet):
    fleet = polled_fleet([{"name": "a", "password": "pw"}, {"name": "b", "password": "pw"}])
    report = fleet.poll(5, server_ids=[fleet.servers["b"].pk])
    assert [r.target.name for r in report.results] == ["b"]


def test_it_never_stores_two_open_sessions_for_one_player(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw", "events": [join(0, ALICE)]}])
    fleet.poll(5)
    # A second writer racing the same tick (e.g. a worker that was presumed dead).
    fleet.poll(5)
    assert PlayerSession.objects.open().filter(steam_id_64=ALICE).count() == 1


def test_it_moves_join_time_by_less_than_two_seconds_under_late_replies(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw", "events": [join(7, ALICE)]}])
    fleet.poll(10)
    [session] = sessions(fleet.servers["s"])
    assert abs(session.joined_at - at(7)) <= timedelta(seconds=2)


def test_it_skips_a_server_another_poll_still_holds_until_its_lease_ends(polled_fleet):
    fleet = polled_fleet([{"name": "a", "password": "pw"}, {"name": "b", "password": "pw"}])
    fleet.poll(5)
    held = fleet.servers["a"].pk
    # A chunk of an earlier tick still polls "a" (or its worker was SIGKILLed).
    LiveStatus.objects.filter(pk=held).update(lease_until=at(20), lease_token="other")
    report = fleet.poll(10)
    assert ([r.target.name for r in report.results], report.busy) == (["b"], 1)
    assert LiveStatus.objects.get(pk=held).polled_at == at(5)
    report = fleet.poll(20)  # the lease ran out: the server is polled again
    assert (sorted(r.target.name for r in report.results), report.busy) == (["a", "b"], 0)
    assert LiveStatus.objects.filter(lease_token="").count() == 2


def test_it_gives_its_leases_back_when_a_poll_fails_midway(polled_fleet, monkeypatch):
    fleet = polled_fleet([{"name": "a", "password": "pw"}])

    def broken_write(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.store, "write_poll", broken_write)
    with pytest.raises(RuntimeError):
        fleet.poll(5)
    status = LiveStatus.objects.get()
    assert (status.lease_until, status.lease_token) == (None, "")


def test_it_classifies_failures_by_their_kind():
    from left4me.rcon import RconAuthError, RconError, RconNetworkError, RconProtocolError

    assert services.failure_state(RconAuthError("x")) == "auth_failed"
    assert services.failure_state(RconNetworkError("timed out")) == "unreachable"
    assert services.failure_state(RconProtocolError("connection refused")) == "error"
    assert services.failure_state(RconError("timed out")) == "error"


def test_one_servers_failed_write_costs_no_other_server_its_poll(polled_fleet, caplog):
    fleet = polled_fleet(
        [{"name": n, "password": "pw", "events": [join(0, who)]}
         for n, who in (("a", ALICE), ("b", BOB), ("c", CAROL))]
    )  # fmt: skip
    ids = [fleet.servers[n].pk for n in "abc"]
    fleet.handle.set_clock(5)
    claim = services.store.claim_servers(ids, now=at(5), until=at(20))
    results = services.query_targets(claim.targets, timeout=2, clock=fleet.clock)
    changes = services.reconcile_results(results, claim.last)
    answered, failed = services.state_rows(results)
    # The owner deletes "b" while its poll is in flight: its rows can no longer be written.
    fleet.servers["b"].delete()
    errors = services.store.write_poll(
        token=claim.token, changes=changes, answered=answered, failed=failed
    )
    assert list(errors) == [ids[1]]
    for name, who in (("a", ALICE), ("c", CAROL)):
        status = LiveStatus.objects.get(server=fleet.servers[name])
        assert (status.state, status.answered_at, status.lease_token) == ("running", at(5), "")
        assert [s.steam_id_64 for s in sessions(fleet.servers[name])] == [who]
        assert LiveStateSnapshot.objects.filter(server=fleet.servers[name]).count() == 1
    caplog.set_level("WARNING", logger="livestate.services")
    services.log_trouble(changes, errors)
    assert f"server {ids[1]}: poll not stored: IntegrityError" in caplog.text


def test_it_opens_at_most_64_sessions_a_minute_per_server(polled_fleet, caplog):
    crowd = [join(0, str(76561198100000000 + i)) for i in range(70)]
    fleet = polled_fleet([{"name": "s", "password": "pw", "max_players": 100, "events": crowd}])
    caplog.set_level("WARNING", logger="livestate.services")
    fleet.poll(5)
    assert PlayerSession.objects.count() == 64
    assert f"server {fleet.servers['s'].pk}: 6 new players not recorded" in caplog.text
    fleet.poll(10)  # 5 s refill 5.3 sessions
    assert PlayerSession.objects.count() == 69
    fleet.poll(15)
    assert PlayerSession.objects.count() == 70
    # The late ones still join when they were first seen allowed: at poll time - connected.
    assert {s.joined_at for s in PlayerSession.objects.all()} == {at(0)}


def test_it_never_connects_to_a_refused_address_and_says_so(polled_fleet, settings):
    fleet = polled_fleet([{"name": "s", "password": "pw"}])
    settings.OUTBOUND_ALLOWED_NETWORKS = ""  # loopback is refused by default
    fleet.poll(5)
    status = LiveStatus.objects.get()
    assert (status.state, status.error) == (
        "refused",
        "127.0.0.1 is not an address the panel may connect to.",
    )
    assert fleet.fake("s").queries == 0


def test_it_tells_the_owner_not_an_rcon_server_without_the_peers_bytes(polled_fleet):
    fleet = polled_fleet([{"name": "junk", "password": "pw", "failure": "garbage_size"}])
    fleet.poll(5)
    status = LiveStatus.objects.get()
    assert status.state == "error"
    assert status.error == "not an RCON server (something answered, but not with RCON)"


def test_two_spellings_of_one_address_are_polled_once(polled_fleet):
    fleet = polled_fleet([{"name": "s", "password": "pw"}])
    twin = Server.objects.create(
        owner=fleet.servers["s"].owner, name="twin", host="::ffff:127.0.0.1",
        port=fleet.servers["s"].port, rcon_password="other", desired_state="running",
    )  # fmt: skip
    report = fleet.poll(5)
    assert sorted((r.target.name, r.state) for r in report.results) == [
        ("s", "running"),
        ("twin", "refused"),
    ]
    assert fleet.fake("s").auth_failures == 0  # the twin's password was never sent
    assert "another server's address" in LiveStatus.objects.get(server=twin).error
