"""``callvault audit``: the audit trail of a running instance (``events``, through the API), and
on the server's own store (``export``, ``verify``: the chain checked), and offline
(``verify-evidence``: an evidence package checked with only what it holds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from callvault.cli.client import Output, Words, call_sdk, client_command
from callvault.cli.connection import Connection
from callvault.cli.errors import fail
from callvault.cli.options import Store, server_command
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import AuditRecord

audit_app = typer.Typer(help="The append-only audit trail.", no_args_is_help=True)

EVENT_COLUMNS = ("seq", "at", "actor", "action", "requestId", "callId", "sessionId", "details")


def _event_row(event: AuditRecord, output: OutputFormat) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "actor": event.actor,
        "action": event.action,
        "requestId": event.request_id,
        "callId": event.call_id,
        "sessionId": event.session_id,
        # JSON keeps the object; a table or CSV cell shows it as compact JSON, never a repr.
        "details": event.details
        if output is OutputFormat.json
        else json.dumps(event.details, separators=(", ", ": "), sort_keys=True),
        **(
            {"prevHash": event.prev_hash, "hash": event.hash} if output is OutputFormat.json else {}
        ),
    }


@audit_app.command("events")
@client_command
def events(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only events at or after this ISO 8601 time."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only events before this ISO 8601 time.")
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action", help="Only this action (exact, e.g. purge.requested); repeatable."
        ),
    ] = None,
    after: Annotated[int, typer.Option("--after", min=0, help="Only events after this seq.")] = 0,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many (default: all).")
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Audit events of the instance, oldest first (permission audit)."""
    actions = action or []
    words: Words = {
        "since": ("--since", [since or ""]),
        "until": ("--until", [until or ""]),
        "action": ("--action", actions),
    }
    with conn.client() as client:
        found = call_sdk(
            lambda: client.audit_events(
                after=after, since=since, until=until, actions=actions, limit=limit
            ),
            words,
        )
    stderr.print(count(len(found), "event"))
    rows = [_event_row(e, output) for e in found]
    columns = EVENT_COLUMNS + (("prevHash", "hash") if output is OutputFormat.json else ())
    emit(rows, columns, output)


@audit_app.command("export")
@server_command
def export(
    output_format: Annotated[
        str, typer.Option("--format", help="Output format (jsonl: one event per line).")
    ] = "jsonl",
    *,
    store: Store,
) -> None:
    """Print every audit event, oldest first."""
    from callvault.audit.trail import AuditTrail, event_json

    if output_format != "jsonl":
        fail(f"unknown --format {output_format!r}; use jsonl", code=2)
    runtime = store.open()
    try:
        AuditTrail(runtime.keys.audit_chain_key).catch_up(runtime.engine)
        for row in AuditTrail.iter_rows(runtime.engine):
            typer.echo(json.dumps(event_json(row), separators=(",", ":")))
    finally:
        runtime.close()


@audit_app.command("verify")
@server_command
def verify(*, store: Store) -> None:
    """Check the hash chain and its signed checkpoints: exit 0 if intact, 1 naming the first
    edited/missing/moved event or the first checkpoint the chain no longer matches."""
    from callvault.audit.trail import AuditTrail
    from callvault.certificates.service import CertificateService

    runtime = store.open()
    signed = 0
    try:
        checked, problem = AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)
        if problem is None:
            signed, problem = CertificateService(runtime).checkpoints.verify()
    finally:
        runtime.close()
    if problem is not None:
        fail(f"audit trail broken after {count(checked, 'good event')}: {problem}")
    typer.echo(
        f"audit trail intact: {count(checked, 'event')}, {count(signed, 'signed checkpoint')}"
    )


@audit_app.command("verify-evidence")
def verify_evidence_command(
    path: Annotated[
        Path, typer.Argument(help="An evidence ZIP, or the folder it was unpacked into.")
    ],
) -> None:
    """Check an evidence package offline, with only what it holds: the certificate and the
    signed checkpoint against its jwks.json, the chain recomputed up to the checkpoint, and
    every event of the request in it. Exit 0 and a summary, or 1 and what fails."""
    from callvault.client import CertificateError, verify_evidence

    try:
        summary = verify_evidence(path)
    except CertificateError as exc:
        fail(f"{path}: evidence does not verify: {exc}")
    typer.echo(
        f"evidence verified: certificate of {summary.kind} {summary.subject}; "
        f"{count(summary.events_proven, 'audit event')} of it in the chain up to the signed "
        f"checkpoint at event {summary.checkpoint_seq}"
    )
