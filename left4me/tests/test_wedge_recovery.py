"""A worker whose pool children are SIGKILLed runs tasks again by itself.

Real worker processes (prefork, 2 children) under the quick start's
supervisor, on the embedded broker and on Redis. Before left4me/pool.py and
left4me/watchdog.py, both brokers left the worker answering ping and never
running another task.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
import time

import pytest
from celery import Celery

from left4me.supervise import Supervisor
from left4me.testing import children_of

pytestmark = [pytest.mark.celery_worker, pytest.mark.nodb]

RECOVERY_LIMIT_SECONDS = 45  # generous for a loaded CI machine; bench/chaos.py prints real figures


def ping_until_answered(client: Celery, *, within: float) -> float:
    """Seconds until a left4me.ping sent now (or resent each second) is answered."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        result = client.send_task("left4me.ping", queue="default", expires=2)
        with contextlib.suppress(Exception):  # expired or not run yet: try again
            if result.get(timeout=2) == "pong":
                return time.monotonic() - started
    raise AssertionError(f"no task ran within {within} s")


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_it_runs_tasks_again_after_its_pool_children_are_killed(broker, redis_url, tmp_path):
    var = tmp_path / "var"
    broker_url = "filesystem://" if broker == "embedded" else redis_url
    env = dict(
        os.environ,
        LEFT4ME_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL=broker_url,
        CELERY_RESULT_BACKEND=redis_url,
        REDIS_URL="",
    )
    command = f"{sys.executable} -m celery -A left4me worker -Q default --concurrency 2 -n wedge@%h"
    out = io.StringIO()
    supervisor = Supervisor({"worker": command}, env=env, cwd=os.getcwd(), grace=10, out=out)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    client = Celery("left4me", broker=broker_url, backend=redis_url)
    if broker == "embedded":
        for folder in ("queue", "control"):
            (var / "broker" / folder).mkdir(parents=True)
        client.conf.broker_transport = "left4me.broker:Transport"
        client.conf.broker_transport_options = {
            "data_folder_in": str(var / "broker" / "queue"),
            "data_folder_out": str(var / "broker" / "queue"),
            "control_folder": str(var / "broker" / "control"),
        }
    try:
        ping_until_answered(client, within=60)
        for _round in range(2):  # twice: the replacement children must be sound too
            worker = supervisor.processes[0].popen
            assert worker is not None
            for child in children_of(worker.pid):
                os.kill(child, signal.SIGKILL)
            ping_until_answered(client, within=RECOVERY_LIMIT_SECONDS)
    finally:
        supervisor.request_stop()
        thread.join(30)
        client.close()
    assert "started worker" in out.getvalue()
