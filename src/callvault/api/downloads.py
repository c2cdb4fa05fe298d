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
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.05
CUT_TIMEOUT_SECONDS = 5.0
# Pieces a download's thread makes ahead of the one being sent (memory stays flat: a piece is at
# most a quarter of a MiB of audio and what small files come with it).
PIECES_AHEAD = 4


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


async def made_ahead(pieces: Iterator[bytes], ahead: int = PIECES_AHEAD) -> AsyncIterator[bytes]:
    """``pieces`` made on a thread of their own while the ones before them are sent.

    A download's pieces cost CPU to make (decryption, hashes, a ZIP) and time to send; made one
    at a time in the thread pool, each waited for the one before to be sent (an export ran at
    half its speed in process). Here a thread makes them, at most ``ahead`` waiting to be sent.
    Whatever the pieces raise (``ReadRevoked``: a purge) is raised here, where they are sent.
    When the sending stops (the client went away, the download was cut), the thread stops at
    its next piece and closes ``pieces`` itself, so their clean-up (an export's audit event)
    runs on it, never on the event loop. Each piece still passes its own check (is the call
    still readable?) as it is made; one made before a purge and sent after it is what the
    connection's reset is for (above): a cut download sends nothing more."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()
    room = threading.Semaphore(ahead)
    stop = threading.Event()

    def hand(item: tuple[bool, Any]) -> None:
        try:
            loop.call_soon_threadsafe(ready.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody will send it
            stop.set()

    def make() -> None:
        try:
            for piece in pieces:
                while not room.acquire(timeout=0.25):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                hand((True, piece))
            hand((False, None))
        except BaseException as exc:  # handed to the sender, which raises it
            hand((False, exc))
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    threading.Thread(target=make, name="download", daemon=True).start()
    try:
        while True:
            more, value = await ready.get()
            if not more:
                if value is not None:
                    raise value
                return
            room.release()
            yield value
    finally:
        stop.set()
