"""CaptureService keeps the event loop free: every database read and storage call of an upload
runs in a worker thread. On PostgreSQL a query on the loop would stall every other request for
a network round trip, or for the pool's timeout when the threads hold every connection."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from sqlalchemy import select

from callvault.capture import service as capture_service
from callvault.capture.reads import CallReader
from callvault.capture.service import CaptureService
from callvault.errors import Conflict
from callvault.runtime import Runtime
from callvault.store.tables import calls
from helpers import blob_objects, call_info, wav_bytes, wav_read_from_its_middle

BOUNDARY = "callvault-test-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _body(session_id: str, audio: bytes | None = None) -> bytes:
    info = json.dumps(call_info(session_id)).encode()
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="info"\r\n'
        "Content-Type: application/json\r\n\r\n".encode()
        + info
        + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="data"; '
        'filename="call.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode()
        + (wav_bytes() if audio is None else audio)
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def _chunks(body: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _watch(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Record, for the session check, the blob writer's creation and its abort, whether each
    ran on the event loop's thread."""
    seen: dict[str, bool] = {}
    check = capture_service.session_in_use

    def session_in_use(*args: Any) -> Any:
        seen["session check"] = _on_the_loop()
        return check(*args)

    make_writer = runtime.blobs.writer

    def writer(key: str) -> Any:
        seen["blob writer"] = _on_the_loop()
        made = make_writer(key)
        abort = made.abort

        def watched_abort() -> None:
            seen["abort"] = _on_the_loop()
            abort()

        made.abort = watched_abort  # type: ignore[method-assign]
        return made

    monkeypatch.setattr(capture_service, "session_in_use", session_in_use)
    monkeypatch.setattr(runtime.blobs, "writer", writer)
    return seen


def test_an_upload_checks_its_session_and_opens_its_blob_off_the_event_loop(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _watch(runtime, monkeypatch)
    capture = CaptureService(runtime).capture(CONTENT_TYPE, _chunks(_body("s-1")), "tester")
    call_id = asyncio.run(capture)
    assert call_id
    assert seen == {"session check": False, "blob writer": False}


def test_a_refused_upload_aborts_its_blob_off_the_event_loop(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = CaptureService(runtime)
    asyncio.run(service.capture(CONTENT_TYPE, _chunks(_body("s-2")), "tester"))
    seen = _watch(runtime, monkeypatch)
    with pytest.raises(Conflict):  # the session is taken: refused after the blob was opened
        asyncio.run(service.capture(CONTENT_TYPE, _chunks(_body("s-2")), "tester"))
    assert seen == {"blob writer": False, "session check": False, "abort": False}


def test_an_upload_cancelled_midway_still_aborts_its_blob(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled upload (its client gone, the server stopping) takes back what it wrote, though
    the abort now waits on a thread: a cancelled scope must not cancel the clean-up too."""
    seen = _watch(runtime, monkeypatch)
    body = _body("s-3")
    head = body[: body.index(b"RIFF") + 1000]  # the info part and the audio's first bytes

    async def stalling() -> AsyncIterator[bytes]:
        yield head
        await asyncio.Event().wait()  # the rest never comes

    async def upload_cancelled() -> None:
        with anyio.move_on_after(0.2):
            await CaptureService(runtime).capture(CONTENT_TYPE, stalling(), "tester")

    asyncio.run(upload_cancelled())
    assert seen.get("abort") is False


def test_an_upload_cancelled_while_its_row_commits_is_stored_whole_or_not_at_all(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain task cancel (the server shutting down) that lands while the call's row is being
    committed in its thread: the clean-up must not take back the key and audio of a call whose
    row then commits, which would leave a call that reads as stored and whose data is gone."""
    service = CaptureService(runtime)
    storing, stored = threading.Event(), threading.Event()
    store = service._store

    def slow_store(*args: Any) -> None:
        storing.set()
        try:
            time.sleep(0.3)  # the cancel arrives while the thread is still at work
            store(*args)
        finally:
            stored.set()

    monkeypatch.setattr(service, "_store", slow_store)

    async def cancelled_mid_store() -> None:
        task = asyncio.ensure_future(service.capture(CONTENT_TYPE, _chunks(_body("s-4")), "t"))
        await asyncio.to_thread(storing.wait, 5)
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()  # asked twice, as a server stopping may
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_mid_store())
    assert stored.wait(5)  # the thread's commit, whatever the task did meanwhile
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(calls.c.call_id).where(calls.c.session_id == "s-4")).all()
    call_ids = [r.call_id for r in rows]
    live_blobs = [b for b in blob_objects(runtime) if b.startswith("audio/")]
    if call_ids:  # stored: whole
        assert runtime.keystore.get(call_ids[0]) is not None
        assert any(call_ids[0] in b for b in live_blobs)
    else:  # or not at all
        assert live_blobs == []


def test_a_capture_is_complete_with_its_duration_at_once_when_its_ends_tell_it(runtime):
    # Measured as the audio streamed in: no read-back of the stored audio (on S3, a HEAD and a
    # GET of the whole object) is left for after the answer.
    call_id = anyio.run(
        lambda: CaptureService(runtime).capture(CONTENT_TYPE, _chunks(_body("d-1")), "tester")
    )
    with runtime.engine.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.call_id == call_id)).one()
    assert (row.status, row.duration_sec) == ("Complete", 1.0)


def test_a_capture_whose_duration_needs_the_middle_of_its_audio_is_measured_after(runtime):
    # A WAV whose `data` chunk comes after 600 KB of another chunk: its parser reads a chunk
    # header from the middle, which capture did not keep. The call is Concluded, and the
    # processing after the answer reads the stored audio back and completes it, as before.
    made = wav_read_from_its_middle(30.0)
    call_id = anyio.run(
        lambda: CaptureService(runtime).capture(CONTENT_TYPE, _chunks(_body("d-2", made)), "tester")
    )

    def state() -> tuple[str, float | None]:
        with runtime.engine.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.call_id == call_id)).one()
        return row.status, row.duration_sec

    assert state() == ("Concluded", None)
    CallReader(runtime).process(call_id)
    assert state() == ("Complete", 30.0)
