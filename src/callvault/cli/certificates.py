"""``callvault certificate get`` and ``verify`` (client side; verify works offline) and
``callvault keys rotate-signing-key`` (server side): certificates of erasure, contract §14."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from callvault.cli.client import call_sdk, client_command
from callvault.cli.connection import Connection, Place, place_options
from callvault.cli.depends import uses
from callvault.cli.errors import fail
from callvault.cli.options import Store, server_command
from callvault.cli.output import count, stderr
from callvault.client import CertificateError, verify_certificate
from callvault.client._certificates import check_expected, insecure_jwks_url

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


def _read_jwks(source: str | None, place: Place, insecure: bool = False) -> Any:
    """The JWKS from a file, a URL, or (neither given) the instance every client command
    connects to (--url, --instance, CALLVAULT_URL or the config file's profile). Not over
    plain http:// from another host than this machine, unless ``insecure`` (contract §14):
    refused before anything is sent."""
    if source is None:
        if place.base_url is None:
            fail(
                "say which keys to verify with: --jwks FILE|URL, or where the instance is "
                "(--url, --instance, CALLVAULT_URL or a profile)",
                2,
            )
        source = place.base_url + JWKS_PATH
    if source.lower().startswith(("http://", "https://")):
        refusal = None if insecure else insecure_jwks_url(source)
        if refusal is not None:
            fail(refusal)
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


def iso(value: Any) -> str:
    """A time of a certificate as ISO 8601 UTC to the second (``2026-12-07T08:00:00Z``): from
    epoch seconds (``iat``) or an ISO 8601 string; ``—`` for none; anything else as it is."""
    if value is None:
        return "—"
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def erased_count(claims: dict[str, Any]) -> int:
    """How many calls the certificate says were erased: its ``erasedCount``, else (issued
    before that claim existed) its items ``Purged``."""
    given = claims.get("erasedCount")
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    return sum(
        1 for i in claims.get("items", []) if isinstance(i, dict) and i.get("status") == "Purged"
    )


def redaction_lines(claims: dict[str, Any]) -> list[str]:
    """What ``certificate verify`` says of a valid certificate of redaction (contract §21)."""
    audit = claims.get("audit") or {}
    ranges = [r for r in claims.get("ranges", []) if isinstance(r, dict)]
    spans = ", ".join(
        f"{r.get('startMs', 0) / 1000:g}-{r.get('endMs', 0) / 1000:g} s" for r in ranges
    )
    lines = [
        f"valid certificate of redaction {claims['jti']} issued by {claims['iss']} at "
        f"{iso(claims['iat'])}",
        f"redaction {claims['redactionId']} of call {claims['callId']} (session "
        f"{claims.get('sessionId')}, by {claims.get('requestedBy')}, reason "
        f"{claims.get('reason')}, requested {iso(claims.get('requestedAt'))}): "
        f"{claims.get('state')}, completed {iso(claims.get('completedAt'))}",
        f"{count(len(ranges), 'range')} erased: {spans or 'none'}",
        f"audio sha256 before {claims.get('audioSha256Before')}",
        f"audio sha256 after  {claims.get('audioSha256After')}",
        f"old data key destroyed: {'yes' if claims.get('oldDataKeyDestroyed') else 'no'}; "
        f"old audio objects deleted: {claims.get('blobObjectsDeleted')}",
        f"audit events {audit.get('firstSeq')}..{audit.get('lastSeq')}, "
        f"head hash {audit.get('headHash')}",
    ]
    if claims.get("reference"):
        lines.insert(2, f"reference {claims['reference']}")
    return lines


def summary_lines(claims: dict[str, Any]) -> list[str]:
    """What ``certificate verify`` says of a valid certificate, a line a fact."""
    if "redactionId" in claims:
        return redaction_lines(claims)
    counts = Counter(str(i.get("status")) for i in claims.get("items", []) if isinstance(i, dict))
    audit = claims.get("audit") or {}
    completed = claims.get("completedAt")
    lines = [
        f"valid certificate {claims['jti']} issued by {claims['iss']} at {iso(claims['iat'])}",
        f"request {claims['requestId']} ({claims['kind']}, by {claims.get('requestedBy')}, "
        f"requested {iso(claims.get('requestedAt'))}): {claims['state']}"
        + (f", completed {iso(completed)}" if completed else ""),
        f"{count(erased_count(claims), 'call')} erased",
        "items: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"),
        f"audit events {audit.get('firstSeq')}..{audit.get('lastSeq')}, "
        f"head hash {audit.get('headHash')}",
    ]
    if claims.get("reference"):
        lines.insert(2, f"reference {claims['reference']}")
    if claims.get("customerPhoneHash"):
        lines.insert(2, f"customer phone hash {claims['customerPhoneHash']}")
    if claims.get("method"):
        lines.append(f"method: {claims['method']}")
    return lines


@certificate_app.command("verify")
@uses(place_options)
def verify(
    file: Annotated[Path, typer.Argument(help="The certificate (a compact JWS) to check.")],
    jwks: Annotated[
        str | None,
        typer.Option(
            "--jwks",
            metavar="FILE|URL",
            help="The issuer's JWKS (default: that of the instance the client commands use). "
            "Plain http:// only from this machine (localhost, 127.0.0.0/8, ::1).",
        ),
    ] = None,
    expect_request: Annotated[
        str | None,
        typer.Option(
            "--expect-request",
            metavar="ID",
            help="Fail unless it certifies this purge request (its requestId) or redaction "
            "(its redactionId).",
        ),
    ] = None,
    expect_issuer: Annotated[
        str | None,
        typer.Option(
            "--expect-issuer",
            metavar="NAME",
            help="Fail unless this instance issued it (its iss: CALLVAULT_INSTANCE_NAME).",
        ),
    ] = None,
    insecure_jwks: Annotated[
        bool,
        typer.Option(
            "--insecure-jwks",
            help="Fetch the JWKS over plain http:// from another host all the same (anyone on "
            "the way could swap the keys, and a forged certificate would verify).",
        ),
    ] = False,
    *,
    place: Place,
) -> None:
    """Check a certificate of erasure or of redaction offline: exit 0 and a summary, or 1 and
    why.

    A valid signature says who signed, not that it is the certificate you want: give
    --expect-request and --expect-issuer to insist on both."""
    try:
        jws = file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}", code=2)
    keys = _read_jwks(jwks, place, insecure_jwks)
    try:
        claims = verify_certificate(jws, keys)
    except CertificateError as exc:
        fail(f"{file}: not a valid certificate: {exc}")
    try:
        check_expected(claims, expect_request, expect_issuer)
    except CertificateError as exc:
        fail(f"{file}: signed, but not the certificate expected: {exc}")
    typer.echo("\n".join(summary_lines(claims)))
    checked = [
        what
        for what, given in (("request", expect_request), ("issuer", expect_issuer))
        if given is not None
    ]
    if len(checked) < 2:
        unchecked = [w for w in ("request", "issuer") if w not in checked]
        flags = " and ".join(f"--expect-{w}" for w in unchecked)
        stderr.print(f"not checked: which {' and '.join(unchecked)} it names (see {flags})")


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
