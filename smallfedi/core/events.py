"""In-process events for live views (the streaming API): "a post arrived", "a post changed",
"a post went", "a notification came". Published only after the change has committed, so a
listener that reads the database finds it. Each listener has a bounded queue; one that falls
too far behind loses events rather than growing memory."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

log = logging.getLogger("smallfedi.events")

QUEUE_SIZE = 200
MAX_LISTENERS = 100  # open streams at once: a few per device is normal, thousands is not
KINDS = ("status", "status.update", "delete", "notification")


@dataclass(frozen=True)
class Event:
    kind: str  # one of KINDS
    id: int    # the status or notification id


class EventBus:
    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self._listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._listeners.discard(queue)

    def publish(self, event: Event) -> None:
        for queue in self._listeners:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.info("a live listener fell behind; an event was dropped")

    @property
    def listeners(self) -> int:
        return len(self._listeners)


def emit(inst, kind: str, object_id: int) -> None:
    """Call inside a write transaction: the event goes out once it has committed."""
    if inst.events.listeners:
        inst.db.after_commit(lambda: inst.events.publish(Event(kind, object_id)))
