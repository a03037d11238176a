"""The quick start's embedded Celery broker: kombu's filesystem transport, made safe.

kombu's own filesystem transport creates each message file empty and only
then writes it, and moves a claimed file to the temporary directory (a copy
when that is another filesystem). A consumer listing the folder in between
reads an empty or half-copied file, fails in json.loads and the worker dies
with "Unrecoverable error: JSONDecodeError" (kombu issue #1551). Two
consumers can also both copy the same file and run one message twice.

Here every write is atomic (a hidden temporary file, fsync, then rename into
place) and every claim is a rename inside the queue folder, which exactly one
consumer wins. A file that still cannot be decoded (written by an older
version, a full disk) is set aside in `corrupt/` with a log line instead of
killing the worker. The exchange tables behind broadcasts (`celery inspect`,
`celery control`) are replaced atomically under a lock file the same way.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

TRANSPORT = "left4me.broker:Transport"
MESSAGE_SUFFIX = ".msg"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file."""
    temporary = path.with_name(f".tmp-{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing) for read-modify-write."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Channel(filesystem.Channel):
    """A filesystem channel whose messages and tables are never read half-written."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # Names sort by time, like kombu's; uuid keeps concurrent writers apart.
        name = f"{time.time_ns() // 1_000_000}_{uuid.uuid4()}.{queue}{MESSAGE_SUFFIX}"
        try:
            write_atomically(Path(self.data_folder_out) / name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add a message to queue {queue!r}") from exc

    def _get(self, queue: str) -> Any:
        folder = Path(self.data_folder_in)
        wanted = f"{queue}{MESSAGE_SUFFIX}"
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = folder / f".claimed-{uuid.uuid4().hex}-{name}"
            try:
                os.rename(folder / name, claimed)  # exactly one consumer wins
            except FileNotFoundError:
                continue
            try:
                payload = claimed.read_bytes()
                message = loads(bytes_to_str(payload))
            except (OSError, ValueError) as exc:
                self._set_aside(claimed, name, exc)
                continue
            claimed.unlink(missing_ok=True)
            return message
        raise Empty()

    def _set_aside(self, claimed: Path, name: str, exc: Exception) -> None:
        corrupt = claimed.parent.parent / "corrupt"
        corrupt.mkdir(mode=0o700, exist_ok=True)
        try:
            os.replace(claimed, corrupt / name)
        except OSError:
            claimed.unlink(missing_ok=True)
        logger.error("broker: set aside unreadable message %s (%s)", name, type(exc).__name__)

    # --- exchange tables (broadcast: celery inspect / control) ---------------

    def get_table(self, exchange: str) -> list[Any]:
        file = self._exchange_file(exchange)
        try:
            table = loads(bytes_to_str(file.read_bytes()))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise filesystem.ChannelError(f"Cannot read exchange {exchange!r}") from exc
        return [filesystem.exchange_queue_t(*entry) for entry in table]

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_for_update(exchange) as table:
            if entry not in table:
                table.insert(0, entry)

    def _delete(
        self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any
    ) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_for_update(exchange) as table:
            while entry in table:
                table.remove(entry)

    @contextmanager
    def _table_for_update(self, exchange: str) -> Iterator[list[Any]]:
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(mode=0o700, exist_ok=True)
        with locked(self.control_folder / ".lock"):
            table = self.get_table(exchange)
            before = list(table)
            yield table
            if table != before:
                write_atomically(file, str_to_bytes(dumps(table)))


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Make `filesystem://` mean this transport in this process.

    An alias, not CELERY_BROKER_TRANSPORT: that setting would also apply to
    every connection made with an explicit URL (a redis:// one included).
    """
    TRANSPORT_ALIASES["filesystem"] = TRANSPORT
