"""Start the whole product on one machine: `./dev run`.

Prepares the database, makes sure someone can log in, prints the URL and
the login, then runs web, Celery poller, worker and beat and a simulated
fleet from the Procfile under left4me.supervise until Ctrl-C: a process that
dies is started again, the others keep going. On a first start (no snapshot
anywhere yet) it adds the fleet's servers and seeds a week of simulated
history for them, so charts and statistics have something to show at once.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from left4me.rcon.fleet import demo_fleet
from left4me.supervise import Supervisor, install_signal_handlers, parse_procfile
from livestate.models import LiveStateSnapshot
from livestate.seeding import seed_history
from servers.management.commands.simulate_servers import register_fleet
from servers.models import Server

DEMO_USERNAME = "demo"
LOOPBACK = "127.0.0.0/8"
FLEET_BASE_PORT = 27100  # the Procfile's default
FLEET_SEED = 1  # simulate_servers' default: the same server personalities in the same order
SEED_AT_MOST = 24  # servers given seeded history (a week of a big fleet takes minutes)


class Command(BaseCommand):
    help = "Migrate, ensure a demo login, then run web, poller, worker, beat and a simulated fleet."

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
        if not 1 <= servers <= 5000:
            raise CommandError("--servers must be between 1 and 5000")
        if not prepare_only:
            check_port_free(port)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        login = self.ensure_login()
        self.stdout.write(self.style.SUCCESS(f"\nleft4me is starting at http://127.0.0.1:{port}/"))
        self.stdout.write(login + "\n")
        if prepare_only:
            return
        if not no_fleet:
            self.seed_fleet_history(servers=servers)
        sys.exit(self.supervise(port=port, servers=servers, fleet=not no_fleet))

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

    def seed_fleet_history(self, *, servers: int, now: datetime | None = None) -> None:
        """On a first start (no snapshot anywhere), add the fleet's servers and seed
        a week of history for them.

        They are added stopped: the fleet process registers them again with the
        passwords it serves and starts them once it listens, so no poll can meet
        a password from here and earn the auth back-off.
        """
        if LiveStateSnapshot.objects.exists():
            return
        owner_name = os.environ.get("FLEET_OWNER") or self.fleet_owner()
        owner = get_user_model().objects.filter(username=owner_name).first()
        if owner is None:
            return
        fakes = demo_fleet(servers, seed=FLEET_SEED, horizon=0)  # names and ports only
        base = fleet_base_port()
        for index, fake in enumerate(fakes):
            fake.port = base + index
        try:
            register_fleet(fakes, owner, running=False)
        except CommandError as error:
            self.stdout.write(f"No simulated history: {error}")
            return
        ports = [fake.port for fake in fakes[:SEED_AT_MOST]]
        rows = Server.objects.filter(host="127.0.0.1", port__in=ports).order_by("port")
        report = seed_history(rows, days=7, now=now or timezone.now(), seed=FLEET_SEED)
        if report.seeded:
            of = f" of {servers}" if servers > len(report.seeded) else ""
            self.stdout.write(
                f"Seeded a week of simulated history for {len(report.seeded)}{of} servers"
            )

    def fleet_owner(self) -> str:
        """The demo user, else the first superuser, owns the simulated servers."""
        users = get_user_model().objects
        owner = users.filter(username=DEMO_USERNAME).first()
        owner = owner or users.filter(is_superuser=True).order_by("pk").first()
        return owner.get_username() if owner else DEMO_USERNAME

    def environment(self, *, port: int, servers: int, fleet: bool) -> dict[str, str]:
        env = dict(os.environ, PORT=str(port), FLEET_SERVERS=str(servers), PYTHONUNBUFFERED="1")
        env.setdefault("FLEET_OWNER", self.fleet_owner())
        # Plain HTTP on loopback: cookies marked Secure would never come back.
        env.setdefault("SESSION_COOKIE_SECURE", "false")
        if fleet:
            # The simulated fleet listens on loopback, which the panel refuses by default.
            env.setdefault("OUTBOUND_ALLOWED_NETWORKS", LOOPBACK)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def supervise(self, *, port: int, servers: int, fleet: bool) -> int:
        base = Path(settings.BASE_DIR)
        processes = parse_procfile((base / "Procfile").read_text())
        if not fleet:
            processes.pop("fleet", None)
        os.umask(0o077)  # what the processes write under var/ is the owner's alone
        env = self.environment(port=port, servers=servers, fleet=fleet)
        supervisor = Supervisor(processes, env=env, cwd=str(base))
        install_signal_handlers(supervisor, [signal.SIGINT, signal.SIGTERM])
        return supervisor.run()


def fleet_base_port() -> int:
    """The fleet's first port, as the Procfile reads it."""
    value = os.environ.get("FLEET_BASE_PORT") or str(FLEET_BASE_PORT)
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"FLEET_BASE_PORT must be a port number, got {value!r}") from None


def check_port_free(port: int) -> None:
    """Fail with a hint before starting anything when the web port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
            raise CommandError(
                f"Port {port} {reason}: is another ./dev run still going? "
                f"Stop it, or start on another port: ./dev run --port {port + 1}"
            ) from None
