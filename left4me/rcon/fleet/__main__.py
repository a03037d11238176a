"""`python -m left4me.rcon.fleet`: run a fake fleet until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path

from left4me.rcon.fleet import FakeServer, load_scenario, random_fleet, serve_forever


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m left4me.rcon.fleet", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scenario", type=Path, help="JSON scenario file")
    source.add_argument("--servers", type=int, default=5, help="random fleet size (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--base-port", type=int, default=0, help="first port (default: ephemeral)")
    parser.add_argument("--refused-ratio", type=float, default=0.0)
    parser.add_argument("--blackhole-ratio", type=float, default=0.0)
    parser.add_argument(
        "--hostile", type=int, default=0, metavar="N",
        help="N servers attack the panel, each hostile mode in turn (ratios apply to the rest)",
    )  # fmt: skip
    parser.add_argument("--horizon", type=float, default=86400.0, help="seconds of scripted churn")
    parser.add_argument("--truth-out", type=Path, help="write the ground truth here on exit")
    parser.add_argument("--servers-out", type=Path, help="write name/port/password JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.scenario:
        servers = load_scenario(args.scenario)
    else:
        servers = random_fleet(
            args.servers,
            seed=args.seed,
            refused_ratio=args.refused_ratio,
            blackhole_ratio=args.blackhole_ratio,
            hostile=args.hostile,
            horizon=args.horizon,
        )
    started = asyncio.Event()
    run = serve_forever(
        servers, base_port=args.base_port, truth_out=args.truth_out, started=started
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(announce_then(run, started, servers, args.servers_out))


async def announce_then(
    run: Awaitable[None],
    started: asyncio.Event,
    servers: list[FakeServer],
    servers_out: Path | None,
) -> None:
    """Print (and write) the listing once the listeners are open, so its ports are real."""
    task = asyncio.ensure_future(run)
    # Stop cleanly (listeners closed, truth written) on Ctrl-C and on SIGTERM,
    # even when started from a shell that ignores SIGINT for background jobs.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    waiting = asyncio.ensure_future(started.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if not started.is_set():  # the fleet stopped before it listened: raise why
        waiting.cancel()
        await task
        return
    rows = [{"name": s.name, "host": "127.0.0.1", "port": s.port, "password": s.registered_password,
             "failure": s.failure} for s in servers]  # fmt: skip
    for row in rows:
        print(f"{row['name']}\t127.0.0.1:{row['port']}\t{row['failure'] or 'ok'}", flush=True)
    if servers_out:
        servers_out.write_text(json.dumps(rows))  # noqa: ASYNC240 (once, at start-up)
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    main()
