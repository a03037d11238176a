"""The stack under test for bench/chaos.py: a private Redis and the quick start.

Everything here is started by the chaos run and found again by what it is,
never by name: the quick start's processes by the pids its supervisor prints,
strays by the run's own LEFT4ME_VAR_DIR in their environment (pids are
reused quickly on a machine with pid_max 32768, a name matches other
people's processes).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+)\s*\| (.*)$")
STARTED = re.compile(r"^started (\S+) \(pid (\d+)\)$")
EXITED = re.compile(r"^(\S+) (was killed by (\S+)|exited with code (-?\d+)) after")
POLLED = re.compile(r"polled (\d+) servers")
TICK = re.compile(r"tick: \d+ servers to poll")
CHUNK = re.compile(r"Task livestate\.poll_chunk\[[0-9a-f-]+\] received")
TROUBLE = re.compile(r"CRITICAL|Unrecoverable|Traceback|wedged|Warm shutdown|signal 15")
# A line that shows the process doing its job (web: a page served).
WORK = {
    "web": re.compile(r"left4me\.access: .* 200 "),
    "worker": re.compile(r"Task \S+ succeeded in"),
    "poller": POLLED,
    "beat": re.compile(r"Sending due task"),
}
STOP_SECONDS = 45  # the supervisor gives its processes 25 s, then SIGKILLs them
# Settings the run chooses itself: a developer's shell must not point it elsewhere.
OWN_SETTINGS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                "STEAM_WEB_API_KEY", "LOG_LEVEL", "PORT", "DEBUG")  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_environment(var: Path, redis_url: str) -> dict[str, str]:
    """The quick start's environment: a fresh var dir, loopback fleet, default poll settings."""
    env = {k: v for k, v in os.environ.items() if k not in OWN_SETTINGS}
    env = {k: v for k, v in env.items() if not k.startswith(("LIVE_STATE_", "FLEET_"))}
    env |= {"LEFT4ME_VAR_DIR": str(var), "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "DJANGO_SETTINGS_MODULE": "left4me.settings", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def prepare_django(env: Mapping[str, str]) -> None:
    """This process reads and writes the run's database with the ORM, as the stack does.

    `quickstart --prepare-only` migrates, creates the cache table and the demo
    login that owns the fleet, exactly as `./dev run` would.
    """
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("quickstart", prepare_only=True, stdout=open(os.devnull, "w"))  # noqa: SIM115


# --- processes found by what they are --------------------------------------------


def is_ours(pid: int, var: Path) -> bool:
    """The process is alive (not a zombie) and runs with this run's var dir."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and f"LEFT4ME_VAR_DIR={var}".encode() in environ.split(b"\0")


def strays(var: Path) -> list[int]:
    """Every live process of this run other than this one."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [pid for pid in pids if pid != os.getpid() and is_ours(pid, var)]


def pool_children(pid: int) -> list[int]:
    """A Celery worker's pool processes: its children (`pgrep -P`)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in found.stdout.split()]


def busy_child(children: list[int], ports: set[int]) -> int | None:
    """The child with a TCP connection to the fleet right now: the one polling."""
    remote: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) in ports:
            remote.add(fields[9])  # the socket's inode
    for child in children:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{child}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in remote:
                    return child
    return None


def kill(pid: int, var: Path, signum: int = signal.SIGKILL) -> bool:
    """Signal one process of this run (checked first: the pid may have been reused)."""
    if not is_ours(pid, var):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
    return True


# --- the private Redis -----------------------------------------------------------


class Redis:
    """`redis-server` on a free loopback port, no persistence: the machine's 6379 is not ours."""

    def __init__(self, log: Path) -> None:
        if not shutil.which("redis-server"):
            raise SystemExit("redis mode needs redis-server on PATH (apt-get install redis-server)")
        self.log, self.port = log, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.closed = False  # once the run cleans up, a fault thread must not start it again

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.closed:
            return
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no"]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                # Not the run's environment: the sweep for strays must not find it.
                argv,
                env={"PATH": os.environ.get("PATH", "")},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start on port {self.port} (see {self.log})")
            time.sleep(0.05)

    def answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, *, closing: bool = False) -> None:
        """SIGKILL (a crash, and the end of the run); SIGCONT first in case it is stopped."""
        self.closed = self.closed or closing
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()


# --- the quick start -------------------------------------------------------------


@dataclass
class Output:
    """What the quick start printed that the run needs, parsed as the lines come."""

    pids: dict[str, int] = field(default_factory=dict)  # latest pid per process
    every_pid: list[int] = field(default_factory=list)
    starts: Counter[str] = field(default_factory=Counter)
    exits: list[tuple[float, str, str]] = field(default_factory=list)  # (when, name, how)
    polled: list[tuple[float, int]] = field(default_factory=list)  # `polled N servers`: (when, N)
    ticks: int = 0  # `tick: N servers to poll` lines (the dispatcher ran)
    chunks: int = 0  # a chunk task reached the poller (its pool runs it next)
    trouble: list[tuple[float, str]] = field(default_factory=list)
    worked: dict[str, float] = field(default_factory=dict)  # last line of WORK per process
    changed: threading.Condition = field(default_factory=threading.Condition)

    def take(self, line: str, now: float) -> None:
        match = LINE.match(line)
        if match is None:
            return
        name, text = match[1], match[2]
        with self.changed:
            if name == "supervisor":
                self.supervisor(text, now)
            elif polled := POLLED.search(text):
                self.polled.append((now, int(polled[1])))
            elif TICK.search(text):
                self.ticks += 1
            elif CHUNK.search(text):
                self.chunks += 1
            if TROUBLE.search(text):
                self.trouble.append((now, line))
            if name in WORK and WORK[name].search(text):
                self.worked[name] = now
            self.changed.notify_all()

    def supervisor(self, text: str, now: float) -> None:
        if started := STARTED.match(text):
            self.pids[started[1]] = int(started[2])
            self.every_pid.append(int(started[2]))
            self.starts[started[1]] += 1
        elif exited := EXITED.match(text):
            how = exited[3] or f"exit {exited[4]}"
            self.exits.append((now, exited[1], how))

    def wait_for_tick(self, timeout: float) -> bool:
        """Until the dispatcher logs its next tick."""
        with self.changed:
            seen = self.ticks
            return self.changed.wait_for(lambda: self.ticks > seen, timeout)

    def wait_for_chunk(self, timeout: float) -> bool:
        """Until the poller receives its next chunk (a kill just after lands mid-chunk)."""
        with self.changed:
            seen = self.chunks
            return self.changed.wait_for(lambda: self.chunks > seen, timeout)


class QuickStart:
    """`manage.py quickstart --no-fleet --port P` in its own session, its output teed to a log."""

    def __init__(self, env: Mapping[str, str], port: int, log: Path) -> None:
        self.port, self.log, self.output = port, log, Output()
        self.var = Path(env["LEFT4ME_VAR_DIR"])
        argv = [sys.executable, "manage.py", "quickstart", "--no-fleet", "--port", str(port)]
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.reader = threading.Thread(target=self.read, args=(self.process.stdout,), daemon=True)
        self.reader.start()

    def read(self, stream: IO[bytes]) -> None:
        with self.log.open("w") as out:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                out.write(line + "\n")
                out.flush()
                self.output.take(line, time.time())

    def running(self, name: str) -> bool:
        """The latest pid the supervisor started for `name` is alive."""
        pid = self.output.pids.get(name)
        return pid is not None and is_ours(pid, self.var)

    def stop(self) -> tuple[float, list[int]]:
        """SIGTERM the supervisor as Ctrl-C would; return how long it took and what it left.

        Whatever is still running after STOP_SECONDS (or left behind by a
        process the run SIGKILLed) is SIGKILLed here, by pid, after checking it
        belongs to this run.
        """
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        took = time.monotonic() - started
        self.reader.join(5)
        left = strays(self.var)
        for pid in left:
            kill(pid, self.var)
        return took, left
