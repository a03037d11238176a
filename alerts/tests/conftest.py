"""Fixtures of the alerts tests: a webhook receiver on loopback, rules, the polled fleet."""

from __future__ import annotations

import pytest

from alerts import services
from alerts.tests.receiver import Receiver
from livestate.tests.conftest import fast_timeouts, polled_fleet  # noqa: F401 (fixtures)

TOKEN = "T0ken-of-the-webhook-0123456789abcdef"


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def make_rule(receiver, make_server):
    """make_rule(event=..., server=..., **fields): a rule whose URL points at the receiver."""

    def make(event="down", server=None, path=None, **fields):
        fields.setdefault("format", "json")
        return services.create_rule(
            server=server or make_server(desired_state="running"),
            event=event,
            url=receiver.url(path or f"/hooks/{event}/{TOKEN}"),
            **fields,
        )

    return make
