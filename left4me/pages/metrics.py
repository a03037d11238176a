"""`/metrics`: the panel in Prometheus text format, for ops only.

With METRICS_TOKEN set a scraper sends `Authorization: Bearer <token>`
(compared in constant time); unset, only loopback clients are answered.
Refusals say nothing: 401 without credentials, 403 otherwise.

Values are the same whichever web worker answers: gauges are read from the
database at scrape time (a constant number of queries however many servers),
counters and the poll histogram from the shared store that workers write
(`left4me.metrics_store`). Server series cover the servers meant to be
running, the ones the panel polls; `up` is 1 while the last answer is fresh
(within LIVE_STATE_STALE_SECONDS, as the badge judges it), and players and
max players appear only then: an old count would read as a current one.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from left4me import metrics_store as store
from left4me.pages.clients import is_loopback
from livestate import progress
from livestate.badges import LiveRow, is_fresh
from livestate.models import LiveStatus, PlayerSession
from livestate.queries import NEVER_POLLED, stale_after
from servers.models import Server
from steamprofiles.steam_api import ErrorKind

SERVER_LABELS = ["server_id", "name"]
State = LiveStatus.State
# Every kind is shown from the start (0 until it happens), so rate() works at once.
FAILURE_KINDS = [s.value for s in State if s not in (State.RUNNING, State.UNKNOWN)]
STEAM_RESULTS = [store.STEAM_CALL_OK, *(kind.value for kind in ErrorKind)]


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if refusal := refuse(request):
        return refusal
    body = generate_latest(PanelCollector(now=timezone.now()))
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def refuse(request: HttpRequest) -> HttpResponse | None:
    """The bare refusal for a client that may not scrape, or None."""
    token: str = settings.METRICS_TOKEN
    if not token:
        loopback = is_loopback(request.META.get("REMOTE_ADDR", ""))
        return None if loopback else HttpResponse(status=403)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return HttpResponse(status=403)
    return None


class PanelCollector:
    """Builds every family for one scrape (prometheus_client calls `collect`)."""

    def __init__(self, *, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        yield from server_families(now=self.now)
        sessions = GaugeMetricFamily("left4me_sessions_open", "Player sessions open now.")
        sessions.add_metric([], PlayerSession.objects.open().count())
        yield sessions
        last = GaugeMetricFamily(
            "left4me_poll_last_tick_timestamp_seconds",
            "When a poll chunk last stored its results (Unix time).",
        )
        if finished := progress.polling_state(now=self.now).finished_at:
            last.add_metric([], finished.timestamp())
        yield last
        yield from counter_families(store.read())


def server_families(*, now: datetime) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "left4me_server_up",
        "1 while the server's last RCON answer is fresh (LIVE_STATE_STALE_SECONDS).",
        labels=SERVER_LABELS,
    )
    players = GaugeMetricFamily(
        "left4me_server_players", "Human players of an answering server.", labels=SERVER_LABELS
    )
    most = GaugeMetricFamily(
        "left4me_server_max_players", "Player slots of an answering server.", labels=SERVER_LABELS
    )
    fields = ("state", "answered_at", "players", "max_players", "map", "hibernating")
    rows = (
        Server.objects.filter(desired_state=Server.DesiredState.RUNNING)
        .order_by("pk")
        .values_list("pk", "name", "live_status__server_id", *(f"live_status__{f}" for f in fields))
    )
    stale = stale_after()
    for pk, name, polled, *live in rows:
        status = LiveRow(*live) if polled is not None else NEVER_POLLED
        labels = [str(pk), name]
        fresh = is_fresh(status, now=now, stale_after=stale)
        up.add_metric(labels, 1 if fresh else 0)
        if fresh:
            players.add_metric(labels, status.players)
            most.add_metric(labels, status.max_players)
    yield from (up, players, most)


def counter_families(stored: Mapping[store.Series, float]) -> Iterator[Metric]:
    by_name: defaultdict[str, dict[store.Labels, float]] = defaultdict(dict)
    for (name, labels), value in stored.items():
        by_name[name][labels] = value
    yield tick_histogram(by_name)
    yield counter(
        store.POLL_FAILURES,
        "Polled servers that did not answer, by the state they were left in.",
        ["kind"],
        by_name.get(store.POLL_FAILURES, {}),
        zeros=FAILURE_KINDS,
    )
    yield counter(
        store.STEAM_API_CALLS,
        "Calls to the Steam Web API, by result (ok or the failure's kind).",
        ["result"],
        by_name.get(store.STEAM_API_CALLS, {}),
        zeros=STEAM_RESULTS,
    )
    yield counter(
        store.ALERTS_SENT,
        "Alert deliveries, by event and result.",
        ["event", "result"],
        by_name.get(store.ALERTS_SENT, {}),
    )


def counter(
    name: str,
    documentation: str,
    label_names: list[str],
    values: Mapping[store.Labels, float],
    *,
    zeros: Sequence[str] = (),
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=label_names)
    totals: dict[tuple[str, ...], float] = defaultdict(float)
    for stored, amount in values.items():
        totals[tuple(dict(stored).get(n, "") for n in label_names)] += amount
    for known in zeros:
        totals.setdefault((known,), 0.0)
    for label_values, total in sorted(totals.items()):
        family.add_metric(list(label_values), total)
    return family


def tick_histogram(by_name: Mapping[str, Mapping[store.Labels, float]]) -> HistogramMetricFamily:
    """Cumulative buckets from the stored per-bucket counts.

    A count stored under a bound this release no longer uses is counted in
    every bucket at or above it, so changing TICK_BUCKETS never loses one.
    """
    name = store.POLL_TICK_SECONDS
    stored = [(bound(labels), n) for labels, n in by_name.get(f"{name}_bucket", {}).items()]
    bounds = [*store.TICK_BUCKETS, float("inf")]
    buckets = [(floatToGoString(b), sum(n for le, n in stored if le <= b)) for b in bounds]
    total = by_name.get(f"{name}_sum", {}).get((), 0.0)
    return HistogramMetricFamily(
        name, "Seconds one poll chunk took (claim, queries, writes).", buckets, total
    )


def bound(labels: store.Labels) -> float:
    try:
        return float(dict(labels).get("le", "+Inf"))
    except ValueError:
        return float("inf")
