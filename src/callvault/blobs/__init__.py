"""Blob storage for encrypted audio, chosen by ``CALLVAULT_BLOB_URL``."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from callvault.blobs.base import BlobStore, BlobWriter
from callvault.blobs.folder import FolderBlobStore

__all__ = ["BlobStore", "BlobWriter", "FolderBlobStore", "open_blob_store"]


def open_blob_store(
    url: str, s3_endpoint_url: str | None = None, s3_timeout_seconds: float = 20.0
) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FolderBlobStore(unquote(parsed.path))
    if parsed.scheme == "s3":
        from callvault.blobs.s3 import S3BlobStore  # boto3 loads only when S3 is used

        if not parsed.netloc:
            raise ValueError("an s3:// blob URL needs a bucket: s3://bucket/prefix")
        return S3BlobStore(
            parsed.netloc,
            parsed.path,
            endpoint_url=s3_endpoint_url,
            timeout_seconds=s3_timeout_seconds,
        )
    raise ValueError(
        f"unsupported blob URL scheme {parsed.scheme!r}: use file:///path or s3://bucket/prefix"
    )
