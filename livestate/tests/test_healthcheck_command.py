"""`manage.py healthcheck ROLE`: exit 1 with one line when the process does not do its job."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from left4me.heartbeat import BEAT_HEARTBEAT
from left4me.rcon.fleet.fleet import free_ports
from livestate import progress

pytestmark = pytest.mark.django_db


def healthcheck(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("healthcheck", *args, stdout=out)
    except SystemExit as exit:
        return int(exit.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_it_fails_a_poller_when_polling_stalled():
    progress.record_finished(now=timezone.now() - timedelta(minutes=1))
    code, out = healthcheck("poller")
    assert code == 1
    assert out.startswith("poller: unhealthy: The panel is not polling: live data is 60 s old.")


def test_it_fails_a_poller_whose_worker_does_not_answer(settings):
    settings.LIVE_STATE_POLL_SECONDS = 5
    code, out = healthcheck("poller")  # polling is fresh, but no worker of this host runs
    assert code == 1
    assert "did not answer ping" in out or "cannot reach the broker" in out


def test_it_reads_beats_heartbeat(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    assert healthcheck("beat") == (1, "beat: unhealthy: beat has not sent a task yet\n")
    heartbeat = tmp_path / BEAT_HEARTBEAT
    heartbeat.touch()
    code, out = healthcheck("beat")
    assert code == 0, out
    old = time.time() - 60
    os.utime(heartbeat, (old, old))
    code, out = healthcheck("beat")
    assert code == 1
    assert "beat sent its last task 60 s ago (limit 15 s)" in out


def test_it_checks_that_the_web_server_serves_healthz(live_server):
    port = live_server.url.rsplit(":", 1)[1]
    code, out = healthcheck("web", "--port", port)
    assert code == 0, out
    assert out.startswith("web: healthy: serves /healthz (ok)")


def test_it_fails_a_web_server_that_does_not_answer():
    (port,) = free_ports(1)
    code, out = healthcheck("web", "--port", str(port))
    assert code == 1
    assert "did not answer (URLError)" in out
