"""A fake Steam at the transport level: our real client code runs, no traffic leaves."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from steamprofiles import steam_api

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "SECRETKEY123ABC"


class FakeSteam(BaseAdapter):
    """Answers GetPlayerSummaries from fixture data or scripted failures."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.known: dict[str, dict] = {}
        self.failures: list = []  # queued: int status, (status, headers), or an exception

    def load(self, fixture: str) -> None:
        for player in json.loads((FIXTURES / fixture).read_text())["response"]["players"]:
            self.known[player["steamid"]] = player

    def send(self, request, **kwargs):
        query = parse_qs(urlsplit(request.url).query)
        ids = query["steamids"][0].split(",")
        self.calls.append(ids)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            status, headers, body = failure if isinstance(failure, tuple) else (failure, {}, b"")
            return self.response(request, status, body, headers)
        players = [self.known[i] for i in ids if i in self.known]
        return self.response(request, 200, json.dumps({"response": {"players": players}}).encode())

    def response(self, request, status: int, body: bytes, headers=None):
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers.update(headers or {})
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def steam(monkeypatch, settings):
    settings.STEAM_WEB_API_KEY = API_KEY
    fake = FakeSteam()
    session = requests.Session()
    session.mount("https://", fake)
    monkeypatch.setattr(steam_api, "_session", session)
    return fake


@pytest.fixture(autouse=True)
def _clean_backoff():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
