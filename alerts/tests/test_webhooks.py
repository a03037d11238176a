"""The bodies: Discord embeds that show hostile names as text, JSON with fixed keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alerts.webhooks import render, signature

pytestmark = pytest.mark.nodb

HOSTILE = "@everyone [free skins](http://phish.example)"
PAYLOAD: dict[str, Any] = {
    "event": "player_joined",
    "server": {"id": 7, "name": "coop", "address": "10.0.0.5:27015", "url": None},
    "occurred_at": "2026-11-27T12:02:10+00:00",
    "players": 4,
    "max_players": 8,
    "map": "c2m1_highway",
    "reason": "@everyone [free skins](http://phish.example) joined",
    "player": {
        "steam_id_64": "76561198000000042",
        "name": "@everyone [free skins](http://phish.example)",
    },
}


def test_it_renders_hostile_names_as_plain_text_in_discord():
    body, headers = render(PAYLOAD, format="discord", secret="", delivery_id=3)
    message = json.loads(body)
    assert message["allowed_mentions"] == {"parse": []}
    embed = message["embeds"][0]
    assert embed["title"] == r"➕ \@everyone \[free skins\](http\://phish.example) joined coop"
    assert "url" not in embed  # no ALERT_PANEL_URL: no link
    assert [f["value"] for f in embed["fields"]] == [
        r"coop (10.0.0.5\:27015)", "player_joined", "4/8", r"c2m1\_highway",
    ]  # fmt: skip
    assert headers["X-Left4me-Delivery"] == "3"
    assert "X-Left4me-Signature" not in headers


def test_it_signs_the_json_body_it_sends():
    body, headers = render(PAYLOAD, format="json", secret="k", delivery_id=3)
    assert headers["X-Left4me-Signature"] == signature("k", body)
    assert json.loads(body)["player"]["name"] == HOSTILE  # JSON: as is
