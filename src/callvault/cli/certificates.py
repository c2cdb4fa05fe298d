"""``callvault certificate get`` and ``verify`` (client side; verify works offline) and
``callvault keys rotate-signing-key`` (server side): certificates of erasure, contract §14."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from callvault.cli.client import call_sdk, client_command
from callvault.cli.connection import Connection, Place, place_options
from callvault.cli.depends import uses
from callvault.cli.errors import fail
from callvault.cli.options import Store, server_command
from callvault.cli.output import stderr
from callvault.client import CertificateError, verify_certificate

certificate_app = typer.Typer(
    help="Certificates of erasure: fetch one, verify one offline.", no_args_is_help=True
)
keys_app = typer.Typer(help="The instance's signing keys.", no_args_is_help=True)

JWKS_PATH = "/.well-known/jwks.json"


@certificate_app.command("get")
@client_command
def get(
    request_id: Annotated[str, typer.Argument(help="A purge request ID.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--output-file",
            "-o",
            metavar="FILE",
            help="Write it to FILE, byte for byte (default, or -: stdout).",
        ),
    ] = None,
    jti: Annotated[
        str | None,
        typer.Option("--jti", help="One issued before the request last changed (its jti)."),
    ] = None,
    *,
    conn: Connection,
) -> None:
    """Fetch the certificate of erasure of a finished purge request (a compact JWS)."""
    with conn.client() as client:
        jws = call_sdk(lambda: client.get_certificate(request_id, jti))
    if to is None or to == "-":
        typer.echo(jws)
        return
    try:
        Path(to).write_text(jws, encoding="ascii")
    except OSError as exc:
        fail(f"cannot write {to}: {exc.strerror or exc}", code=2)
    stderr.print(f"certificate of request {request_id} written to {to}")


def _read_jwks(source: str | None, place: Place) -> Any:
    """The JWKS from a file, a URL, or (neither given) the instance every client command
    connects to (--url, --instance, CALLVAULT_URL or the config file's profile)."""
    if source is None:
        if place.base_url is None:
            fail(
                "say which keys to verify with: --jwks FILE|URL, or where the instance is "
                "(--url, --instance, CALLVAULT_URL or a profile)",
                2,
            )
        source = place.base_url + JWKS_PATH
    if source.startswith(("http://", "https://")):
        try:
            answer = httpx.get(source, verify=place.verify, timeout=30)
        except httpx.HTTPError as exc:
            fail(f"cannot fetch the JWKS from {source}: {type(exc).__name__}: {exc}")
        if answer.status_code != 200:
            fail(f"cannot fetch the JWKS from {source}: HTTP {answer.status_code}")
        text = answer.text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the JWKS {source}: {getattr(exc, 'strerror', None) or exc}", 2)
    try:
        return json.loads(text)
    except ValueError:
        fail(f"the JWKS from {source} is not JSON")


@certificate_app.command("verify")
@uses(place_options)
def verify(
    file: Annotated[Path, typer.Argument(help="The certificate (a compact JWS) to check.")],
    jwks: Annotated[
        str | None,
        typer.Option(
            "--jwks",
            metavar="FILE|URL",
            help="The issuer's JWKS (default: that of the instance the client commands use).",
        ),
    ] = None,
    *,
    place: Place,
) -> None:
    """Check a certificate of erasure offline: exit 0 and a summary, or 1 and why."""
    try:
        jws = file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}", code=2)
    keys = _read_jwks(jwks, place)
    try:
        claims = verify_certificate(jws, keys)
    except CertificateError as exc:
        fail(f"{file}: not a valid certificate: {exc}")
    counts = Counter(str(i.get("status")) for i in claims.get("items", []))
    audit = claims.get("audit") or {}
    lines = [
        f"valid certificate {claims['jti']} issued by {claims['iss']} at {claims['iat']}",
        f"request {claims['requestId']} ({claims['kind']}, by {claims.get('requestedBy')}, "
        f"{claims.get('requestedAt')}): {claims['state']}, completed {claims.get('completedAt')}",
        "items: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"),
        f"audit events {audit.get('firstSeq')}..{audit.get('lastSeq')}, "
        f"head hash {audit.get('headHash')}",
        f"method: {claims['method']}",
    ]
    if claims.get("customerPhoneHash"):
        lines.insert(2, f"customer phone hash {claims['customerPhoneHash']}")
    typer.echo("\n".join(lines))


@keys_app.command("rotate-signing-key")
@server_command
def rotate_signing_key(*, store: Store) -> None:
    """Start a new certificate signing key (works while servers run); old keys stay published."""
    from callvault.certificates.service import CertificateService

    runtime = store.open()
    try:
        kid = CertificateService(runtime).rotate()
    finally:
        runtime.close()
    typer.echo(kid)
    typer.echo(
        f"new signing key {kid}: the next certificate uses it; earlier ones still verify",
        err=True,
    )
