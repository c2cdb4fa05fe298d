from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callvault.capture.multipart import (
    Event,
    MultipartError,
    PartData,
    PartEnd,
    PartStart,
    UnsupportedMediaType,
    iter_events,
    parse_boundary,
)

BOUNDARY = "----cvBoundary7MA4YWxkTrZu0gW"
INFO = json.dumps({"callId": "c-1", "participants": [{"number": "+15551234567"}]}).encode()
# Everything that can fool a boundary scanner: CRLFs, dashes, and boundary prefixes.
NASTY = (
    b"\x00\xffRIFF\r\n--\r\n\r\nx--"
    + BOUNDARY.encode()
    + b"\r\n--"
    + BOUNDARY[:-1].encode()
    + b"X\r\n-\r\n--"
    + BOUNDARY[:5].encode()
    + bytes(range(256))
    + b"\r\n--"
    + BOUNDARY[:-3].encode()
    + b"\r"
)


def part(headers: Iterable[str], payload: bytes, boundary: str = BOUNDARY) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"--{boundary}\r\n{head}\r\n".encode() + payload + b"\r\n"


def close(boundary: str = BOUNDARY) -> bytes:
    return f"--{boundary}--\r\n".encode()


def two_part_body() -> bytes:
    return (
        part(
            ['Content-Disposition: form-data; name="info"', "Content-Type: application/json"], INFO
        )
        + part(
            [
                'Content-Disposition: form-data; name="data"; filename="call.wav"',
                "Content-Type: audio/wav",
            ],
            NASTY,
        )
        + close()
    )


async def _agen(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def events_of(chunks: Iterable[bytes], boundary: str = BOUNDARY, **kw: int) -> list[Event]:
    async def run() -> list[Event]:
        return [e async for e in iter_events(_agen(chunks), boundary, **kw)]

    return asyncio.run(run())


def reassemble(events: list[Event]) -> list[tuple[PartStart, bytes]]:
    """Checks the event grammar (Start Data* End)* and returns each part with its whole body."""
    parts: list[tuple[PartStart, bytes]] = []
    current: PartStart | None = None
    buf = bytearray()
    for event in events:
        if isinstance(event, PartStart):
            assert current is None
            current, buf = event, bytearray()
        elif isinstance(event, PartData):
            assert current is not None
            assert event.data
            buf += event.data
        else:
            assert isinstance(event, PartEnd)
            assert current is not None
            parts.append((current, bytes(buf)))
            current = None
    assert current is None
    return parts


def split(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    return [body[a:b] for a, b in itertools.pairwise(points)]


EXPECTED = [
    (PartStart("info", None, "application/json"), INFO),
    (PartStart("data", "call.wav", "audio/wav"), NASTY),
]


def test_two_part_body_in_one_chunk() -> None:
    assert reassemble(events_of([two_part_body()])) == EXPECTED


def test_one_byte_at_a_time_gives_same_parts_with_bounded_pieces() -> None:
    body = two_part_body()
    events = events_of([body[i : i + 1] for i in range(len(body))])
    assert reassemble(events) == EXPECTED
    # Data is streamed as it arrives, never gathered: a piece is at most one byte plus a
    # held-back boundary prefix.
    assert max(len(e.data) for e in events if isinstance(e, PartData)) <= len(BOUNDARY) + 8


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_random_chunking_gives_same_parts(cuts: list[int]) -> None:
    assert reassemble(events_of(split(two_part_body(), cuts))) == EXPECTED


def test_random_chunk_sizes_with_large_payload() -> None:
    rng = random.Random(1234)
    payload = rng.randbytes(300_000) + NASTY
    body = part(['Content-Disposition: form-data; name="data"; filename="x"'], payload) + close()
    chunks, i = [], 0
    while i < len(body):
        n = rng.randint(1, 70_000)
        chunks.append(body[i : i + n])
        i += n
    events = events_of(chunks)
    assert reassemble(events) == [(PartStart("data", "x", None), payload)]
    biggest = max(len(c) for c in chunks)
    assert max(len(e.data) for e in events if isinstance(e, PartData)) <= biggest + len(BOUNDARY)


def test_unquoted_name_header_order_case_and_no_filename() -> None:
    body = (
        part(["content-type: text/plain", "CONTENT-DISPOSITION: form-data; name=info"], b"hi")
        + part(["Content-Disposition: form-data; name=empty"], b"")
        + close()
    )
    assert reassemble(events_of([body])) == [
        (PartStart("info", None, "text/plain"), b"hi"),
        (PartStart("empty", None, None), b""),
    ]


def test_preamble_newlines_and_epilogue_are_ignored() -> None:
    body = b"\r\n" + part(["Content-Disposition: form-data; name=a"], b"1") + close() + b"junk"
    assert reassemble(events_of([body])) == [(PartStart("a", None, None), b"1")]


def test_utf8_filename() -> None:
    header = 'Content-Disposition: form-data; name="data"; filename="café.wav"'
    body = f"--{BOUNDARY}\r\n{header}\r\n\r\n".encode() + b"x\r\n" + close()
    assert reassemble(events_of([body])) == [(PartStart("data", "café.wav", None), b"x")]


@pytest.mark.parametrize(
    "header",
    [
        f'multipart/form-data; boundary="{BOUNDARY}"',
        f"multipart/form-data; boundary={BOUNDARY}",
        f"Multipart/Form-Data; charset=utf-8; BOUNDARY={BOUNDARY}",
    ],
)
def test_parse_boundary(header: str) -> None:
    assert parse_boundary(header) == BOUNDARY


def test_parse_boundary_keeps_quoted_special_characters() -> None:
    assert parse_boundary('multipart/form-data; boundary="a b;c"') == "a b;c"


@pytest.mark.parametrize(
    "header", [None, "", "multipart/form-data", 'multipart/form-data; boundary=""']
)
def test_parse_boundary_missing(header: str | None) -> None:
    with pytest.raises(MultipartError, match=r"(?i)missing|no boundary"):
        parse_boundary(header)


@pytest.mark.parametrize("header", ["application/json", "multipart/mixed; boundary=abc"])
def test_parse_boundary_wrong_media_type(header: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="multipart/form-data"):
        parse_boundary(header)
    assert not issubclass(UnsupportedMediaType, MultipartError)


def errors_of(chunks: Iterable[bytes], boundary: str = BOUNDARY, **kw: int) -> str:
    with pytest.raises(MultipartError) as info:
        events_of(chunks, boundary, **kw)
    return str(info.value)


def test_truncated_body_bytewise_and_whole() -> None:
    body = two_part_body()
    cut = body[: -len(close()) - 10]
    assert "truncated" in errors_of([cut])
    assert "truncated" in errors_of([cut[i : i + 1] for i in range(len(cut))])
    # Everything but the final "--" of the closing boundary.
    assert "truncated" in errors_of([body[: -len("--\r\n")]])


@pytest.mark.parametrize("body", [b"hello world, not multipart", b"\r\n\r\n\r\n", b"x"])
def test_body_without_boundary(body: bytes) -> None:
    assert "boundary" in errors_of([body])


def test_body_using_another_boundary() -> None:
    body = part(["Content-Disposition: form-data; name=a"], b"1", "other") + close("other")
    assert f"--{BOUNDARY}" in errors_of([body])


@pytest.mark.parametrize("chunks", [[], [b""], [b"", b""]])
def test_empty_body(chunks: list[bytes]) -> None:
    assert "empty" in errors_of(chunks)


def test_oversized_part_headers() -> None:
    many = [f"X-Pad-{i}: {'v' * 50}" for i in range(40)]
    body = part(["Content-Disposition: form-data; name=a", *many], b"1") + close()
    assert "exceed 1024 bytes" in errors_of([body], max_part_header_bytes=1024)
    assert "exceed 1024 bytes" in errors_of(
        [body[i : i + 7] for i in range(0, len(body), 7)], max_part_header_bytes=1024
    )
    one_long = part([f"Content-Disposition: form-data; name={'n' * 3000}"], b"1") + close()
    assert "exceed 1024 bytes" in errors_of([one_long], max_part_header_bytes=1024)
    # The same headers pass under the default budget.
    assert len(reassemble(events_of([body]))) == 1


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        (["Content-Type: text/plain"], "no Content-Disposition"),
        (["Content-Disposition: form-data"], "no name"),
        (['Content-Disposition: form-data; name=""'], "no name"),
        (["Content-Disposition: form-data; filename=a.wav"], "no name"),
        (["Content-Disposition: attachment; name=a"], "form-data"),
    ],
)
def test_bad_content_disposition(headers: list[str], needle: str) -> None:
    body = part(["Content-Disposition: form-data; name=ok"], b"1") + part(headers, b"2") + close()
    message = errors_of([body])
    assert needle in message
    assert "Part 2" in message


def test_malformed_header_line() -> None:
    body = f"--{BOUNDARY}\r\nContent Disposition: form-data; name=a\r\n\r\n1\r\n".encode() + close()
    assert "headers of part 1 are malformed" in errors_of([body])


def test_unusable_boundary() -> None:
    assert "boundary is unusable" in errors_of([b"--x"], boundary="b" * 300)
