"""Blob storage for encrypted audio, chosen by ``CALLVAULT_BLOB_URL``."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from callvault.blobs.base import BlobStore, BlobWriter
from callvault.blobs.folder import FolderBlobStore

__all__ = ["BlobStore", "BlobWriter", "FolderBlobStore", "open_blob_store"]


def open_blob_store(url: str) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FolderBlobStore(unquote(parsed.path))
    raise ValueError(f"unsupported blob URL scheme {parsed.scheme!r}: use file:///path")
