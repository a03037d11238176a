"""How a tick is cut into chunks."""

from __future__ import annotations

import pytest

from livestate.tasks import chunked

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(
    ("servers", "most", "sizes"),
    [(5000, 3000, [2500, 2500]), (1000, 3000, [1000]), (6001, 3000, [2001, 2000, 2000]),
     (3000, 3000, [3000]), (0, 3000, [])],
)  # fmt: skip
def test_it_makes_as_few_even_chunks_as_the_limit_allows(servers, most, sizes):
    ids = list(range(servers))
    chunks = chunked(ids, most)
    assert [len(c) for c in chunks] == sizes
    assert sorted(pk for c in chunks for pk in c) == ids  # disjoint, nothing lost
