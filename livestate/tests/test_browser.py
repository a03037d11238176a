"""The whole product in Debian's headless chromium: web, worker, beat and a fleet.

A player joins a simulated server, shows up on the open server page without
a reload, then leaves and moves to "Recent players". Screenshots of the list
and the server page go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings as django_settings
from django.db import connections

from left4me.rcon.fleet import running_fleet, server_from_dict
from left4me.rcon.fleet.fleet import free_ports
from left4me.testing import wait_for
from livestate.models import LiveStatus
from livestate.tests.helpers import ALICE
from servers.models import Server

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
FAST = {"LIVE_STATE_POLL_SECONDS": "1", "LIVE_STATE_QUERY_TIMEOUT_SECONDS": "0.8"}
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


def test_it_shows_a_player_arrive_and_leave_live(
    chromium, live_server, celery_worker_factory, owner, settings
):
    settings.LIVE_STATE_POLL_SECONDS = 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    scenario = {
        "name": "Coop #1", "password": "pw", "map": "c1m2_streets",
        "events": [
            {"at": 4, "kind": "join", "steam_id_64": ALICE, "name": "Alice <b>", "ping": 42},
            {"at": 12, "kind": "leave", "steam_id_64": ALICE},
        ],
    }  # fmt: skip
    # The fleet starts only once the poller is polling, so the scripted join
    # and leave fall inside polled time however slowly worker and beat start.
    port = free_ports(1)[0]
    server = Server.objects.create(
        owner=owner, name="Coop #1", port=port, rcon_password="pw",
        desired_state="running", listed=True,
    )  # fmt: skip
    celery_worker_factory.worker(**FAST)
    celery_worker_factory.beat(**FAST)
    wait_for(
        lambda: LiveStatus.objects.filter(server=server, polled_at__isnull=False).exists(),
        timeout=60,
        what="the first poll",
    )
    with running_fleet([server_from_dict(scenario)], clock="real", base_port=port):
        page = chromium.new_page(viewport={"width": 1200, "height": 900})
        console: list[ConsoleMessage] = []
        # A lambda: Playwright tags the handler with an attribute, and a bound
        # builtin such as console.append cannot carry one (AttributeError).
        page.on("console", lambda message: console.append(message))
        page.goto(live_server.url + server.get_absolute_url())
        page.locator(".current-players .name", has_text="Alice <b>").wait_for(timeout=20_000)
        assert "0/4" not in page.locator(".live-summary").inner_text()
        page.screenshot(path=str(SHOTS / "server-page-playing.png"), full_page=True)
        page.locator(".recent-players .name", has_text="Alice <b>").wait_for(timeout=25_000)
        assert page.locator(".current-players").count() == 0
        page.screenshot(path=str(SHOTS / "server-page-recent.png"), full_page=True)
        page.goto(live_server.url + "/servers/")
        page.locator(".badge-idle, .badge-live").first.wait_for(timeout=10_000)
        page.screenshot(path=str(SHOTS / "server-list.png"), full_page=True)
        errors = [message.text for message in console if message.type == "error"]
        assert errors == []  # no CSP violation or script error
