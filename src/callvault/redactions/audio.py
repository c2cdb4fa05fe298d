"""Which audio can be redacted, how long it is, and writing it anew with ranges silenced.

WAV is redacted exactly (``wav.py``); MP3, Ogg Opus, Ogg Vorbis (mono, stereo), FLAC and
M4A/AAC are decoded and encoded again with the same codec (``codecs.py``). Anything else is
``NotRedactable``: the POST answers 422 before anything is created. The format is read from the
audio itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from callvault.redactions import codecs, wav
from callvault.redactions.codecs import CodecPlan, HeadBuffer
from callvault.redactions.wav import NotRedactable, Readable

__all__ = [
    "AudioPlan",
    "CodecPlan",
    "HeadBuffer",
    "NotRedactable",
    "plan",
    "write_compressed",
    "write_wav",
]

REDACTABLE = (
    "WAV (PCM 8/16/24/32-bit, float, μ-law, A-law), MP3, Ogg Opus, Ogg Vorbis (mono or stereo), "
    "FLAC, M4A/AAC"
)


@dataclass(frozen=True)
class AudioPlan:
    kind: str  # "wav", "mp3", "opus", "vorbis", "flac", "aac"
    duration_ms: int
    layout: wav.WavLayout | None = None
    codec: CodecPlan | None = None


def plan(src: Readable, size: int) -> AudioPlan:
    """What the stored audio is; NotRedactable (its message says why) when it cannot be
    redacted."""
    src.seek(0)
    if src.read(4) == b"RIFF":
        layout = wav.parse(src, size)
        if layout.frames == 0:
            raise NotRedactable("the WAVE file holds no samples")
        return AudioPlan("wav", layout.duration_ms, layout=layout)
    found = codecs.probe(src)
    return AudioPlan(found.kind, found.duration_ms, codec=found)


def write_wav(
    src: Readable,
    audio: AudioPlan,
    ranges_ms: Sequence[tuple[int, int]],
    write: Callable[[bytes], None],
    seen: Callable[[bytes], None],
) -> None:
    """A WAV anew, every range digital silence, streamed to ``write``; every byte of the source
    is handed to ``seen`` in order, once."""
    assert audio.layout is not None
    wav.redact(src, audio.layout, ranges_ms, write, seen)


def write_compressed(
    src: Readable, audio: AudioPlan, ranges_ms: Sequence[tuple[int, int]], out: HeadBuffer
) -> None:
    """Compressed audio decoded, silenced and encoded again into ``out``."""
    assert audio.codec is not None
    codecs.redact(src, audio.codec, ranges_ms, out)
