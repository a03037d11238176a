"""Helpers for tests that run real Celery processes against the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import redis
from django.conf import settings
from django.db import connection

from left4me.celery import app as celery_app


def database_url_for_tests() -> str:
    """A DATABASE_URL pointing child processes at the database tests use now."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class CeleryProcesses:
    """Owns worker/beat subprocesses for one test and cleans them up."""

    def __init__(self, *, redis_url: str, log_dir: Path) -> None:
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[BinaryIO] = []  # one per process, closed in stop()
        redis.Redis.from_url(redis_url).flushdb()

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url_for_tests(),
            REDIS_URL=self.redis_url,
            CELERY_BROKER_URL=self.redis_url,
            CELERY_RESULT_BACKEND=self.redis_url,
            LEFT4ME_VAR_DIR=str(self.log_dir),
            SECRET_KEY=settings.SECRET_KEY,
            # The same keys, or the worker could not read the stored RCON passwords.
            RCON_PASSWORD_KEYS=",".join(settings.RCON_PASSWORD_KEYS),
            # The fake fleet is on loopback, which the panel refuses by default.
            OUTBOUND_ALLOWED_NETWORKS=settings.OUTBOUND_ALLOWED_NETWORKS,
        )
        env.update(extra)
        return env

    def start(self, *args: str, name: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        cmd = [sys.executable, "-m", "celery", "-A", "left4me", *args]
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and args)
            cmd,
            env=self.env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def worker(
        self,
        *,
        queues: str = "default,polling",
        name: str = "worker",
        pool: str = "solo",
        **env: str,
    ) -> subprocess.Popen[bytes]:
        """A worker; `pool="prefork"` gives it pool children (the product's pool, 1 child)."""
        pool_args = ["--pool=solo"] if pool == "solo" else ["--pool=prefork", "--concurrency=1"]
        proc = self.start(
            "worker",
            *pool_args,
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "--loglevel=INFO",
            name=name,
            **env,
        )
        self.wait_for_log(name, "ready", proc=proc)
        return proc

    def beat(self, **env: str) -> subprocess.Popen[bytes]:
        schedule = str(self.log_dir / "beat-schedule")
        return self.start("beat", "--loglevel=INFO", "-s", schedule, name="beat", **env)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def wait_for_log(
        self,
        name: str,
        text: str,
        *,
        proc: subprocess.Popen[bytes] | None = None,
        timeout: float = 30,
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{name} never logged {text!r}:\n{self.log(name)[-3000:]}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, log in zip(self.procs, self.logs, strict=True):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        celery_app.close()


def wait_for[T](
    condition: Callable[[], T | None], timeout: float = 30, what: str = "condition"
) -> T:
    """Wait for a truthy condition with a deadline (never a sleep that assumes timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def children_of(pid: int) -> list[int]:
    """The child processes of `pid` (a Celery worker's pool)."""
    command = [shutil.which("pgrep") or "/usr/bin/pgrep", "-P", str(pid)]
    found = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    return [int(line) for line in found.stdout.split()]
