"""Options shared by the server-side commands; each is also a ``CALLVAULT_<NAME>`` variable.

Every server command takes the same store options (``@server_command``): where the calls
database, the key store and the blobs are. The options of a few commands each (log level, purge
lease) are aliases here, written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from callvault.cli.depends import uses

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


LogLevel = Annotated[
    str, typer.Option("--log-level", envvar="CALLVAULT_LOG_LEVEL", help="Python log level.")
]
PurgeLease = Annotated[
    float | None,
    typer.Option(
        "--purge-lease-seconds",
        envvar="CALLVAULT_PURGE_LEASE_SECONDS",
        help="Lease of a claimed job.",
    ),
]


def build_settings(**given: Any) -> Settings:
    """Settings from flags (given) over environment over defaults."""
    from callvault.settings import Settings

    return Settings(**{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class Store:
    """Where one instance keeps its calls, keys and blobs, as the store options said."""

    data_dir: Path | None
    database_url: str | None
    keystore_url: str | None
    blob_url: str | None
    s3_endpoint_url: str | None

    def open(self, **settings: Any) -> Runtime:
        """The instance's stores, opened (and migrated) from flags over environment over
        defaults; a setting that cannot work is one line on stderr and exit 1."""
        from callvault.cli.errors import fail
        from callvault.runtime import ConfigurationError, Runtime

        try:
            return Runtime.open(
                build_settings(
                    data_dir=self.data_dir,
                    database_url=self.database_url,
                    keystore_url=self.keystore_url,
                    blob_url=self.blob_url,
                    s3_endpoint_url=self.s3_endpoint_url,
                    **settings,
                )
            )
        except ConfigurationError as exc:
            fail(str(exc))


def store_options(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    keystore_url: KeystoreUrl = None,
    blob_url: BlobUrl = None,
    s3_endpoint_url: S3Endpoint = None,
) -> Store:
    """The store options of every server command (``@server_command``)."""
    return Store(data_dir, database_url, keystore_url, blob_url, s3_endpoint_url)


server_command = uses(store_options)
