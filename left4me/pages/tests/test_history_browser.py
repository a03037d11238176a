"""The history pages in Debian's headless chromium, on a seeded week of history.

The server list at phone width (390 px, no sideways scrolling), a server's
statistics with the chart range switch working under the CSP, and a player
page reached from the server page. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from livestate.models import LiveStateSnapshot, LiveStatus
from livestate.seeding import seed_history

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def seeded(make_server):
    """Four servers with a week of history, each answering now with its last state."""
    servers = [
        make_server(name=name, listed=True, players_public=True, desired_state="running")
        for name in ("Busy EU", "Quiet US", "Flaky", "Hibernating")
    ]
    now = timezone.now()
    seed_history(servers, days=7, now=now)
    for server in servers:
        last = LiveStateSnapshot.objects.filter(server=server).latest("id")
        LiveStatus.objects.update_or_create(
            server=server,
            defaults={
                "state": "running", "polled_at": now, "answered_at": now,
                "players": last.players, "max_players": last.max_players, "map": last.map,
                "hibernating": last.hibernating,
            },
        )  # fmt: skip
    return servers


def watch_console(page: Page) -> list[ConsoleMessage]:
    console: list[ConsoleMessage] = []
    page.on("console", lambda message: console.append(message))  # a lambda: see test_browser
    return console


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_list_fits_a_phone(chromium, live_server, seeded):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport=PHONE)
    console = watch_console(page)
    page.goto(live_server.url + "/servers/")
    page.locator("#server-rows tbody tr").first.wait_for()
    assert page.locator("#server-rows tbody tr").count() == len(seeded)
    assert page_width(page) <= PHONE["width"]  # nothing scrolls sideways
    page.screenshot(path=str(SHOTS / "server-list-phone.png"), full_page=True)
    page.fill("input[name=q]", "flaky")
    from playwright.sync_api import expect  # page functions need eval, which the CSP forbids

    expect(page.locator("#server-rows tbody tr")).to_have_count(1, timeout=10_000)
    assert "Flaky" in page.locator("#server-rows tbody").inner_text()
    assert [m.text for m in console if m.type == "error"] == []


def test_statistics_and_a_player_page(chromium, live_server, seeded):
    SHOTS.mkdir(parents=True, exist_ok=True)
    busy = seeded[0]
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    console = watch_console(page)
    page.goto(live_server.url + busy.get_absolute_url())
    stats = page.locator("#statistics")
    stats.wait_for()
    assert "Uptime" in stats.inner_text()
    # Players first: the live panel comes before the statistics.
    order = page.evaluate(
        "[...document.querySelectorAll('#live-panel, #statistics')].map(e => e.id)"
    )
    assert order == ["live-panel", "statistics"]
    page.screenshot(path=str(SHOTS / "server-statistics.png"), full_page=True)

    page.click("#charts .range-switch a[href*='range=30d']")
    page.locator("#charts figure[data-range='30d']").wait_for(timeout=10_000)
    assert "range=30d" in page.url  # the switch keeps the address shareable
    page.locator("#charts").screenshot(path=str(SHOTS / "server-chart-30d.png"))

    player_link = page.locator("#statistics a[href^='/players/']").first
    player_link.click()
    page.wait_for_url("**/players/*/")
    assert "Playtime" in page.locator("body").inner_text()
    page.screenshot(path=str(SHOTS / "player-page.png"), full_page=True)
    assert [m.text for m in console if m.type == "error"] == []


def test_the_player_page_fits_a_phone(chromium, live_server, seeded):
    from livestate.models import PlayerSession

    steam_id = (
        PlayerSession.objects.filter(server=seeded[0], joined_at__gte=timezone.now() - timedelta(7))
        .values_list("steam_id_64", flat=True)
        .first()
    )
    page = chromium.new_page(viewport=PHONE)
    console = watch_console(page)
    page.goto(f"{live_server.url}/players/{steam_id}/")
    page.locator("#sessions").wait_for()
    assert page_width(page) <= PHONE["width"]
    page.screenshot(path=str(SHOTS / "player-page-phone.png"), full_page=True)
    assert [m.text for m in console if m.type == "error"] == []
