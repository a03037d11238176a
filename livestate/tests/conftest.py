"""A fake fleet on a virtual clock, registered as servers, polled by the real service."""

from __future__ import annotations

from datetime import datetime

import pytest

from left4me.rcon.fleet import running_fleet, server_from_dict
from livestate import services
from livestate.tests.helpers import at
from servers.models import Server


class PolledFleet:
    """Moves the fleet's clock and polls at the same instant, like beat would."""

    def __init__(self, handle, servers: dict[str, Server]) -> None:
        self.handle = handle
        self.servers = servers

    def clock(self) -> datetime:
        return at(self.handle.now())

    def poll(self, t: float, **kwargs) -> services.PollReport:
        """One whole in-process tick at fleet time `t`, as `poll_live_state --once` runs it."""
        self.handle.set_clock(t)
        return services.run_tick(clock=self.clock, **kwargs)[1]

    def poll_every(self, start: float, end: float, step: float = 5) -> None:
        t = start
        while t <= end:
            self.poll(t)
            t += step

    def fake(self, name: str):
        return self.handle.server(name)


@pytest.fixture
def fast_timeouts(settings):
    settings.LIVE_STATE_QUERY_TIMEOUT_SECONDS = 0.3
    settings.LIVE_STATE_POLL_SECONDS = 5
    settings.STUCK_SESSION_SECONDS = 60
    settings.LIVE_STATE_STALE_SECONDS = 30
    settings.RCON_AUTH_BACKOFF_SECONDS = 600


@pytest.fixture
def polled_fleet(owner, fast_timeouts):
    """Call with a list of scenario dicts; yields a PolledFleet."""
    stack = []

    def start(scenarios: list[dict]) -> PolledFleet:
        fakes = [server_from_dict(s) for s in scenarios]
        context = running_fleet(fakes, clock="virtual")
        handle = context.__enter__()
        stack.append(context)
        servers = {
            fake.name: Server.objects.create(
                owner=owner,
                name=fake.name,
                port=fake.port,
                rcon_password=fake.registered_password,
                desired_state="running",
                listed=True,
            )
            for fake in fakes
        }
        return PolledFleet(handle, servers)

    yield start
    for context in stack:
        context.__exit__(None, None, None)
