"""Beat's heartbeat: a file touched each time beat sends a task.

Beat has no work of its own to check, and a beat process that is alive but
stuck sends nothing. Its health check reads this file's age.
"""

from __future__ import annotations

import os
from pathlib import Path

BEAT_HEARTBEAT = "beat-heartbeat"


def touch(path: Path) -> None:
    path.touch(mode=0o600, exist_ok=True)
    os.utime(path)


def beat_heartbeat_age(path: Path, *, now: float) -> float | None:
    """Seconds since beat last sent a task; None when it never did."""
    try:
        return max(0.0, now - path.stat().st_mtime)
    except FileNotFoundError:
        return None
