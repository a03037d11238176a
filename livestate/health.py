"""Is the product healthy? Database, cache, broker and polling progress, checked live.

Behind `/healthz` (load balancers, Docker, uptime monitors) and the
`healthcheck` command. Each check reports `ok` and, when not, the kind of
failure only (an exception's class): connection errors carry hosts, and a
health endpoint is public.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu import Connection

from livestate import progress

BROKER_TIMEOUT_SECONDS = 3


@dataclass(slots=True)
class Check:
    ok: bool
    seconds: float
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "seconds": round(self.seconds, 4)}
        if self.error:
            data["error"] = self.error
        return data | self.details


@dataclass(slots=True)
class Health:
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "failing",
            "checks": {name: check.as_json() for name, check in self.checks.items()},
        }


def timed(probe: Callable[[], dict[str, Any] | None]) -> Check:
    started = time.perf_counter()
    try:
        details = probe() or {}
    except Exception as exc:  # any failure is a failed check, named by its kind
        return Check(False, time.perf_counter() - started, type(exc).__name__)
    ok = details.pop("ok", True)
    return Check(ok, time.perf_counter() - started, details=details)


def probe_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def probe_cache() -> None:
    token = uuid.uuid4().hex
    cache.set("left4me:healthz", token, timeout=30)
    if cache.get("left4me:healthz") != token:
        raise LookupError("cache did not return what was stored")


def probe_broker() -> None:
    if broker_is_local():
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        probe = folder / f".healthz-{uuid.uuid4().hex}"
        probe.write_bytes(b"")  # the disk takes messages
        probe.unlink()
        return
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def probe_polling(now: datetime) -> dict[str, Any]:
    state = progress.polling_state(now=now)
    return {
        "ok": not state.stalled,
        "last_tick_at": state.finished_at.isoformat() if state.finished_at else None,
        "last_tick_age_seconds": round(state.age_seconds, 1)
        if state.age_seconds is not None
        else None,
        "stalled_after_seconds": progress.stalled_after().total_seconds(),
    }


# Cache and broker are probed in threads with a deadline: a Redis that stalls
# (its clients retry) must not hold /healthz, and the web server's threads,
# for the whole stall.
_probes = ThreadPoolExecutor(max_workers=4, thread_name_prefix="left4me-health")
PROBE_DEADLINE_SECONDS = 2.0


def within_deadline(probe: Callable[[], dict[str, Any] | None]) -> Check:
    future = _probes.submit(timed, probe)
    try:
        return future.result(timeout=PROBE_DEADLINE_SECONDS)
    except FutureTimeout:
        return Check(False, PROBE_DEADLINE_SECONDS, "TimeoutError")


def cache_is_remote() -> bool:
    """Redis: probed in a thread. The database cache shares the database (and its
    connection: a thread would open another) and is covered by that check's time."""
    return not str(settings.CACHES["default"]["BACKEND"]).endswith("DatabaseCache")


def broker_is_local() -> bool:
    return settings.CELERY_BROKER_URL.startswith("filesystem://")


def check_health(*, now: datetime) -> Health:
    """Every check, each on its own: a dead cache does not hide a live database."""
    database = timed(probe_database)
    checks = {
        "database": database,
        "cache": within_deadline(probe_cache) if cache_is_remote() else timed(probe_cache),
        "broker": timed(probe_broker) if broker_is_local() else within_deadline(probe_broker),
        "polling": timed(lambda: probe_polling(now))
        if database.ok
        else Check(False, 0.0, "database unavailable"),
    }
    return Health(checks)
