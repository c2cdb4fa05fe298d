"""age encryption of an export's package as it streams (contract §20, ``recipients``).

``pyrage`` (the maintained Python binding of the rust ``age`` crate) encrypts between two file
objects with ``encrypt_io``: measured, it writes its first ciphertext after reading 72 KiB and
keeps RSS flat over 200 MiB (``bench/export_throughput.py`` has the figures), so it streams; but
it *pulls* from a reader and *pushes* to a writer, while a response is a generator. So it runs in
a thread of its own: its reader pulls the ZIP's pieces from the package's generator, its writer
hands the ciphertext to the response through a small bounded queue (memory stays flat: at most
``QUEUE_PIECES`` pieces wait). When the client goes away the writer's next put raises and the
thread ends.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import cast

import pyrage
from pyrage import x25519

QUEUE_PIECES = 8
_DONE = object()


def recipient_problem(value: object) -> str | None:
    """What is wrong with an age X25519 recipient (``age1…``), or None for a good one."""
    if not isinstance(value, str) or not value.startswith("age1") or len(value) > 100:
        return "must be an age X25519 public key (age1…, as `age-keygen` prints it)"
    try:
        x25519.Recipient.from_str(value)
    except Exception:
        return "is not a valid age X25519 public key (age1…, as `age-keygen` prints it)"
    return None


class _Cancelled(Exception):
    pass


class _Reader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        # The chunk being read and how far: a view, not a slice, so that pyrage's small reads
        # (8 KiB) of a chunk of a MiB do not copy what is left of it each time.
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._left:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._left = memoryview(nxt)
        n = min(len(buffer), len(self._left))
        memoryview(buffer).cast("B")[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


class _Writer(io.RawIOBase):
    def __init__(self, out: queue.Queue[object], stop: threading.Event) -> None:
        super().__init__()
        self._out = out
        self._stop = stop

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        piece = bytes(data)
        while True:
            if self._stop.is_set():
                raise _Cancelled
            try:
                self._out.put(piece, timeout=0.5)
                return len(piece)
            except queue.Full:
                continue


def encrypt_stream(chunks: Iterator[bytes], recipients: Sequence[str]) -> Iterator[bytes]:
    """``chunks`` encrypted to ``recipients`` (binary age format), as it is made."""
    keys = [x25519.Recipient.from_str(r) for r in recipients]
    out: queue.Queue[object] = queue.Queue(QUEUE_PIECES)
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            # Any object with read/write does (pyrage calls only those); its stubs say Buffered.
            reader = cast(io.BufferedIOBase, _Reader(chunks))
            pyrage.encrypt_io(reader, cast(io.BufferedIOBase, _Writer(out, stop)), keys)
        except BaseException as exc:  # handed to the consumer, raised there
            failure.append(exc)
        finally:
            closer = getattr(chunks, "close", None)
            if closer is not None and stop.is_set():
                with contextlib.suppress(Exception):  # the package's own cleanup, best effort
                    closer()
            while True:
                try:
                    out.put(_DONE, timeout=0.5)
                    break
                except queue.Full:
                    if stop.is_set():
                        break

    thread = threading.Thread(target=run, name="export-age", daemon=True)
    thread.start()
    try:
        while True:
            piece = out.get()
            if piece is _DONE:
                break
            assert isinstance(piece, bytes)
            yield piece
        if failure and not isinstance(failure[0], _Cancelled):
            raise failure[0]
    finally:
        stop.set()
        thread.join(timeout=5)
