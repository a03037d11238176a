"""The quick start's supervisor: a dead process comes back, the others never notice."""

from __future__ import annotations

import io
import os
import re
import socket
import threading
import time

import pytest
from django.core.management import CommandError, call_command

from left4me import supervise
from left4me.supervise import Supervisor, parse_procfile

pytestmark = pytest.mark.nodb


def started_pids(text: str, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", text)]


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class Running:
    """A supervisor in a thread, its output captured."""

    def __init__(self, processes: dict[str, str], tmp_path, grace: float = 5.0) -> None:
        self.out = io.StringIO()
        self.supervisor = Supervisor(
            processes, env=dict(os.environ), cwd=str(tmp_path), grace=grace, out=self.out
        )
        self.thread = threading.Thread(target=self.supervisor.run, daemon=True)
        self.thread.start()

    def text(self) -> str:
        return self.out.getvalue()

    def stop(self) -> float:
        began = time.monotonic()
        self.supervisor.request_stop()
        self.thread.join(30)
        assert not self.thread.is_alive()
        return time.monotonic() - began


def test_it_restarts_a_process_that_dies_and_leaves_the_others_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(supervise, "FIRST_DELAY", 0.2)
    running = Running({"steady": "sleep 600", "flaky": "sh -c 'sleep 0.3; exit 3'"}, tmp_path)
    try:
        wait_for(lambda: len(started_pids(running.text(), "flaky")) >= 3)
        assert len(started_pids(running.text(), "steady")) == 1
        steady = running.supervisor.processes[0].popen
        assert steady is not None
        assert steady.poll() is None
        assert "flaky exited with code 3" in running.text()
    finally:
        running.stop()


def test_it_restarts_a_process_killed_by_a_signal(tmp_path, monkeypatch):
    monkeypatch.setattr(supervise, "FIRST_DELAY", 0.2)
    running = Running({"worker": "sleep 600"}, tmp_path)
    try:
        wait_for(lambda: len(started_pids(running.text(), "worker")) == 1)
        os.kill(started_pids(running.text(), "worker")[0], 9)
        wait_for(lambda: len(started_pids(running.text(), "worker")) == 2)
        assert "worker was killed by SIGKILL" in running.text()
    finally:
        running.stop()


def test_it_backs_off_a_process_that_keeps_failing(tmp_path, monkeypatch):
    monkeypatch.setattr(supervise, "FIRST_DELAY", 0.1)
    running = Running({"broken": "exit 1"}, tmp_path)
    try:
        wait_for(lambda: len(started_pids(running.text(), "broken")) >= 4)
    finally:
        running.stop()
    delays = [float(d) for d in re.findall(r"again in ([\d.]+) s", running.text())]
    assert delays[:3] == sorted(delays[:3])
    assert running.supervisor.processes[0].delay > 0.1


def test_it_stops_everything_gracefully_and_kills_what_lingers(tmp_path):
    marker = tmp_path / "graceful"
    running = Running(
        {
            "polite": f"sh -c 'trap \"touch {marker}; exit 0\" TERM; while :; do sleep 0.1; done'",
            "stubborn": "sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'",
        },
        tmp_path,
        grace=1.5,
    )
    wait_for(lambda: "started stubborn" in running.text() and "started polite" in running.text())
    time.sleep(0.3)  # let the shells install their traps
    took = running.stop()
    assert marker.exists()
    assert "stubborn did not stop in time: SIGKILL" in running.text()
    assert "polite did not stop" not in running.text()
    assert 1.0 < took < 10
    for process in running.supervisor.processes:
        assert process.popen is not None
        assert process.popen.poll() is not None


def test_it_parses_a_procfile_and_names_a_bad_line():
    assert parse_procfile("# comment\n\nweb: run web --port ${PORT:-8000}\nbeat: beat\n") == {
        "web": "run web --port ${PORT:-8000}",
        "beat": "beat",
    }
    with pytest.raises(ValueError, match="line 2"):
        parse_procfile("web: ok\nnot a process line\n")


def test_it_refuses_a_busy_port_with_a_hint():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=rf"Port {port} is in use.*--port {port + 1}"):
            call_command("quickstart", "--port", str(port), "--no-fleet")
