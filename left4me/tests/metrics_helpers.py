"""Reading /metrics in tests: real requests, parsed by prometheus_client's own parser."""

from __future__ import annotations

import redis
from prometheus_client.parser import text_string_to_metric_families

from left4me import metrics_store
from left4me.models import MetricCounter

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **extra) -> Samples:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def value(samples: Samples, metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, tuple(sorted(labels.items()))))


def use_store(settings, backend: str, redis_url: str = "") -> None:
    """Point the shared store at `backend` ("redis" or "database") and empty it.

    `settings` is pytest-django's fixture, which restores REDIS_URL afterwards.
    """
    settings.REDIS_URL = redis_url if backend == "redis" else ""
    if backend == "redis":
        redis.Redis.from_url(redis_url).delete(metrics_store.REDIS_KEY)
    else:
        MetricCounter.objects.all().delete()
