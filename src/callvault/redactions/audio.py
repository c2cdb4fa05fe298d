"""Which audio can be redacted, how long it is, and writing it anew with ranges silenced.

WAV is redacted exactly (``wav.py``). Anything else is ``NotRedactable``: the POST answers 422
before anything is created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from callvault.redactions import wav
from callvault.redactions.wav import NotRedactable, Readable

__all__ = ["AudioPlan", "NotRedactable", "plan", "write_redacted"]


@dataclass(frozen=True)
class AudioPlan:
    kind: str  # "wav"
    duration_ms: int
    layout: wav.WavLayout


def plan(src: Readable, size: int) -> AudioPlan:
    """What the stored audio is; NotRedactable (its message says why) when it cannot be
    redacted."""
    layout = wav.parse(src, size)
    if layout.frames == 0:
        raise NotRedactable("the WAVE file holds no samples")
    return AudioPlan("wav", layout.duration_ms, layout)


def write_redacted(
    src: Readable,
    audio: AudioPlan,
    ranges_ms: Sequence[tuple[int, int]],
    write: Callable[[bytes], None],
    seen: Callable[[bytes], None],
) -> None:
    """The audio anew, same format, with every range digital silence, streamed to ``write``;
    every byte of the source is handed to ``seen`` in order, once."""
    wav.redact(src, audio.layout, ranges_ms, write, seen)
