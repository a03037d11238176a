"""Judge a recorded session history against a fake fleet's ground truth.

Used by the ground-truth tests and `bench/truth.py`, never by polling. The
bar is SPEC section 12's, per stint (one connection of one SteamID to one
server, as the fleet played it):

- a stint must be recorded once it was *seen*: on the roster of at least one
  answered `status`, and one poll interval long or more (shorter ones, and
  ones that fit between two answers, may go unseen);
- then exactly one recorded session must match it: joined within 2 s, and
  left no more than 1 s after the truth and no earlier than the gap around
  the leave allows: one poll interval + 1 s, or, when the leave fell into a
  longer silence (a freeze, a late poll, a password mix-up), that silence
  + 1 s: nobody can know when in a silence a player left, and a session is
  closed at its last observation, never later than the truth can be;
- a stint no answer came after (still on, or the server fell silent) matches
  an open session, or one closed at its last observation (a server silent
  for too long has its sessions closed).

Each session belongs to the stint it shares most time with (then: the
nearest join). Besides exact matches it counts phantoms (sessions near no
stint of that player on that server), splits (a stint that had to be
recorded owning two or more sessions) and merges (a session overlapping
two or more such stints by over a second).
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

JOIN_BAR = 2.0  # seconds
LATE_BAR = 1.0  # a leave recorded at most this much after the truth (clock rounding)
OVERLAP = 1.0  # seconds two intervals must share to count as overlapping
SHOWN = 12  # problems described in a verdict's text


@dataclass(frozen=True, slots=True)
class Stint:
    """One connection as the fleet played it (fleet clock seconds; left None: still on)."""

    server: str
    steam_id_64: str
    joined: float
    left: float | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """One stored PlayerSession, on the fleet's clock."""

    server: str
    steam_id_64: str
    joined: float
    left: float | None


@dataclass(slots=True)
class Verdict:
    stints: int = 0
    required: int = 0  # seen and at least one poll interval long
    exact: int = 0
    phantoms: int = 0
    splits: int = 0
    merges: int = 0
    join_errors: list[float] = field(default_factory=list)  # recorded - truth, matched stints
    leave_errors: list[float] = field(default_factory=list)
    leave_gaps: list[float] = field(default_factory=list)  # the silence each leave fell into
    wide_gaps: int = 0  # exact leaves that fell into a silence longer than one interval
    problems: list[str] = field(default_factory=list)

    @property
    def missed(self) -> int:
        return self.required - self.exact

    @property
    def ok(self) -> bool:
        return self.missed == 0 and self.phantoms == 0 and self.splits == 0 and self.merges == 0

    def add(self, other: Verdict) -> None:
        for name in ("stints", "required", "exact", "phantoms", "splits", "merges", "wide_gaps"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.join_errors += other.join_errors
        self.leave_errors += other.leave_errors
        self.leave_gaps += other.leave_gaps
        self.problems += other.problems

    def summary(self) -> str:
        return (
            f"{self.exact} of {self.required} stints exact ({self.stints} played), "
            f"{self.phantoms} phantoms, {self.splits} splits, {self.merges} merges"
        )

    def report(self) -> str:
        lines = [self.summary(), *self.problems[:SHOWN]]
        if len(self.problems) > SHOWN:
            lines.append(f"... and {len(self.problems) - SHOWN} more")
        return "\n".join(lines)


def stints_from_truth(rows: Iterable[Mapping]) -> list[Stint]:
    """The fleet's truth rows (`FleetHandle.truth()`) as stints."""
    return [Stint(r["server"], r["steam_id_64"], r["joined_at"], r["left_at"]) for r in rows]


def recorded_sessions(origin: datetime) -> list[Recorded]:
    """Every stored PlayerSession on the fleet's clock (fleet time 0 = `origin`)."""
    from livestate.models import PlayerSession

    def seconds(moment: datetime | None) -> float | None:
        return None if moment is None else (moment - origin).total_seconds()

    rows = PlayerSession.objects.values_list("server__name", "steam_id_64", "joined_at", "left_at")
    return [
        Recorded(server, steam_id, (joined - origin).total_seconds(), seconds(left))
        for server, steam_id, joined, left in rows.iterator()
    ]


def judge(
    stints: Iterable[Stint],
    recorded: Iterable[Recorded],
    answers: Mapping[str, Sequence[float]],
    *,
    interval: float,
) -> Verdict:
    """Compare the truth with the history, given when each server answered `status`."""
    truth: dict[tuple[str, str], list[Stint]] = defaultdict(list)
    mine: dict[tuple[str, str], list[Recorded]] = defaultdict(list)
    for stint in stints:
        truth[stint.server, stint.steam_id_64].append(stint)
    for session in recorded:
        mine[session.server, session.steam_id_64].append(session)
    times = {server: sorted(seen) for server, seen in answers.items()}
    verdict = Verdict()
    for key in sorted(truth.keys() | mine.keys()):
        player = Player(truth.get(key, []), mine.get(key, []), times.get(key[0], []), interval)
        player.judge(verdict)
    return verdict


@dataclass(slots=True)
class Player:
    """One SteamID on one server: every stint it played against every session stored."""

    stints: list[Stint]
    sessions: list[Recorded]
    answers: list[float]  # when the server answered `status`, in order
    interval: float
    horizon: float = 0.0  # where open intervals end: just after the last answer

    def __post_init__(self) -> None:
        last = self.answers[-1] if self.answers else 0.0
        self.horizon = max([last, *(s.joined for s in self.sessions)]) + 1

    def judge(self, verdict: Verdict) -> None:
        required = [
            i for i, s in enumerate(self.stints) if must_record(s, self.answers, self.interval)
        ]
        verdict.stints += len(self.stints)
        verdict.required += len(required)
        owned = self.assign(verdict, required)
        for index in required:
            stint, mine = self.stints[index], owned.get(index, [])
            verdict.splits += len(mine) > 1
            if len(mine) == 1 and fits(stint, mine[0], self.answers, self.interval):
                verdict.exact += 1
                record_errors(verdict, stint, mine[0], self.answers, self.interval)
            else:
                inside = [s for s in self.sessions if overlap(self.span(stint), self.span(s)) > 0]
                shown = ", ".join(describe(s) for s in mine or inside) or "nothing"
                verdict.problems.append(f"missed: {describe(stint)} recorded as {shown}")

    def assign(self, verdict: Verdict, required: list[int]) -> dict[int, list[Recorded]]:
        """Give each session to the stint it shares most time with (then: the nearest
        join); count those near no stint (phantoms) and those over several required."""
        owned: dict[int, list[Recorded]] = defaultdict(list)
        for session in self.sessions:
            span = self.span(session)
            near = [i for i, s in enumerate(self.stints) if overlap(span, self.widened(s)) > 0]
            if not near:
                verdict.phantoms += 1
                verdict.problems.append(f"phantom: {describe(session)}")
                continue
            owned[max(near, key=lambda i: self.closeness(session, self.stints[i]))].append(session)
            if sum(overlap(span, self.span(self.stints[i])) > OVERLAP for i in required) > 1:
                verdict.merges += 1
                verdict.problems.append(f"merge: {describe(session)} covers several stints")
        return owned

    def span(self, item: Stint | Recorded) -> tuple[float, float]:
        return item.joined, item.left if item.left is not None else max(self.horizon, item.joined)

    def widened(self, stint: Stint) -> tuple[float, float]:
        start, end = self.span(stint)
        return start - JOIN_BAR, end + LATE_BAR

    def closeness(self, session: Recorded, stint: Stint) -> tuple[float, float]:
        shared = overlap(self.span(session), self.span(stint))
        return shared, -abs(session.joined - stint.joined)


def must_record(stint: Stint, answers: list[float], interval: float) -> bool:
    """Seen by at least one answer, and one poll interval long (or still on)."""
    first = bisect_left(answers, stint.joined)  # the first answer since it began
    seen = first < len(answers) and (stint.left is None or answers[first] < stint.left)
    return seen and (stint.left is None or stint.left - stint.joined >= interval)


def around_leave(stint: Stint, answers: list[float]) -> tuple[float | None, float | None]:
    """The last answer that could see the stint and the first one after it ended."""
    if stint.left is None:
        return (answers[-1] if answers else None), None
    i = bisect_left(answers, stint.left)
    before = answers[i - 1] if i > 0 and answers[i - 1] >= stint.joined else None
    return before, (answers[i] if i < len(answers) else None)


def fits(stint: Stint, session: Recorded, answers: list[float], interval: float) -> bool:
    """Joined within 2 s; left within the bar of the silence around the leave."""
    if abs(session.joined - stint.joined) > JOIN_BAR:
        return False
    last_seen, next_answer = around_leave(stint, answers)
    if next_answer is None:  # nobody could know it ended: open, or closed as a stuck session
        return session.left is None or (
            last_seen is not None and session.left >= last_seen - LATE_BAR
        )
    if session.left is None or stint.left is None or last_seen is None:
        return False
    allowed = max(interval, next_answer - last_seen) + 1
    return -allowed <= session.left - stint.left <= LATE_BAR


def record_errors(
    verdict: Verdict, stint: Stint, session: Recorded, answers: list[float], interval: float
) -> None:
    verdict.join_errors.append(session.joined - stint.joined)
    last_seen, next_answer = around_leave(stint, answers)
    if session.left is None or stint.left is None or last_seen is None or next_answer is None:
        return  # still on, or nothing answered after it left: no leave to measure
    verdict.leave_errors.append(session.left - stint.left)
    verdict.leave_gaps.append(next_answer - last_seen)
    verdict.wide_gaps += next_answer - last_seen > interval + 1


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds two closed intervals share; a single shared instant counts as a little."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared if shared > 0 else (1e-9 if shared == 0 else 0.0)


def describe(item: Stint | Recorded) -> str:
    kind = "truth" if isinstance(item, Stint) else "recorded"
    left = f"{item.left:.1f}" if item.left is not None else "open"
    return f"{kind} {item.server} {item.steam_id_64} {item.joined:.1f}-{left}"


def percentiles(values: Sequence[float]) -> str:
    """p50 / p99 / max of absolute values, for printing."""
    if not values:
        return "-"
    ordered = sorted(abs(v) for v in values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} s, p99 {p99:.2f} s, max {ordered[-1]:.2f} s"
