"""``callvault audit export|verify``: the audit trail out of the store, and its chain checked."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from callvault.cli.errors import fail
from callvault.cli.options import Store, server_command
from callvault.cli.output import count

audit_app = typer.Typer(help="The append-only audit trail.", no_args_is_help=True)


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
        for row in AuditTrail.iter_rows(runtime.engine):
            typer.echo(json.dumps(event_json(row), separators=(",", ":")))
    finally:
        runtime.close()


@audit_app.command("verify")
@server_command
def verify(*, store: Store) -> None:
    """Check the hash chain: exit 0 if intact, 1 naming the first edited/missing/moved event."""
    from callvault.audit.trail import AuditTrail

    runtime = store.open()
    try:
        checked, problem = AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)
    finally:
        runtime.close()
    if problem is not None:
        fail(f"audit trail broken after {count(checked, 'good event')}: {problem}")
    typer.echo(f"audit trail intact: {count(checked, 'event')}")
