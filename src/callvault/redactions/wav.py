"""WAV redaction, exact: every sample inside a range becomes digital silence, every other byte of
the file (header, other chunks, samples outside the ranges) is copied unchanged, bit for bit.

Encodings: PCM 8-bit (unsigned: silence is 0x80), PCM 16/24/32-bit and IEEE float (silence is
zero bytes), G.711 μ-law (0xFF) and A-law (0xD5), also inside WAVE_FORMAT_EXTENSIBLE. The file
streams through in fixed pieces: memory is flat whatever the call's length.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

PIECE = 256 * 1024

_PCM, _FLOAT, _ALAW, _MULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_ENCODINGS = {_PCM: "pcm", _FLOAT: "float", _ALAW: "alaw", _MULAW: "mulaw"}


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class NotRedactable(ValueError):
    """The audio is not one this module can redact exactly; the message says why (no byte of
    the audio in it)."""


@dataclass(frozen=True)
class WavLayout:
    encoding: str  # pcm | float | alaw | mulaw
    channels: int
    rate: int
    bits: int
    block_align: int
    data_offset: int  # first byte of the samples
    data_length: int  # bytes of whole frames
    file_length: int

    @property
    def frames(self) -> int:
        return self.data_length // self.block_align

    @property
    def duration_ms(self) -> int:
        return round(self.frames * 1000 / self.rate)

    @property
    def silence(self) -> int:
        """The byte every byte of a silenced frame becomes."""
        if self.encoding == "mulaw":
            return 0xFF
        if self.encoding == "alaw":
            return 0xD5
        if self.encoding == "pcm" and self.bits == 8:
            return 0x80
        return 0x00

    def frame_span(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """The frames of the half-open span [start_ms, end_ms): every frame any part of which
        lies inside it."""
        first = start_ms * self.rate // 1000
        last = -(-end_ms * self.rate // 1000)
        return min(first, self.frames), min(last, self.frames)


def _read_exact(src: Readable, size: int) -> bytes:
    pieces, wanted = [], size
    while wanted > 0:
        piece = src.read(wanted)
        if not piece:
            break
        pieces.append(piece)
        wanted -= len(piece)
    return b"".join(pieces)


def parse(src: Readable, file_length: int) -> WavLayout:
    """The layout of a RIFF/WAVE file; NotRedactable for anything else."""
    src.seek(0)
    head = _read_exact(src, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise NotRedactable("the audio is not a RIFF WAVE file")
    pos = 12
    fmt: bytes | None = None
    while pos + 8 <= file_length:
        src.seek(pos)
        chunk_id, size = struct.unpack("<4sI", _read_exact(src, 8))
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = _read_exact(src, min(size, 64))
        elif chunk_id == b"data":
            if fmt is None:
                raise NotRedactable("the WAVE file has its samples before its format chunk")
            # A recorder that streamed the file may leave the size at 0 or 0xFFFFFFFF: the
            # samples then run to the end of the file.
            length = file_length - body if size in (0, 0xFFFFFFFF) else size
            length = min(length, file_length - body)
            return _layout(fmt, body, length, file_length)
        pos = body + size + (size & 1)
    raise NotRedactable("the WAVE file has no data chunk")


def _layout(fmt: bytes, data_offset: int, data_length: int, file_length: int) -> WavLayout:
    if len(fmt) < 16:
        raise NotRedactable("the WAVE file's format chunk is truncated")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE:
        if len(fmt) < 26:
            raise NotRedactable("the WAVE file's extensible format chunk is truncated")
        tag = struct.unpack("<H", fmt[24:26])[0]
    encoding = _ENCODINGS.get(tag)
    if encoding is None:
        raise NotRedactable(f"WAVE encoding 0x{tag:04x} cannot be redacted")
    if encoding == "pcm" and bits not in (8, 16, 24, 32):
        raise NotRedactable(f"{bits}-bit PCM cannot be redacted (8, 16, 24 and 32 can)")
    if encoding in ("alaw", "mulaw") and bits != 8:
        raise NotRedactable("G.711 WAVE audio must have 8 bits a sample")
    if encoding == "float" and bits not in (32, 64):
        raise NotRedactable(f"{bits}-bit float audio cannot be redacted")
    if channels < 1 or rate < 1 or block_align != channels * (bits // 8):
        raise NotRedactable("the WAVE file's format chunk is inconsistent")
    whole = data_length - data_length % block_align
    return WavLayout(encoding, channels, rate, bits, block_align, data_offset, whole, file_length)


def byte_spans(layout: WavLayout, ranges_ms: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The file's byte spans [start, end) to silence, in order."""
    spans = []
    for start_ms, end_ms in ranges_ms:
        first, last = layout.frame_span(start_ms, end_ms)
        if last > first:
            spans.append(
                (
                    layout.data_offset + first * layout.block_align,
                    layout.data_offset + last * layout.block_align,
                )
            )
    return spans


def redact(
    src: Readable,
    layout: WavLayout,
    ranges_ms: Sequence[tuple[int, int]],
    write: Callable[[bytes], None],
    seen: Callable[[bytes], None] | None = None,
) -> None:
    """Stream the file to ``write`` with the ranges silenced, every other byte as it was;
    ``seen`` is handed every byte of the source, in order (its hash is taken in the same pass)."""
    spans = byte_spans(layout, ranges_ms)
    silence = bytes([layout.silence]) * PIECE
    src.seek(0)
    pos = 0
    for start, end in [*spans, (layout.file_length, layout.file_length)]:
        while pos < end:
            keep = pos < start
            piece = _read_exact(src, min(PIECE, (start if keep else end) - pos))
            if not piece:
                raise NotRedactable("the audio ended early")
            if seen is not None:
                seen(piece)
            write(piece if keep else silence[: len(piece)])
            pos += len(piece)
