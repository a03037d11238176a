"""The whole product in Debian's headless chromium: web, worker, beat and a fleet.

A player joins a simulated server, shows up on the open server page without
a reload, then leaves and moves to "Recent players". Screenshots of the list
and the server page go to artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings as django_settings

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

SHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
FAST = {"LIVE_STATE_POLL_SECONDS": "1", "LIVE_STATE_QUERY_TIMEOUT_SECONDS": "0.8"}


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
