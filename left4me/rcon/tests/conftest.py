from __future__ import annotations

import pytest

from left4me.rcon.fleet import running_fleet, server_from_dict

BASE = 76561197960265728


def players(count: int, *, long_names: bool = False) -> list[dict]:
    name = 'Ünïcødé survivor with a rather long name #{} "quoted" 🧟' if long_names else "p{}"
    return [
        {
            "at": 0,
            "kind": "join",
            "steam_id_64": str(BASE + 1000 + i),
            "name": name.format(i),
            "ping": 40 + i,
        }
        for i in range(count)
    ]


@pytest.fixture
def fleet():
    """Start a fleet from scenario dicts; it stops at the end of the test."""
    contexts = []

    def start(*scenarios: dict, clock: str = "virtual"):
        context = running_fleet([server_from_dict(s) for s in scenarios], clock=clock)
        contexts.append(context)
        return context.__enter__()

    yield start
    for context in contexts:
        context.__exit__(None, None, None)
