"""``callvault holds``: legal holds on a running instance (contract §12)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from callvault.cli.client import Output, Words, call_sdk, client_command
from callvault.cli.connection import Connection
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import Hold

holds_app = typer.Typer(
    help="Legal holds: the calls they cover cannot be erased.", no_args_is_help=True
)

COLUMNS = (
    "holdId",
    "state",
    "matter",
    "coveredCalls",
    "pendingErasures",
    "createdBy",
    "createdAt",
    "releasedAt",
)
# A list's holds carry no coverage: the server counts it only for the hold asked about (§12).
COUNTED = ("coveredCalls", "pendingErasures", "pendingRequestIds")
LIST_COLUMNS = tuple(c for c in COLUMNS if c not in COUNTED)


def _row(hold: Hold, covered: bool = True) -> dict[str, Any]:
    row = {
        "holdId": hold.hold_id,
        "reference": hold.reference,
        "state": hold.state,
        "matter": hold.matter,
        "reason": hold.reason,
        "coveredCalls": hold.covered_calls,
        "pendingErasures": hold.pending_calls,
        "pendingRequestIds": list(hold.pending_request_ids),
        "createdBy": hold.created_by,
        "createdAt": hold.created_at,
        "releasedBy": hold.released_by,
        "releasedAt": hold.released_at,
        "releaseReason": hold.release_reason,
        "callIds": list(hold.call_ids),
        "sessionIds": list(hold.session_ids),
        "phoneNumbers": list(hold.phone_numbers),
        "startedAfter": hold.started_after,
        "startedBefore": hold.started_before,
    }
    if not covered:
        for key in COUNTED:
            del row[key]
    return row


def _show(holds: list[Hold], output: OutputFormat, covered: bool = True) -> None:
    # JSON carries the whole hold; a table or CSV the columns a reader scans.
    emit([_row(h, covered) for h in holds], COLUMNS if covered else LIST_COLUMNS, output)


@holds_app.command("place")
@client_command
def place(
    matter: Annotated[str, typer.Option("--matter", help="The legal matter (1-200 characters).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the calls are kept.")],
    call: Annotated[list[str] | None, typer.Option("--call", help="A call ID; repeatable.")] = None,
    session: Annotated[
        list[str] | None, typer.Option("--session", help="A session ID; repeatable.")
    ] = None,
    phone: Annotated[
        list[str] | None, typer.Option("--phone", help="A customer phone number; repeatable.")
    ] = None,
    started_after: Annotated[
        str | None, typer.Option("--started-after", help="Calls started at or after (ISO 8601).")
    ] = None,
    started_before: Annotated[
        str | None, typer.Option("--started-before", help="Calls started before (ISO 8601).")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="The privacy program's ticket it answers."),
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Place a legal hold: the calls it covers (now and captured later) are not erased."""
    words: Words = {
        "matter": ("--matter", [matter]),
        "reason": ("--reason", [reason]),
        "callIds": ("--call", call or []),
        "sessionIds": ("--session", session or []),
        "phoneNumbers": ("--phone", phone or []),
        "startedAfter": ("--started-after", [started_after or ""]),
        "startedBefore": ("--started-before", [started_before or ""]),
        "reference": ("--reference", [reference or ""]),
    }
    with conn.client() as client:
        hold = call_sdk(
            lambda: client.place_hold(
                matter,
                reason,
                call_ids=call or (),
                session_ids=session or (),
                phone_numbers=phone or (),
                started_after=started_after,
                started_before=started_before,
                reference=reference,
            ),
            words,
        )
    stderr.print(f"hold {hold.hold_id} placed; it covers {count(hold.covered_calls, 'call')}")
    _show([hold], output)


@holds_app.command("list")
@client_command
def list_holds(
    state: Annotated[str, typer.Option("--state", help="Active, Released or all.")] = "Active",
    reference: Annotated[
        str | None, typer.Option("--reference", help="Only holds placed for this reference.")
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Holds, newest first."""
    words: Words = {"state": ("--state", [state]), "reference": ("--reference", [reference or ""])}
    with conn.client() as client:
        holds = call_sdk(lambda: client.list_holds(state, reference), words)
    stderr.print(count(len(holds), "hold"))
    _show(holds, output, covered=False)


@holds_app.command("show")
@client_command
def show(
    hold_id: Annotated[str, typer.Argument(help="A hold ID.")],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """One hold, with the live calls it covers now."""
    with conn.client() as client:
        hold = call_sdk(lambda: client.get_hold(hold_id))
    stderr.print(f"hold {hold.hold_id}: {hold.state}, {hold.matter!r}, reason {hold.reason!r}")
    _show([hold], output)


@holds_app.command("release")
@client_command
def release(
    hold_id: Annotated[str, typer.Argument(help="A hold ID.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the hold ends.")],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Release a hold; the erasures it alone stopped resume without a new request."""
    with conn.client() as client:
        hold = call_sdk(
            lambda: client.release_hold(hold_id, reason), {"reason": ("--reason", [reason])}
        )
    stderr.print(
        f"hold {hold.hold_id} released; it alone kept the erasure of "
        f"{count(hold.pending_calls, 'call')} ({count(len(hold.pending_request_ids), 'request')}),"
        " resumed unless its requester was disabled or lost purge"
    )
    _show([hold], output)
