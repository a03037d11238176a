"""Who is asking: the client address as the web server reported it."""

from __future__ import annotations

import ipaddress


def is_loopback(address: str) -> bool:
    """REMOTE_ADDR is this machine (waitress sets it from X-Forwarded-For only for
    its trusted proxy, so a remote client cannot claim it)."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False
