"""Client for ISteamUser/GetPlayerSummaries/v0002, with its own error type.

requests puts the full URL, API key included, into the text of its errors and
urllib3 logs it at DEBUG. So nothing from a requests exception reaches our
messages (every failure becomes a `SteamApiError` built from safe parts and
raised `from None`), and a filter redacts `key=` from urllib3's log records.

Framework-light: only the default avatar hosts come from Django settings.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit

import requests

SUMMARIES_URL = "https://api.steampowered.com/ISteamUser/GetPlayerSummaries/v0002/"
MAX_IDS_PER_CALL = 100
TIMEOUT = (3.05, 10)  # connect, read
NAME_LIMIT = 128  # Steam caps persona names at 32 characters; this only bounds garbage
URL_LIMIT = 300
COMMUNITY_PREFIX = "https://steamcommunity.com/"

_STEAM_ID = re.compile(r"[0-9]{1,20}")
_KEY_IN_TEXT = re.compile(r"(key=)[^&\s'\"]*", re.IGNORECASE)
# Bidi overrides and isolates can flip the text around a name on our pages.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_session = requests.Session()
_session.headers["User-Agent"] = "left4me (self-hosted L4D2 panel)"


class ErrorKind(StrEnum):
    RATE_LIMITED = "rate-limited"
    SERVER = "server"
    CONNECTION = "connection"
    REJECTED = "rejected"
    MALFORMED = "malformed"


class SteamApiError(Exception):
    """A failed call, described only by text we wrote (never the URL or the key)."""

    def __init__(self, message: str, *, kind: ErrorKind, retry_after: float | None = None) -> None:
        super().__init__(redact(message))
        self.kind = kind
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"SteamApiError({str(self)!r}, kind={self.kind.value!r})"

    # Celery and multiprocessing pickle exceptions.
    def __reduce__(self) -> tuple[Callable[..., SteamApiError], tuple[object, ...]]:
        return _rebuild_error, (str(self), self.kind.value, self.retry_after)


def _rebuild_error(message: str, kind: str, retry_after: float | None) -> SteamApiError:
    return SteamApiError(message, kind=ErrorKind(kind), retry_after=retry_after)


@dataclass(frozen=True, slots=True)
class PlayerSummary:
    steam_id_64: str
    persona_name: str
    avatar_url: str  # "" unless https on an allowed Steam avatar host
    profile_url: str


def redact(text: str) -> str:
    """Remove an API key from any text that may hold a URL."""
    return _KEY_IN_TEXT.sub(r"\1[redacted]", text)


class RedactKeyFilter(logging.Filter):
    """Rewrites log records that carry `key=…` (urllib3 logs request URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "key=" in message.lower():
            record.msg, record.args = redact(message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(RedactKeyFilter())


def is_steam_id(value: object) -> bool:
    return isinstance(value, str) and _STEAM_ID.fullmatch(value) is not None


def clean_name(name: object) -> str:
    """Keep any script and emoji; drop control characters and bidi overrides."""
    if not isinstance(name, str):
        return ""
    kept = (
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cs", "Co") and ch not in _BIDI_CONTROLS
    )
    return "".join(kept).strip()[:NAME_LIMIT]


def allowed_avatar_url(url: object, hosts: Sequence[str]) -> str:
    """The URL if it is https on exactly one of `hosts` (no port, no user), else ""."""
    if not isinstance(url, str) or len(url) > URL_LIMIT or not url.isprintable() or " " in url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme != "https" or parts.username is not None or port is not None:
        return ""
    return url if parts.hostname in {h.lower() for h in hosts} and "\\" not in url else ""


def community_url(url: object) -> str:
    if not isinstance(url, str) or len(url) > URL_LIMIT or not url.isprintable():
        return ""
    return url if url.startswith(COMMUNITY_PREFIX) and " " not in url else ""


def retry_after(response: requests.Response, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), if usable."""
    value = response.headers.get("Retry-After", "").strip()
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now=now)
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until(http_date: str, *, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _get(
    steam_ids: Sequence[str],
    *,
    api_key: str,
    session: requests.Session,
    timeout: tuple[float, float],
    url: str,
) -> requests.Response:
    params = {"key": api_key, "steamids": ",".join(steam_ids)}
    try:
        # No redirects: the key must never be sent to any other place.
        return session.get(url, params=params, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise SteamApiError("Steam API timed out", kind=ErrorKind.CONNECTION) from None
    except requests.RequestException as error:
        message = f"Steam API unreachable ({type(error).__name__})"
        raise SteamApiError(message, kind=ErrorKind.CONNECTION) from None


def _check_status(response: requests.Response) -> None:
    code = response.status_code
    if code == 200:
        return
    if code == 429:
        raise SteamApiError(
            "Steam API rate limit hit (HTTP 429)",
            kind=ErrorKind.RATE_LIMITED,
            retry_after=retry_after(response),
        )
    if code >= 500:
        raise SteamApiError(
            f"Steam API server error (HTTP {code})",
            kind=ErrorKind.SERVER,
            retry_after=retry_after(response),
        )
    if code in (401, 403):
        raise SteamApiError(f"Steam rejected the API key (HTTP {code})", kind=ErrorKind.REJECTED)
    raise SteamApiError(f"Steam API answered HTTP {code}", kind=ErrorKind.REJECTED)


def _parse(
    response: requests.Response, *, asked: set[str], hosts: Sequence[str]
) -> dict[str, PlayerSummary]:
    try:
        players = response.json()["response"]["players"]
        if not isinstance(players, list):
            raise TypeError("players is not a list")
        summaries = [_summary(player, hosts) for player in players]
    except (ValueError, KeyError, TypeError):
        raise SteamApiError(
            "Steam API reply was not the expected JSON", kind=ErrorKind.MALFORMED
        ) from None
    # Anything Steam volunteered beyond what we asked is not ours to store.
    return {s.steam_id_64: s for s in summaries if s.steam_id_64 in asked}


def _summary(player: dict, hosts: Sequence[str]) -> PlayerSummary:
    steam_id = player["steamid"]
    if not is_steam_id(steam_id):
        raise ValueError("steamid is not a decimal SteamID64")
    return PlayerSummary(
        steam_id_64=steam_id,
        persona_name=clean_name(player.get("personaname")),
        avatar_url=allowed_avatar_url(player.get("avatarmedium"), hosts),
        profile_url=community_url(player.get("profileurl")),
    )


def fetch_player_summaries(
    steam_ids: Sequence[str],
    *,
    api_key: str,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = TIMEOUT,
    avatar_hosts: Sequence[str] | None = None,
    url: str = SUMMARIES_URL,
) -> dict[str, PlayerSummary]:
    """Summaries of 1-100 players; IDs Steam does not resolve are simply absent.

    Raises ValueError for a bad batch (the caller chunks) and SteamApiError
    for every failure of Steam or the network.
    """
    if not 0 < len(steam_ids) <= MAX_IDS_PER_CALL:
        raise ValueError(f"ask for 1 to {MAX_IDS_PER_CALL} SteamIDs per call, not {len(steam_ids)}")
    if bad := [i for i in steam_ids if not is_steam_id(i)]:
        raise ValueError(f"not SteamID64s: {bad[:3]!r}")
    if avatar_hosts is None:
        from django.conf import settings

        avatar_hosts = settings.STEAM_AVATAR_HOSTS
    response = _get(
        steam_ids, api_key=api_key, session=session or _session, timeout=timeout, url=url
    )
    _check_status(response)
    return _parse(response, asked=set(steam_ids), hosts=avatar_hosts)
