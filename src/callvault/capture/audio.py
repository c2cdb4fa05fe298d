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
