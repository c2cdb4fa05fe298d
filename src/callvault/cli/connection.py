"""Where the client commands connect and with which credentials.

Flags win over environment variables, which win over a named profile of the config file
(``~/.config/callvault/config.toml`` or ``--config``)::

    [profiles.default]
    url = "http://localhost:8000"          # or: instance = "acme"
    client_id = "cv_…"
    client_secret = "…"                    # or: token = "…"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from callvault.cli.errors import fail
from callvault.client import Client

DEFAULT_CONFIG = Path("~/.config/callvault/config.toml")

Url = Annotated[
    str | None, typer.Option("--url", envvar="CALLVAULT_URL", help="Base URL of the instance.")
]
Instance = Annotated[
    str | None,
    typer.Option(
        "--instance", envvar="CALLVAULT_INSTANCE", help="Tethr instance name (NAME.audio.tethr.io)."
    ),
]
ClientId = Annotated[
    str | None, typer.Option("--client-id", envvar="CALLVAULT_CLIENT_ID", help="API client ID.")
]
ClientSecret = Annotated[
    str | None,
    typer.Option("--client-secret", envvar="CALLVAULT_CLIENT_SECRET", help="API client secret."),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="CALLVAULT_TOKEN", help="A bearer token (instead of a secret)."),
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", envvar="CALLVAULT_PROFILE", help="Profile of the config file."),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", envvar="CALLVAULT_CONFIG", help="Config file with profiles."),
]


@dataclass(frozen=True)
class Connection:
    url: str | None
    instance: str | None
    client_id: str | None
    client_secret: str | None
    token: str | None

    @contextmanager
    def client(self) -> Iterator[Client]:
        try:
            client = Client(
                self.url,
                instance=self.instance if not self.url else None,
                client_id=self.client_id,
                client_secret=self.client_secret,
                token=self.token,
            )
        except ValueError as exc:
            fail(str(exc), code=2)
        with client:
            yield client


def _profile(config: Path | None, name: str | None) -> dict[str, Any]:
    path = (config or DEFAULT_CONFIG).expanduser()
    if not path.exists():
        if config is not None or name is not None:
            fail(f"config file {path} not found", code=2)
        return {}
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as exc:
        fail(f"cannot read config file {path}: {exc.strerror or exc}", code=2)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        fail(f"config file {path} is not valid TOML: {exc}", code=2)
    profiles = doc.get("profiles", {})
    chosen = name or "default"
    if chosen not in profiles:
        if name is None:
            return {}
        known = ", ".join(sorted(profiles)) or "none"
        fail(f"no profile {name!r} in {path} (profiles: {known})", code=2)
    profile: dict[str, Any] = profiles[chosen]
    return profile


def connection_options(
    url: Url = None,
    instance: Instance = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    token: Token = None,
    profile: Profile = None,
    config: ConfigFile = None,
) -> Connection:
    """The connection options of every client command (``@uses(connection_options)``), resolved
    over the config file's profile; missing or contradictory ones are usage errors."""
    saved = _profile(config, profile)
    given_url = url or (None if instance else saved.get("url"))
    given_instance = instance or (None if url else saved.get("instance"))
    if not given_url and not given_instance:
        fail("say where to connect: --url URL, --instance NAME, or CALLVAULT_URL", code=2)
    if given_url and given_instance:
        fail("give either --url or --instance, not both", code=2)
    conn = Connection(
        url=given_url,
        instance=given_instance,
        client_id=client_id or saved.get("client_id"),
        client_secret=client_secret or saved.get("client_secret"),
        token=token or saved.get("token") or os.environ.get("CALLVAULT_TOKEN"),
    )
    if not conn.token and not (conn.client_id and conn.client_secret):
        fail(
            "give credentials: CALLVAULT_CLIENT_ID and CALLVAULT_CLIENT_SECRET, or "
            "CALLVAULT_TOKEN (or the matching flags, or a profile)",
            code=2,
        )
    return conn
