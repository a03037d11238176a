"""One lock pattern for every periodic task: at most one run at a time.

In the spirit of readthedocs' `memcache_lock`: the lock is a key added to the
shared cache (Redis, or the database cache on one machine) with a TTL, so a
run killed without cleaning up delays the next by at most the TTL. Take it
before any side effect; give the TTL as the run's hard time limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


@contextmanager
def single_flight(key: str, *, ttl: float) -> Iterator[bool]:
    """Yield True when this caller holds `key`, False when another run does.

    Released on exit only if still ours: a run that outlived its TTL must not
    free the lock a later run took meanwhile.
    """
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=max(1, int(ttl + 0.999)))
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)
