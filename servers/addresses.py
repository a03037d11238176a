"""The panel's outbound policy applied to servers: canonical hosts, checked addresses.

`left4me.outbound` knows networks and DNS; this module reads the two
settings and words the answers for owners (form errors) and the poller.
"""

from __future__ import annotations

from django.conf import settings

from left4me.outbound import AddressRefused, InvalidHost, Policy, canonical_host, resolve_now

# A lookup when an owner saves a server may take this long, no more.
RESOLVE_SECONDS = 2.0

__all__ = ["AddressRefused", "InvalidHost", "canonical_host", "check_address", "policy"]


def policy() -> Policy:
    """The current OUTBOUND_REFUSED_NETWORKS / OUTBOUND_ALLOWED_NETWORKS."""
    return Policy.from_text(settings.OUTBOUND_REFUSED_NETWORKS, settings.OUTBOUND_ALLOWED_NETWORKS)


def check_address(host: str) -> str:
    """The checked address of canonical `host`; InvalidHost or AddressRefused with the reason.

    A lookup that does not finish within RESOLVE_SECONDS is an InvalidHost.
    """
    try:
        return resolve_now(host, policy=policy(), timeout=RESOLVE_SECONDS)
    except TimeoutError:
        raise InvalidHost(f"Looking up {host} took too long; check the name.") from None
