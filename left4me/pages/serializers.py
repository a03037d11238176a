"""The live panel as JSON. SteamIDs and pings only for the owner and staff."""

from __future__ import annotations

from typing import Any

from left4me.pages.players import PlayerCard
from livestate.queries import LivePanel


def player_json(card: PlayerCard, *, private: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": card.name,
        "avatar_url": card.avatar_url or None,
        "joined_at": card.joined_at.isoformat(),
        "left_at": card.left_at.isoformat() if card.left_at else None,
    }
    if private:
        data.update(steam_id_64=card.steam_id_64, min_ping=card.min_ping, max_ping=card.max_ping)
    return data


def panel_json(
    panel: LivePanel, current: list[PlayerCard], recent: list[PlayerCard], *, private: bool
) -> dict[str, Any]:
    server, status = panel.server, panel.status
    answered = status.answered_at is not None
    return {
        "server": {
            "id": server.pk,
            "name": server.name,
            "address": server.address,
            "connect_url": f"steam://connect/{server.address}",
            "desired_state": server.desired_state,
            "actual_state": status.state,
        },
        "live": {
            "badge": panel.badge.text,
            "fresh": panel.badge.is_fresh,
            "reason": panel.badge.reason or None,
            "polled_seconds_ago": panel.polled_seconds_ago,
            "players": status.players if answered else None,
            "max_players": status.max_players if answered else None,
            "bots": status.bots if answered else None,
            "map": status.map if answered else None,
            "hibernating": status.hibernating if answered else None,
        },
        "players_visible": panel.players_visible,
        "current_players": [player_json(c, private=private) for c in current],
        "recent_players": [player_json(c, private=private) for c in recent],
        "map_history": [
            {"map": r.map, "from": r.started_at.isoformat(), "to": r.last_seen_at.isoformat()}
            for r in panel.maps
        ],
    }
