"""``callvault redact``: erase time ranges of a call's audio on a running instance (contract
§21). ``callvault redact CALL_ID --range 62.5-80 --reason pci [--what-if] [--wait]`` and
``callvault redact suggest CALL_ID`` (where DTMF tones were keyed, never the digits)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from callvault.cli.client import Output, Words, call_sdk, client_command
from callvault.cli.connection import Connection
from callvault.cli.errors import fail
from callvault.cli.output import OutputFormat, count, emit, stderr
from callvault.client import Redaction, RedactionPreview

SUGGEST = "suggest"
_RANGE = re.compile(r"^\s*(\d+(?:\.\d{1,3})?)\s*-\s*(\d+(?:\.\d{1,3})?)\s*$")
COLUMNS = ("redactionId", "callId", "state", "ranges", "reason", "reference", "createdAt")


def parse_range(text: str) -> tuple[int, int]:
    """``62.5-80`` (seconds, to the millisecond) as (62500, 80000)."""
    found = _RANGE.match(text)
    if found is None:
        fail(
            f"--range {text!r} is not START-END in seconds (e.g. 62.5-80, to the millisecond)",
            code=2,
        )
    start, end = (round(float(v) * 1000) for v in found.groups())
    return start, end


def _spans(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a / 1000:g}-{b / 1000:g}" for a, b in ranges)


def _row(r: Redaction) -> dict[str, Any]:
    return {
        "redactionId": r.redaction_id,
        "callId": r.call_id,
        "state": r.state,
        "ranges": _spans(r.ranges),
        "reason": r.reason,
        "reference": r.reference,
        "createdAt": r.created_at,
        "completedAt": r.completed_at,
        "errorMsg": r.error,
    }


@client_command
def redact(
    call_id: Annotated[
        str, typer.Argument(metavar="CALL_ID", help="The call (or `suggest CALL_ID`).")
    ],
    suggest_for: Annotated[
        str | None, typer.Argument(metavar="[CALL_ID]", help="After `suggest`: the call.")
    ] = None,
    ranges: Annotated[
        list[str] | None,
        typer.Option("--range", help="START-END in seconds (62.5-80); repeatable."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="pci, pii, phi or other.")] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="The privacy program's ticket.")
    ] = None,
    what_if: Annotated[
        bool, typer.Option("--what-if", help="Preview the merged ranges; change nothing.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the redaction is Redacted or Failed.")
    ] = False,
    output: Output = OutputFormat.table,
    *,
    conn: Connection,
) -> None:
    """Erase time ranges of a call's audio (replaced by silence), keep the call; or with
    `suggest CALL_ID`, show where DTMF keypad tones were keyed (never the digits)."""
    if call_id == SUGGEST:
        if suggest_for is None:
            fail("give the call: callvault redact suggest CALL_ID", code=2)
        with conn.client() as client:
            found = call_sdk(lambda: client.redaction_suggestions(suggest_for), {})
        stderr.print(count(len(found), "suggestion"))
        emit(
            [
                {
                    "range": f"{s.start_ms / 1000:g}-{s.end_ms / 1000:g}",
                    "startMs": s.start_ms,
                    "endMs": s.end_ms,
                    "kind": s.kind,
                    "tones": s.tones,
                }
                for s in found
            ],
            ("range", "kind", "tones"),
            output,
        )
        return
    if suggest_for is not None:
        fail(f"unexpected argument {suggest_for!r}: give one CALL_ID", code=2)
    if not ranges:
        fail("give at least one --range START-END (seconds, e.g. 62.5-80)", code=2)
    if reason is None:
        fail("give --reason: pci, pii, phi or other", code=2)
    spans = [parse_range(r) for r in ranges]
    words: Words = {
        "ranges": ("--range", ranges),
        "reason": ("--reason", [reason]),
        "reference": ("--reference", [reference or ""]),
    }
    with conn.client() as client:
        made = call_sdk(
            lambda: client.redact(call_id, spans, reason, reference=reference, what_if=what_if),
            words,
        )
        if isinstance(made, RedactionPreview):
            stderr.print(
                f"would redact {made.redacted_ms / 1000:g} s of {made.duration_ms / 1000:g} s; "
                "nothing was changed"
            )
            emit(
                [
                    {
                        "ranges": _spans(made.ranges),
                        "redactedMs": made.redacted_ms,
                        "durationMs": made.duration_ms,
                    }
                ],
                ("ranges", "redactedMs", "durationMs"),
                output,
            )
            return
        done: Redaction = made
        stderr.print(f"redaction {done.redaction_id} accepted: {done.state}")
        if wait:
            done = call_sdk(lambda: client.wait_for_redaction(call_id, done.redaction_id), {})
    emit([_row(done)], COLUMNS, output)
    if done.state == "Failed":
        fail(f"redaction {done.redaction_id} failed: {done.error}")
