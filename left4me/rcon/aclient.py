"""Asyncio RCON client: the poller runs hundreds of these in one gather.

Same rules as the blocking client (one deadline for the whole query, sockets
always closed, every failure an RconError); only the byte moving differs.
"""

from __future__ import annotations

import asyncio
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


async def aquery(host: str, port: int, password: str, command: str, *, timeout: float) -> str:
    """Run `command` on the server and return its whole reply text."""
    check_timeout(timeout)
    exchange = Exchange(password, command)
    deadline = asyncio.get_running_loop().time() + timeout
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(host, port, limit=_RECV)
            await _converse(reader, writer, exchange)
        await _drain_trailer(reader, exchange, deadline)
    except OSError as exc:  # TimeoutError included
        raise network_error(exc, exchange.phase, timeout) from None
    finally:
        if writer is not None:
            await _close(writer)
    return exchange.reply()


async def aquery_status(host: str, port: int, password: str, *, timeout: float) -> Status:
    """`status`, parsed."""
    return parse_status(await aquery(host, port, password, "status", timeout=timeout))


async def _converse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exchange: Exchange
) -> None:
    out = exchange.start()
    while True:
        if out:
            writer.write(out)  # a few small packets: the kernel buffer takes them
        if exchange.done:
            return
        data = await reader.read(_RECV)
        if not data:
            raise closed_by_peer(exchange.phase)
        out = exchange.receive(data)


async def _drain_trailer(reader: asyncio.StreamReader, exchange: Exchange, deadline: float) -> None:
    """Read the trailer if it is (almost) there so we close without a reset."""
    budget = min(TRAILER_GRACE, deadline - asyncio.get_running_loop().time())
    if exchange.trailer_seen or budget <= 0:
        return
    with suppress(OSError):
        async with asyncio.timeout(budget):
            while not exchange.trailer_seen and (data := await reader.read(_RECV)):
                exchange.drain(data)


async def _close(writer: asyncio.StreamWriter) -> None:
    # abort, not close: close() would wait to flush to a peer that may never read
    writer.transport.abort()
    with suppress(OSError):
        await writer.wait_closed()
