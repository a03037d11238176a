"""Write simulated history for servers that have none: a demo's charts and statistics.

For demos and development only: the history is made up. Servers with any
history are left alone, so it never mixes with what polling recorded.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from left4me.commands import OpsCommand, whole_number
from livestate.seeding import seed_history
from servers.models import Server


class Command(OpsCommand):
    help = (
        "Write N days of simulated history (snapshots, sessions, reachability, rollups) "
        "for servers that have no history yet. For demos: the history is made up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        most = settings.LIVE_STATE_HISTORY_DAYS
        parser.add_argument(
            "--days",
            default="7",
            help=f"days of history up to now, 1 to {most} (LIVE_STATE_HISTORY_DAYS); default 7",
        )
        parser.add_argument(
            "--servers",
            nargs="+",
            metavar="ID",
            help="only these servers (default: every server without history)",
        )
        parser.add_argument("--seed", default="1")

    def handle(
        self, *args: Any, days: str, servers: list[str] | None, seed: str, **options: Any
    ) -> None:
        most = settings.LIVE_STATE_HISTORY_DAYS
        chosen_ids = [whole_number("--servers", value) for value in servers or []]
        day_count, seed_number = whole_number("--days", days), whole_number("--seed", seed)
        if not 1 <= day_count <= most:
            raise CommandError(
                f"--days must be between 1 and {most} (older history is pruned at once), "
                f"got {day_count}"
            )
        chosen = Server.objects.order_by("pk")
        if chosen_ids:
            chosen = chosen.filter(pk__in=chosen_ids)
            missing = sorted(set(chosen_ids) - set(chosen.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no server with id {', '.join(map(str, missing))}")
        if not chosen.exists():
            self.stdout.write("There are no servers to seed.")
            return
        report = seed_history(chosen, days=day_count, now=timezone.now(), seed=seed_number)
        if report.skipped:
            skipped = ", ".join(map(str, report.skipped))
            self.stdout.write(f"Left alone (they already have history): server {skipped}")
        if not report.seeded:
            self.stdout.write("Nothing to seed: every chosen server already has history.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {day_count} days of simulated history for {len(report.seeded)} servers: "
            f"{report.snapshots} snapshots, {report.sessions} sessions, "
            f"{report.reachability_runs} reachability runs, {report.rollups} rollup rows."
        ))  # fmt: skip
