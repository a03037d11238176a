"""Player cards: a session as the pages show it, with Steam's name and avatar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from livestate.models import PlayerSession
from steamprofiles.models import SteamProfile, profiles_for


@dataclass(frozen=True, slots=True)
class PlayerCard:
    steam_id_64: str
    name: str
    avatar_url: str
    joined_at: datetime
    left_at: datetime | None
    min_ping: int
    max_ping: int


def card(session: PlayerSession, profile: SteamProfile | None) -> PlayerCard:
    """Steam's name and avatar when known, the in-game name otherwise."""
    return PlayerCard(
        steam_id_64=session.steam_id_64,
        name=profile.display_name(session.name_at_join) if profile else session.name_at_join,
        avatar_url=profile.safe_avatar_url if profile else "",
        joined_at=session.joined_at,
        left_at=session.left_at,
        min_ping=session.min_ping,
        max_ping=session.max_ping,
    )


def player_cards(*groups: Iterable[PlayerSession]) -> list[list[PlayerCard]]:
    """Cards for each group of sessions, with every profile read in one query."""
    lists = [list(group) for group in groups]
    profiles = profiles_for(s.steam_id_64 for group in lists for s in group)
    return [[card(s, profiles.get(s.steam_id_64)) for s in group] for group in lists]
