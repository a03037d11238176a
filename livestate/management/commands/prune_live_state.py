"""Delete live-state history older than the retention window, in batches."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from left4me.commands import OpsCommand, whole_number
from livestate import services


def positive_int(flag: str, value: str | None, default: int) -> int:
    return default if value is None else whole_number(flag, value, least=1)


class Command(OpsCommand):
    help = (
        "Delete snapshots, closed player sessions and reachability runs older than N days, "
        "and hourly/daily rollups older than M days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        days = settings.LIVE_STATE_HISTORY_DAYS
        rollup_days = settings.LIVE_STATE_ROLLUP_DAYS
        parser.add_argument(
            "--days",
            default=None,
            help=f"keep this many days of raw history (default LIVE_STATE_HISTORY_DAYS={days})",
        )
        parser.add_argument(
            "--rollup-days",
            default=None,
            help=f"keep this many days of rollups (default LIVE_STATE_ROLLUP_DAYS={rollup_days})",
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")

    def handle(
        self, *args: Any, days: str | None, rollup_days: str | None, dry_run: bool, **options: Any
    ) -> None:
        history = positive_int("--days", days, settings.LIVE_STATE_HISTORY_DAYS)
        rollups = positive_int("--rollup-days", rollup_days, settings.LIVE_STATE_ROLLUP_DAYS)
        report = services.prune_live_state(days=history, rollup_days=rollups, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {report.snapshots} snapshots, {report.sessions} closed sessions and "
            f"{report.runs} reachability runs older than {history} days"
        )
        self.stdout.write(
            f"{verb} {report.hourly} hourly and {report.daily} daily rollups "
            f"older than {rollups} days"
        )
