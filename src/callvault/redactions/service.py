"""Redaction: erase time ranges of a call's audio, keep the call (contract §21).

Acceptance (``redact``) checks everything before anything changes: the body (reason, reference,
1–100 integer ranges, each ``0 <= startMs < endMs``), the call (404 unless readable: a call
purging or erased is not found), legal holds (409 naming them, decided by the one decision point,
``purge/governance.py``), the audio (422 unless its format can be redacted: read from the stored
audio itself, never from the client's word) and the ranges against the audio's duration. Then, in
one transaction, the redaction row (state Redacting) and ``calls.redacting`` (the audio is not
served from here on) and the ``redaction.requested`` audit event: durable from the 202. The
downloads in flight of this process are cut before the workers are woken (``on_queued``), as a
purge's are.

The work itself is ``redactions/redactor.py``'s, run by ``redactions/loop.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.capture.reads import CallReader
from callvault.errors import BadInput, CallvaultError, Conflict, NotFound
from callvault.ids import new_request_id
from callvault.purge.governance import Governance
from callvault.redactions import dtmf
from callvault.redactions.audio import REDACTABLE, AudioPlan, NotRedactable, plan
from callvault.redactions.codecs import mono_samples
from callvault.runtime import Runtime
from callvault.store import redactions as store
from callvault.store.calls import CallRow, get_call
from callvault.store.engine import write_transaction
from callvault.store.paging import cursor_of, position_of
from callvault.store.purges import held_message
from callvault.store.redactions import RedactionRow
from callvault.store.types import utcnow
from callvault.text import is_clean, reference_problem

REASONS = ("pci", "pii", "phi", "other")
MAX_RANGES = 100
PAGE_DEFAULT, PAGE_MAX = 50, 100
READABLE = ("Concluded", "Complete", "Excluded")
MAX_ID_CHARS = 64


class Unredactable(CallvaultError):
    """422: the call's audio is in a format that cannot be redacted."""

    status, title, slug = 422, "Unprocessable Content", "not-redactable"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def merge(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching half-open ranges merged, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def check_ranges(raw: Any) -> list[tuple[int, int]]:
    """1–100 ranges ``{"startMs", "endMs"}`` of whole milliseconds, each ``0 <= start < end``;
    a 400 saying which is wrong and how otherwise."""
    if not isinstance(raw, list) or not raw:
        raise BadInput(
            'ranges must be a list of 1 to 100 {"startMs", "endMs"}; nothing was changed'
        )
    if len(raw) > MAX_RANGES:
        raise BadInput(
            f"{len(raw)} ranges were given; at most {MAX_RANGES} are allowed in one redaction "
            "(merge neighbours or send several); nothing was changed"
        )
    ranges = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadInput(f'ranges[{n}] must be an object {{"startMs", "endMs"}}')
        start, end = _whole(item.get("startMs")), _whole(item.get("endMs"))
        if start is None or end is None:
            raise BadInput(
                f"ranges[{n}]: startMs and endMs must be whole numbers of milliseconds; "
                "nothing was changed"
            )
        if start < 0:
            raise BadInput(f"ranges[{n}]: startMs must be 0 or more; nothing was changed")
        if start >= end:
            raise BadInput(
                f"ranges[{n}]: startMs ({start}) must be less than endMs ({end}): a range is the "
                "half-open span [startMs, endMs); nothing was changed"
            )
        ranges.append((start, end))
    return ranges


class RedactionService:
    def __init__(self, runtime: Runtime, on_queued: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.on_queued = on_queued
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)

    # ------------------------------------------------------------------ acceptance

    def _live_call(self, call_id: str) -> CallRow:
        if not is_clean(call_id) or len(call_id) > MAX_ID_CHARS:
            raise NotFound("no call with that callId")
        with self.runtime.engine.connect() as conn:
            row = get_call(conn, call_id)
        if row is None or row.status not in READABLE:
            raise NotFound(f"no call with callId {call_id!r} (unknown, being purged or erased)")
        return row

    def _plan(self, row: CallRow) -> AudioPlan:
        """The stored audio's format and duration, read from the audio itself (its header)."""
        rt = self.runtime
        # The row and key as a pair (a redaction under way may be swapping them).
        row, cipher = CallReader(rt).open_call(row.call_id)
        try:
            handle, size = rt.blobs.open(row.blob_key)
        except FileNotFoundError:
            raise NotFound(f"no call with callId {row.call_id!r}") from None
        with cipher.audio_reader(handle, size) as reader:
            try:
                return plan(reader, reader.length)
            except NotRedactable as exc:
                raise Unredactable(
                    f"the audio of this call cannot be redacted: {exc}. Redactable: "
                    f"{REDACTABLE}; nothing was changed"
                ) from None

    def _check_held(self, conn: Connection, call_id: str) -> None:
        holds = self.governance.held(conn, [call_id])
        if call_id in holds:
            hold_ids = holds[call_id]
            error = Conflict(
                f"the call is under legal hold ({held_message(hold_ids)}): it cannot be redacted "
                "until released; nothing was changed"
            )
            error.extra["holdIds"] = hold_ids
            raise error

    def redact(
        self,
        call_id: str,
        raw_ranges: Any,
        reason: Any,
        reference: Any,
        actor: str,
        what_if: bool = False,
    ) -> dict[str, Any]:
        if reason not in REASONS:
            raise BadInput(
                f"reason must be one of {', '.join(REASONS)} (got {reason!r}); nothing was changed"
            )
        if reference is not None:
            problem = reference_problem(reference)
            if problem is not None:
                raise BadInput(problem)
        ranges = check_ranges(raw_ranges)
        row = self._live_call(call_id)
        with self.runtime.engine.connect() as conn:
            self._check_held(conn, row.call_id)
        audio = self._plan(row)
        for n, (_, end) in enumerate(ranges):
            if end > audio.duration_ms:
                raise BadInput(
                    f"ranges[{n}]: endMs ({end}) is past the end of the call "
                    f"({audio.duration_ms} ms); nothing was changed"
                )
        merged = merge(ranges)
        redacted_ms = sum(end - start for start, end in merged)
        if what_if:
            return {
                "ranges": _ranges_out(merged),
                "redactedMs": redacted_ms,
                "durationMs": audio.duration_ms,
            }
        redaction_id = new_request_id()
        now = utcnow()
        with write_transaction(self.runtime.engine) as conn:
            locked = store.lock_call(conn, row.call_id)
            if locked is None or locked.status not in READABLE:
                raise NotFound(f"no call with callId {call_id!r} (unknown, being purged or erased)")
            self._check_held(conn, row.call_id)
            store.insert_redaction(
                conn,
                {
                    "redaction_id": redaction_id,
                    "call_id": row.call_id,
                    "session_id": row.session_id,
                    "ranges": merged,
                    "reason": reason,
                    "reference": reference,
                    "requested_by": actor,
                    "created_at": now,
                },
            )
            self.trail.append(
                conn,
                [
                    AuditEvent(
                        "redaction.requested",
                        actor,
                        redaction_id,
                        row.call_id,
                        row.session_id,
                        {
                            "ranges": [list(r) for r in merged],
                            "reason": reason,
                            "reference": reference,
                        },
                    )
                ],
            )
            created = store.get_redaction(conn, redaction_id)
        if self.on_queued is not None:
            self.on_queued()
        assert created is not None
        return redaction_json(created)

    # ------------------------------------------------------------------ suggestions

    def suggestions(self, call_id: str, actor: str) -> dict[str, Any]:
        """Runs of DTMF tones in the call's audio (``dtmf.py``): ranges and tone counts, never
        the digits; audited as ``redaction.suggested`` (who, which call, how many)."""
        found, _ = self._analyse(call_id, actor, 0)
        return {"suggestions": [s.to_json() for s in found]}

    def overview(self, call_id: str, actor: str, columns: int = 600) -> dict[str, Any]:
        """What the console's call page draws, from one pass over the audio: its duration,
        ``columns`` (min, max) sample peaks (-1..1, mono), the DTMF suggestions (audited as
        ``suggestions`` is) and the call's redactions."""
        found, (duration, peaks) = self._analyse(call_id, actor, columns)
        with self.runtime.engine.connect() as conn:
            rows = store.page_redactions(conn, call_id, None, PAGE_MAX, None)
        return {
            "callId": call_id,
            "durationMs": duration,
            "peaks": peaks,
            "suggestions": [s.to_json() for s in found],
            "redactions": [redaction_json(r) for r in rows],
        }

    def _analyse(
        self, call_id: str, actor: str, columns: int
    ) -> tuple[list[dtmf.Suggestion], tuple[int, list[tuple[float, float]]]]:
        row = self._live_call(call_id)
        if row.redacting:
            raise Conflict("the call's audio is being redacted; look at it again once that is done")
        rt = self.runtime
        row, cipher = CallReader(rt).open_call(row.call_id)
        try:
            handle, size = rt.blobs.open(row.blob_key)
        except FileNotFoundError:
            raise NotFound(f"no call with callId {call_id!r}") from None
        with cipher.audio_reader(handle, size) as reader:
            try:
                duration = plan(reader, reader.length).duration_ms if columns else 0
                peaks = _Peaks(columns, duration * dtmf.RATE // 1000)
                found = dtmf.suggestions(
                    peaks.feed(mono_samples(reader, dtmf.RATE)), duration or None
                )
            except NotRedactable as exc:
                raise Unredactable(f"the audio of this call cannot be analysed: {exc}") from None
        if not columns and row.duration_sec is not None:
            limit = round(row.duration_sec * 1000)
            found = [dtmf.Suggestion(s.start_ms, min(s.end_ms, limit), s.tones) for s in found]
        with write_transaction(rt.engine) as conn:
            self.trail.append(
                conn,
                [
                    AuditEvent(
                        "redaction.suggested",
                        actor,
                        None,
                        row.call_id,
                        row.session_id,
                        {"suggestions": len(found), "tones": sum(s.tones for s in found)},
                    )
                ],
            )
        return found, (duration, peaks.peaks())

    # ------------------------------------------------------------------ reads

    def get(self, call_id: str, redaction_id: str) -> RedactionRow:
        with self.runtime.engine.connect() as conn:
            row = store.get_redaction(conn, redaction_id)
        if row is None or row.call_id != call_id:
            raise NotFound(f"no redaction {redaction_id!r} of call {call_id!r}")
        return row

    def get_json(self, call_id: str, redaction_id: str) -> dict[str, Any]:
        return redaction_json(self.get(call_id, redaction_id))

    def page(
        self,
        call_id: str | None,
        reference: str | None,
        limit: int = PAGE_DEFAULT,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Redactions newest first, a page at a time (contract §6's paging): of one call
        (404 for a call with none that is not live either) or of every call."""
        if reference is not None:
            problem = reference_problem(reference)
            if problem is not None:
                raise BadInput(problem)
        after = None if cursor is None else position_of(cursor)
        with self.runtime.engine.connect() as conn:
            rows = store.page_redactions(conn, call_id, reference, limit + 1, after)
            if call_id is not None and not rows and after is None:
                live = get_call(conn, call_id) if is_clean(call_id) else None
                if live is None or live.status not in READABLE:
                    raise NotFound(f"no call with callId {call_id!r}")
        page: dict[str, Any] = {"redactions": [redaction_json(r) for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            page["nextCursor"] = cursor_of(last.created_at, last.redaction_id)
        return page

    def completed_for_call(self, call_id: str) -> list[dict[str, Any]]:
        """The call's completed redactions, oldest first, as the API shows them: what an export
        of a redacted call lists (contract §21)."""
        with self.runtime.engine.connect() as conn:
            return [redaction_json(r) for r in store.completed_for_call(conn, call_id)]


def _ranges_out(ranges: Sequence[tuple[int, int]]) -> list[dict[str, int]]:
    return [{"startMs": start, "endMs": end} for start, end in ranges]


def redaction_json(row: RedactionRow) -> dict[str, Any]:
    return {
        "redactionId": row.redaction_id,
        "callId": row.call_id,
        "state": row.state,
        "ranges": _ranges_out(row.ranges),
        "redactedMs": sum(end - start for start, end in row.ranges),
        "reason": row.reason,
        "reference": row.reference,
        "requestedBy": row.requested_by,
        "createdAt": _iso(row.created_at),
        "completedAt": _iso(row.completed_at),
        "errorMsg": row.error,
    }


class _Peaks:
    """The (min, max) of each of ``columns`` equal slices of ``total`` samples, as they pass."""

    def __init__(self, columns: int, total: int) -> None:
        self.columns = columns
        self.per = max(total // columns, 1) if columns else 0
        self.low = [0.0] * columns
        self.high = [0.0] * columns
        self.seen = 0

    def feed(self, pieces: Iterator[Any]) -> Iterator[Any]:
        for piece in pieces:
            if self.columns and len(piece):
                first = self.seen // self.per
                for column in range(
                    first, min((self.seen + len(piece)) // self.per + 1, self.columns)
                ):
                    lo = max(column * self.per - self.seen, 0)
                    hi = min((column + 1) * self.per - self.seen, len(piece))
                    if hi > lo:
                        part = piece[lo:hi]
                        self.low[column] = min(self.low[column], float(part.min()))
                        self.high[column] = max(self.high[column], float(part.max()))
            self.seen += len(piece)
            yield piece

    def peaks(self) -> list[tuple[float, float]]:
        return [(round(a, 3), round(b, 3)) for a, b in zip(self.low, self.high, strict=True)]
