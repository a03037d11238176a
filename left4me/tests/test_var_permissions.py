"""var/ holds the database and the keys: only the user running the panel may read it."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.nodb

# Whatever the test runner's environment says, the product's own defaults.
UNSET = ("DATABASE_URL", "SECRET_KEY", "RCON_PASSWORD_KEYS", "REDIS_URL", "CELERY_BROKER_URL")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def manage(var_dir: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["LEFT4ME_VAR_DIR"] = str(var_dir)
    subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=env, cwd=settings.BASE_DIR, check=True, capture_output=True, timeout=300,
        preexec_fn=lambda: os.umask(0o022),  # a usual umask: files 0644 unless we say so
    )  # fmt: skip


def test_it_keeps_a_fresh_var_dir_and_its_files_private(tmp_path):
    var = tmp_path / "var"
    manage(var, "migrate", "--noinput")
    assert mode(var) == 0o700
    for name in ("left4me.sqlite3", "secret_key", "rcon-password.key"):
        assert mode(var / name) == 0o600, name


def test_sqlite_gives_its_wal_and_shm_files_the_database_files_mode(tmp_path):
    var = tmp_path / "var"
    manage(var, "check")
    database = var / "left4me.sqlite3"
    assert mode(database) == 0o600
    old_umask = os.umask(0o022)
    try:
        db = sqlite3.connect(database)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        assert mode(var / "left4me.sqlite3-wal") == 0o600
        assert mode(var / "left4me.sqlite3-shm") == 0o600
        db.close()
    finally:
        os.umask(old_umask)


def test_it_tightens_a_var_dir_left_open_by_an_earlier_version(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    var.chmod(0o755)
    (var / "secret_key").write_text("an-old-secret-key-long-enough-for-django-0123456789-abcdefgh")
    (var / "secret_key").chmod(0o644)
    old_umask = os.umask(0o022)
    try:  # an older worker still has the database open: its -wal and -shm exist
        db = sqlite3.connect(var / "left4me.sqlite3")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.commit()
    finally:
        os.umask(old_umask)
    try:
        assert mode(var / "left4me.sqlite3-wal") == 0o644
        manage(var, "check")
        assert mode(var) == 0o700
        for name in ("left4me.sqlite3", "-wal", "-shm", "secret_key", "rcon-password.key"):
            path = var / ("left4me.sqlite3" + name if name.startswith("-") else name)
            assert mode(path) == 0o600, name
    finally:
        db.close()
