"""callvault's extension: read a captured call back, decrypted."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Send

from callvault.api.deps import ReadUser, RuntimeDep
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


class _RevocableStream(StreamingResponse):
    """A stream that a purge can end: on ReadRevoked it stops without completing the response,
    and the server closes the connection (the client sees a body short of its Content-Length,
    never the rest of an erased call)."""

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except ReadRevoked:
            log.info("an audio download was ended: its call is being erased")


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
    return _RevocableStream(
        chunks, media_type=content_type, headers={"Content-Length": str(length)}
    )
