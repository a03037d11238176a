"""rcon, rotate_rcon_password and simulate_servers from the command line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from left4me.rcon.fleet import random_fleet, running_fleet, server_from_dict
from servers.management.commands.simulate_servers import Command as Simulate
from servers.management.commands.simulate_servers import register_fleet
from servers.models import Server

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def live_server_row(owner):
    with running_fleet([server_from_dict({"name": "s", "password": "pw"})]) as fleet:
        fake = fleet.servers[0]
        yield Server.objects.create(owner=owner, name="coop", port=fake.port, rcon_password="pw")


def test_it_runs_an_rcon_command_by_id_or_name(live_server_row):
    assert "map     : c1m1_hotel" in run("rcon", str(live_server_row.pk), "status")
    assert run("rcon", "coop", "foo", "bar") == 'Unknown command "foo"\n'


def test_it_reports_rcon_failures_without_the_password(live_server_row):
    Server.objects.filter(pk=live_server_row.pk).update(rcon_password="wrong-secret")
    with pytest.raises(CommandError) as caught:
        run("rcon", "coop", "status")
    assert "wrong RCON password" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "status"], "no server with id or name 'nope'"),
        (["coop", "status", "--timeout", "0"], "positive"),
    ],
)
def test_it_rejects_bad_rcon_arguments(live_server_row, args, message):
    with pytest.raises(CommandError, match=message):
        run("rcon", *args)


def test_it_rotates_a_password_from_the_command_line(make_server):
    server = make_server(name="coop")
    old = server.rcon_password
    out = run("rotate_rcon_password", "coop")
    server.refresh_from_db()
    assert server.rcon_password != old
    assert server.rcon_password not in out
    assert "Rotated the RCON password of coop" in out


def test_it_asks_for_an_id_when_names_are_ambiguous(make_user, make_server):
    make_server(name="coop")
    make_server(name="coop", owner=make_user("other"))
    with pytest.raises(CommandError, match="several servers are named"):
        run("rotate_rcon_password", "coop")


def test_it_registers_a_simulated_fleet_for_a_user(owner):
    fakes = random_fleet(3, seed=2, horizon=60)
    for port, fake in enumerate(fakes, start=30100):
        fake.port = port
    Simulate().register(fakes, owner)
    Simulate().register(fakes, owner)  # again: updated, not duplicated
    rows = Server.objects.order_by("port")
    assert [(s.port, s.desired_state, s.listed) for s in rows] == [
        (30100, "running", True), (30101, "running", True), (30102, "running", True),
    ]  # fmt: skip
    assert rows[0].rcon_password == fakes[0].registered_password


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--servers", "0"], "between 1 and 5000"),
        (["--register", "ghost"], "no user named 'ghost'"),
        (["--scenario", "/nonexistent.json"], "cannot load scenario"),
        (["--refused-ratio", "2"], "between 0 and 1"),
    ],
)
def test_it_rejects_bad_simulation_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run("simulate_servers", *args)


def test_it_refuses_a_sixth_rotation_within_ten_minutes(make_server):
    server = make_server(name="coop")
    for _ in range(5):
        run("rotate_rcon_password", "coop")
    server.refresh_from_db()
    with pytest.raises(CommandError, match="rotated 5 times in the last 10 minutes"):
        run("rotate_rcon_password", "coop")
    assert Server.objects.get(pk=server.pk).rcon_password == server.rcon_password


def test_it_keeps_terminal_escapes_out_of_rcon_output(owner):
    hostile = server_from_dict({"name": "s", "password": "pw", "failure": "nul_text"})
    with running_fleet([hostile]) as fleet:
        Server.objects.create(
            owner=owner, name="evil", port=fleet.servers[0].port, rcon_password="pw"
        )
        out = run("rcon", "evil", "status")
    assert "map" in out
    assert "\x1b" not in out
    assert "\x00" not in out


def test_it_refuses_to_connect_where_the_poller_may_not(live_server_row, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ""
    with pytest.raises(CommandError, match="not an address the panel may connect to"):
        run("rcon", "coop", "status")


def test_it_simulates_a_varied_fleet_unless_asked_for_a_uniform_one():
    opts = {"scenario": None, "servers": 6, "seed": 1, "refused_ratio": 0.0,
            "blackhole_ratio": 0.0, "uniform": False}  # fmt: skip
    varied = Simulate().build(opts)
    assert [s.max_players for s in varied] == [8, 4, 4, 4, 4, 8]
    assert varied[2].name == "sim-0003 Flaky"
    assert varied[2].timeline.down  # its scripted outages
    uniform = Simulate().build({**opts, "uniform": True})
    assert [s.name for s in uniform[:2]] == ["sim-0001", "sim-0002"]
    broken = Simulate().build({**opts, "servers": 10, "refused_ratio": 0.2})
    assert sorted(s.failure for s in broken) == [""] * 8 + ["refused"] * 2


def test_it_can_add_a_fleet_without_starting_it(owner):
    fakes = random_fleet(2, seed=2, horizon=60)
    for port, fake in enumerate(fakes, start=30200):
        fake.port = port
    register_fleet(fakes, owner, running=False)
    assert set(Server.objects.values_list("desired_state", flat=True)) == {"stopped"}
    Simulate().register(fakes, owner)  # the fleet, once it listens
    assert set(Server.objects.values_list("desired_state", flat=True)) == {"running"}
