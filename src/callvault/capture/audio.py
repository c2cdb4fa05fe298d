"""Audio formats and duration measurement (from the audio itself, never trusted from the client)."""

from __future__ import annotations

import io
import logging
from typing import IO

import mutagen

from callvault.capture.multipart import is_plain_media_type

log = logging.getLogger(__name__)

_FORMATS_BY_TYPE = {
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "opus",
    "audio/opus": "opus",
    "audio/mp4": "mp4",
    "video/mp4": "mp4",
    "audio/m4a": "mp4",
    "audio/x-m4a": "mp4",
    "audio/x-ms-wma": "wma",
}

CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "ogg": "audio/ogg",
    "mp4": "audio/mp4",
    "m4a": "audio/mp4",
    "wma": "audio/x-ms-wma",
}


def format_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return _FORMATS_BY_TYPE.get(content_type.split(";")[0].strip().lower())


def content_type_for(audio_format: str | None, given: str | None) -> str:
    """The Content-Type the audio is served with: as uploaded, else from its format."""
    # A stored value that is not a plain media type (captured before capture refused them) is
    # never sent as a header: it could hold bytes no response can carry.
    if (
        given
        and is_plain_media_type(given)
        and given.split("/")[0].strip().lower() in ("audio", "video")
    ):
        return given
    return CONTENT_TYPES.get((audio_format or "").lower(), "application/octet-stream")


def measure_duration(audio: IO[bytes] | io.RawIOBase) -> float | None:
    """Seconds of audio, read from the file's own headers (wav, mp3, ogg/opus, mp4, wma).

    None when the format is not recognised: a capture must not fail on odd audio.
    """
    try:
        parsed = mutagen.File(audio)
    except Exception as exc:  # mutagen raises many types for malformed files; none is our error
        # Its messages may quote bytes of the (decrypted) file: log the type only, never them.
        log.info("audio duration could not be measured (%s)", type(exc).__name__)
        return None
    if parsed is None or parsed.info is None:
        return None
    length = getattr(parsed.info, "length", None)
    return round(float(length), 3) if length else None


# The first and last bytes of an upload's audio kept as they stream in: where the formats' own
# headers say how long they are (WAV's fmt and data chunks, MP3's first frames and Xing/VBRI
# header with its ID3 tags at both ends, Ogg's first and last pages, FLAC's STREAMINFO, an MP4
# whose `moov` comes first).
HEAD_BYTES = 256 * 1024
TAIL_BYTES = 128 * 1024


class AudioEnds:
    """The ends of an upload's plaintext audio, kept as it streams past (at most
    ``HEAD_BYTES`` + ``TAIL_BYTES`` of memory), and its size."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.size = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.tail += data[-TAIL_BYTES:]
        if len(self.tail) > TAIL_BYTES:
            del self.tail[: len(self.tail) - TAIL_BYTES]
        self.size += len(data)


class _MiddleMissing(Exception):
    """A parser asked for bytes between the ends kept."""


class _EndsReader(io.RawIOBase):
    """A read-only, seekable view of the whole audio that holds only its ends: a read that needs
    the middle raises (and is remembered, in case the parser swallows it)."""

    def __init__(self, ends: AudioEnds) -> None:
        super().__init__()
        self._ends = ends
        self._tail_at = ends.size - len(ends.tail)
        self._pos = 0
        self.missed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._ends.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        start = self._pos
        end = min(start + len(view), self._ends.size)
        if end <= start:
            return 0
        head = self._ends.head
        if end <= len(head):
            piece = head[start:end]
        elif start >= self._tail_at:
            piece = self._ends.tail[start - self._tail_at : end - self._tail_at]
        else:
            self.missed = True
            raise _MiddleMissing
        view[: len(piece)] = piece
        self._pos = end
        return len(piece)


def measure_from_ends(ends: AudioEnds) -> tuple[bool, float | None]:
    """The audio's duration from its ends alone, as ``measure_duration`` reads it from the whole:
    ``(True, seconds or None)`` when the ends sufficed, ``(False, None)`` when the parser needed
    the middle (then the stored audio is read back after the capture's answer, as before)."""
    reader = _EndsReader(ends)
    try:
        parsed = mutagen.File(reader)
    except _MiddleMissing:
        return False, None
    except Exception:  # as measure_duration: malformed audio has no duration, never an error
        return (False, None) if reader.missed else (True, None)
    if reader.missed:
        return False, None
    if parsed is None or parsed.info is None:
        return True, None
    length = getattr(parsed.info, "length", None)
    return True, (round(float(length), 3) if length else None)
