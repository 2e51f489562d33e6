"""How a running poll or CSV import shows that its worker is alive, and how long a silence means it died.

A poll refreshes a timestamp in the database (`ShopSync.heartbeat_at`; a CSV import's `ImportRun.heartbeat_at`)
after every page and, while one page takes long (a slow mall: 30 s timeouts, retries, a Retry-After wait),
from a small timer thread every SHOPS_HEARTBEAT_EVERY seconds. Whoever finds it older than SHOPS_DEAD_AFTER
seconds knows the worker is gone (killed, its machine lost) and may take the work over. See
shops.services.polling for why a heartbeat rather than asking Celery which workers are alive.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from types import TracebackType

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def heartbeat_every() -> float:
    """Seconds between two signs of life of a running poll or import (SHOPS_HEARTBEAT_EVERY)."""
    return max(float(getattr(settings, "SHOPS_HEARTBEAT_EVERY", 15)), 0.1)


def dead_after() -> dt.timedelta:
    """How long a poll or import may stay silent before its worker counts as dead (SHOPS_DEAD_AFTER); never
    less than three heartbeats, so that a busy database or a slow beat cannot make a live worker look dead."""
    seconds = float(getattr(settings, "SHOPS_DEAD_AFTER", 90))
    return dt.timedelta(seconds=max(seconds, 3 * heartbeat_every()))


class Heartbeat:
    """`with Heartbeat(beat):` calls `beat()` every heartbeat_every() seconds from a daemon thread while the
    block runs. `beat` writes the sign of life and returns False when the work is no longer this worker's (it
    was taken over); the thread then stops, and the block's next guarded write finds out. A failing beat (the
    database away for a moment) is logged and tried again at the next tick. The thread has its own database
    connection, closed when it ends."""

    def __init__(self, beat: Callable[[], bool], *, every: float | None = None, name: str = "heartbeat") -> None:
        self.beat = beat
        self.every = heartbeat_every() if every is None else every
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    if not self.beat():
                        self.lost = True
                        return
                except Exception as error:  # the database away or busy for a moment: the next tick tries again
                    logger.warning("a heartbeat could not be written: %s", error)
        finally:
            connections.close_all()  # this thread's own connections only
