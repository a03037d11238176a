"""Run the fake srcds fleet on loopback, optionally registering it in the panel.

For demos, development and load tests: the servers speak real Source RCON
with scripted players, so the whole poll path runs without a game install.
By default the servers differ like a real fleet's (`left4me.rcon.fleet.variety`:
busy and quiet hours, one flaky, one always empty); `--uniform` runs the
older fleet of alike servers under the same churn.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from left4me.commands import OpsCommand
from left4me.rcon.fleet import (
    FakeServer,
    demo_fleet,
    load_scenario,
    random_fleet,
    serve_forever,
)
from left4me.rcon.fleet.fleet import Fleet
from servers.models import Server

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def ratio(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"expected a ratio between 0 and 1, got {value!r}") from None
    if not 0 <= number <= 1:
        raise CommandError(f"expected a ratio between 0 and 1, got {value!r}")
    return number


class Command(OpsCommand):
    help = "Run simulated L4D2 servers (RCON on 127.0.0.1) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--servers", type=int, default=6, help="random fleet size (default 6)")
        parser.add_argument("--scenario", type=Path, help="JSON scenario instead of a random fleet")
        parser.add_argument("--seed", type=int, default=1, help="random fleet seed")
        parser.add_argument(
            "--uniform", action="store_true", help="alike servers instead of a varied fleet"
        )
        parser.add_argument("--base-port", type=int, default=0, help="first port (0 = any free)")
        parser.add_argument("--refused-ratio", type=ratio, default=0.0)
        parser.add_argument("--blackhole-ratio", type=ratio, default=0.0)
        parser.add_argument("--register", metavar="USERNAME", help="add the servers to the panel")
        parser.add_argument("--truth-out", type=Path, help="write played sessions here on exit")

    def handle(self, *args: Any, **opts: Any) -> None:
        servers = self.build(opts)
        owner = self.owner(opts["register"]) if opts["register"] else None
        if not 0 <= opts["base_port"] <= 65535 - len(servers):
            raise CommandError("--base-port leaves no room for the fleet below 65536")
        Fleet(servers, base_port=opts["base_port"])  # assigns the ports
        if owner is not None:
            self.register(servers, owner)
        for server in servers:
            state = server.failure or "ok"
            self.stdout.write(f"{server.name}\t127.0.0.1:{server.port}\t{state}")
        self.stdout.write(f"{len(servers)} simulated servers running; Ctrl-C stops them.")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(servers, ports_assigned=True, truth_out=opts["truth_out"]))

    def build(self, opts: dict[str, Any]) -> list[FakeServer]:
        if opts["scenario"]:
            try:
                return load_scenario(opts["scenario"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise CommandError(f"cannot load scenario {opts['scenario']}: {error}") from None
        if not 1 <= opts["servers"] <= 5000:
            raise CommandError("--servers must be between 1 and 5000")
        mix = {"refused_ratio": opts["refused_ratio"], "blackhole_ratio": opts["blackhole_ratio"]}
        if opts["uniform"]:
            return random_fleet(opts["servers"], seed=opts["seed"], **mix)
        return demo_fleet(opts["servers"], seed=opts["seed"], **mix)

    def owner(self, username: str) -> User:
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r} to register the servers for") from None

    def register(self, servers: list[FakeServer], owner: User) -> None:
        register_fleet(servers, owner)


@transaction.atomic
def register_fleet(servers: list[FakeServer], owner: User, *, running: bool = True) -> None:
    """Create or update one panel server per fake server (matched by address).

    `running=False` adds them without polling them yet (the quick start adds the
    fleet before it listens, to seed its history; the fleet then starts them).
    """
    state = Server.DesiredState.RUNNING if running else Server.DesiredState.STOPPED
    for fake in servers:
        clash = Server.objects.filter(host="127.0.0.1", port=fake.port).exclude(owner=owner)
        if clash.exists():
            raise CommandError(f"127.0.0.1:{fake.port} belongs to another user's server")
        Server.objects.update_or_create(
            host="127.0.0.1",
            port=fake.port,
            defaults={
                "owner": owner, "name": fake.name, "rcon_password": fake.registered_password,
                "desired_state": state, "listed": True,
            },
        )  # fmt: skip
