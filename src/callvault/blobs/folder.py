"""The local-folder blob backend: the embedded default, for one machine.

Writes go to a temporary file in the same folder, are fsynced, then renamed into place (and the
folder fsynced), so a crash never leaves a half-written blob under a real key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from callvault.files import open_private, private_dir

TMP_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderWriter:
    def __init__(self, final: Path, sync: bool = True) -> None:
        self._final = final
        self._sync = sync
        private_dir(final.parent)
        self._tmp = final.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}"
        fd = open_private(self._tmp, os.O_WRONLY | os.O_EXCL)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")  # closed in commit/abort
        self._size = 0
        self.version: str | None = None  # a folder keeps no versions

    def write(self, data: bytes) -> None:
        assert self._file is not None, "writer already closed"
        self._file.write(data)
        self._size += len(data)

    def commit(self) -> int:
        assert self._file is not None, "writer already closed"
        self._file.flush()
        if self._sync:
            os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._tmp, self._final)
        if self._sync:
            _fsync_dir(self._final.parent)
        return self._size

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)


def _empty(
    folders: list[Path], by_folder: Mapping[Path, Mapping[str, Path]]
) -> dict[str, int | Exception]:
    """Unlink the given files of ``folders`` and flush each folder that lost one: per key 1
    (deleted), 0 (already gone) or the error; a folder that cannot be flushed fails all of its
    keys, since none of their deletions is known to be durable."""
    answered: dict[str, int | Exception] = {}
    for folder in folders:
        mine: dict[str, int | Exception] = {}
        for key, path in by_folder[folder].items():
            try:
                os.unlink(path)
            except FileNotFoundError:
                mine[key] = 0
            except OSError as exc:
                mine[key] = exc
            else:
                mine[key] = 1
        if 1 in mine.values():
            try:
                _fsync_dir(folder)
            except OSError as exc:
                mine = dict.fromkeys(mine, exc)
        answered.update(mine)
    return answered


class FolderBlobStore:
    def __init__(self, root: str | os.PathLike[str], delete_threads: int = 8) -> None:
        self.root = Path(root)
        private_dir(self.root)
        self._threads = delete_threads
        self._pool = ThreadPoolExecutor(delete_threads, thread_name_prefix="blob-delete")

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/") or key.startswith(TMP_PREFIX):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    def writer(self, key: str, *, sync: bool = True) -> FolderWriter:
        """``sync=False`` skips fsync: only for bulk-loading demo data, never for captures."""
        return FolderWriter(self._path(key), sync)

    def open(self, key: str) -> tuple[BinaryIO, int]:
        path = self._path(key)
        handle = open(path, "rb")  # noqa: SIM115 - the caller owns and closes it
        return handle, os.fstat(handle.fileno()).st_size

    def delete(self, key: str) -> int:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        _fsync_dir(path.parent)
        return 1

    def delete_many(
        self, keys: list[str], versions: Mapping[str, str] | None = None
    ) -> dict[str, int | Exception]:
        # A file has one version: ``versions`` changes nothing here. Unlinks wait on the disk
        # with the GIL released, so a few threads erase a batch faster than a loop. Each thread
        # takes whole folders, unlinks their files and flushes each folder once: handing out
        # one unlink at a time cost more CPU than the unlink itself, and two threads in one
        # folder queue on its lock (bench/README.md, "Erasure").
        result: dict[str, int | Exception] = {}
        by_folder: dict[Path, dict[str, Path]] = {}
        for key in keys:
            try:
                path = self._path(key)
            except ValueError as exc:
                result[key] = exc
            else:
                by_folder.setdefault(path.parent, {})[key] = path
        folders = sorted(by_folder)
        shares = [folders[i :: self._threads] for i in range(min(self._threads, len(folders)))]
        for answered in self._pool.map(lambda share: _empty(share, by_folder), shares):
            result.update(answered)
        return result

    def iter_keys(self) -> Iterator[str]:
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(TMP_PREFIX):
                yield path.relative_to(self.root).as_posix()

    def iter_aged(self) -> Iterator[tuple[str, float]]:
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(TMP_PREFIX):
                yield path.relative_to(self.root).as_posix(), path.stat().st_mtime

    def sweep_temporaries(self, older_than: float | None = None) -> int:
        """Remove temporaries a crash left behind (ciphertext only, but they waste space).

        ``older_than`` (epoch seconds) spares the temporaries of uploads still in progress.
        """
        removed = 0
        for path in self.root.rglob(f"{TMP_PREFIX}*"):
            try:
                if older_than is not None and path.stat().st_mtime >= older_than:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed
