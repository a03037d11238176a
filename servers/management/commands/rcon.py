"""Run one RCON command on a server, using the password the panel stores."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from left4me.commands import OpsCommand
from left4me.rcon import RconError, query
from left4me.rcon.text import clean, printable
from servers.addresses import AddressRefused, InvalidHost, check_address
from servers.management.lookup import find_server


class Command(OpsCommand):
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
        name = clean(target.name, 64)
        try:
            # The same outbound policy as the poller: never connect where it may not.
            address = check_address(target.host)
            reply = query(
                address, target.port, target.rcon_password, " ".join(command), timeout=timeout
            )
        except (RconError, InvalidHost, AddressRefused) as error:
            raise CommandError(f"{name} ({target.address}): {printable(str(error))}") from None
        # The reply is whatever the server sent: no terminal escapes reach the screen.
        self.stdout.write(printable(reply.rstrip("\n")))
