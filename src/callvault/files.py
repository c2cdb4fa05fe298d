"""Private files and folders: what the embedded store writes is its owner's alone.

The umask decides nothing here. Folders are made 0700 and files 0600 from their first byte (the
mode is given at creation, never fixed up after), so no window exists in which another local user
could open a database, a blob or a temporary file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """``mkdir -p`` whose every newly made folder is 0700; folders that exist are left alone."""
    missing: list[Path] = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process (or thread) made it first
        os.chmod(folder, DIR_MODE)  # mkdir's mode passes through the umask; this only tightens


def open_private(path: Path, flags: int) -> int:
    """``os.open`` that creates the file 0600 (``O_CREAT`` is added)."""
    return os.open(path, flags | os.O_CREAT, FILE_MODE)


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (SQLite then gives its WAL and shared-memory
    files the database file's own mode)."""
    if path.exists():
        return
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):  # another process made it first
        os.close(open_private(path, os.O_WRONLY | os.O_EXCL))
