"""Audio downloads in flight, ended with their call's purge (contract §19: no byte of an erased
call leaves the server after its erasure is reported).

A download checks before each piece that its call is still readable, so a purge stops it from
reading more; but the pieces already handed to the kernel (a socket's send buffer grows to
megabytes) would still reach the client after the item says ``Purged``. So a revoked download is
ended with a TCP reset (``api/protocol.py``: ``SO_LINGER`` 0, then abort), which makes the kernel
discard what it has not sent. Two things trigger it:

- a watch beside each download asks every ``WATCH_SECONDS`` whether its call is still readable,
  whichever process or host accepted the purge;
- a purge accepted by this process cuts the downloads it revoked here *before* the workers are
  woken (``cut_revoked``, run from the purge service's ``on_queued``), so in one process the
  reset always comes before the erasure can even start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.05
CUT_TIMEOUT_SECONDS = 5.0


@dataclass(eq=False)
class Download:
    still_readable: Callable[[], bool]  # a database read: call it off the event loop
    reset: Callable[[], None]  # on the event loop
    loop: asyncio.AbstractEventLoop
    cut: bool = False

    def end(self) -> None:
        """Reset the connection, once (on the event loop)."""
        if self.cut:
            return
        self.cut = True
        log.info("an audio download was ended: its call is being erased")
        self.reset()


class Downloads:
    """The downloads in flight in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: set[Download] = set()

    def add(self, download: Download) -> None:
        with self._lock:
            self._active.add(download)

    def remove(self, download: Download) -> None:
        with self._lock:
            self._active.discard(download)

    def __len__(self) -> int:
        with self._lock:
            return len(self._active)

    def cut_revoked(self) -> None:
        """End every download whose call is no longer readable, and return once they are ended.
        Called from a worker thread (a purge's acceptance runs in one), never the event loop."""
        with self._lock:
            active = list(self._active)
        waiting = []
        for download in active:
            if download.cut or download.still_readable():
                continue
            done: concurrent.futures.Future[None] = concurrent.futures.Future()

            def end(d: Download = download, f: concurrent.futures.Future[None] = done) -> None:
                try:
                    d.end()
                finally:
                    f.set_result(None)

            download.loop.call_soon_threadsafe(end)
            waiting.append(done)
        for done in waiting:
            try:
                done.result(CUT_TIMEOUT_SECONDS)
            except concurrent.futures.TimeoutError:
                log.warning("a revoked download could not be ended in time; its watch will")
