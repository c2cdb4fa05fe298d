"""Client commands: purge, status, requests, capture — against callvault or a Tethr instance.

Exit codes: 0 when nothing ended in ``Error``; 1 when something did, or the server refused or
could not be reached; 2 for usage errors. Errors are one line on stderr.
"""

from __future__ import annotations

import json
import mimetypes
import re
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from callvault.cli.connection import Connection, connection_options
from callvault.cli.depends import uses
from callvault.cli.errors import fail
from callvault.cli.idfile import read_ids
from callvault.cli.output import OutputFormat, ProgressReporter, count, emit, stderr, summary
from callvault.client import (
    APIError,
    BadRequestError,
    CallvaultError,
    Client,
    ConfirmationRequiredError,
    Progress,
    PurgeRequest,
    PurgeResult,
    TimeoutWaiting,
)

client_command = uses(connection_options)  # every client command's --url, --token, … options

purge_app = typer.Typer(help="Erase calls (by call ID, session ID or customer phone).")
requests_app = typer.Typer(help="Purge requests and their progress.", no_args_is_help=True)

PURGE_COLUMNS = ("id", "callId", "sessionId", "status", "errorMsg")
T = TypeVar("T")

FromFile = Annotated[
    str | None,
    typer.Option(
        "--from-file", "-f", help="Read IDs from a file (one per line, or CSV); - = stdin."
    ),
]
Column = Annotated[str | None, typer.Option("--column", help="CSV column holding the IDs.")]
WhatIf = Annotated[
    bool, typer.Option("--what-if", help="Only report what would be purged; change nothing.")
]
Wait = Annotated[bool, typer.Option("--wait", help="Return when every item is final.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds --wait waits at most.")]
Output = Annotated[OutputFormat, typer.Option("--output", "-o", help="Result format on stdout.")]
Reference = Annotated[
    str | None,
    typer.Option(
        "--reference",
        help="The privacy program's ticket this answers (e.g. DSR-2026-0142): kept on the "
        "request and printed in its certificate.",
    ),
]


# What the user typed, by the API field it became: (the CLI's name for it, the values typed, in
# the order sent). A 400 about ``phoneNumbers[1]`` is then said as ``--phone '12'``.
Words = dict[str, tuple[str, Sequence[str]]]
_INDEX = r"(?:\[(\d+)\]|\.(\d+))?"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def in_our_words(detail: str, words: Words, offset: int = 0) -> str:
    """``detail`` of a server's 400 with each API field it names said as the user typed it: the
    flag or argument (``PHONE``, ``--email``), and which value when the field is a list. A field
    in camelCase is replaced wherever it stands; a plain word (``ids``, ``matter``) only where it
    opens the detail, as the name of what was wrong (elsewhere it may be just a word).
    ``offset``: how many values were sent before the request that failed."""
    for field in sorted(words, key=len, reverse=True):
        label, values = words[field]
        pattern = re.compile(
            rf"(?<![\w.\-])(?:body\.|query\.|path\.)?{re.escape(field)}{_INDEX}(?![\w\-])"
        )

        def said(match: re.Match[str], label: str = label, values: Sequence[str] = values) -> str:
            index = match.group(1) or match.group(2)
            at = offset + int(index) if index is not None else None
            if at is not None and at < len(values) and len(values) > 1:
                return f"{label} {_shown(values[at])}"
            return label

        def replace(match: re.Match[str], field: str = field) -> str:
            if field.islower() and match.start() != 0:
                return match.group(0)
            return said(match)

        detail = pattern.sub(replace, detail)
    return detail


def call_sdk(action: Callable[[], T], words: Words | None = None) -> T:
    """Run an SDK call; any failure becomes one line on stderr and exit 1. ``words``: the API
    fields this call sends from what the user typed, to say a 400 about them in the CLI's
    words."""
    try:
        return action()
    except TimeoutWaiting as exc:
        fail(f"{exc}; check later with `callvault requests show {exc.pending[0]}`")
    except APIError as exc:
        done = exc.partial.items if exc.partial is not None else []
        detail = exc.detail or str(exc)
        if words and isinstance(exc, BadRequestError) and exc.detail:
            detail = in_our_words(exc.detail, words, len(done))
        if done:
            ids = ", ".join(exc.partial.request_ids)
            fail(
                f"{detail}; {count(len(done), 'ID')} before it were accepted "
                f"(requests {ids}); the rest were not sent"
            )
        fail(detail)
    except CallvaultError as exc:
        fail(str(exc))
    except OSError as exc:  # a local file the SDK was asked to send could not be read
        fail(f"cannot read {exc.filename or 'a local file'}: {exc.strerror or exc}", code=2)


def _resources(client: Client, result: PurgeResult) -> list[PurgeRequest] | None:
    """The request resources of ``result``'s requests that answered an item ``Error``. A purge
    answers a call a legal hold keeps as ``Error`` (Tethr's statuses; its errorMsg names the
    hold); its request resource says ``Held``, which is final and no failure: the hold's release
    erases it. So exit codes and statuses are read there. None when there is nothing to read,
    or it cannot be read (a Tethr instance has no request resource): the answer stands."""
    wanted = dict.fromkeys(i.request_id for i in result.items if i.status == "Error")
    wanted.pop(None, None)
    if not wanted:
        return None
    try:
        return [client.get_purge_request(r) for r in wanted if r is not None]
    except CallvaultError:
        return None


def _say_requests(result: PurgeResult, what_if: bool) -> None:
    """Every purge names its request(s) on stderr, to act on later (``requests show``,
    ``certificate get``); with --output json each row carries it too."""
    made = result.request_ids
    if not made:
        return
    kind = "preview request" if what_if else "request"
    if len(made) == 1:
        stderr.print(f"{kind} {made[0]}")
    else:
        stderr.print(f"{len(made)} {kind}s: {', '.join(made)}")


def _rows(result: PurgeResult, finals: list[PurgeRequest] | None) -> list[dict[str, Any]]:
    final: dict[tuple[str, str | None], tuple[str, str | None]] = {}
    for request in finals or []:
        for done in request.items:
            if done.call_id:
                final[(request.request_id, done.call_id)] = (done.status, done.error_msg)
    rows = []
    for item in result.items:
        status, error = item.status, item.error_msg
        key = (item.request_id or "", item.call_id)
        if item.call_id and key in final:
            status, error = final[key]
        rows.append(
            {
                "id": item.id if item.id is not None else item.call_id,
                "callId": item.call_id,
                "sessionId": item.session_id,
                "status": status,
                "errorMsg": error,
                "requestId": item.request_id,
            }
        )
    return rows


def _wait(
    client: Client, result: PurgeResult, timeout: float, progress: Callable[[Progress], None]
) -> list[PurgeRequest] | None:
    """The purge requests of ``result`` once final (None when it made none)."""
    if not result.request_ids:
        return None
    return call_sdk(
        lambda: client.wait_for_purge(
            result.request_ids, timeout=timeout, poll_interval=0.5, progress=progress
        )
    )


def _finish(rows: list[dict[str, Any]], output: OutputFormat) -> None:
    emit(rows, PURGE_COLUMNS, output)
    summary(rows)
    if any(r["status"] == "Error" for r in rows):
        raise typer.Exit(1)


def _purge_ids(
    kind: str,
    ids: list[str] | None,
    from_file: str | None,
    column: str | None,
    what_if: bool,
    wait: bool,
    timeout: float,
    output: OutputFormat,
    conn: Connection,
    reference: str | None = None,
) -> None:
    asked = read_ids(ids or [], from_file, column)
    words: Words = {"ids": ("ID", asked), "reference": ("--reference", [reference or ""])}
    with conn.client() as client, ProgressReporter() as progress:
        method = client.purge_calls if kind == "calls" else client.purge_sessions
        result = call_sdk(
            lambda: method(asked, what_if=what_if, progress=progress, reference=reference), words
        )
        _say_requests(result, what_if)
        if wait and not what_if:
            finals = _wait(client, result, timeout, progress)
        else:
            finals = _resources(client, result)
    _finish(_rows(result, finals), output)


def _ids_command(kind: str, what: str) -> Callable[..., None]:
    """`purge calls` and `purge sessions`: one command body, two kinds of ID."""

    def command(
        ids: Annotated[list[str] | None, typer.Argument(help="IDs to purge.")] = None,
        from_file: FromFile = None,
        column: Column = None,
        what_if: WhatIf = False,
        wait: Wait = False,
        timeout: Timeout = 3600.0,
        output: Output = OutputFormat.table,
        reference: Reference = None,
        *,
        conn: Connection,
    ) -> None:
        _purge_ids(kind, ids, from_file, column, what_if, wait, timeout, output, conn, reference)

    command.__doc__ = f"Purge calls by {what} (any number; sent 100 per request)."
    return client_command(command)


purge_app.command("calls")(_ids_command("calls", "call ID"))
purge_app.command("sessions")(_ids_command("sessions", "session ID"))


@purge_app.command("customer")
@client_command
def purge_customer(
    phone: Annotated[
        str | None, typer.Argument(help="The customer's phone number, any format.")
    ] = None,
    email: Annotated[
        list[str] | None,
        typer.Option(
            "--email",
            help="An e-mail address of the customer (repeatable); purged with PHONE in one "
            "request (Tethr v2's customer purge).",
        ),
    ] = None,
    what_if: WhatIf = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Purge without asking.")] = False,
    suppress: Annotated[
        bool,
        typer.Option(
            "--suppress",
            help="Also suppress the customer: calls captured from now on store nothing "
            "(needs the suppress permission).",
        ),
    ] = False,
    wait: Wait = False,
    timeout: Timeout = 3600.0,
    output: Output = OutputFormat.table,
    reference: Reference = None,
    *,
    conn: Connection,
) -> None:
    """Purge every call of a customer (phone number and/or --email addresses), after showing
    how many and confirming; with --suppress, the customer is not recorded again."""
    emails = email or []
    if not phone and not emails:
        fail("give the customer's PHONE, one or more --email addresses, or both", code=2)
    # v1 names the number phoneNumber; v2 phoneNumbers (the one PHONE) and emails.
    words: Words = {
        "phoneNumber": ("PHONE", [phone or ""]),
        "phoneNumbers": ("PHONE", [phone or ""]),
        "emails": ("--email", emails),
        "reference": ("--reference", [reference or ""]),
    }
    with conn.client() as client:
        preview = call_sdk(
            lambda: client.purge_customer(phone, what_if=True, emails=emails, reference=reference),
            words,
        )
        shown = _rows(preview, _resources(client, preview))
        erasable = sum(1 for r in shown if r["status"] == "WhatIf")
        held = sum(1 for r in shown if r["status"] == "Held")
        later = f"{count(held, 'call')} held by a legal hold will be erased when it is released"
        if what_if:
            _say_requests(preview, what_if=True)
            emit(shown, ("callId", "sessionId", "status", "errorMsg"), output)
            stderr.print(
                f"{count(erasable, 'call')} would be erased"
                + (
                    f"; {count(held, 'call')} held by a legal hold (erased on its release)"
                    if held
                    else ""
                )
            )
            return
        if erasable == 0 and held == 0 and not suppress:
            stderr.print("no live calls for this customer; nothing to purge")
            emit([], PURGE_COLUMNS, output)
            return
        if erasable == 0 and held == 0:
            stderr.print("no live calls for this customer; it will be suppressed.")
        # Held calls are asked for too: the request records them (Held) and the hold's
        # release erases them, with nobody left to remember to ask again.
        if held == 0:
            stderr.print(
                f"{count(erasable, 'call')} of this customer will be erased, irreversibly."
            )
        elif erasable == 0:
            stderr.print(f"{later}, irreversibly; none before.")
        else:
            stderr.print(
                f"{count(erasable, 'call')} of this customer will be erased, irreversibly; {later}."
            )
        if not yes and erasable + held > 0:
            if not sys.stdin.isatty():
                fail("no terminal to confirm on: nothing purged (pass --yes to skip the question)")
            if not typer.confirm(
                "Erase it?" if erasable + held == 1 else "Erase them?", default=False, err=True
            ):
                fail("not confirmed: nothing purged")

        # Confirmed with the token of the preview just shown: the server erases exactly those
        # calls or nothing (a call captured meanwhile is never erased unseen). A Tethr instance
        # answers no token; then the purge is by the number, as Tethr's own page does it.
        def confirmed() -> PurgeResult:
            try:
                return client.purge_customer(
                    phone,
                    confirm=preview.confirm_token,
                    emails=emails,
                    suppress=suppress,
                    reference=reference,
                )
            except ConfirmationRequiredError as exc:
                fail(
                    "the calls of this number changed since the preview "
                    f"({count(exc.matched, 'call')} now): nothing purged; run the command again "
                    "to see them"
                )

        result = call_sdk(confirmed, words)
        _say_requests(result, what_if=False)
        if suppress:
            for request_id in result.request_ids:
                request = call_sdk(partial(client.get_purge_request, request_id))
                stderr.print(f"suppression {request.suppression_id} made with the purge")
        if wait:
            with ProgressReporter() as progress:
                finals = _wait(client, result, timeout, progress)
        else:
            finals = _resources(client, result)
    _finish(_rows(result, finals), output)


@client_command
def status(
    sessions: Annotated[list[str], typer.Argument(help="Session IDs.")],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Status of calls by session ID."""
    with conn.client() as client:
        found = call_sdk(lambda: client.status(sessions))
    rows = [
        {
            "sessionId": s.session_id,
            "callId": s.call_id,
            "status": s.status,
            "durationSec": s.duration_sec,
        }
        for s in found
    ]
    emit(rows, ("sessionId", "callId", "status", "durationSec"), output)


@requests_app.command("show")
@client_command
def requests_show(
    request_id: Annotated[str, typer.Argument(help="A purge request ID.")],
    wait: Wait = False,
    timeout: Timeout = 3600.0,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """A purge request and its items; --wait returns when it is final."""
    with conn.client() as client:
        if wait:
            request = call_sdk(
                lambda: client.wait_for_purge([request_id], timeout=timeout, poll_interval=0.5)
            )[0]
        else:
            request = call_sdk(lambda: client.get_purge_request(request_id))
    _show_request(request, output)


REQUEST_STATES = ("Purging", "Held", "Complete", "Failed", "Cancelled")
REQUEST_KINDS = ("calls", "sessions", "customer", "retention")
REQUEST_COLUMNS = (
    "requestId",
    "createdAt",
    "kind",
    "state",
    "itemCount",
    "requestedBy",
    "reference",
)


@requests_app.command("list")
@client_command
def requests_list(
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only requests in this state: " + ", ".join(REQUEST_STATES)),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only requests of this kind: " + ", ".join(REQUEST_KINDS)),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Show at most this many (0: every one).")
    ] = 50,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Only requests made for this reference.")
    ] = None,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Purge requests, newest first (previews left out)."""
    words: Words = {
        "state": ("--state", [state or ""]),
        "kind": ("--kind", [kind or ""]),
        "reference": ("--reference", [reference or ""]),
    }
    with conn.client() as client:
        found = call_sdk(
            lambda: client.list_requests(
                state, kind, limit=limit + 1 if limit else None, reference=reference
            ),
            words,
        )
    more = bool(limit) and len(found) > limit
    found = found[:limit] if limit else found
    rows = [
        {
            "requestId": r.request_id,
            "createdAt": r.created_at,
            "kind": r.kind,
            "whatIf": r.what_if,
            "requestedBy": r.requested_by,
            "state": r.state,
            "completedAt": r.completed_at,
            "eraseAfter": r.erase_after,
            "itemCount": r.item_count,
            "reference": r.reference,
        }
        for r in found
    ]
    stderr.print(
        count(len(rows), "request")
        + (f", the newest; more with --limit {limit * 2} or --limit 0" if more else "")
    )
    emit(rows, REQUEST_COLUMNS, output)


@requests_app.command("cancel")
@client_command
def requests_cancel(
    request_id: Annotated[str, typer.Argument(help="A purge request ID.")],
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Within the server's grace window, restore a purge request's calls (Cancelled)."""
    with conn.client() as client:
        request = call_sdk(lambda: client.cancel_purge(request_id))
    _show_request(request, output)


@requests_app.command("evidence")
@client_command
def requests_evidence(
    request_id: Annotated[str, typer.Argument(help="A finished purge request's ID.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--output-file",
            "-o",
            metavar="FILE",
            help="Write the ZIP to FILE (default: evidence-ID.zip in this folder).",
        ),
    ] = None,
    *,
    conn: Connection,
) -> None:
    """Download the evidence of a finished purge request: a ZIP with its certificate, the key
    set, its audit events and certificate.html (the certificate in words, for a person)."""
    with conn.client() as client:
        content = call_sdk(lambda: client.get_evidence(request_id))
    target = Path(to or f"evidence-{request_id}.zip")
    try:
        target.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}", code=2)
    stderr.print(f"evidence of request {request_id} written to {target} ({len(content):,} bytes)")


def _show_request(request: PurgeRequest, output: OutputFormat) -> None:
    rows = [
        {
            "callId": i.call_id,
            "sessionId": i.session_id,
            "status": i.status,
            "errorMsg": i.error_msg,
            "erasedAt": i.erased_at,
        }
        for i in request.items
    ]
    window = f", erasure after {request.erase_after}" if request.erase_after else ""
    stderr.print(
        f"request {request.request_id}: {request.state} ({request.kind}, "
        f"{'whatIf, ' if request.what_if else ''}by {request.requested_by}, "
        f"{request.created_at}{window})"
    )
    emit(rows, ("callId", "sessionId", "status", "errorMsg", "erasedAt"), output)
    if request.state == "Failed":
        raise typer.Exit(1)


@client_command
def capture(
    audio: Annotated[Path, typer.Argument(help="The audio file.")],
    info: Annotated[Path, typer.Option("--info", help="The call's details as a JSON file.")],
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Audio type (default: from extension).")
    ] = None,
    *,
    conn: Connection,
) -> None:
    """Upload one call; prints its call ID."""
    if not audio.is_file():
        fail(f"cannot read {audio}: no such file", code=2)
    try:
        details = json.loads(info.read_text())
    except OSError as exc:
        fail(f"cannot read {info}: {exc.strerror or exc}", code=2)
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{info} is not valid JSON: {exc}", code=2)
    kind = content_type or mimetypes.guess_type(audio.name)[0] or "application/octet-stream"
    with conn.client() as client:
        call_id = call_sdk(lambda: client.capture_call(audio, details, kind))
    typer.echo(call_id)
