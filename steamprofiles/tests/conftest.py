"""Fixtures of the Steam profile tests: a fake Steam, a clean shared cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from steamprofiles import steam_api
from steamprofiles.tests.fake_steam import API_KEY, FakeSteam


@pytest.fixture
def steam(monkeypatch, settings) -> FakeSteam:
    """Steam with a key configured; every call goes through the fake transport."""
    settings.STEAM_WEB_API_KEY = API_KEY
    fake = FakeSteam()
    monkeypatch.setattr(steam_api, "_session", fake.session())
    return fake


@pytest.fixture(autouse=True)
def _clean_cache(request):
    """The back-off and the task lock live in the shared cache (the DB cache here)."""
    if request.node.get_closest_marker("nodb"):
        yield
        return
    cache.clear()
    yield
    cache.clear()
