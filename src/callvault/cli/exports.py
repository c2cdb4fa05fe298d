"""``callvault export``: subject access exports on a running instance, and ``export verify``
offline (contract §20)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from callvault.cli.certificates import _read_jwks, iso
from callvault.cli.client import Output, Reference, Words, call_sdk, client_command
from callvault.cli.connection import Connection, Place, place_options
from callvault.cli.depends import uses
from callvault.cli.errors import fail
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import Export, ExportError, ExportPreview, verify_export

export_app = typer.Typer(
    help="Subject access exports: a caller's recordings as one signed package.",
    no_args_is_help=True,
)

COLUMNS = (
    "exportId",
    "state",
    "calls",
    "reference",
    "requestedBy",
    "createdAt",
    "expiresAt",
    "downloads",
    "maxDownloads",
)


def _row(e: Export) -> dict[str, Any]:
    return {
        "exportId": e.export_id,
        "state": e.state,
        "calls": e.calls,
        "reference": e.reference,
        "requestedBy": e.requested_by,
        "createdAt": e.created_at,
        "expiresAt": e.expires_at,
        "downloads": e.downloads,
        "maxDownloads": e.max_downloads,
    }


@export_app.command("create")
@client_command
def create(
    phone: Annotated[
        list[str] | None, typer.Option("--phone", help="The caller's phone number; repeatable.")
    ] = None,
    email: Annotated[
        list[str] | None, typer.Option("--email", help="An e-mail address; repeatable.")
    ] = None,
    session: Annotated[
        list[str] | None, typer.Option("--session", help="A session ID; repeatable.")
    ] = None,
    call: Annotated[list[str] | None, typer.Option("--call", help="A call ID; repeatable.")] = None,
    after: Annotated[
        str | None, typer.Option("--after", help="Only calls started at or after (ISO 8601).")
    ] = None,
    before: Annotated[
        str | None, typer.Option("--before", help="Only calls started before (ISO 8601).")
    ] = None,
    reference: Reference = None,
    recipient: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient", help="An age X25519 public key (age1…) to encrypt to; repeatable."
        ),
    ] = None,
    what_if: Annotated[
        bool, typer.Option("--what-if", help="Only say which calls it would cover.")
    ] = False,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Export a caller's recordings; prints the download link (shown this once)."""
    if not (phone or email or session or call):
        fail("give at least one --phone, --email, --session or --call: whose calls?", code=2)
    words: Words = {
        "phoneNumbers": ("--phone", phone or []),
        "emails": ("--email", email or []),
        "sessionIds": ("--session", session or []),
        "callIds": ("--call", call or []),
        "startedAfter": ("--after", [after or ""]),
        "startedBefore": ("--before", [before or ""]),
        "reference": ("--reference", [reference or ""]),
        "recipients": ("--recipient", recipient or []),
    }
    with conn.client() as client:
        made = call_sdk(
            lambda: client.create_export(
                phone_numbers=phone or (),
                emails=email or (),
                session_ids=session or (),
                call_ids=call or (),
                started_after=after,
                started_before=before,
                reference=reference,
                recipients=recipient or (),
                what_if=what_if,
            ),
            words,
        )
        base = client.base_url
    if isinstance(made, ExportPreview):
        stderr.print(f"an export would cover {count(made.calls, 'call')}; nothing was made")
        emit(made.items, ("callId", "sessionId", "startTime"), output)
        return
    stderr.print(
        f"export {made.export_id} made: {count(made.calls, 'call')}, "
        f"{made.max_downloads} downloads until {made.expires_at}"
    )
    row = _row(made)
    if made.download_url:
        stderr.print("download link (works without a token; shown this once):")
        if output is OutputFormat.table:
            typer.echo(base + made.download_url)
        else:  # one document on stdout, the link in it
            row["downloadUrl"] = base + made.download_url
    emit([row], (*COLUMNS, "downloadUrl") if "downloadUrl" in row else COLUMNS, output)


@export_app.command("download")
@client_command
def download(
    export_id: Annotated[str, typer.Argument(help="An export ID.")],
    to: Annotated[
        Path, typer.Option("--output-file", "-o", metavar="FILE", help="Where to write it.")
    ],
    link: Annotated[
        str | None,
        typer.Option("--link", help="Its download link instead of this client's token."),
    ] = None,
    *,
    conn: Connection,
) -> None:
    """Download a package (streamed to FILE; counts as one of its downloads)."""
    with conn.client() as client:
        written = call_sdk(lambda: client.download_export(export_id, to, link=link))
    stderr.print(f"export {export_id} written to {written} ({written.stat().st_size} bytes)")


@export_app.command("list")
@client_command
def list_exports(
    reference: Annotated[
        str | None, typer.Option("--reference", help="Only this reference's.")
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Exports, newest first."""
    with conn.client() as client:
        found = call_sdk(lambda: client.list_exports(reference))
    stderr.print(count(len(found), "export"))
    emit([_row(e) for e in found], COLUMNS, output)


@export_app.command("revoke")
@client_command
def revoke(
    export_id: Annotated[str, typer.Argument(help="An export ID.")],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Revoke an export: its link answers 410 from now on."""
    with conn.client() as client:
        revoked = call_sdk(lambda: client.revoke_export(export_id))
    stderr.print(f"export {revoked.export_id} revoked")
    emit([_row(revoked)], COLUMNS, output)


@export_app.command("verify")
@uses(place_options)
def verify(
    file: Annotated[Path, typer.Argument(help="The package (.zip or .zip.age).")],
    jwks: Annotated[
        str | None,
        typer.Option(
            "--jwks",
            metavar="FILE|URL",
            help="The issuer's JWKS (default: that of the instance the client commands use).",
        ),
    ] = None,
    identity: Annotated[
        Path | None,
        typer.Option(
            "--identity",
            metavar="AGE_KEY_FILE",
            help="The age identity (AGE-SECRET-KEY-1…) that opens a .zip.age package.",
        ),
    ] = None,
    *,
    place: Place,
) -> None:
    """Check a package offline: the manifest's signature and every file's size and SHA-256
    (exit 0 and a summary, or 1 and why)."""
    key_text = None
    if identity is not None:
        try:
            key_text = identity.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {identity}: {getattr(exc, 'strerror', None) or exc}", code=2)
    keys = _read_jwks(jwks, place)
    try:
        summary = verify_export(file, keys, key_text)
    except ExportError as exc:
        fail(f"{file}: not a valid export package: {exc}")
    lines = [
        f"valid export package, signed by {summary.issuer}",
        f"export:     {summary.export_id}",
        f"reference:  {summary.reference or '—'}",
        f"generated:  {iso(summary.generated_at)}",
        f"calls:      {summary.calls_included} included, {summary.calls_erased} erased",
        f"files:      {summary.files} checked ({summary.bytes} bytes), each size and SHA-256 "
        "as the signed manifest says",
    ]
    if summary.encrypted:
        lines.append("encrypted:  age (opened with the identity given)")
    typer.echo("\n".join(lines))
