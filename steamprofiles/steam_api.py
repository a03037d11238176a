"""Client for ISteamUser/GetPlayerSummaries/v0002, with its own error type.

requests puts the full URL, API key included, into the text of its errors,
so nothing from a requests exception ever reaches our messages: every
failure becomes a `SteamApiError` built from safe parts, raised `from None`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

SUMMARIES_URL = "https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v0002/"
MAX_IDS_PER_CALL = 100
TIMEOUT = (3.05, 10)  # connect, read
NAME_LIMIT = 128
_KEY_IN_TEXT = re.compile(r"(key=)[^&\s'\"]+", re.IGNORECASE)

_session = requests.Session()
_session.headers["User-Agent"] = "left4me (self-hosted L4D2 panel)"


class SteamApiError(Exception):
    """A failed call. `kind`: rate_limited, server, connection, rejected or malformed."""

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after

    @property
    def backs_off(self) -> bool:
        """Whether every worker should pause calling Steam after this error."""
        return self.kind in ("rate_limited", "server", "connection")


@dataclass(frozen=True, slots=True)
class PlayerSummary:
    steam_id_64: str
    persona_name: str
    avatar_url: str
    profile_url: str


def redact(text: str) -> str:
    """Remove an API key from any text that may hold a URL."""
    return _KEY_IN_TEXT.sub(r"\1[redacted]", text)


def clean_name(name: object) -> str:
    text = "".join(ch for ch in str(name or "") if unicodedata.category(ch)[0] != "C")
    return text.strip()[:NAME_LIMIT]


def allowed_avatar(url: object, hosts: Sequence[str]) -> str:
    """The URL if it is https on one of Steam's avatar hosts, else ""."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url)
    return url if parts.scheme == "https" and parts.hostname in hosts and len(url) <= 300 else ""


def community_url(url: object) -> str:
    text = str(url or "")
    return text if text.startswith("https://steamcommunity.com/") and len(text) <= 300 else ""


def retry_after(response: requests.Response) -> float | None:
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def get_summaries(
    steam_ids: Sequence[str], *, api_key: str, session: requests.Session | None = None
) -> requests.Response:
    if not 0 < len(steam_ids) <= MAX_IDS_PER_CALL:
        raise ValueError(f"ask for 1 to {MAX_IDS_PER_CALL} SteamIDs per call, not {len(steam_ids)}")
    params = {"key": api_key, "steamids": ",".join(steam_ids)}
    try:
        return (session or _session).get(SUMMARIES_URL, params=params, timeout=TIMEOUT)
    except requests.Timeout:
        raise SteamApiError("Steam API timed out", kind="connection") from None
    except requests.RequestException as error:
        raise SteamApiError(
            f"Steam API unreachable ({type(error).__name__})", kind="connection"
        ) from None


def check_status(response: requests.Response) -> None:
    code = response.status_code
    if code == 429:
        raise SteamApiError(
            "Steam API rate limit hit (429)", kind="rate_limited", retry_after=retry_after(response)
        )
    if code >= 500:
        raise SteamApiError(
            f"Steam API server error ({code})", kind="server", retry_after=retry_after(response)
        )
    if code in (401, 403):
        raise SteamApiError(f"Steam rejected the API key ({code})", kind="rejected")
    if code != 200:
        raise SteamApiError(f"Steam API answered {code}", kind="rejected")


def parse_players(response: requests.Response, hosts: Sequence[str]) -> dict[str, PlayerSummary]:
    try:
        players = response.json()["response"]["players"]
        if not isinstance(players, list):
            raise TypeError
        summaries = [summary(player, hosts) for player in players]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SteamApiError("Steam API reply was not the expected JSON", kind="malformed") from None
    return {s.steam_id_64: s for s in summaries}


def summary(player: dict, hosts: Sequence[str]) -> PlayerSummary:
    steam_id = str(player["steamid"])
    if not steam_id.isdigit():
        raise ValueError(steam_id)
    return PlayerSummary(
        steam_id_64=steam_id,
        persona_name=clean_name(player.get("personaname")),
        avatar_url=allowed_avatar(player.get("avatarmedium"), hosts),
        profile_url=str(player.get("profileurl") or "")[:300]
        if str(player.get("profileurl") or "").startswith("https://steamcommunity.com/")
        else "",
    )


def fetch_player_summaries(
    steam_ids: Sequence[str],
    *,
    api_key: str,
    avatar_hosts: Sequence[str],
    session: requests.Session | None = None,
) -> dict[str, PlayerSummary]:
    """Summaries of up to 100 players; IDs Steam does not resolve are simply absent."""
    response = get_summaries(steam_ids, api_key=api_key, session=session)
    check_status(response)
    return parse_players(response, avatar_hosts)
