"""Where the client commands connect and with which credentials.

Flags win over environment variables, which win over a named profile of the config file
(``~/.config/callvault/config.toml`` or ``--config``)::

    [profiles.default]
    url = "http://localhost:8000"          # or: instance = "acme"
    client_id = "cv_…"
    client_secret = "…"                    # or: token = "…"
    ca_file = "/etc/callvault/ca.pem"      # to trust a self-signed certificate

A URL without a scheme gets ``http://`` when its host is this machine (``localhost``, 127.x,
``::1``) and ``https://`` otherwise: nothing but loopback traffic goes out in clear by default.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from callvault.cli.errors import fail
from callvault.client import Client, Retrying

DEFAULT_CONFIG = Path("~/.config/callvault/config.toml")

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="CALLVAULT_URL",
        help="Base URL of the instance (no scheme: http:// for localhost, else https://).",
    ),
]
Instance = Annotated[
    str | None,
    typer.Option(
        "--instance",
        envvar="CALLVAULT_INSTANCE",
        metavar="NAME",
        help="Tethr instance name (NAME.audio.tethr.io).",
    ),
]
CaFile = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        envvar="CALLVAULT_CA_FILE",
        metavar="FILE",
        help="PEM certificate(s) to trust for HTTPS, e.g. a self-signed server's.",
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
    typer.Option(
        "--config", envvar="CALLVAULT_CONFIG", metavar="FILE", help="Config file with profiles."
    ),
]


@dataclass(frozen=True)
class Connection:
    url: str | None
    instance: str | None
    client_id: str | None
    client_secret: str | None
    token: str | None
    verify: ssl.SSLContext | bool = True

    def _say_retrying(self, retry: Retrying) -> None:
        where = self.url or f"instance {self.instance}"
        if not retry.reached:
            what = f"cannot reach {where}"
        elif retry.reason.isdigit():
            what = f"{where} answered {retry.reason}"
        else:
            what = f"no answer from {where} ({retry.reason})"
        typer.echo(
            f"callvault: {what}: retrying in {retry.delay:.1f} s "
            f"(attempt {retry.attempt} of {retry.max_attempts})",
            err=True,
        )

    @contextmanager
    def client(self) -> Iterator[Client]:
        try:
            client = Client(
                self.url,
                instance=self.instance if not self.url else None,
                client_id=self.client_id,
                client_secret=self.client_secret,
                token=self.token,
                verify=self.verify,
                on_retry=self._say_retrying,
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


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(given: str) -> str:
    """``given`` as a base URL the client can use; a usage error (exit 2) if it cannot be one."""
    text = given.strip()
    try:
        if "://" not in text:
            host = httpx.URL(f"http://{text}").host
            text = f"{'http' if _is_loopback(host) else 'https'}://{text}"
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        fail(f"--url {given!r} is not a URL: {exc}", code=2)
    if url.scheme not in ("http", "https") or not url.host or " " in text:
        fail(f"--url {given!r} is not an http:// or https:// URL with a host", code=2)
    return text.rstrip("/")


def _trust(ca_file: Path) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_file.expanduser()))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        fail(f"cannot use --ca-file {ca_file}: {reason}", code=2)


@dataclass(frozen=True)
class Place:
    """Where the client commands connect, without credentials: what ``certificate verify``
    needs to fetch an instance's public keys (``/.well-known/jwks.json`` takes no token)."""

    url: str | None
    instance: str | None
    verify: ssl.SSLContext | bool = True

    @property
    def base_url(self) -> str | None:
        if self.url:
            return self.url
        return f"https://{self.instance}.audio.tethr.io" if self.instance else None


def _place(
    url: str | None, instance: str | None, saved: dict[str, Any], ca_file: Path | None
) -> Place:
    given_url = url or (None if instance else saved.get("url"))
    given_instance = instance or (None if url else saved.get("instance"))
    if given_url and given_instance:
        fail("give either --url or --instance, not both", code=2)
    given_ca = ca_file or (Path(saved["ca_file"]) if saved.get("ca_file") else None)
    return Place(
        url=base_url(given_url) if given_url else None,
        instance=given_instance,
        verify=_trust(given_ca) if given_ca else True,
    )


def place_options(
    url: Url = None,
    instance: Instance = None,
    profile: Profile = None,
    config: ConfigFile = None,
    ca_file: CaFile = None,
) -> Place:
    """Where to connect, resolved as every client command resolves it (flags, environment,
    the config file's profile), for a command that needs no credentials; it may be nowhere
    (``Place.base_url`` None) when the command has another source."""
    return _place(url, instance, _profile(config, profile), ca_file)


def connection_options(
    url: Url = None,
    instance: Instance = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    token: Token = None,
    profile: Profile = None,
    config: ConfigFile = None,
    ca_file: CaFile = None,
) -> Connection:
    """The connection options of every client command (``@uses(connection_options)``), resolved
    over the config file's profile; missing or contradictory ones are usage errors."""
    saved = _profile(config, profile)
    place = _place(url, instance, saved, ca_file)
    if not place.url and not place.instance:
        fail("say where to connect: --url URL, --instance NAME, or CALLVAULT_URL", code=2)
    conn = Connection(
        url=place.url,
        instance=place.instance,
        client_id=client_id or saved.get("client_id"),
        client_secret=client_secret or saved.get("client_secret"),
        token=token or saved.get("token") or os.environ.get("CALLVAULT_TOKEN"),
        verify=place.verify,
    )
    if not conn.token and not (conn.client_id and conn.client_secret):
        fail(
            "give credentials: CALLVAULT_CLIENT_ID and CALLVAULT_CLIENT_SECRET, or "
            "CALLVAULT_TOKEN (or the matching flags, or a profile)",
            code=2,
        )
    return conn
