"""Delete live-state history older than the retention window, in batches."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from left4me.commands import OpsCommand
from livestate import services


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--days must be a whole number, got {value!r}") from None
    if number < 1:
        raise CommandError(f"--days must be at least 1, got {number}")
    return number


class Command(OpsCommand):
    help = "Delete snapshots and closed player sessions older than N days."

    def add_arguments(self, parser: CommandParser) -> None:
        default = settings.LIVE_STATE_HISTORY_DAYS
        parser.add_argument(
            "--days",
            type=positive_int,
            default=None,
            help=f"keep this many days (default LIVE_STATE_HISTORY_DAYS={default})",
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        days = days or settings.LIVE_STATE_HISTORY_DAYS
        report = services.prune_live_state(days=days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {report.snapshots} snapshots and {report.sessions} closed sessions "
            f"older than {days} days"
        )
