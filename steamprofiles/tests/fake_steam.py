"""A fake Steam Web API at the requests transport level.

Mounted on the client's Session, it lets our real client code run (URL and
query building, status handling, JSON parsing) while no traffic leaves the
machine. Replies are built from recorded, real-shaped fixture players. The
benchmark bench/steam_calls.py counts calls through it too, so it imports
nothing from pytest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

FIXTURES = Path(__file__).parent / "fixtures"
SUMMARIES_PATH = "/ISteamUser/GetPlayerSummaries/v0002/"
TEMPLATE_PLAYER = "summaries_two_players.json"

# Distinctive, so a leak anywhere (log, message, repr) is easy to spot.
API_KEY = "SECRETKEY123ABC"


def fixture_players(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["response"]["players"]


def real_shaped_player(steam_id: str, name: str) -> dict:
    """A player entry shaped like Steam's, from a recorded one with new ID and name."""
    player = dict(fixture_players(TEMPLATE_PLAYER)[0])
    player.update(steamid=steam_id, personaname=name)
    player["profileurl"] = f"https://steamcommunity.com/profiles/{steam_id}/"
    return player


class FakeSteam(BaseAdapter):
    """Answers GetPlayerSummaries from known players, or with scripted failures."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []  # the steamids of each request, in order
        self.urls: list[str] = []
        self.timeouts: list[object] = []
        self.known: dict[str, dict] = {}
        # Queued failures: an exception to raise or (status, headers, body).
        self.failures: list[Exception | tuple[int, dict[str, str], bytes]] = []

    def load(self, fixture: str) -> None:
        for player in fixture_players(fixture):
            self.known[player["steamid"]] = player

    def add_player(self, steam_id: str, name: str) -> None:
        self.known[steam_id] = real_shaped_player(steam_id, name)

    def fail(self, status: int, *, body: str = "", headers: dict[str, str] | None = None) -> None:
        """Queue an error reply; `body` names a fixture file (Steam's HTML pages)."""
        content = (FIXTURES / body).read_bytes() if body else b""
        self.failures.append((status, headers or {}, content))

    def send(self, request, *args: Any, **kwargs: Any) -> requests.Response:
        # *args only to match BaseAdapter.send: requests passes its options as keywords.
        parts = urlsplit(request.url)
        assert parts.path == SUMMARIES_PATH, parts.path
        self.calls.append(parse_qs(parts.query)["steamids"][0].split(","))
        self.urls.append(request.url)
        self.timeouts.append(kwargs.get("timeout"))
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return self.response(request, *failure)
        players = [self.known[i] for i in self.calls[-1] if i in self.known]
        body = json.dumps({"response": {"players": players}}).encode()
        return self.response(request, 200, {"Content-Type": "application/json"}, body)

    def response(
        self, request, status: int, headers: dict[str, str], body: bytes
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers.update(headers)
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass

    def session(self) -> requests.Session:
        """A Session that sends every Steam API request here."""
        session = requests.Session()
        session.mount("https://api.steampowered.com/", self)
        return session
