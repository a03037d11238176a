"""The quick start: finding Python, preparing the database, printing a working login."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from left4me.management.commands.quickstart import Command as Quickstart
from livestate.models import LiveStateSnapshot, PlayerSession
from livestate.tests.factories import snapshot
from servers.models import Server

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


@pytest.mark.nodb
def test_it_explains_what_to_install_when_no_python_is_new_enough(tmp_path):
    shutil.copy(settings.BASE_DIR / "dev", tmp_path / "dev")
    tools = tmp_path / "bin"  # the shell tools the script uses, and no Python at all
    tools.mkdir()
    for tool in ("dirname", "ls", "sort", "sed", "rm", "cat"):
        (tools / tool).symlink_to(shutil.which(tool))
    result = subprocess.run(
        ["/bin/bash", str(tmp_path / "dev"), "setup"],
        env={"PATH": str(tools), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "needs Python 3.12 or newer" in result.stderr
    assert "pyenv install" in result.stderr
    assert not (tmp_path / ".venv").exists()


@pytest.mark.django_db
def test_it_prepares_a_demo_login_that_works(client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("quickstart", "--prepare-only", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    login = re.search(r"Log in as (\S+) / (\S+)", text)
    assert login is not None, text
    username, password = login.groups()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302
    assert client.get("/servers/").context["user"].username == "demo"
    again = StringIO()
    call_command("quickstart", "--prepare-only", stdout=again)
    assert f"Log in as demo / {password}" in again.getvalue()  # same login on re-runs


@pytest.fixture
def demo_login(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("FLEET_OWNER", raising=False)
    monkeypatch.setenv("FLEET_BASE_PORT", "31000")
    call_command("quickstart", "--prepare-only", stdout=StringIO())


def seed_on_start(servers: int) -> str:
    out = StringIO()
    Quickstart(stdout=out).seed_fleet_history(servers=servers, now=NOW)
    return out.getvalue()


@pytest.mark.django_db
def test_a_first_start_adds_the_fleet_with_a_week_of_history(demo_login):
    assert seed_on_start(5) == "Seeded a week of simulated history for 5 servers\n"
    servers = Server.objects.order_by("port")
    assert [(s.port, s.owner.username, s.desired_state) for s in servers] == [
        (31000 + i, "demo", "stopped") for i in range(5)
    ]  # started by the fleet once it listens with these servers' passwords
    assert servers[2].name == "sim-0003 Flaky"
    history = LiveStateSnapshot.objects.filter(started_at__gte=NOW - timedelta(days=7))
    assert set(history.values_list("server_id", flat=True)) == {s.pk for s in servers}
    counts = LiveStateSnapshot.objects.count(), PlayerSession.objects.count()
    assert seed_on_start(5) == ""  # not a first start any more
    assert (LiveStateSnapshot.objects.count(), PlayerSession.objects.count()) == counts


@pytest.mark.django_db
def test_a_start_with_history_anywhere_seeds_nothing(demo_login, make_server):
    snapshot(make_server(name="real"), now=NOW)
    assert seed_on_start(3) == ""
    assert list(Server.objects.values_list("name", flat=True)) == ["real"]
