"""The bodies we send: a Discord message or a JSON document, rendered from a delivery's facts.

The facts (`payload`) are stored with the delivery when the event happens;
the body is rendered from them at send time. With a secret, the body is
signed: `X-Left4me-Signature: sha256=<hex HMAC-SHA256 of the exact body>`.

Names of servers, maps and players are the owner's or a game server's text:
in Discord they are escaped (no markdown links or formatting) and mentions
are disabled, so a player called "@everyone [click](…)" stays plain text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from alerts.models import Format

SIGNATURE_HEADER = "X-Left4me-Signature"
DISCORD_TITLE_LIMIT, DISCORD_TEXT_LIMIT, DISCORD_FIELD_LIMIT = 256, 2000, 1024
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]#:<@])")

TITLES = {
    "down": "🔴 {server} is down",
    "up": "🟢 {server} is back up",
    "password_rejected": "🔑 {server} rejected the panel's RCON password",
    "players_at_least": "👥 {server}: {players} players",
    "players_at_most": "👥 {server}: {players} players",
    "player_joined": "➕ {player} joined {server}",
    "test": "🔔 Test alert for {server}",
}
COLORS = {"down": 0xB91C1C, "up": 0x15803D, "password_rejected": 0xB45309}
DEFAULT_COLOR = 0x2563EB


def render(
    payload: dict[str, Any], *, format: str, secret: str, delivery_id: int
) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and the headers that go with them."""
    document = discord_message(payload) if format == Format.DISCORD else json_document(payload)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Left4me-Event": str(payload["event"]),
        "X-Left4me-Delivery": str(delivery_id),
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return body, headers


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def json_document(payload: dict[str, Any]) -> dict[str, Any]:
    """The generic JSON format: the same keys for every event (null when not known)."""
    server = payload["server"]
    return {
        "event": payload["event"],
        "server": {
            "id": server["id"],
            "name": server["name"],
            "address": server["address"],
            "url": server.get("url"),
        },
        "occurred_at": payload["occurred_at"],
        "players": payload.get("players"),
        "max_players": payload.get("max_players"),
        "map": payload.get("map"),
        "reason": payload.get("reason", ""),
        "player": payload.get("player"),
    }


def discord_message(payload: dict[str, Any]) -> dict[str, Any]:
    """One embed: title, the reason, and fields for server, event, players and map."""
    server = payload["server"]
    players = payload.get("players")
    count = f"{players}/{payload.get('max_players')}" if players is not None else "—"
    player = (payload.get("player") or {}).get("name") or "A player"
    title = TITLES.get(payload["event"], "{server}: {event}").format(
        server=server["name"], players=players, player=player, event=payload["event"]
    )
    embed: dict[str, Any] = {
        "title": cut(escape(title), DISCORD_TITLE_LIMIT),
        "description": cut(escape(payload.get("reason", "")), DISCORD_TEXT_LIMIT),
        "color": COLORS.get(payload["event"], DEFAULT_COLOR),
        "timestamp": payload["occurred_at"],
        "fields": [
            field("Server", f"{server['name']} ({server['address']})"),
            field("Event", payload["event"], ours=True),
            field("Players", count, ours=True),
            field("Map", payload.get("map") or "—"),
        ],
    }
    if server.get("url"):
        embed["url"] = server["url"]
    return {"username": "left4me", "allowed_mentions": {"parse": []}, "embeds": [embed]}


def field(name: str, value: str, *, ours: bool = False) -> dict[str, Any]:
    """An inline field; text that is not ours (names, maps) is escaped."""
    text = value if ours else escape(value)
    return {"name": name, "value": cut(text, DISCORD_FIELD_LIMIT), "inline": True}


def escape(text: str) -> str:
    """Discord markdown characters escaped with a backslash: shown, not interpreted."""
    return _MARKDOWN.sub(r"\\\1", text)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
