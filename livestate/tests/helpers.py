"""Constants and helpers shared by the live-state tests (fixtures live in conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "76561197960287930", "76561197985018726", "76561198000000001"


def at(seconds: float) -> datetime:
    """The fleet's virtual clock reading `seconds` as a datetime."""
    return T0 + timedelta(seconds=seconds)
