"""Run one RCON command on a server, using the password the panel stores."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from left4me.rcon import RconError, query
from servers.management.lookup import find_server


class Command(BaseCommand):
    help = "Run an RCON command on a server: rcon SERVER COMMAND... (SERVER is an id or a name)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("server", help="server id or name")
        parser.add_argument("command", nargs="+", help="the console command and its arguments")
        parser.add_argument(
            "--timeout",
            type=float,
            default=settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS,
            help="seconds before giving up",
        )

    def handle(
        self, *args: Any, server: str, command: list[str], timeout: float, **options: Any
    ) -> None:
        target = find_server(server)
        if not target.rcon_password:
            raise CommandError(f"server {target.name!r} has no RCON password; rotate one first")
        if timeout <= 0:
            raise CommandError("--timeout must be positive")
        try:
            reply = query(
                target.host, target.port, target.rcon_password, " ".join(command), timeout=timeout
            )
        except RconError as error:
            raise CommandError(f"{target.name} ({target.address}): {error}") from None
        self.stdout.write(reply.rstrip("\n"))
