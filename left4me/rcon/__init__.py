"""Source RCON for left4me: clients, the `status` parser and a fake srcds fleet.

Imports neither Django nor Celery, so the fake fleet and the benchmarks run
it standalone.
"""

from __future__ import annotations

from left4me.rcon.aclient import aquery, aquery_status
from left4me.rcon.client import query, query_status
from left4me.rcon.errors import (
    RconAuthError,
    RconError,
    RconNetworkError,
    RconProtocolError,
    RconStatusError,
)
from left4me.rcon.status import RosterEntry, Status, parse_status

__all__ = [
    "RconAuthError",
    "RconError",
    "RconNetworkError",
    "RconProtocolError",
    "RconStatusError",
    "RosterEntry",
    "Status",
    "aquery",
    "aquery_status",
    "parse_status",
    "query",
    "query_status",
]
