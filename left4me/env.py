"""Strict readers for settings that come from the environment.

A typo in a deployment's environment should stop the process at start-up
with a message naming the variable, not silently fall back to a default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from left4me.outbound import parse_networks

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ValueError):
    """A variable is set to something its reader cannot accept."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EnvError(f"{name} must be a boolean (1/0, true/false, yes/no), got {raw!r}")


def env_number(name: str, default: float, *, minimum: float = 0, integer: bool = True) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise EnvError(f"{name} must be {kind}, got {raw!r}") from None
    if value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    return int(env_number(name, default, minimum=minimum))


def env_float(name: str, default: float, *, minimum: float = 0) -> float:
    return env_number(name, default, minimum=minimum, integer=False)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: str) -> str:
    """A comma-separated list of CIDR networks, checked now, returned as written."""
    raw = os.environ.get(name, default)
    try:
        parse_networks(raw)
    except ValueError as error:
        raise EnvError(f"{name}: {error}") from None
    return raw


def persistent_secret_key(path: Path) -> str:
    """Return the key stored at `path`, creating it (mode 0600) on first use.

    A fresh install then works without configuration, and sessions survive
    restarts, without a guessable built-in key.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
