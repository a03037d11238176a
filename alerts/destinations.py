"""Webhook URLs: what we accept, how we show them, where they may point.

A webhook URL is an owner's secret (Discord's carries the token that lets
anyone post to the channel) and an address the panel connects to on the
owner's behalf (SPEC 13). So: http(s) only, no user:password@, a canonical
host checked against the outbound policy when saved and again at each send,
and after saving never shown whole: `redact` gives scheme://host/…last 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from left4me.outbound import InvalidHost, canonical_host

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}
# Show the URL's last characters only when the rest hides enough of it.
TAIL, TAIL_MIN_SECRET = 4, 12


class InvalidDestination(ValueError):
    """Not a webhook URL we accept; the message says why (and never repeats the URL)."""


@dataclass(frozen=True, slots=True)
class Destination:
    scheme: str
    host: str  # canonical: lowercase IDNA name, dotted IPv4 or compressed IPv6
    port: int
    target: str  # path and query, sent as given

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse(url: str) -> Destination:
    """The destination of `url`, or InvalidDestination."""
    text = url.strip()
    if not text:
        raise InvalidDestination("Enter the webhook URL.")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidDestination(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise InvalidDestination("The URL has spaces or characters that must be percent-encoded.")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidDestination("The URL must start with https:// (or http://).")
    if "@" in parts.netloc:
        raise InvalidDestination("The URL must not carry a user name or password before the host.")
    try:
        host = canonical_host(parts.hostname or "")
        port = parts.port
    except InvalidHost as error:
        raise InvalidDestination(str(error)) from None
    except ValueError:  # a port that is no number, or out of range
        port = 0
    if port == 0:
        raise InvalidDestination("The URL's port is not a number from 1 to 65535.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme, host, port or DEFAULT_PORTS[scheme], target)


def redact(url: str) -> str:
    """scheme://host/…last 4: enough to recognise a webhook, not enough to use it."""
    try:
        destination = parse(url)
    except InvalidDestination:
        return "(not a valid URL)"
    rest = destination.target
    tail = rest[-TAIL:] if len(rest) >= TAIL_MIN_SECRET else ""
    return f"{destination.scheme}://{destination.netloc}/…{tail}"
