"""Time-sortable 64-bit ids: milliseconds since the epoch shifted left 16 bits, plus a sequence.

Ordering by id is ordering by time, so paging is a range scan on the primary key. Ids go to
clients as decimal strings.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

SEQUENCE_BITS = 16


def id_for_time(when: datetime) -> int:
    """An id for something that happened at `when` (a remote post's published time).

    The low bits are random, so two remote posts of the same millisecond rarely collide; the
    store retries on the rare collision.
    """
    ms = int(when.timestamp() * 1000)
    return (max(ms, 0) << SEQUENCE_BITS) | secrets.randbits(SEQUENCE_BITS)


def id_to_millis(value: int) -> int:
    return value >> SEQUENCE_BITS


class IdGenerator:
    """Hands out strictly increasing ids for things created now, even if the clock steps back."""

    def __init__(self, floor: int = 0, clock=time.time) -> None:
        self._last = floor
        self._clock = clock

    def next(self) -> int:
        candidate = int(self._clock() * 1000) << SEQUENCE_BITS
        self._last = max(candidate, self._last + 1)
        return self._last

    def bump(self, floor: int) -> None:
        """Never hand out an id at or below `floor` (the highest id already stored)."""
        self._last = max(self._last, floor)
