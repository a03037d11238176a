"""A fake srcds fleet: many RCON servers in one asyncio process, scripted on a clock."""

from __future__ import annotations

from left4me.rcon.fleet.demo import demo_fleet
from left4me.rcon.fleet.fleet import Clock, Fleet, FleetHandle, running_fleet, serve_forever
from left4me.rcon.fleet.scenario import load_scenario, random_fleet, server_from_dict
from left4me.rcon.fleet.server import FakeServer, render_status
from left4me.rcon.fleet.timeline import Event, Timeline

__all__ = [
    "Clock",
    "Event",
    "FakeServer",
    "Fleet",
    "FleetHandle",
    "Timeline",
    "demo_fleet",
    "load_scenario",
    "random_fleet",
    "render_status",
    "running_fleet",
    "serve_forever",
    "server_from_dict",
]
