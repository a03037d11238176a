"""Poll game servers in-process with the same code as the Celery task.

Useful to check a server's RCON by hand, or to run polling without Celery.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from left4me.commands import OpsCommand
from left4me.rcon.text import clean
from livestate import services
from servers.models import Server


class Command(OpsCommand):
    help = "Run one poll tick in-process (or every interval) and print a per-server table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one tick and exit")
        parser.add_argument(
            "--server",
            type=int,
            action="append",
            dest="servers",
            metavar="ID",
            help="poll only this server (repeatable); it must be meant to run and have a password",
        )

    def handle(self, *args: Any, once: bool, servers: list[int] | None, **options: Any) -> None:
        if servers:
            self.check_servers(servers)
        while True:
            started = time.monotonic()
            self.tick(servers)
            if once:
                return
            time.sleep(max(0.0, settings.LIVE_STATE_POLL_SECONDS - (time.monotonic() - started)))

    def check_servers(self, ids: list[int]) -> None:
        found = set(Server.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = sorted(set(ids) - found)
        if missing:
            raise CommandError(f"no server with id {', '.join(map(str, missing))}")

    def tick(self, servers: list[int] | None) -> None:
        plan, report = services.run_tick(server_ids=servers)
        self.print_report(plan, report)

    def print_report(self, plan: services.TickPlan, report: services.PollReport) -> None:
        row = "{:>5}  {:<24}  {:<21}  {:<12}  {}"
        self.stdout.write(row.format("id", "name", "address", "state", "players / map or error"))
        for r in report.results:
            t = r.target
            if r.status:
                detail = f"{r.status.players}/{r.status.max_players} · {r.status.map}"
                detail += " · idle" if r.status.hibernating else ""
            else:
                detail = r.error_text
            address = f"{t.host}:{t.port}"
            name = clean(t.name, 24)  # an owner's text: no terminal escapes
            self.stdout.write(row.format(t.server_id, name, address, r.state, clean(detail, 200)))
        busy = f", held by an earlier poll {report.busy}" if report.busy else ""
        self.stdout.write(
            f"polled {report.polled}, failed {report.failed}, in auth back-off "
            f"{plan.in_backoff}{busy}, {report.seconds:.2f} s"
        )
