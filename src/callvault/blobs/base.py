"""The blob store protocol: what capture, reads and erasure need from any backend."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol


class BlobReader(Protocol):
    """What reading a blob back needs: a seekable binary stream."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


class BlobWriter(Protocol):
    """A blob being written. Nothing is visible under its key until ``commit`` returns."""

    # After ``commit``: the backend's ID of the one version the commit made (S3: the ID a
    # versioned bucket names, or "null" where versioning is off or suspended), kept beside the
    # call so erasure deletes it without listing; None elsewhere, or when not known for sure.
    version: str | None

    def write(self, data: bytes) -> None: ...

    def commit(self) -> int:
        """Make the blob durable and visible; returns its size in bytes."""
        ...

    def abort(self) -> None:
        """Drop what was written; safe to call after a failure, and more than once."""
        ...


class BlobStore(Protocol):
    def writer(self, key: str, *, sync: bool = True) -> BlobWriter: ...

    def open(self, key: str) -> tuple[BlobReader, int]:
        """A seekable reader of the blob and its size; FileNotFoundError when absent."""
        ...

    def delete(self, key: str) -> int:
        """Delete the blob and every stored version of it; returns how many objects were removed.

        Idempotent: deleting an absent key returns 0.
        """
        ...

    def delete_many(
        self, keys: list[str], versions: Mapping[str, str] | None = None
    ) -> dict[str, int | Exception]:
        """Delete many blobs (every version of each); per key the count removed or the error.

        ``versions`` names, for some keys, the one version their writer's commit made (a key
        is written once): those are deleted by that ID alone, without asking the store which
        versions exist; every other key's versions are listed first. One failing key must not
        stop the others: the caller retries only what failed.
        """
        ...

    def iter_aged(self) -> Iterator[tuple[str, float]]:
        """Every committed key with its last-modified time (epoch seconds): the sweeper's view."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every committed key (used by the orphan sweeper and by tests)."""
        ...
