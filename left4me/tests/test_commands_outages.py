"""Commands with a service down end in one line naming it, never a traceback or a password."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command

from left4me.commands import OpsCommand, where

pytestmark = pytest.mark.nodb


def manage(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=dict(os.environ, LEFT4ME_VAR_DIR=str(tmp_path), **env),
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_it_names_a_database_that_does_not_answer(tmp_path):
    result = manage(
        "poll_live_state", "--once", tmp_path=tmp_path,
        DATABASE_URL="postgres://left4me:hunter2@127.0.0.1:1/left4me",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: The database at 127.0.0.1:1 is not answering (OperationalError): "
        "start it, or check DATABASE_URL."
    ]
    assert "hunter2" not in result.stdout + result.stderr


class ReadsTheCache(OpsCommand):
    def handle(self, *args, **options):
        cache.get("anything")


def test_it_names_a_redis_that_does_not_answer(settings):
    settings.REDIS_URL = "redis://:hunter2@127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    with pytest.raises(CommandError) as refused:
        call_command(ReadsTheCache())
    assert str(refused.value) == (
        "Redis at 127.0.0.1:1 is not answering (ConnectionError): start it, or check REDIS_URL."
    )


def test_it_keeps_only_host_and_port_of_a_url():
    assert where("redis://:secret@redis.internal:6380/2") == "redis.internal:6380"
    assert where("postgres://u:p@db/left4me") == "db"
    assert where("filesystem://") == "filesystem"
