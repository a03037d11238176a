"""Give a server a fresh RCON password (the owner must reload server.cfg)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from left4me.commands import OpsCommand
from servers import services
from servers.management.lookup import find_server


class Command(OpsCommand):
    help = "Rotate a server's RCON password: rotate_rcon_password SERVER (id or name)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("server", help="server id or name")

    def handle(self, *args: Any, server: str, **options: Any) -> None:
        target = find_server(server)
        try:
            services.rotate_rcon_password(server=target)
        except services.RotationLimited as limited:
            raise CommandError(str(limited)) from None
        self.stdout.write(
            f"Rotated the RCON password of {target.name} ({target.address}). "
            "Download its server.cfg from the server page and reload it on the game server."
        )
