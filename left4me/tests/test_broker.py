"""The embedded broker: many processes write and read one folder, nothing is lost or doubled.

Real processes on a real folder (kombu's stock transport fails these with
JSONDecodeError or double deliveries, kombu #1551).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as stdlib_queue
from pathlib import Path

import pytest
from kombu import Connection

from left4me.broker import TRANSPORT

pytestmark = pytest.mark.nodb

PRODUCERS = 3
CONSUMERS = 3
PER_PRODUCER = 300


def connect(folder: Path) -> Connection:
    (folder / "queue").mkdir(exist_ok=True)
    return Connection(
        "filesystem://",
        transport=TRANSPORT,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
        },
    )


def produce(folder: str, producer: int) -> None:
    with connect(Path(folder)) as conn:
        channel = conn.default_channel
        for number in range(PER_PRODUCER):
            channel._put("jobs", {"id": f"{producer}-{number}", "pad": "x" * (number * 37 % 4000)})


def consume(folder: str, results: multiprocessing.Queue, done: multiprocessing.Event) -> None:
    with connect(Path(folder)) as conn:
        channel = conn.default_channel
        while True:
            try:
                results.put(channel._get("jobs")["id"])
            except stdlib_queue.Empty:
                if done.is_set():
                    results.put(None)
                    return
            except Exception as exc:  # reported to the test, which fails on it
                results.put(f"error: {exc!r}")


def test_it_delivers_each_message_exactly_once_across_processes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    done = ctx.Event()
    consumers = [
        ctx.Process(target=consume, args=(str(tmp_path), results, done)) for _ in range(CONSUMERS)
    ]
    producers = [ctx.Process(target=produce, args=(str(tmp_path), n)) for n in range(PRODUCERS)]
    for process in consumers + producers:
        process.start()
    for process in producers:
        process.join(60)
    done.set()
    received, finished = [], 0
    while finished < CONSUMERS:
        item = results.get(timeout=60)
        if item is None:
            finished += 1
        else:
            received.append(item)
    for process in consumers:
        process.join(10)
    assert [item for item in received if item.startswith("error")] == []
    assert len(received) == PRODUCERS * PER_PRODUCER
    assert set(received) == {f"{p}-{n}" for p in range(PRODUCERS) for n in range(PER_PRODUCER)}
    assert list(os.listdir(tmp_path / "queue")) == []


def test_it_sets_aside_an_unreadable_message_and_delivers_the_next(tmp_path, caplog):
    with connect(tmp_path) as conn:
        channel = conn.default_channel
        (tmp_path / "queue" / "1_broken.jobs.msg").write_bytes(b"")
        channel._put("jobs", {"id": "good"})
        with caplog.at_level(logging.ERROR, logger="left4me.broker"):
            assert channel._get("jobs") == {"id": "good"}
        with pytest.raises(stdlib_queue.Empty):
            channel._get("jobs")
    assert os.listdir(tmp_path / "corrupt") == ["1_broken.jobs.msg"]
    assert "set aside unreadable message 1_broken.jobs.msg" in caplog.text


def test_it_never_shows_a_half_written_message(tmp_path):
    with connect(tmp_path) as conn:
        conn.default_channel._put("jobs", {"id": "x" * 100_000})
    names = os.listdir(tmp_path / "queue")
    assert len(names) == 1
    assert names[0].endswith(".jobs.msg")
    assert (tmp_path / "queue" / names[0]).stat().st_mode & 0o077 == 0


def bind_many(folder: str, worker: int) -> None:
    with connect(Path(folder)) as conn:
        channel = conn.default_channel
        for number in range(40):
            channel._queue_bind("broadcast", "", "", f"q-{worker}-{number}")
            assert isinstance(channel.get_table("broadcast"), list)


def test_it_keeps_every_binding_when_processes_bind_at_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=bind_many, args=(str(tmp_path), n)) for n in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    assert [process.exitcode for process in workers] == [0, 0, 0, 0]
    with connect(tmp_path) as conn:
        queues = {entry.queue for entry in conn.default_channel.get_table("broadcast")}
        assert queues == {f"q-{w}-{n}" for w in range(4) for n in range(40)}
        conn.default_channel._delete("q-0-0", "broadcast", "", "")
        queues = {entry.queue for entry in conn.default_channel.get_table("broadcast")}
        assert "q-0-0" not in queues
        assert len(queues) == 159


def produce_large(folder: str) -> None:
    with connect(Path(folder)) as conn:
        for number in range(LARGE_MESSAGES):
            conn.default_channel._put("jobs", {"id": f"large-{number}", "pad": "x" * 4_000_000})


LARGE_MESSAGES = 20


def test_it_never_hands_out_a_message_while_it_is_being_written(tmp_path):
    """Large messages take milliseconds to write: stock kombu's readers catch them half-way."""
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    done = ctx.Event()
    consumers = [ctx.Process(target=consume, args=(str(tmp_path), results, done)) for _ in range(2)]
    producer = ctx.Process(target=produce_large, args=(str(tmp_path),))
    for process in [*consumers, producer]:
        process.start()
    producer.join(120)
    done.set()
    received, finished = [], 0
    while finished < len(consumers):
        item = results.get(timeout=60)
        if item is None:
            finished += 1
        else:
            received.append(item)
    assert sorted(received) == sorted(f"large-{n}" for n in range(LARGE_MESSAGES))
