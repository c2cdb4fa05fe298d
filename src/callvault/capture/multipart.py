"""Streaming ``multipart/form-data`` reader for the call-capture upload endpoint.

Uploads can be hundreds of MB, and Starlette's ``request.form()`` (like python-multipart's
``FormParser``) spools file parts to temporary files. Plaintext recordings must never touch
disk and must not be held whole in memory, so this module drives python-multipart's low-level
callback parser directly and turns its callbacks into a flat stream of events whose memory
footprint is bounded by one incoming chunk.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# Approximates the ": " and CRLF of each header line, which the parser does not report.
_HEADER_LINE_OVERHEAD = 4


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data; str(exc) tells the client what to fix."""


class UnsupportedMediaType(ValueError):
    """The request's media type is not multipart/form-data."""


@dataclass(frozen=True)
class PartStart:
    """A part's headers were read; its body follows as PartData events until PartEnd."""

    name: str
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    """The current part's body is complete."""


Event: TypeAlias = PartStart | PartData | PartEnd


_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"'
# RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS name "=" ( token / quoted-string ) ).
_MEDIA_TYPE = re.compile(
    rf"{_TCHARS}/{_TCHARS}(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|{_QUOTED}))*[ \t]*", re.ASCII
)


def is_plain_media_type(value: str) -> bool:
    """True for a well-formed ``type/subtype`` (parameters allowed): printable ASCII only, so
    it can be stored and sent back as a response header byte for byte."""
    return _MEDIA_TYPE.fullmatch(value) is not None


def parse_boundary(content_type: str | None) -> str:
    """Return the boundary of a ``multipart/form-data`` Content-Type header value."""
    if not content_type or not content_type.strip():
        raise MultipartError("The Content-Type header is missing; send multipart/form-data.")
    media_type, params = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            f"The Content-Type is {media_type.decode('latin-1')!r}; "
            "send the upload as multipart/form-data."
        )
    boundary = params.get(b"boundary", b"")
    if not boundary:
        raise MultipartError(
            "The multipart/form-data Content-Type header has no boundary parameter; "
            "add one, e.g. 'multipart/form-data; boundary=abc123'."
        )
    return boundary.decode("latin-1")


def _too_big(part: int, limit: int) -> str:
    return f"The headers of part {part} exceed {limit} bytes; send shorter part headers."


def _text(raw: bytes) -> str:
    # Browsers send raw UTF-8 in filenames despite RFC 7578; anything else is taken as latin-1.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Collector:
    """Turns parser callbacks into events; the events of one ``write()`` are drained after it."""

    def __init__(self, max_header_bytes: int) -> None:
        self.max_header_bytes = max_header_bytes
        self.events: list[Event] = []
        self.pending: list[bytes] = []
        self.parts = 0
        self.in_headers = False
        self.ended = False
        self.headers: dict[bytes, bytes] = {}
        self.header_bytes = 0
        self.field = bytearray()
        self.value = bytearray()

    def _count(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > self.max_header_bytes:
            raise MultipartError(_too_big(self.parts, self.max_header_bytes))

    def flush(self) -> None:
        # Coalesce the data pieces of one write so callers see at most one PartData per chunk.
        if self.pending:
            self.events.append(PartData(b"".join(self.pending)))
            self.pending.clear()

    def on_part_begin(self) -> None:
        self.parts += 1
        self.in_headers = True
        self.headers = {}
        self.header_bytes = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self._count(_HEADER_LINE_OVERHEAD)
        self.headers[bytes(self.field).lower()] = bytes(self.value).strip(b" \t")
        self.field.clear()
        self.value.clear()

    def on_headers_finished(self) -> None:
        self.in_headers = False
        where = f"Part {self.parts}"
        disposition = self.headers.get(b"content-disposition")
        if disposition is None:
            raise MultipartError(
                f"{where} has no Content-Disposition header; "
                "send 'Content-Disposition: form-data; name=\"...\"' on every part."
            )
        kind, params = parse_options_header(disposition)
        if kind != b"form-data":
            raise MultipartError(f"{where} has Content-Disposition {_text(kind)!r}; use form-data.")
        name = params.get(b"name")
        if not name:
            raise MultipartError(
                f'{where} has no name in its Content-Disposition header; add name="...".'
            )
        filename = params.get(b"filename")
        content_type = self.headers.get(b"content-type")
        self.events.append(
            PartStart(
                name=_text(name),
                filename=None if filename is None else _text(filename),
                content_type=_text(content_type) if content_type else None,
            )
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        # The parser never reports empty slices. bytes() costs nothing for a bytes chunk and
        # detaches the data if a caller passes a reusable buffer instead.
        self.pending.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        self.flush()
        self.events.append(PartEnd())

    def on_end(self) -> None:
        self.ended = True


def _translate(exc: FormParserError, c: _Collector, boundary: str, max_header: int) -> str:
    detail = str(exc).rstrip(".")
    if not c.parts and not c.ended:
        return (
            f"The body does not start with the boundary declared in the Content-Type header; "
            f"its first line must be '--{boundary}'."
        )
    if "header size" in detail:
        return _too_big(c.parts, max_header)
    if c.in_headers:
        return (
            f"The headers of part {c.parts} are malformed ({detail}); each must be a "
            "'Name: value' line ending in CRLF, followed by an empty line."
        )
    return f"The multipart body is malformed ({detail}); send valid multipart/form-data."


async def iter_events(
    chunks: AsyncIterator[bytes], boundary: str, *, max_part_header_bytes: int = 16384
) -> AsyncIterator[Event]:
    """Feed body chunks to the streaming parser and yield PartStart/PartData/PartEnd in order."""
    c = _Collector(max_part_header_bytes)
    callbacks: MultipartCallbacks = {
        "on_part_begin": c.on_part_begin,
        "on_part_data": c.on_part_data,
        "on_part_end": c.on_part_end,
        "on_header_field": c.on_header_field,
        "on_header_value": c.on_header_value,
        "on_header_end": c.on_header_end,
        "on_headers_finished": c.on_headers_finished,
        "on_end": c.on_end,
    }
    try:
        # Our byte budget is per part; lifting the parser's per-line and count limits to it
        # leaves a single knob, and the count limit can never bind before the byte budget.
        parser = MultipartParser(
            boundary.encode("latin-1"),
            callbacks,
            max_header_count=max_part_header_bytes,
            max_header_size=max_part_header_bytes,
        )
    except (FormParserError, UnicodeEncodeError) as exc:
        raise MultipartError(
            f"The multipart boundary is unusable ({exc}); use a short ASCII one."
        ) from exc
    seen_bytes = False
    async for chunk in chunks:
        if not chunk:
            continue
        seen_bytes = True
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise MultipartError(_translate(exc, c, boundary, max_part_header_bytes)) from exc
        c.flush()
        events, c.events = c.events, []
        for event in events:
            yield event
    if not seen_bytes:
        raise MultipartError("The request body is empty; send the multipart/form-data parts.")
    if not c.ended:
        if not c.parts:
            raise MultipartError(f"The body contains no '--{boundary}' boundary line.")
        raise MultipartError(
            f"The body ended before the closing boundary '--{boundary}--'; "
            "the upload looks truncated, resend the complete body."
        )
