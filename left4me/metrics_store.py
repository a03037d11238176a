"""Counters of /metrics that every process adds to and any web process reads.

Polls run in Celery workers, Steam calls in workers or the web process, and
alerts in workers; a scrape reaches whichever web worker the proxy picks. So
counters and histogram buckets never live in process memory: they live in
Redis (one hash, HINCRBYFLOAT in one MULTI) when REDIS_URL is set, else in
the database (`MetricCounter`, one atomic upsert). Each recording is one
write, whatever it adds.

Metrics must never cost what they measure: a failed write is dropped (counts
are lost, the poll or the delivery goes on) and logged once per outage, with
the error's class only (connection errors carry hosts).

Every app may import this module (it imports none): the metric names and the
recorders live here, so writers and the /metrics collector spell them alike.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping

import redis
from django.conf import settings
from django.db import connection, transaction
from prometheus_client.utils import floatToGoString

from left4me.models import MetricCounter

logger = logging.getLogger(__name__)

POLL_TICK_SECONDS = "left4me_poll_tick_seconds"
POLL_FAILURES = "left4me_poll_failures_total"
STEAM_API_CALLS = "left4me_steam_api_calls_total"
ALERTS_SENT = "left4me_alerts_sent_total"
STEAM_CALL_OK = "ok"  # the `result` of a Steam call that succeeded; failures use the error kind

# One chunk polls concurrently, so its time is about the slowest server's, up
# to the query timeout (2 s) plus the database; the time limit is 2 periods + 5 s.
TICK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30, 60)

REDIS_KEY = "left4me:metrics"
REDIS_TIMEOUT_SECONDS = 1.0  # a stalled Redis costs a poll at most this, never the default 5 s

Labels = tuple[tuple[str, str], ...]
# A sample name and its sorted labels: (POLL_FAILURES, (("kind", "error"),)).
Series = tuple[str, Labels]

_clients: dict[str, redis.Redis] = {}
_failing = False  # the last write failed: the next failure is not logged again


def series(name: str, **labels: str) -> Series:
    return name, tuple(sorted(labels.items()))


def encode(key: Series) -> str:
    name, labels = key
    return json.dumps([name, dict(labels)], sort_keys=True, separators=(",", ":"))


def decode(field: str) -> Series | None:
    """The series of a stored field; None for anything this release does not write."""
    try:
        name, labels = json.loads(field)
        return series(name, **{str(k): str(v) for k, v in labels.items()})
    except (ValueError, TypeError, AttributeError):
        return None


def histogram(name: str, value: float, buckets: Iterable[float]) -> dict[Series, float]:
    """One observation: its own bucket (not cumulative: the reader sums) and the sum."""
    bound = next((b for b in sorted(buckets) if value <= b), float("inf"))
    return {series(f"{name}_bucket", le=floatToGoString(bound)): 1, series(f"{name}_sum"): value}


def add(increments: Mapping[Series, float]) -> None:
    """Add to shared counters in one write; a failure is logged once and dropped."""
    global _failing
    fields = {encode(key): float(amount) for key, amount in increments.items() if amount}
    if not fields:
        return
    try:
        _write(fields)
    except Exception as error:
        if not _failing:
            logger.warning(
                "metrics not recorded: the metrics store failed (%s); "
                "counting nothing until it works again",
                type(error).__name__,
            )
        _failing = True
        return
    _failing = False


def read() -> dict[Series, float]:
    """Every stored series; empty (and a warning) when the store cannot be read."""
    try:
        rows = _read()
    except Exception as error:
        logger.warning("metrics store not readable (%s): counters left out", type(error).__name__)
        return {}
    decoded = ((decode(field), value) for field, value in rows)
    return {key: value for key, value in decoded if key is not None}


# --- Recorders: what the apps call --------------------------------------------


def record_poll(*, seconds: float, failures: Iterable[str]) -> None:
    """One chunk polled: its duration and the LiveStatus state of each failed server."""
    kinds = Counter(series(POLL_FAILURES, kind=kind) for kind in failures)
    add(histogram(POLL_TICK_SECONDS, seconds, TICK_BUCKETS) | kinds)


def record_steam_call(result: str) -> None:
    """One HTTP call to the Steam Web API: STEAM_CALL_OK or the failure's kind."""
    add({series(STEAM_API_CALLS, result=result): 1})


def record_alert_sent(event: str, result: str) -> None:
    """One alert delivery attempt finished: its rule's event and how it ended."""
    add({series(ALERTS_SENT, event=event, result=result): 1})


# --- Backends -----------------------------------------------------------------


def _redis() -> redis.Redis | None:
    url = settings.REDIS_URL
    if not url:
        return None
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=10,
        )
    return _clients[url]


def _write(fields: dict[str, float]) -> None:
    client = _redis()
    if client is not None:
        with client.pipeline(transaction=True) as pipe:
            for field, amount in fields.items():
                pipe.hincrbyfloat(REDIS_KEY, field, amount)
            pipe.execute()
        return
    table = connection.ops.quote_name(MetricCounter._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(fields))
    sql = (
        f"INSERT INTO {table} (series, value) VALUES {rows} "  # noqa: S608 (our names only)
        f"ON CONFLICT (series) DO UPDATE SET value = {table}.value + excluded.value"
    )
    params = [item for pair in fields.items() for item in pair]
    # A savepoint inside a caller's transaction: a failure here never aborts theirs.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _read() -> list[tuple[str, float]]:
    client = _redis()
    if client is not None:
        stored: dict[bytes, bytes] = client.hgetall(REDIS_KEY)  # type: ignore[assignment]
        return [(k.decode(), float(v)) for k, v in stored.items()]
    return list(MetricCounter.objects.values_list("series", "value"))
