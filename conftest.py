"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connections


@pytest.fixture
def make_user(django_user_model):
    counter = iter(range(1, 1_000_000))

    def make(username: str | None = None, **extra):
        name = username or f"user{next(counter)}"
        return django_user_model.objects.create_user(username=name, password="pw-" + name, **extra)

    return make


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def staff_client(client, make_user):
    """A test client logged in as a superuser, for admin pages."""
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def make_server(owner):
    from servers.models import Server

    ports = iter(range(27015, 40000))

    def make(**fields):
        fields.setdefault("owner", owner)
        fields.setdefault("port", next(ports))
        fields.setdefault("name", f"server-{fields['port']}")
        return Server.objects.create(**fields)

    return make


@pytest.fixture(autouse=True)
def _loopback_fleet_allowed(settings):
    """The fake fleet listens on loopback, which the panel refuses by default (SPEC 13).

    Tests of the refusal itself set OUTBOUND_ALLOWED_NETWORKS back to "".
    """
    settings.OUTBOUND_ALLOWED_NETWORKS = "127.0.0.0/8"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per user; tests only need a working login."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def migrate_to():
    """migrate_to(targets) moves the test database there and returns those apps;
    the schema goes back to the latest afterwards, as every other test expects."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield migrate
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail under CI: CI must prove the real service paths."""
    import os

    message = f"{what} is not reachable: {error}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _claim_redis_database() -> str:
    """A Redis database of this run's own, as `./dev test` takes one (same lock files).

    pytest run directly would otherwise share database 15 with any other run
    on the machine: each flushes it and their workers eat each other's tasks.
    The lock is held until this process ends.
    """
    import fcntl
    import os
    import tempfile

    for db in range(15, 9, -1):
        lock = open(os.path.join(tempfile.gettempdir(), f"left4me-test-redis-{db}.lock"), "w")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        _held_locks.append(lock)
        return f"redis://127.0.0.1:6379/{db}"
    pytest.fail("Redis test databases 10-15 are all in use by other runs (set TEST_REDIS_URL)")


_held_locks: list = []


@pytest.fixture(scope="session")
def redis_url() -> str:
    import os

    import redis

    url = os.environ.get("TEST_REDIS_URL") or _claim_redis_database()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        _service_missing("Redis", error)
    return url


@pytest.fixture
def celery_worker_factory(redis_url, tmp_path):
    """Start real `celery worker` (and optionally beat) processes on Redis.

    They share the test database, so tests that use it need
    `django_db(transaction=True)` to make their rows visible to them.
    """
    from left4me.testing import CeleryProcesses

    processes = CeleryProcesses(redis_url=redis_url, log_dir=tmp_path)
    yield processes
    processes.stop()


def pytest_collection_modifyitems(config, items) -> None:
    """The framework-free RCON package never touches a database."""
    for item in items:
        if "left4me/rcon/" in item.nodeid:
            item.add_marker(pytest.mark.nodb)


@pytest.fixture(autouse=True)
def _polling_alive(request):
    """Pages see a panel that polls (a fresh PollProgress stamp), as in production.

    Without it every page would say "the panel is not polling". Tests of the
    stalled panel mark themselves `polling_stalled`; tests without a database
    are left alone.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or request.node.get_closest_marker("polling_stalled"):
        return
    transactional = marker.kwargs.get("transaction", False) or (marker.args and marker.args[0])
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.utils import timezone

    from livestate import progress

    progress.record_finished(now=timezone.now())


@pytest.fixture(autouse=True)
def _no_shared_panels():
    """Each test draws its own public panels (a server's pk and data repeat across tests)."""
    from left4me.pages.views import SHARED_PANELS

    SHARED_PANELS.clear()


# Browser tests: Debian's chromium through Playwright (its own download does not work here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def chromium():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop shares this thread
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
                # Between its calls Playwright marks its event loop as running in
                # this thread. Django's connections are thread-critical asgiref
                # Locals, so meanwhile they live apart from the thread's usual
                # ones: the test's own queries open connections that the test
                # database teardown never sees. Close them while they are visible,
                # or the PostgreSQL test database cannot be dropped (and SQLite
                # leaves its -wal/-shm files behind).
                connections.close_all()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# --- helper D (issue 12): server statistics uncached in tests --------------
@pytest.fixture(autouse=True)
def _stats_uncached(settings):
    """Pages compute their statistics on every view, as on a first visit.

    A cached figure would make a page's second request cheaper than its first,
    and tests compare query counts between requests. The cache's own tests
    set LIVE_STATE_STATS_CACHE_SECONDS back (livestate/tests/test_stats.py).
    """
    settings.LIVE_STATE_STATS_CACHE_SECONDS = 0


# --- end helper D ------------------------------------------------------------
