"""What a fake server is doing at a given clock time, and the truth it played.

Events are applied in time order as the clock moves forward, so a query at
time t sees exactly the players, map and reachability the scenario says, and
every player session played is recorded as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVENT_KINDS = {"join", "leave", "reconnect", "map_change", "restart", "outage", "password"}


@dataclass(frozen=True, slots=True)
class Event:
    at: float
    kind: str
    steam_id_64: str = ""
    name: str = ""
    ping: int = 50
    map: str = ""
    duration: float = 0.0  # restart downtime or outage length
    mode: str = "refused"  # outage: "refused" or "blackhole"
    password: str = ""  # password: the server's new RCON password

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")


@dataclass(slots=True)
class Player:
    steam_id_64: str
    name: str
    ping: int
    joined_at: float


@dataclass(slots=True)
class TruthSession:
    steam_id_64: str
    name: str
    joined_at: float
    left_at: float | None = None


@dataclass(slots=True)
class Timeline:
    """The scripted life of one server; `advance(t)` applies events up to t."""

    map: str
    events: list[Event]
    players: dict[str, Player] = field(default_factory=dict)
    truth: list[TruthSession] = field(default_factory=list)
    down: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, mode)
    password: str = ""  # set by a "password" event: replaces the server's own
    now: float = 0.0
    _next: int = 0

    def __post_init__(self) -> None:
        self.events = sorted(self.events, key=lambda e: e.at)
        for event in self.events:  # reachability is known up front
            if event.kind == "restart":
                self.down.append((event.at, event.at + event.duration, "refused"))
            elif event.kind == "outage":
                self.down.append((event.at, event.at + event.duration, event.mode))

    def advance(self, t: float) -> None:
        self.now = max(self.now, t)
        while self._next < len(self.events) and self.events[self._next].at <= self.now:
            self.apply(self.events[self._next])
            self._next += 1

    def unreachable(self, t: float) -> str | None:
        """ "refused" or "blackhole" while down at time t, else None."""
        for start, end, mode in self.down:
            if start <= t < end:
                return mode
        return None

    def apply(self, event: Event) -> None:
        if event.kind == "join":
            self.join(event.steam_id_64, event.name, event.ping, event.at)
        elif event.kind == "leave":
            self.leave(event.steam_id_64, event.at)
        elif event.kind == "reconnect" and event.steam_id_64 in self.players:
            player = self.players[event.steam_id_64]
            self.leave(player.steam_id_64, event.at)
            self.join(player.steam_id_64, player.name, player.ping, event.at)
        elif event.kind == "map_change":
            self.map = event.map
        elif event.kind == "password":
            self.password = event.password
        elif event.kind == "restart":
            for steam_id in list(self.players):
                self.leave(steam_id, event.at)

    def join(self, steam_id: str, name: str, ping: int, at: float) -> None:
        if steam_id in self.players:
            return
        self.players[steam_id] = Player(steam_id, name, ping, at)
        self.truth.append(TruthSession(steam_id, name, at))

    def leave(self, steam_id: str, at: float) -> None:
        if self.players.pop(steam_id, None) is None:
            return
        for session in reversed(self.truth):
            if session.steam_id_64 == steam_id and session.left_at is None:
                session.left_at = at
                return
