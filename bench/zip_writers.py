"""Which ZIP writer streams an access export (contract §20): stdlib ``zipfile`` writing to a
non-seekable sink, ``stream-zip`` and ``zipstream-ng``, each packing the same entries (STORED:
audio does not deflate worth the CPU) into a sink that only counts bytes.

Prints MB/s and the peak traced allocation (tracemalloc) of each, for ``--files`` entries of
``--mib`` MiB each (default 20 × 10 MiB): the writer the export uses must keep memory flat
(no whole-file buffer) and cost little beside decryption. The third-party writers are imported
only when installed (``pip install stream-zip zipstream-ng``): they are not dependencies.

    .venv/bin/python bench/zip_writers.py [--files N] [--mib M]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

PIECE = 256 * 1024


def pieces(mib: int, seed: bytes) -> Iterator[bytes]:
    block = (seed * (PIECE // len(seed) + 1))[:PIECE]
    for _ in range(mib * 4):
        yield block


class _Sink:
    """A write-only, non-seekable file: what a response body is."""

    def __init__(self) -> None:
        self.total = 0
        self.out: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.out.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> int:
        n = sum(len(b) for b in self.out)
        self.out.clear()
        return n


def stdlib(files: int, mib: int) -> int:
    sink = _Sink()
    total = 0
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for i in range(files):
            info = zipfile.ZipInfo(f"calls/{i}/audio.wav", time.gmtime()[:6])
            with archive.open(info, "w", force_zip64=True) as entry:
                for piece in pieces(mib, os.urandom(64)):
                    entry.write(piece)
                    total += sink.drain()
    return total + sink.drain()


def stream_zip_lib(files: int, mib: int) -> int:
    # Stored without its CRC known up front, stream-zip buffers the whole member
    # (NO_COMPRESSION_64 without arguments); streamed it needs size and CRC-32 first, i.e. the
    # audio decrypted twice. ZIP_64 streams but deflates (CPU the audio does not repay).
    from stream_zip import NO_COMPRESSION_64, stream_zip  # type: ignore[import-not-found]

    now = datetime.now()
    members: Iterable[tuple[str, datetime, int, object, Iterable[bytes]]] = (
        (f"calls/{i}/audio.wav", now, 0o600, NO_COMPRESSION_64, pieces(mib, os.urandom(64)))
        for i in range(files)
    )
    return sum(len(chunk) for chunk in stream_zip(members))


def zipstream_ng(files: int, mib: int) -> int:
    import zipstream  # type: ignore[import-not-found]

    zs = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=False)
    for i in range(files):
        zs.add(pieces(mib, os.urandom(64)), f"calls/{i}/audio.wav")
    return sum(len(chunk) for chunk in zs)


def measure(name: str, run: Callable[[int, int], int], files: int, mib: int) -> None:
    tracemalloc.start()
    began = time.perf_counter()
    try:
        written = run(files, mib)
    except ImportError:
        tracemalloc.stop()
        print(f"{name:14s} not installed")
        return
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{name:14s} {written / seconds / 1e6:8.0f} MB/s  peak traced {peak / 2**20:6.1f} MiB  "
        f"({written / 2**20:.0f} MiB written)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--mib", type=int, default=10)
    args = parser.parse_args()
    for name, run in (
        ("zipfile", stdlib),
        ("stream-zip", stream_zip_lib),
        ("zipstream-ng", zipstream_ng),
    ):
        measure(name, run, args.files, args.mib)


if __name__ == "__main__":
    main()
