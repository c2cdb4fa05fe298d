"""``callvault suppress``: callers who objected, on a running instance (contract §22)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from callvault.cli.client import Output, Words, call_sdk, client_command
from callvault.cli.connection import Connection
from callvault.cli.errors import fail
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import Suppression

suppress_app = typer.Typer(
    help="Suppressions: callers who objected are not recorded again.", no_args_is_help=True
)

COLUMNS = (
    "suppressionId",
    "state",
    "identifiers",
    "reference",
    "createdBy",
    "createdAt",
    "expiresAt",
    "liftedAt",
)


def _row(s: Suppression) -> dict[str, Any]:
    return {
        "suppressionId": s.suppression_id,
        "state": s.state,
        "identifiers": s.identifiers,
        "reason": s.reason,
        "reference": s.reference,
        "createdBy": s.created_by,
        "createdAt": s.created_at,
        "expiresAt": s.expires_at,
        "liftedBy": s.lifted_by,
        "liftedAt": s.lifted_at,
        "liftReason": s.lift_reason,
        "requestId": s.request_id,
    }


def _show(found: list[Suppression], output: OutputFormat) -> None:
    emit([_row(s) for s in found], COLUMNS, output)


@suppress_app.command("add")
@client_command
def add(
    reason: Annotated[str, typer.Option("--reason", help="Why (1-2000 characters).")],
    phone: Annotated[
        list[str] | None, typer.Option("--phone", help="A phone number; repeatable.")
    ] = None,
    email: Annotated[
        list[str] | None, typer.Option("--email", help="An e-mail address; repeatable.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="The privacy program's ticket.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="When it ends (ISO 8601, in the future); default never."),
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Suppress a caller: calls captured from now on store nothing (only a tombstone)."""
    if not phone and not email:
        fail("give at least one --phone or --email to suppress", code=2)
    words: Words = {
        "reason": ("--reason", [reason]),
        "phoneNumbers": ("--phone", phone or []),
        "emails": ("--email", email or []),
        "reference": ("--reference", [reference or ""]),
        "expiresAt": ("--expires", [expires or ""]),
    }
    with conn.client() as client:
        made = call_sdk(
            lambda: client.suppress(
                reason,
                phone_numbers=phone or (),
                emails=email or (),
                reference=reference,
                expires_at=expires,
            ),
            words,
        )
    stderr.print(
        f"suppression {made.suppression_id} made; it names {count(made.identifiers, 'identifier')}"
    )
    _show([made], output)


@suppress_app.command("list")
@client_command
def list_suppressions(
    state: Annotated[str, typer.Option("--state", help="Active, Lifted, Expired or all.")] = "all",
    reference: Annotated[
        str | None, typer.Option("--reference", help="Only this reference's.")
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Suppressions, newest first."""
    with conn.client() as client:
        found = call_sdk(
            lambda: client.list_suppressions(state, reference), {"state": ("--state", [state])}
        )
    stderr.print(count(len(found), "suppression"))
    _show(found, output)


@suppress_app.command("lookup")
@client_command
def lookup(
    phone: Annotated[str | None, typer.Argument(help="A phone number, any format.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="An e-mail address.")] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Whether a caller is suppressed now, and by which suppressions (exit 0 either way)."""
    if (phone is None) == (email is None):
        fail("give a PHONE or an --email to look up (one of them)", code=2)
    words: Words = {"phoneNumber": ("PHONE", [phone or ""]), "email": ("--email", [email or ""])}
    with conn.client() as client:
        ids = call_sdk(lambda: client.lookup_suppression(phone=phone, email=email), words)
    stderr.print("suppressed" if ids else "not suppressed")
    emit(
        [{"suppressed": bool(ids), "suppressionIds": " ".join(ids)}],
        ("suppressed", "suppressionIds"),
        output,
    )


@suppress_app.command("lift")
@client_command
def lift(
    suppression_id: Annotated[str, typer.Argument(help="A suppression ID.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the suppression ends.")],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Lift a suppression: calls captured from now on are stored again."""
    with conn.client() as client:
        lifted = call_sdk(
            lambda: client.lift_suppression(suppression_id, reason),
            {"reason": ("--reason", [reason])},
        )
    stderr.print(f"suppression {lifted.suppression_id} lifted")
    _show([lifted], output)
