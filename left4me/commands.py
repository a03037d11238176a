"""A base for the project's management commands: a service that is down is one clear line.

Without it, `poll_live_state` with Redis stopped ends in a 60-line traceback
that names neither the service nor what to do. Connection URLs are never
repeated whole (they carry passwords): only the host and port.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError


def where(url: str) -> str:
    """host:port of a connection URL, without user, password or database."""
    parts = urlsplit(url)
    if not parts.hostname:
        return parts.scheme or "(not set)"
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def explain(error: BaseException) -> str | None:
    """One line naming the service that failed and what to check, or None."""
    kind = type(error).__name__
    if isinstance(error, redis.RedisError):
        return (
            f"Redis at {where(settings.REDIS_URL or '')} is not answering ({kind}): "
            "start it, or check REDIS_URL."
        )
    if isinstance(error, BrokerOperationalError):
        return (
            f"The Celery broker at {where(settings.CELERY_BROKER_URL)} is not answering "
            f"({kind}): start it, or check CELERY_BROKER_URL / REDIS_URL."
        )
    if isinstance(error, DatabaseOperationalError | DatabaseInterfaceError):
        database = settings.DATABASES["default"]
        if database["ENGINE"].endswith("sqlite3"):
            if "locked" in str(error):
                return "The SQLite database stayed locked: another process holds a long write."
            return f"The SQLite database {database['NAME']} cannot be used ({kind}): {error}"
        host = f"{database.get('HOST') or 'localhost'}:{database.get('PORT') or 'default port'}"
        return f"The database at {host} is not answering ({kind}): start it, or check DATABASE_URL."
    return None


class OpsCommand(BaseCommand):
    """BaseCommand whose service outages end as a CommandError (one line, exit 1)."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except (redis.RedisError, BrokerOperationalError, DatabaseOperationalError,
                DatabaseInterfaceError) as error:  # fmt: skip
            line = explain(error)
            if line is None:
                raise
            raise CommandError(line) from None


def whole_number(flag: str, value: str | int, *, least: int | None = None) -> int:
    """A command's numeric argument, checked in handle() rather than as an argparse
    type: a CommandError raised while parsing ends in a traceback, not one line."""
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{flag} must be a whole number, got {value!r}") from None
    if least is not None and number < least:
        raise CommandError(f"{flag} must be at least {least}, got {number}")
    return number
