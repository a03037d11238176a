"""Rebuild the hourly and daily rollups from the raw history, day by day."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from left4me.commands import OpsCommand, whole_number
from livestate import rollups


def history_days(value: str) -> int:
    """A day count the raw history can still answer for."""
    number = whole_number("--days", value, least=1)
    most = settings.LIVE_STATE_HISTORY_DAYS
    if number > most:
        raise CommandError(
            f"--days must be at most LIVE_STATE_HISTORY_DAYS ({most}), got {number}: older "
            "history is pruned, and rebuilding from what is left would shrink its rollups"
        )
    return number


class Command(OpsCommand):
    help = (
        "Recompute the hourly and daily rollups of the last N days from the raw history "
        "(after restoring a backup, or when livestate.rollup did not run for a while)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default = settings.LIVE_STATE_HISTORY_DAYS
        parser.add_argument(
            "--days",
            default=None,
            help=f"rebuild this many days, at most the raw history's (default {default})",
        )

    def handle(self, *args: Any, days: str | None, **options: Any) -> None:
        count = history_days(days) if days is not None else settings.LIVE_STATE_HISTORY_DAYS
        started = time.perf_counter()
        total = 0
        for day, written in rollups.rebuild(now=timezone.now(), days=count):
            total += written
            self.stdout.write(f"{day:%Y-%m-%d}: {written} rollup rows")
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"rebuilt the rollups of the last {count} days: {total} rows in {seconds:.1f} s"
        )
