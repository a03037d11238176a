"""Start the fake fleet in its own process for a benchmark (no Django needed)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_fleet(count: int, *extra: str, horizon: int = 600) -> tuple[subprocess.Popen, list[dict]]:
    """Run `python -m left4me.rcon.fleet` and return it with its server listing."""
    listing = Path(tempfile.mkdtemp(prefix="left4me-fleet-")) / "servers.json"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "left4me.rcon.fleet", "--servers", str(count),
         "--horizon", str(horizon), "--servers-out", str(listing), *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not listing.exists():
        if fleet.poll() is not None or time.monotonic() > deadline:
            fleet.kill()
            raise SystemExit("the fake fleet did not start")
        time.sleep(0.2)
    time.sleep(0.5)  # the listing is written once the listeners are open; let it land
    return fleet, json.loads(listing.read_text())


def raise_nofile() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (the fleet process inherits it)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)
