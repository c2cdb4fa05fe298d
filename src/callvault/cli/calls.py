"""``callvault calls unindexed|reindex``: the calls whose Customer number is not in the blind index
(no customer purge or hold finds them by it), and their re-indexing once the region is right
(contract §19). Server side: they read the store directly. Never a phone number on the screen."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from callvault.cli.errors import fail
from callvault.cli.options import DefaultRegion, Store, server_command
from callvault.cli.output import count

calls_app = typer.Typer(
    help="Calls whose customer phone number could not be indexed.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@calls_app.command("unindexed")
@server_command
def unindexed(as_json: AsJson = False, *, store: Store) -> None:
    """List the calls with a Customer number that could not be indexed: call ID, session ID and
    start time, oldest first (never the number)."""
    from callvault.store.calls import unindexed_calls

    runtime = store.open()
    try:
        found = unindexed_calls(runtime.engine)
    finally:
        runtime.close()
    rows = [
        {
            "callId": call.call_id,
            "sessionId": call.session_id,
            "startTime": call.start_time.isoformat().replace("+00:00", "Z"),
        }
        for call in found
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['callId']}\t{row['sessionId']}\t{row['startTime']}")
    typer.echo(f"{count(len(rows), 'call')} with a customer number not indexed", err=True)


@calls_app.command("reindex")
@server_command
def reindex(
    default_region: DefaultRegion = None,
    as_json: AsJson = False,
    *,
    store: Store,
) -> None:
    """Read every call's Customer numbers again, each in the region of the API user who captured
    it (else the default region), index those that now can be, and mark each call as it is.
    A number already indexed stays as it is. Safe to run again: it changes nothing then."""
    from callvault.capture.customers import Reindexer
    from callvault.phone import check_region

    try:
        region = None if default_region is None else check_region(default_region)
    except ValueError as exc:
        fail(f"--default-region: {exc}", code=2)
    runtime = store.open(default_region=region)
    try:
        outcome = Reindexer(runtime).run()
    finally:
        runtime.close()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "read": outcome.read,
                    "newlyIndexed": outcome.newly_indexed,
                    "stillUnindexed": outcome.still_unindexed,
                    "skipped": outcome.skipped,
                }
            )
        )
        return
    skipped = (
        f", {outcome.skipped} skipped (erased meanwhile or unreadable)" if outcome.skipped else ""
    )
    typer.echo(
        f"read {count(outcome.read, 'call')}: {outcome.newly_indexed} newly indexed, "
        f"{outcome.still_unindexed} still unindexed{skipped}"
    )
