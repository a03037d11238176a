"""Where the panel may connect on an owner's behalf (SPEC section 13).

An owner types an address; the poller then connects there every few seconds
with a password. Both are attacker's input: this module turns a typed host
into one canonical spelling (so one target cannot pass as seven), resolves it
with a deadline no slow DNS server can stretch, and refuses addresses in the
refused networks unless an allowed network covers them.

Framework-free (no Django): settings hand it the two network lists.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_REFUSED = (
    "0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 240.0.0.0/4, "
    "255.255.255.255/32, ::/128, ::1/128, fe80::/10, ff00::/8"
)

_DECIMAL_IPV4 = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Lookups run here, not in the event loop's default executor: asyncio.run()
# waits for that one at exit, so a hung lookup would hold the whole chunk.
_RESOLVER = ThreadPoolExecutor(max_workers=16, thread_name_prefix="left4me-dns")


class InvalidHost(ValueError):
    """Not a host we accept: say how to write it instead."""


class AddressRefused(ValueError):
    """The host is, or resolves to, an address the panel must not connect to."""


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDR networks; ValueError names the bad entry."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not a network in CIDR form (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def canonical_host(text: str) -> str:
    """One spelling per target: dotted-decimal IPv4, compressed IPv6, IDNA hostname.

    Numeric spellings other than four decimal octets (`127.1`, `2130706433`,
    `0x7f.1`, `0177.0.0.1`) are refused rather than guessed: resolvers read
    them differently. IPv6 zones (`fe80::1%eth0`) are refused too.
    """
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise InvalidHost("Enter a host name or an IP address.")
    if ":" in host:
        return _canonical_ipv6(host)
    if _DECIMAL_IPV4.fullmatch(host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise InvalidHost(f"{host} is not an IPv4 address (each part is 0 to 255).") from None
    return _canonical_hostname(host)


def _canonical_ipv6(host: str) -> str:
    if "%" in host:
        raise InvalidHost("IPv6 zone indexes (the part after %) are not accepted.")
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        raise InvalidHost(f"{host} is not an IPv6 address.") from None
    if address.ipv4_mapped is not None:  # written alike by every Python (3.13 changed it)
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


def _canonical_hostname(host: str) -> str:
    name = host.lower().removesuffix(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidHost(f"{host} is not a valid host name.") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidHost(f"{host} is not a valid host name.")
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        raise InvalidHost(
            f"{host} looks like a numeric address: write IPv4 as four decimal numbers, "
            "e.g. 192.168.1.20."
        )
    return name


def as_ip(host: str) -> IPAddress | None:
    """The address if `host` (canonical) is an IP literal, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def effective(address: IPAddress) -> IPAddress:
    """IPv4-mapped and -compatible IPv6 addresses are judged as their IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        packed = address.packed
        if packed[:12] == bytes(12) and int(address) > 1:  # ::a.b.c.d (not :: or ::1)
            return ipaddress.IPv4Address(packed[12:])
    return address


@dataclass(frozen=True, slots=True)
class Policy:
    """Refused networks, and allowed ones that override them."""

    refused: tuple[IPNetwork, ...]
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_text(cls, refused: str, allowed: str = "") -> Policy:
        return cls(parse_networks(refused), parse_networks(allowed))

    def permits(self, address: IPAddress) -> bool:
        judged = effective(address)
        if any(judged in net for net in self.allowed if net.version == judged.version):
            return True
        return not any(judged in net for net in self.refused if net.version == judged.version)

    def check(self, addresses: Iterable[IPAddress], host: str) -> None:
        for address in addresses:
            if not self.permits(address):
                raise AddressRefused(f"{host} is not an address the panel may connect to.")


async def resolve(host: str, *, policy: Policy, timeout: float) -> str:
    """The address to connect to for canonical `host`, checked against `policy`.

    Every address the name resolves to must be permitted (a name must not
    mix a public address with a loopback one); the first is returned (an
    IPv4-mapped one as IPv4), and the caller connects to exactly that
    address. Raises AddressRefused, InvalidHost, or TimeoutError when DNS
    does not answer within `timeout`.
    """
    literal = as_ip(host)
    if literal is not None:
        policy.check([literal], host)
        return str(effective(literal))
    loop = asyncio.get_running_loop()
    lookup = loop.run_in_executor(_RESOLVER, _lookup, host)
    addresses = await asyncio.wait_for(lookup, timeout)
    if not addresses:
        raise InvalidHost(f"{host} does not resolve to any address.")
    policy.check(addresses, host)
    return str(effective(addresses[0]))


def resolve_now(host: str, *, policy: Policy, timeout: float) -> str:
    """`resolve` for code that is not async (form validation)."""
    return asyncio.run(resolve(host, policy=policy, timeout=timeout))


def _lookup(host: str) -> Sequence[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidHost(f"{host} does not resolve to any address.") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found
