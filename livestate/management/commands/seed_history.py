"""Write simulated history for servers that have none: a demo's charts and statistics.

For demos and development only: the history is made up. Servers with any
history are left alone, so it never mixes with what polling recorded.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from left4me.commands import OpsCommand
from livestate.seeding import seed_history
from servers.models import Server


def whole_number(flag: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"{flag} must be a whole number, got {value!r}") from None


class Command(OpsCommand):
    help = (
        "Write N days of simulated history (snapshots, sessions, reachability, rollups) "
        "for servers that have no history yet. For demos: the history is made up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        most = settings.LIVE_STATE_HISTORY_DAYS
        parser.add_argument(
            "--days",
            type=lambda v: whole_number("--days", v),
            default=7,
            help=f"days of history up to now, 1 to {most} (LIVE_STATE_HISTORY_DAYS); default 7",
        )
        parser.add_argument(
            "--servers",
            nargs="+",
            type=lambda v: whole_number("--servers", v),
            metavar="ID",
            help="only these servers (default: every server without history)",
        )
        parser.add_argument("--seed", type=lambda v: whole_number("--seed", v), default=1)

    def handle(
        self, *args: Any, days: int, servers: list[int] | None, seed: int, **options: Any
    ) -> None:
        most = settings.LIVE_STATE_HISTORY_DAYS
        if not 1 <= days <= most:
            raise CommandError(
                f"--days must be between 1 and {most} (older history is pruned at once), got {days}"
            )
        chosen = Server.objects.order_by("pk")
        if servers:
            chosen = chosen.filter(pk__in=servers)
            missing = sorted(set(servers) - set(chosen.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no server with id {', '.join(map(str, missing))}")
        if not chosen.exists():
            self.stdout.write("There are no servers to seed.")
            return
        report = seed_history(chosen, days=days, now=timezone.now(), seed=seed)
        if report.skipped:
            skipped = ", ".join(map(str, report.skipped))
            self.stdout.write(f"Left alone (they already have history): server {skipped}")
        if not report.seeded:
            self.stdout.write("Nothing to seed: every chosen server already has history.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {days} days of simulated history for {len(report.seeded)} servers: "
            f"{report.snapshots} snapshots, {report.sessions} sessions, "
            f"{report.reachability_runs} reachability runs, {report.rollups} rollup rows."
        ))  # fmt: skip
