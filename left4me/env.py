"""Strict readers for settings that come from the environment.

A typo in a deployment's environment should stop the process at start-up
with a message naming the variable, not silently fall back to a default.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
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
    return persistent_secret(path, lambda: secrets.token_urlsafe(50))


def persistent_secret(path: Path, generate: Callable[[], str]) -> str:
    """Return the secret stored at `path`, creating it with `generate()` on first use.

    Two processes starting together agree on one secret: each writes a
    candidate to its own private temporary file (O_CREAT|O_EXCL, 0600) and
    hard-links it to `path`, which only one can do; the others read the
    winner's, always complete. A secret file found readable by others is
    tightened to 0600.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return _create_secret(path, generate())
    private_file(path)
    return text.strip()


def _create_secret(path: Path, secret: str) -> str:
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:  # another process won the race: use its secret
            return path.read_text().strip()
        return secret
    finally:
        candidate.unlink(missing_ok=True)


def _owned(path: Path) -> bool:
    getuid = getattr(os, "getuid", None)  # absent on Windows, which has no modes to tighten
    return getuid is not None and path.stat().st_uid == getuid()


def private_dir(path: Path) -> Path:
    """Create `path` as a directory only its owner can enter (0700), or tighten it.

    A directory owned by another user is left as its owner set it up.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _owned(path) and stat.S_IMODE(path.stat().st_mode) != 0o700:
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600, or take group and other access off it.

    An empty file is also what SQLite makes of a new database, and SQLite
    gives its -wal and -shm files the database file's mode.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if _owned(path) and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(stat.S_IMODE(path.stat().st_mode) & 0o700)
    return path
