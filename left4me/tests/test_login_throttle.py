"""Login throttling (django-axes): per address and per username, on both login pages.

Every request here names its client with REMOTE_ADDR, the only address the
throttle believes (the web server sets it from a trusted proxy's header).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client, RequestFactory

from left4me.security import client_ip

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["/login/", "/admin/login/"]
ATTACKER = "203.0.113.7"
LOCKED_TEXT = "Too many failed logins. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def _default_limits(settings):
    """The defaults of LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def alice(make_user):
    """Staff, so a right password passes the admin login form too."""
    return make_user("alice", is_staff=True)


@pytest.fixture
def bob(make_user):
    return make_user("bob", is_staff=True)


def attempt(page: str, username: str, password: str, ip: str = ATTACKER, forwarded_for: str = ""):
    """One login POST from a fresh browser at `ip`."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    data = {"username": username, "password": password}
    return Client().post(page, data, REMOTE_ADDR=ip, headers=headers)


def fail(page: str, times: int, *, username: str = "alice", ip: str = ATTACKER) -> list[int]:
    return [attempt(page, username, "wrong", ip).status_code for _ in range(times)]


def assert_locked(response, text: str = LOCKED_TEXT) -> None:
    page = response.content.decode()
    assert response.status_code == 429
    assert text in page
    assert '<header class="topbar">' in page  # our base template, not a bare message
    assert "Traceback" not in page
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_it_locks_out_after_the_limit_even_with_the_right_password(page, alice):
    assert fail(page, 5) == [200, 200, 200, 200, 429]
    response = attempt(page, "alice", "pw-alice")
    assert_locked(response)
    assert response["Retry-After"] == "900"


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_it_lets_a_right_password_in_below_the_limit(page, alice):
    fail(page, 4)
    assert attempt(page, "alice", "pw-alice").status_code == 302


def test_it_counts_one_username_across_addresses(alice, bob):
    for n in range(5):
        fail("/login/", 1, ip=f"198.51.100.{n + 1}")
    assert_locked(attempt("/login/", "alice", "pw-alice", ip="198.51.100.99"))
    # That address did nothing wrong: another account still logs in from it.
    assert attempt("/login/", "bob", "pw-bob", ip="198.51.100.99").status_code == 302


def test_it_counts_one_address_across_usernames_and_both_pages(alice, bob):
    for n, page in enumerate(LOGIN_PAGES * 2 + ["/login/"]):
        fail(page, 1, username=f"guess{n}")
    assert_locked(attempt("/admin/login/", "alice", "pw-alice"))
    assert attempt("/login/", "alice", "pw-alice", ip="198.51.100.1").status_code == 302


def test_it_ignores_forwarded_headers_from_the_client(alice):
    for n in range(5):
        attempt("/login/", f"guess{n}", "wrong", forwarded_for=f"192.0.2.{n}")
    assert_locked(attempt("/login/", "alice", "pw-alice", forwarded_for="192.0.2.200"))


def test_it_counts_ipv6_clients_per_64(alice):
    for n in range(5):
        fail("/login/", 1, username=f"guess{n}", ip=f"2001:db8:1:2::{n + 1:x}")
    assert_locked(attempt("/login/", "alice", "pw-alice", ip="2001:db8:1:2:ffff::1"))
    assert attempt("/login/", "alice", "pw-alice", ip="2001:db8:1:3::1").status_code == 302


def test_it_reads_the_address_from_remote_addr_only():
    factory = RequestFactory()
    assert client_ip(factory.get("/", REMOTE_ADDR="::ffff:203.0.113.7")) == "203.0.113.7"
    assert client_ip(factory.get("/", REMOTE_ADDR="2001:db8::1")) == "2001:db8::"
    assert client_ip(factory.get("/", REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="1.2.3.4")) is None


def test_it_ends_the_lockout_after_the_cool_off(alice):
    fail("/login/", 5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=14))
    assert_locked(attempt("/login/", "alice", "pw-alice"), "Try again in 1 minute.")
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=1, seconds=1))
    assert attempt("/login/", "alice", "pw-alice").status_code == 302


def test_it_does_not_extend_the_lockout_for_attempts_during_it(alice):
    fail("/login/", 5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=10))
    assert fail("/login/", 3) == [429, 429, 429]
    assert_locked(attempt("/login/", "alice", "pw-alice"), "Try again in 5 minutes.")


def test_it_resets_the_count_after_a_successful_login(alice):
    fail("/login/", 4)
    assert attempt("/login/", "alice", "pw-alice").status_code == 302
    assert fail("/login/", 4) == [200, 200, 200, 200]


def test_it_keeps_an_address_count_when_another_account_logs_in_from_it(alice, bob):
    """Else anyone with an account could guess forever between own logins."""
    fail("/login/", 4)
    assert attempt("/login/", "bob", "pw-bob").status_code == 302
    assert fail("/login/", 1, username="carol") == [429]


def test_it_keeps_passwords_out_of_its_log_and_rows(alice, caplog):
    caplog.set_level(logging.INFO, logger="axes")
    attempt("/login/", "alice", "hunter2-typed-as-password")
    attempt("/login/", "hunter2-typed-as-username", "wrong")
    assert "AXES" in caplog.text  # it did log the failures
    assert ATTACKER in caplog.text
    assert "hunter2" not in caplog.text
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "hunter2-typed-as-password" not in stored
