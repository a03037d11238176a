"""The live panel as JSON. SteamIDs and pings only for the owner and staff."""

from __future__ import annotations

from livestate.queries import LivePanel, PlayerCard


def player_json(card: PlayerCard, *, private: bool) -> dict:
    data = {
        "name": card.name,
        "avatar_url": card.avatar_url or None,
        "joined_at": card.joined_at.isoformat(),
        "left_at": card.left_at.isoformat() if card.left_at else None,
    }
    if private:
        data.update(steam_id_64=card.steam_id_64, min_ping=card.min_ping, max_ping=card.max_ping)
    return data


def panel_json(panel: LivePanel, *, private: bool) -> dict:
    server, snapshot = panel.server, panel.snapshot
    return {
        "server": {
            "id": server.pk,
            "name": server.name,
            "address": server.address,
            "connect_url": f"steam://connect/{server.address}",
            "desired_state": server.desired_state,
            "actual_state": server.actual_state,
        },
        "live": {
            "badge": panel.badge.text,
            "fresh": panel.badge.is_fresh,
            "reason": panel.badge.reason or None,
            "polled_seconds_ago": panel.polled_seconds_ago,
            "players": snapshot.players if snapshot else None,
            "max_players": snapshot.max_players if snapshot else None,
            "bots": snapshot.bots if snapshot else None,
            "map": snapshot.map if snapshot else None,
            "hibernating": snapshot.hibernating if snapshot else None,
        },
        "players_visible": panel.players_visible,
        "current_players": [player_json(c, private=private) for c in panel.current],
        "recent_players": [player_json(c, private=private) for c in panel.recent],
        "map_history": [
            {"map": r.map, "from": r.started_at.isoformat(), "to": r.last_seen_at.isoformat()}
            for r in panel.maps
        ],
    }
