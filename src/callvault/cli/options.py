"""Options shared by the server-side commands; each is also a ``CALLVAULT_<NAME>`` variable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from callvault.runtime import Runtime
    from callvault.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="CALLVAULT_DATA_DIR", help="Data folder of the embedded store."
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="CALLVAULT_DATABASE_URL", help="SQLAlchemy URL of the calls DB."
    ),
]
KeystoreUrl = Annotated[
    str | None,
    typer.Option(
        "--keystore-url", envvar="CALLVAULT_KEYSTORE_URL", help="SQLAlchemy URL of the key store."
    ),
]
BlobUrl = Annotated[
    str | None,
    typer.Option(
        "--blob-url", envvar="CALLVAULT_BLOB_URL", help="file:///path or s3://bucket/prefix."
    ),
]
S3Endpoint = Annotated[
    str | None,
    typer.Option(
        "--s3-endpoint-url", envvar="CALLVAULT_S3_ENDPOINT_URL", help="S3-compatible endpoint."
    ),
]
DefaultRegion = Annotated[
    str | None,
    typer.Option(
        "--default-region",
        envvar="CALLVAULT_DEFAULT_REGION",
        help="Region for phone numbers without a country code (default US).",
    ),
]


def build_settings(**given: Any) -> Settings:
    """Settings from flags (given) over environment over defaults."""
    from callvault.settings import Settings

    return Settings(**{k: v for k, v in given.items() if v is not None})


def open_runtime(**given: Any) -> Runtime:
    """The instance's stores, opened (and migrated) from flags over environment over defaults;
    a setting that cannot work is one line on stderr and exit 1."""
    from callvault.cli.errors import fail
    from callvault.runtime import ConfigurationError, Runtime

    try:
        return Runtime.open(build_settings(**given))
    except ConfigurationError as exc:
        fail(str(exc))
