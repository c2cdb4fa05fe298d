"""``callvault retention``: retention policies on a running instance (contract §15)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.bar import Bar
from rich.console import Console
from rich.table import Column, Table

from callvault.cli.client import Output, Words, call_sdk, client_command
from callvault.cli.connection import Connection
from callvault.cli.errors import fail
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import ConfirmationRequiredError, RetentionForecast, RetentionPolicy

retention_app = typer.Typer(
    help="Retention policies: calls are erased once older than their policy allows.",
    no_args_is_help=True,
)

COLUMNS = ("name", "maxAgeDays", "direction", "expiredNow", "updatedBy", "updatedAt")
BAR_WIDTH = 40


class Direction(StrEnum):
    Inbound = "Inbound"
    Outbound = "Outbound"
    Internal = "Internal"
    Unknown = "Unknown"


def _row(policy: RetentionPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "maxAgeDays": policy.max_age_days,
        "direction": policy.direction,
        "expiredNow": policy.expired_now,
        "updatedBy": policy.updated_by,
        "updatedAt": policy.updated_at,
    }


@retention_app.command("set")
@client_command
def set_policy(
    name: Annotated[str, typer.Argument(help="The policy's name: letters, digits, _ or -.")],
    max_age_days: Annotated[
        int,
        typer.Option("--max-age-days", min=1, max=36500, help="Erase calls older than this."),
    ],
    direction: Annotated[
        Direction | None,
        typer.Option(
            "--direction", case_sensitive=False, help="Only calls of this direction (default all)."
        ),
    ] = None,
    what_if: Annotated[
        bool, typer.Option("--what-if", help="Show what it would expire now; save nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Save without asking, whatever it expires.")
    ] = False,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Create or change a policy. It applies to calls already stored, at the next sweep: the
    change is previewed first, and one that expires calls is saved only once confirmed."""
    words: Words = {
        "name": ("NAME", [name]),
        "maxAgeDays": ("--max-age-days", [str(max_age_days)]),
        "direction": ("--direction", [direction.value if direction else ""]),
    }
    chosen = direction.value if direction is not None else None
    with conn.client() as client:
        preview = call_sdk(
            lambda: client.set_retention_policy(name, max_age_days, chosen, what_if=True), words
        )
        held = (
            f"; {count(preview.held_now, 'call')} past it held by legal holds (erased on release)"
            if preview.held_now
            else ""
        )
        if what_if:
            stderr.print(
                f"policy {preview.name} would expire {count(preview.expired_now, 'call')} now"
                f"{held}; nothing saved"
            )
            emit([_row(preview)], COLUMNS, output)
            return
        erasing = preview.expired_now + preview.held_now
        if erasing and not yes:
            # A policy change erases as surely as a purge (contract §15): say what, then ask.
            stderr.print(
                f"policy {preview.name} expires {count(erasing, 'call')} already stored: "
                f"{count(preview.expired_now, 'call')} erased at the next sweep, irreversibly"
                f"{held}."
            )
            if not sys.stdin.isatty():
                fail("no terminal to confirm on: nothing saved (pass --yes to skip the question)")
            if not typer.confirm("Save it?", default=False, err=True):
                fail("not confirmed: nothing saved")

        # Saved with the token of the preview just shown: the server saves the change only if
        # it expires exactly the calls previewed (never more than the user saw).
        def confirmed() -> RetentionPolicy:
            try:
                return client.set_retention_policy(
                    name, max_age_days, chosen, confirm=preview.confirm_token
                )
            except ConfirmationRequiredError as exc:
                fail(
                    "the calls this policy expires changed since the preview "
                    f"({count(exc.matched, 'call')} now): nothing saved; run the command again "
                    "to see them"
                )

        policy = call_sdk(confirmed, words)
    stderr.print(
        f"policy {policy.name} saved; it applies to calls already stored: "
        f"{count(policy.expired_now, 'call')} past it now will be erased at the next sweep"
    )
    emit([_row(policy)], COLUMNS, output)


@retention_app.command("list")
@client_command
def list_policies(output: Output = OutputFormat.table, *, conn: Connection) -> None:
    """Policies, by name."""
    with conn.client() as client:
        policies = call_sdk(client.list_retention_policies)
    stderr.print(count(len(policies), "policy", "policies"))
    emit([_row(p) for p in policies], COLUMNS, output)


@retention_app.command("delete")
@client_command
def delete_policy(
    name: Annotated[str, typer.Argument(help="The policy's name.")], *, conn: Connection
) -> None:
    """Delete a policy (calls it no longer expires are kept)."""
    with conn.client() as client:
        call_sdk(lambda: client.delete_retention_policy(name))
    stderr.print(f"policy {name} deleted")


def _chart(forecast: RetentionForecast) -> None:
    """One line a day: the date, a bar scaled to the busiest day, the count."""
    most = max((d.calls for d in forecast.days), default=0) or 1
    width = len(str(most))
    table = Table(
        Column("date", no_wrap=True),
        Column("erased", width=BAR_WIDTH, no_wrap=True),
        Column("calls", justify="right", no_wrap=True, min_width=width),
        box=None,
        show_header=False,
        pad_edge=False,
    )
    for day in forecast.days:
        table.add_row(
            day.date, Bar(size=most, begin=0, end=day.calls, width=BAR_WIDTH), str(day.calls)
        )
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(soft_wrap=True, width=max(80, console.width), color_system=None)
    console.print(table)


@retention_app.command("forecast")
@client_command
def forecast(
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="Days from today (UTC).")
    ] = 30,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Calls retention erases on each coming day (a bar chart), overdue ones, held ones."""
    with conn.client() as client:
        result = call_sdk(lambda: client.retention_forecast(days))
    total = sum(d.calls for d in result.days)
    stderr.print(
        f"next {count(days, 'day')}: {count(total, 'call')}; overdue: {result.overdue} "
        f"(queued at the next sweep); held: {result.held} (kept by legal holds)"
    )
    if output is OutputFormat.json:
        doc = {
            "days": [{"date": d.date, "calls": d.calls} for d in result.days],
            "overdue": result.overdue,
            "held": result.held,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif output is OutputFormat.csv:
        emit([{"date": d.date, "calls": d.calls} for d in result.days], ("date", "calls"), output)
    else:
        _chart(result)
