"""`manage.py healthcheck web|poller|worker|beat`: one process's health, for Docker.

Exit 0 when healthy, 1 when not, with one line saying why. Each role checks
what proves that process does its job, not merely that it runs: a poller
that answers ping while polling stalls is unhealthy.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from left4me.celery import app
from left4me.heartbeat import BEAT_HEARTBEAT, beat_heartbeat_age
from livestate import progress

PING_TIMEOUT_SECONDS = 5


class Unhealthy(Exception):
    """Why the process is not healthy (one line)."""


class Command(BaseCommand):
    help = "Exit 0 if this process (web, poller, worker or beat) is healthy, 1 if not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", choices=["web", "poller", "worker", "beat"])
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="web port"
        )

    def handle(self, *args: Any, role: str, port: int, **options: Any) -> None:
        try:
            line = getattr(self, f"check_{role}")(port=port)
        except Unhealthy as problem:
            self.stdout.write(f"{role}: unhealthy: {problem}")
            sys.exit(1)
        self.stdout.write(f"{role}: healthy: {line}")

    def check_web(self, *, port: int) -> str:
        url = f"http://127.0.0.1:{port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:  # 503: the web server answers, others fail
            body = json.load(error)
        except (OSError, ValueError) as error:
            raise Unhealthy(f"{url} did not answer ({type(error).__name__})") from None
        failing = [name for name, check in body["checks"].items() if not check["ok"]]
        return f"serves /healthz ({body['status']}{': ' + ', '.join(failing) if failing else ''})"

    def check_poller(self, *, port: int) -> str:
        state = progress.polling_state(now=timezone.now())
        if state.stalled:
            raise Unhealthy(state.message)
        self.ping(f"poller@{socket.gethostname()}")
        return f"last tick {state.age_seconds:.0f} s ago"

    def check_worker(self, *, port: int) -> str:
        self.ping(f"worker@{socket.gethostname()}")
        return "answers ping"

    def check_beat(self, *, port: int) -> str:
        age = beat_heartbeat_age(Path(settings.VAR_DIR) / BEAT_HEARTBEAT, now=time.time())
        limit = progress.stalled_after().total_seconds()
        if age is None:
            raise Unhealthy("beat has not sent a task yet")
        if age > limit:
            raise Unhealthy(f"beat sent its last task {age:.0f} s ago (limit {limit:.0f} s)")
        return f"sent a task {age:.0f} s ago"

    def ping(self, node: str) -> None:
        try:
            replies = app.control.ping([node], timeout=PING_TIMEOUT_SECONDS)
        except Exception as error:  # the broker is down: say so in one line
            raise Unhealthy(f"cannot reach the broker ({type(error).__name__})") from None
        if not replies:
            raise Unhealthy(f"{node} did not answer ping within {PING_TIMEOUT_SECONDS} s")
