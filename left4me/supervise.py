"""Run the Procfile's processes for the quick start and keep every one of them up.

honcho, which the quick start used before, stops every process as soon as one
exits: one crashed worker took the web server down with it. Here a process
that exits is started again after a back-off (1 s, doubling to 30 s, back to
1 s once it has run for a minute) while the others go on. Each process runs
in a session of its own, so Ctrl-C reaches only the supervisor, which then
asks every process to stop (SIGTERM: Celery's warm shutdown finishes the
task in hand) and waits `grace` seconds before it SIGKILLs what is left.

supervisord does the same job but needs a generated config file and a control
socket, and cannot prefix each output line with the process's name.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
HEALTHY_AFTER = 60.0  # a process that ran this long starts again after FIRST_DELAY
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def parse_procfile(text: str) -> dict[str, str]:
    """`name: command` lines, in order; blank lines and comments skipped."""
    processes: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = PROCFILE_LINE.match(line)
        if match is None:
            raise ValueError(f"Procfile line {number} is not 'name: command': {line!r}")
        processes[match[1]] = match[2]
    return processes


@dataclass
class Supervised:
    """One process of the Procfile and what the supervisor knows of it."""

    name: str
    command: str
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    delay: float = FIRST_DELAY
    restarts: int = 0
    pumps: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Start, watch, restart and finally stop a set of shell commands."""

    def __init__(
        self,
        processes: Mapping[str, str],
        *,
        env: Mapping[str, str],
        cwd: str,
        grace: float = 25.0,
        out: IO[str] | None = None,
    ) -> None:
        self.processes = [
            Supervised(name, command, delay=FIRST_DELAY) for name, command in processes.items()
        ]
        self.env = dict(env)
        self.cwd = cwd
        self.grace = grace
        self.out = out or sys.stdout
        self.width = max((len(name) for name in processes), default=0)
        self.stopping = threading.Event()
        self.print_lock = threading.Lock()

    # --- output ----------------------------------------------------------------

    def say(self, name: str, text: str) -> None:
        with self.print_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | {text}\n")
            self.out.flush()

    def pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    # --- life cycle ------------------------------------------------------------

    def start(self, process: Supervised) -> None:
        popen = subprocess.Popen(  # noqa: S603 (the Procfile's own commands)
            ["/bin/sh", "-c", f"exec {process.command}"],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only
        )
        assert popen.stdout is not None
        pump = threading.Thread(target=self.pump, args=(process.name, popen.stdout), daemon=True)
        pump.start()
        process.popen, process.started_at, process.restart_at = popen, time.monotonic(), None
        process.pumps.append(pump)
        self.say("supervisor", f"started {process.name} (pid {popen.pid})")

    def reap(self, process: Supervised, now: float) -> None:
        """Schedule the restart of a process that exited by itself."""
        assert process.popen is not None
        code = process.popen.returncode
        ran = now - process.started_at
        process.delay = FIRST_DELAY if ran >= HEALTHY_AFTER else process.delay
        process.restart_at = now + process.delay
        how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with code {code}"
        self.say(
            "supervisor",
            f"{process.name} {how} after {ran:.0f} s; starting it again in {process.delay:g} s",
        )
        process.delay = min(process.delay * 2, MAX_DELAY)
        process.popen = None

    def run(self, until: threading.Event | None = None) -> int:
        """Supervise until SIGINT/SIGTERM (or `until` is set); return 0 after a clean stop."""
        for process in self.processes:
            self.start(process)
        while not self.stopping.is_set() and not (until and until.is_set()):
            now = time.monotonic()
            for process in self.processes:
                if process.popen is not None and process.popen.poll() is not None:
                    self.reap(process, now)
                due = process.restart_at is not None and now >= process.restart_at
                if process.popen is None and due:
                    process.restarts += 1
                    self.start(process)
            self.stopping.wait(0.2)
        return self.stop()

    def request_stop(self, signum: int = signal.SIGTERM, frame: object = None) -> None:
        self.stopping.set()

    def stop(self) -> int:
        running = [p for p in self.processes if p.popen is not None and p.popen.poll() is None]
        names = ", ".join(p.name for p in running)
        self.say("supervisor", f"stopping {names} (up to {self.grace:.0f} s)")
        for process in running:
            assert process.popen is not None
            # The main process only: Celery's pool children are its to stop.
            process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for process in running:
            assert process.popen is not None
            try:
                process.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("supervisor", f"{process.name} did not stop in time: SIGKILL")
                signal_group(process, signal.SIGKILL)
                process.popen.wait()
        for process in self.processes:
            for pump in process.pumps:
                pump.join(2)
        return 0


def signal_group(process: Supervised, signum: int) -> None:
    """Signal the process's whole session (its children too: Celery's pool, a shell)."""
    if process.popen is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signum)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def install_signal_handlers(supervisor: Supervisor, signals: Sequence[int]) -> None:
    for signum in signals:
        signal.signal(signum, supervisor.request_stop)
