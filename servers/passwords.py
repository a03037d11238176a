"""RCON password generation, kept apart so migrations can reference it."""

from __future__ import annotations

import secrets

RCON_PASSWORD_BYTES = 32  # token_urlsafe(32) -> 43 URL-safe characters


def generate_rcon_password() -> str:
    return secrets.token_urlsafe(RCON_PASSWORD_BYTES)
