"""The exceptions every RCON failure surfaces as, one class per kind.

Callers tell the kinds apart with `isinstance`, never by message text:
"the password is wrong" (stop retrying: srcds bans after repeated failures),
"nobody answered" (the address is dead or filtered), and "something answered
but not as an RCON server should" (protocol or `status` trouble).
"""

from __future__ import annotations


class RconError(Exception):
    """The server could not be queried. Every failure is one of these."""


class RconAuthError(RconError):
    """The server rejected the RCON password."""


class RconNetworkError(RconError):
    """No usable connection: refused, timed out, reset or closed by the peer."""


class RconProtocolError(RconError):
    """Something answered, but not with a valid RCON exchange or `status` reply."""


class RconStatusError(RconProtocolError):
    """The exchange was valid RCON, but the reply is not a `status` we can trust."""
