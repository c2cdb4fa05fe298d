"""callvault's extension: read a captured call back, decrypted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from callvault.api.deps import ReadUser, RuntimeDep
from callvault.api.downloads import WATCH_SECONDS, Download, Downloads
from callvault.api.protocol import RESET_EXTENSION
from callvault.api.responses import TethrJSONResponse
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import CallOut
from callvault.capture.reads import CallReader, ReadRevoked

log = logging.getLogger(__name__)

router = APIRouter(tags=["calls"])

CallId = Annotated[str, Path(min_length=1)]
_AUDIO_TYPES = ("audio/*", "video/*", "application/octet-stream")
_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/calls/v1/{callId}",
    operation_id="get_call",
    summary="A captured call's details, decrypted",
    response_model=CallOut,
    responses=PROBLEMS,
)
async def get_call(callId: CallId, runtime: RuntimeDep, user: ReadUser) -> TethrJSONResponse:
    # Rendered by json itself, not through the response model: metadata stored before capture
    # limited its depth may nest deeper than pydantic's serializer goes (a 500, never again).
    doc = await run_in_threadpool(CallReader(runtime).details, callId, user.name)
    return TethrJSONResponse(doc)


class RevocableStream(StreamingResponse):
    """A stream that a purge ends: its pieces stop at the first check that finds the call no
    longer readable (ReadRevoked), and the connection is reset so that nothing the kernel still
    holds reaches the client (``api/downloads.py``); a watch asks every ``WATCH_SECONDS`` while
    the client is slow to read, and a purge accepted by this process cuts it at once."""

    def __init__(
        self, chunks: Iterator[bytes], still_readable: Callable[[], bool], **kwargs: Any
    ) -> None:
        super().__init__(chunks, **kwargs)
        self.still_readable = still_readable
        self.download: Download | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reset = scope.get("extensions", {}).get(RESET_EXTENSION)
        downloads: Downloads | None = getattr(scope["app"].state, "downloads", None)
        if reset is None or downloads is None:  # not served by callvault's protocol
            await super().__call__(scope, receive, send)
            return
        self.download = Download(self.still_readable, reset, asyncio.get_running_loop())
        downloads.add(self.download)
        watch = asyncio.create_task(self._watch(self.download))
        try:
            await super().__call__(scope, receive, send)
        finally:
            watch.cancel()
            downloads.remove(self.download)

    @staticmethod
    async def _watch(download: Download) -> None:
        while not download.cut:
            await asyncio.sleep(WATCH_SECONDS)
            if not await run_in_threadpool(download.still_readable):
                download.end()

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except ReadRevoked:
            if self.download is not None:
                self.download.end()
            else:
                log.info("a download was ended: a call it was sending is being erased")


@router.get(
    "/calls/v1/{callId}/audio",
    operation_id="get_call_audio",
    summary="A captured call's audio, decrypted and streamed",
    response_class=StreamingResponse,
    # Served with the content type it was captured with (audio/* or video/*), else octet-stream.
    responses={200: {"content": dict.fromkeys(_AUDIO_TYPES, _BINARY)}, **PROBLEMS},
)
async def get_audio(callId: CallId, runtime: RuntimeDep, user: ReadUser) -> StreamingResponse:
    reader = CallReader(runtime)
    content_type, length, chunks = await run_in_threadpool(reader.audio, callId, user.name)
    return RevocableStream(
        chunks,
        partial(reader.still_readable, callId),
        media_type=content_type,
        headers={"Content-Length": str(length)},
    )
