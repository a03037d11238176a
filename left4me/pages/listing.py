"""How a viewer asked for the server list (sort, filter) and what it adds up to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple
from urllib.parse import urlencode

from livestate.queries import ROW_SORTS, ServerRow

FILTER_MAX_LENGTH = 64  # longer than any server name or map


class ListRequest(NamedTuple):
    sort: str
    q: str

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> ListRequest:
        """An unknown sort falls back to the default; the filter is trimmed."""
        sort = params.get("sort", "")
        q = params.get("q", "").strip()[:FILTER_MAX_LENGTH]
        return cls(sort if sort in ROW_SORTS else ROW_SORTS[0], q)

    def query_string(self) -> str:
        """For the rows' own refresh, so it keeps this sort and filter."""
        return urlencode({"sort": self.sort, **({"q": self.q} if self.q else {})})


class Online(NamedTuple):
    players: int
    servers: int  # with at least one player

    @classmethod
    def of(cls, rows: Iterable[ServerRow]) -> Online:
        counts = [row.players for row in rows if row.players]
        return cls(sum(counts), len(counts))
