"""Canonical hosts and the outbound network policy (SPEC section 13)."""

from __future__ import annotations

import ipaddress
import threading
import time

import pytest

from left4me import outbound
from left4me.outbound import AddressRefused, InvalidHost, Policy, canonical_host

pytestmark = pytest.mark.nodb

DEFAULT = Policy.from_text(outbound.DEFAULT_REFUSED)
LOOPBACK_OK = Policy.from_text(outbound.DEFAULT_REFUSED, "127.0.0.0/8")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 192.168.1.20 ", "192.168.1.20"),
        ("L4D.Example.ORG.", "l4d.example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::FFFF:7f00:1", "::ffff:127.0.0.1"),
    ],
)
def test_it_writes_each_target_one_way(typed, canonical):
    assert canonical_host(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    ["127.1", "2130706433", "0x7f.1", "0177.0.0.1", "0", "256.1.1.1", "1.2.3.4.5",
     "fe80::1%eth0", "", "bad_host.example", "-lead.example", "a..b", "x" * 64 + ".example"],
)  # fmt: skip
def test_it_refuses_ambiguous_or_malformed_hosts(typed):
    with pytest.raises(InvalidHost):
        canonical_host(typed)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "0.0.0.0", "169.254.169.254", "224.0.0.1", "255.255.255.255", "240.0.0.1",
     "::1", "::", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::127.0.0.1", "::ffff:169.254.169.254"],
)  # fmt: skip
def test_it_refuses_loopback_link_local_multicast_and_reserved_by_default(address):
    assert not DEFAULT.permits(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["192.168.1.20", "10.0.0.5", "172.16.3.4", "203.0.113.7", "2001:db8::1"]
)
def test_it_allows_lan_and_public_addresses_by_default(address):
    assert DEFAULT.permits(ipaddress.ip_address(address))


def test_an_allowed_network_overrides_a_refused_one():
    assert LOOPBACK_OK.permits(ipaddress.ip_address("127.0.0.1"))
    assert LOOPBACK_OK.permits(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not LOOPBACK_OK.permits(ipaddress.ip_address("169.254.169.254"))


def test_it_names_a_bad_network_setting():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        outbound.parse_networks("10.0.0.0/8, 10.0.0.0/33")


def test_it_resolves_literals_without_dns_and_checks_them():
    assert outbound.resolve_now("192.168.1.20", policy=DEFAULT, timeout=1) == "192.168.1.20"
    # One target, one address: a mapped spelling connects to (and is unique as) the IPv4 one.
    assert outbound.resolve_now("::ffff:192.168.1.20", policy=DEFAULT, timeout=1) == "192.168.1.20"
    with pytest.raises(AddressRefused):
        outbound.resolve_now("127.0.0.1", policy=DEFAULT, timeout=1)


def test_it_refuses_a_name_that_resolves_to_loopback():
    with pytest.raises(AddressRefused, match="localhost"):
        outbound.resolve_now("localhost", policy=DEFAULT, timeout=2)
    assert outbound.resolve_now("localhost", policy=LOOPBACK_OK, timeout=2) in {"127.0.0.1", "::1"}


def test_a_hung_lookup_costs_its_deadline_and_never_holds_the_loop(monkeypatch):
    release = threading.Event()

    def hung(host):
        release.wait(30)
        return [ipaddress.ip_address("192.0.2.1")]

    monkeypatch.setattr(outbound, "_lookup", hung)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            outbound.resolve_now("slow.example", policy=DEFAULT, timeout=0.3)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    # asyncio.run returned although the lookup thread still ran: nowhere near 30 s.
    assert elapsed < 10
