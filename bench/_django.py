"""Shared set-up for benchmark scripts: a throwaway database and the machine line."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER_URL = "postgres://postgres@127.0.0.1:5432"


def setup_django(database: str, *, pg_name: str = "left4me_bench") -> str:
    """Point Django at a fresh database of the given kind ("sqlite" or "postgres").

    `pg_name` lets a script that runs beside others use a database of its own.
    """
    sys.path.insert(0, str(ROOT))
    var = Path(tempfile.mkdtemp(prefix="left4me-bench-"))
    os.environ["LEFT4ME_VAR_DIR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "left4me.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    # The fake fleet listens on loopback, which the panel refuses by default (SPEC 13).
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    if database == "postgres":
        _recreate_postgres_database(pg_name)
        os.environ["DATABASE_URL"] = f"{PG_SERVER_URL}/{pg_name}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{var / 'bench.sqlite3'}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    return database


def _recreate_postgres_database(name: str) -> None:
    drop_postgres_database(name)
    _postgres_admin(f'CREATE DATABASE "{name}"')


def drop_postgres_database(name: str) -> None:
    """Drop a benchmark database, even if a killed process left a session on it."""
    _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({model or cpu}), "
        f"Python {platform.python_version()}"
    )
