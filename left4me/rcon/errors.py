"""The two exceptions every RCON failure surfaces as.

Callers (the poller, management commands) only need to tell "the password is
wrong" (stop retrying: srcds bans after repeated failures) from "anything else
went wrong" (retry next tick), so the hierarchy stays this small.
"""

from __future__ import annotations


class RconError(Exception):
    """The server could not be queried: network, timeout or protocol trouble."""


class RconAuthError(RconError):
    """The server rejected the RCON password."""
