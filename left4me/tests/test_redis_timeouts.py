"""A Redis that stalls (accepts, never answers) fails calls within the socket timeout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings

pytestmark = pytest.mark.nodb

PROBE = """
import time, django
django.setup()
from django.core.cache import cache
from left4me.celery import app
began = time.monotonic()
try:
    cache.get("anything")
except Exception as error:
    print("cache", type(error).__name__, round(time.monotonic() - began, 1))
began = time.monotonic()
try:
    with app.connection_for_write() as conn:
        conn.default_channel.client.ping()
except Exception as error:
    print("broker", type(error).__name__, round(time.monotonic() - began, 1))
"""


@pytest.fixture
def stalled_redis():
    """A listener that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(2)
    for connection in held:
        connection.close()
    server.close()


def test_it_gives_up_on_a_stalled_redis_within_the_timeout(stalled_redis, tmp_path):
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=dict(os.environ, DJANGO_SETTINGS_MODULE="left4me.settings", REDIS_URL=stalled_redis,
                 REDIS_SOCKET_TIMEOUT_SECONDS="1", LEFT4ME_VAR_DIR=str(tmp_path)),
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["cache"].startswith("TimeoutError"), result.stdout + result.stderr
    assert lines["broker"].split()[0] in {"TimeoutError", "OperationalError"}, result.stdout
    assert time.monotonic() - began < 30  # without timeouts the probe hangs until killed
