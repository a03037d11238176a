"""Start the whole product on one machine: `./dev run`.

Prepares the database, makes sure someone can log in, prints the URL and
the login, then runs web, Celery worker, Celery beat and a simulated fleet
from the Procfile under honcho until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

DEMO_USERNAME = "demo"
LOOPBACK = "127.0.0.0/8"


class Command(BaseCommand):
    help = "Migrate, ensure a demo login, then run web + worker + beat + a simulated fleet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
        parser.add_argument("--servers", type=int, default=6, help="simulated servers (default 6)")
        parser.add_argument("--no-fleet", action="store_true", help="do not simulate servers")
        parser.add_argument(
            "--prepare-only", action="store_true", help="set up and print the login, start nothing"
        )

    def handle(
        self, *args: Any, port: int, servers: int, no_fleet: bool, prepare_only: bool, **opts: Any
    ) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        login = self.ensure_login()
        self.stdout.write(self.style.SUCCESS(f"\nleft4me is starting at http://127.0.0.1:{port}/"))
        self.stdout.write(login + "\n")
        if prepare_only:
            return
        self.run_procfile(port=port, servers=servers, fleet=not no_fleet)

    def ensure_login(self) -> str:
        """Create a demo superuser on an empty database; remember its password."""
        users = get_user_model().objects
        credentials = Path(settings.VAR_DIR) / "demo-login.txt"
        if not users.exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser(DEMO_USERNAME, email="", password=password)
            credentials.write_text(f"{DEMO_USERNAME} {password}\n")
            credentials.chmod(0o600)
        if credentials.exists():
            username, password = credentials.read_text().split()
            return f"Log in as {username} / {password} (saved in {credentials})"
        return "Log in with an existing account (manage.py createsuperuser makes one)."

    def fleet_owner(self) -> str:
        """The demo user, else the first superuser, owns the simulated servers."""
        users = get_user_model().objects
        owner = users.filter(username=DEMO_USERNAME).first()
        owner = owner or users.filter(is_superuser=True).order_by("pk").first()
        return owner.get_username() if owner else DEMO_USERNAME

    def run_procfile(self, *, port: int, servers: int, fleet: bool) -> None:
        from honcho.environ import parse_procfile
        from honcho.manager import Manager

        base = Path(settings.BASE_DIR)
        procfile = parse_procfile((base / "Procfile").read_text())
        env = dict(os.environ, PORT=str(port), FLEET_SERVERS=str(servers), PYTHONUNBUFFERED="1")
        env.setdefault("FLEET_OWNER", self.fleet_owner())
        if fleet:
            # The simulated fleet listens on loopback, which the panel refuses by default.
            env.setdefault("OUTBOUND_ALLOWED_NETWORKS", LOOPBACK)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        manager = Manager()
        for name, command in procfile.processes.items():
            if name == "fleet" and not fleet:
                continue
            manager.add_process(name, command, env=env, cwd=str(base))
        manager.loop()
        sys.exit(manager.returncode)
