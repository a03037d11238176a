"""Fixtures for the RCON tests: a fake fleet on loopback and scriptable raw peers.

Constants and helpers live in `helpers.py`; tests import them from there.
"""

from __future__ import annotations

import contextlib

import pytest

from left4me.rcon.fleet import running_fleet, server_from_dict
from left4me.rcon.tests.helpers import RawPeer


@pytest.fixture
def fleet():
    """Start a virtual-clock fleet from scenario dicts; it stops at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(*specs: dict, clock: str = "virtual"):
            servers = [server_from_dict(s) for s in specs]
            return stack.enter_context(running_fleet(servers, clock=clock))

        yield start


@pytest.fixture
def raw_peer():
    """Start a RawPeer playing `script` and return its port; scripts' errors fail the test."""
    peers: list[RawPeer] = []

    def start(script) -> int:
        peers.append(RawPeer(script))
        return peers[-1].port

    yield start
    for peer in peers:
        peer.close()
