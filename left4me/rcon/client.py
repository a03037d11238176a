"""Blocking RCON client for management commands and one-off queries.

`timeout` is one deadline for the whole query (connect, auth, command, reply),
so a black-holed server costs exactly one timeout, never one per phase.
"""

from __future__ import annotations

import socket
import time
from contextlib import suppress

from left4me.rcon.exchange import (
    TRAILER_GRACE,
    Exchange,
    check_timeout,
    closed_by_peer,
    network_error,
)
from left4me.rcon.status import Status, parse_status

_RECV = 65536


def query(host: str, port: int, password: str, command: str, *, timeout: float) -> str:
    """Run `command` on the server and return its whole reply text."""
    check_timeout(timeout)
    exchange = Exchange(password, command)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            _converse(sock, exchange, deadline)
            _drain_trailer(sock, exchange, deadline)
    except OSError as exc:
        raise network_error(exc, exchange.phase, timeout) from None
    return exchange.reply()


def query_status(host: str, port: int, password: str, *, timeout: float) -> Status:
    """`status`, parsed."""
    return parse_status(query(host, port, password, "status", timeout=timeout))


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _converse(sock: socket.socket, exchange: Exchange, deadline: float) -> None:
    out = exchange.start()
    while True:
        if out:
            sock.settimeout(_remaining(deadline))
            sock.sendall(out)
        if exchange.done:
            return
        sock.settimeout(_remaining(deadline))
        data = sock.recv(_RECV)
        if not data:
            raise closed_by_peer(exchange.phase)
        out = exchange.receive(data)


def _drain_trailer(sock: socket.socket, exchange: Exchange, deadline: float) -> None:
    """Read the trailer if it is (almost) there so we close without a reset."""
    end = min(deadline, time.monotonic() + TRAILER_GRACE)
    with suppress(OSError):
        while not exchange.trailer_seen and (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            data = sock.recv(_RECV)
            if not data:
                return
            exchange.drain(data)
