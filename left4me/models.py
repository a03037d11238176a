"""The project's own table: counters every process adds to when there is no Redis."""

from __future__ import annotations

from django.db import models


class MetricCounter(models.Model):
    """One counter series (or histogram bucket) of /metrics, shared by every process.

    Workers count polls, Steam calls and alerts; the web process that answers
    a scrape reads them. Without REDIS_URL this table is the shared place:
    `left4me.metrics_store` adds with one `INSERT … ON CONFLICT … SET value =
    value + excluded.value`, atomic on SQLite and PostgreSQL alike (the
    database cache's `incr` is a read then a write, which loses counts).
    """

    series = models.CharField(primary_key=True, max_length=255)
    value = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.series} = {self.value:g}"
