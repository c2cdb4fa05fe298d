"""``callvault webhooks``: the privacy program's endpoints told of events (contract §23)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from callvault.cli.client import Output, Words, call_sdk, client_command
from callvault.cli.connection import Connection
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import Webhook, WebhookAttempt

webhooks_app = typer.Typer(
    help="Webhooks: events POSTed to a privacy program, signed (Standard Webhooks).",
    no_args_is_help=True,
)

COLUMNS = ("webhookId", "url", "events", "createdBy", "createdAt")
ATTEMPT_COLUMNS = (
    "deliveryId",
    "type",
    "attempt",
    "at",
    "httpStatus",
    "error",
    "nextTryAt",
    "state",
)


def _row(w: Webhook) -> dict[str, Any]:
    row = {
        "webhookId": w.webhook_id,
        "url": w.url,
        "events": " ".join(w.events),
        "createdBy": w.created_by,
        "createdAt": w.created_at,
    }
    if w.secret is not None:
        row["secret"] = w.secret
    return row


def _attempt(a: WebhookAttempt) -> dict[str, Any]:
    return {
        "deliveryId": a.delivery_id,
        "type": a.type,
        "attempt": a.attempt,
        "at": a.at,
        "httpStatus": a.http_status,
        "error": a.error,
        "nextTryAt": a.next_try_at,
        "state": a.state,
    }


@webhooks_app.command("add")
@client_command
def add(
    webhook_url: Annotated[
        str,
        typer.Argument(
            metavar="URL", help="Where to POST: https:// (plain http:// only to loopback)."
        ),
    ],
    event: Annotated[
        list[str],
        typer.Option("--event", help="An event type to deliver, e.g. purge.completed; repeatable."),
    ],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Register a webhook (permission admin). Its secret is printed once: give it to the
    receiver, which verifies every delivery with it."""
    words: Words = {"url": ("URL", [webhook_url]), "events": ("--event", event)}
    with conn.client() as client:
        made = call_sdk(lambda: client.add_webhook(webhook_url, event), words)
    stderr.print(
        f"webhook {made.webhook_id} registered; its secret is shown this once: keep it for the "
        "receiver"
    )
    emit([_row(made)], (*COLUMNS, "secret"), output)


@webhooks_app.command("list")
@client_command
def list_webhooks(output: Output = OutputFormat.table, *, conn: Connection) -> None:
    """Webhooks, newest first (their secrets are never shown again)."""
    with conn.client() as client:
        found = call_sdk(client.list_webhooks)
    stderr.print(count(len(found), "webhook"))
    emit([_row(w) for w in found], COLUMNS, output)


@webhooks_app.command("remove")
@client_command
def remove(
    webhook_id: Annotated[str, typer.Argument(help="A webhook ID.")],
    *,
    conn: Connection,
) -> None:
    """Remove a webhook: nothing more is sent to it; its pending deliveries are dropped."""
    with conn.client() as client:
        call_sdk(lambda: client.remove_webhook(webhook_id))
    stderr.print(f"webhook {webhook_id} removed")


@webhooks_app.command("deliveries")
@client_command
def deliveries(
    webhook_id: Annotated[str, typer.Argument(help="A webhook ID.")],
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the newest N attempts.")
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """A webhook's delivery log, newest attempt first: status or error, and the next try."""
    with conn.client() as client:
        found = call_sdk(lambda: client.webhook_deliveries(webhook_id, limit))
    stderr.print(count(len(found), "attempt"))
    emit([_attempt(a) for a in found], ATTEMPT_COLUMNS, output)
