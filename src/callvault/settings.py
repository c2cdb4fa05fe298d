"""Typed settings: every field is a ``CALLVAULT_<NAME>`` environment variable; the server
commands take some of them as flags too (cli/options.py, cli/server.py).

Settings are an object passed into ``create_app`` and the worker, never a module global, so a test
can build as many independent instances as it likes.
"""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A confirmation threshold that never asks for a confirmation (``never``): the setting's and an
# API user's own (``api_users.confirm_above``, where NULL means "the instance's").
NEVER = -1

_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def parse_confirm_above(value: Any) -> int:
    """A confirmation threshold as written: ``never`` (any case) → NEVER; a whole number >= 0
    (an int, or its ASCII digits) → itself. ValueError for anything else (a negative number,
    ``-1`` included, a fraction, a word, True)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "never":
            return NEVER
        if _WHOLE_NUMBER.fullmatch(text):
            return int(text)
    raise ValueError(
        f"a confirmation threshold is a whole number of calls >= 0 or never, not {value!r}"
    )


Network = IPv4Network | IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``CALLVAULT_FORWARDED_ALLOW_IPS`` as written: addresses and CIDR networks separated by
    commas (blank: none). ValueError naming the first entry that is neither (``*`` included: the
    proxies are named, never "everyone", or any client could choose its own address)."""
    networks = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or a network; give the trusted proxies' "
                "addresses or CIDR networks separated by commas, e.g. 127.0.0.1, 10.0.0.0/8"
            ) from None
    return tuple(networks)


class Settings(BaseSettings):
    """Configuration of one callvault instance (defaults: the embedded store, no setup)."""

    model_config = SettingsConfigDict(env_prefix="CALLVAULT_", extra="ignore")

    data_dir: Path = Field(
        default=Path("callvault-data"),
        description="Folder of the embedded store: databases, key store, blobs, master key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the calls database (default: SQLite in the data dir).",
    )
    keystore_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the key store holding wrapped data keys, kept apart from "
        "the calls database (default: its own SQLite file in the data dir).",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where audio blobs live: file:///path or s3://bucket/prefix "
        "(default: the data dir's blobs folder).",
    )
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint URL.")
    master_key: str | None = Field(
        default=None,
        description="Base64 of 32 bytes that wrap per-call data keys; generated into the data dir "
        "on first run when unset and the store is embedded.",
        repr=False,
    )
    default_region: str = Field(
        default="US", description="Region used to parse phone numbers without a country code."
    )
    token_ttl_seconds: int = Field(default=1799, ge=60, description="Access token lifetime.")
    max_upload_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Largest capture request body accepted (413 above)."
    )
    max_info_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest `info` part of a capture (413 above)."
    )
    max_json_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest JSON request body accepted (413 above)."
    )
    rate_limit_per_minute: int = Field(
        default=6000, ge=0, description="Requests a minute per API user and node (0: no limit)."
    )
    token_rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Failed /Token attempts a minute per client address and node (0: no limit); "
        "over it, every /Token request from that address is 429 until its bucket refills.",
    )
    max_active_holds: int = Field(
        default=1000,
        ge=1,
        description="Most legal holds active at once; placing one more is 409 until one is "
        "released.",
    )
    hold_rate_per_hour: int = Field(
        default=600,
        ge=0,
        description="Legal holds one user may place an hour, per node (0: no limit); over it, "
        "429 with Retry-After.",
    )
    export_link_hours: int = Field(
        default=72,
        ge=1,
        le=168,
        description="How long an access export's download link works, in hours (at most 168); "
        "then it answers 410.",
    )
    export_max_downloads: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Downloads an access export allows, by link or bearer token alike (each one "
        "started counts); then its link answers 410.",
    )
    token_issue_rate_limit_per_minute: int = Field(
        default=6000,
        ge=0,
        description="Tokens issued a minute per client_id and node (0: no limit): generous, "
        "since Tethr's C++ client asks for a token before every call.",
    )
    read_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A capture body that sends nothing this long is dropped (408).",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request's line and headers must arrive within this long of the connection "
        "opening (its first request) or of the request's first byte (later ones): else 408 and "
        "close; a connection that sends nothing is closed. Never counted from the previous "
        "answer: a kept-alive connection idle between requests waits keep_alive_seconds.",
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        description="Open HTTP connections per server process; a new one above it is answered "
        "503 with Retry-After and closed.",
    )
    keep_alive_seconds: int = Field(
        default=130,
        ge=1,
        description="A kept-alive connection idle between requests is closed after this long; "
        "longer than .NET keeps idle pooled connections (100-120 s), which it reuses without "
        "retrying a call the server closed under it.",
    )
    run_worker: bool = Field(
        default=True, description="Run the purge worker inside `serve` (off: --no-worker)."
    )
    worker_concurrency: int = Field(default=1, ge=1, le=64, description="Purge worker threads.")
    purge_batch_size: int = Field(default=1000, ge=1, le=5000, description="Calls per erase batch.")
    purge_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a claimed job is held before another worker may."
    )
    redaction_lease_seconds: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        description="How long a worker holds a redaction it claimed before another worker may "
        "take it over; renewed every third of it while the redaction runs, so this is how long "
        "a redaction whose worker died waits before another worker finishes it.",
    )
    db_statement_timeout_seconds: float = Field(
        default=20.0,
        ge=0,
        le=3600,
        description="PostgreSQL: every statement, lock wait and transaction left idle is cut "
        "after this long (0: never); migrations and VACUUM are exempt. Keep it below "
        "CALLVAULT_PURGE_LEASE_SECONDS, so that no worker holds leased jobs on a silent server.",
    )
    s3_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="S3: how long one attempt of a request may wait for the server to answer "
        "(connecting: at most 5 s); three attempts at most.",
    )
    purge_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before an erasure gives up (item Error)."
    )
    purge_quota_per_hour: int = Field(
        default=100_000,
        ge=0,
        description="Calls one API user may queue for erasure in a sliding hour (0: no quota); "
        "a request that would pass it is refused whole with 429.",
    )
    purge_grace_seconds: int = Field(
        default=0,
        ge=0,
        le=30 * 86400,
        description="Accepted purges hide their calls at once and erase them after this many "
        "seconds; until then POST /purge/v1/requests/{id}/cancel restores them (0: no window).",
    )
    retention_interval_seconds: int = Field(
        default=60,
        ge=1,
        le=86400,
        description="How often each purge worker sweeps for calls past their retention policy "
        "and queues their erasure.",
    )
    audit_checkpoint_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="How often, at most, the workers sign a checkpoint of the audit chain's head "
        "while events arrive (a certificate or evidence ZIP that needs one signs it at once).",
    )
    webhook_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="The wait before a webhook delivery's first retry; each later wait is "
        "doubled, at most an hour, for up to 24 hours.",
    )
    webhook_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a worker holds a webhook delivery it is sending before another "
        "worker may send it (a worker that died mid-send is replaced after this long).",
    )
    webhook_allow_http: bool = Field(
        default=False,
        description="Accept plain http:// webhook URLs to any host (default: https:// only, "
        "plain http:// only to a loopback address).",
    )
    instance_name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=200,
        description="The issuer (`iss`) of this instance's certificates of erasure "
        "(default: the host name).",
    )
    console_idle_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="A console session ends after this many minutes without a request.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Reverse proxies trusted to say who the client is: addresses and CIDR "
        "networks, comma-separated (default empty: none). Only a request whose peer is one of "
        "them has its client address taken from X-Forwarded-For (the right-most entry that is "
        "not itself a trusted proxy); console logins are throttled per that address and name.",
    )
    purge_confirm_above: int = Field(
        default=100,
        description="A customer purge that would queue more calls than this needs the "
        "confirmToken of a whatIf preview of the same number (409 otherwise); `never`: no "
        "customer purge needs one. An API user's own threshold (`callvault users update NAME "
        "--confirm-above N|never`) replaces it for that user.",
    )

    @field_validator("purge_confirm_above", mode="before")
    @classmethod
    def _confirm_above(cls, value: Any) -> int:
        """``never`` is NEVER; a whole number >= 0 is itself; anything else fails at start."""
        return parse_confirm_above(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips(cls, value: str) -> str:
        """A typo fails at start, naming the entry, rather than trusting nobody silently."""
        parse_networks(value)
        return value

    @property
    def trusted_proxies(self) -> tuple[Network, ...]:
        """The networks of ``forwarded_allow_ips``."""
        return parse_networks(self.forwarded_allow_ips)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'callvault.db').resolve()}"

    @property
    def resolved_keystore_url(self) -> str:
        return self.keystore_url or f"sqlite:///{(self.data_dir / 'keystore.db').resolve()}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or (self.data_dir / "blobs").resolve().as_uri()

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def is_embedded(self) -> bool:
        """True when the calls database is the default SQLite file in the data dir."""
        return self.database_url is None
