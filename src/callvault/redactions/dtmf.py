"""DTMF suggestions (contract §21): where a recording holds runs of keypad tones — how a card
number keyed on a phone shows up — as time ranges and tone counts, never the digits.

The audio is decoded (FFmpeg's libraries, any format capture stores) to mono at 8 kHz and cut
into blocks of 205 samples (25.6 ms; bins about 39 Hz wide, as ITU-T Q.23 receivers use). For
each block the Goertzel power at the eight Q.23 frequencies is computed (as one matrix product),
and a block holds a tone when:

- it is loud enough (RMS at least ``MIN_RMS``, about -43 dBFS);
- the strongest low (row) and high (column) frequencies together hold most of its energy
  (``MIN_SHARE``), each a fair part of it (``MIN_EACH``);
- each is at least ``PEAK_RATIO`` (6 dB) above the others of its group;
- the twist is within Q.24's bounds: the high tone at most 8 dB below the low one (normal
  twist) and at most 4 dB above it (reverse twist).

A tone is two or more consecutive such blocks with the same pair (at least 51 ms; Q.24 asks
40 ms). Tones whose gaps are under 3 s are joined into a run; a run of 4 tones or more is a
suggestion, padded 250 ms a side. The pair of a tone is used only to tell one tone from the next:
it is never kept, returned or logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

RATE = 8000
BLOCK = 205
LOW = (697.0, 770.0, 852.0, 941.0)
HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
MIN_RMS = 0.007
MIN_SHARE = 0.6
MIN_EACH = 0.12
PEAK_RATIO = 4.0  # 6 dB
NORMAL_TWIST = 10 ** (8 / 10)  # high tone at most 8 dB below the low one
REVERSE_TWIST = 10 ** (4 / 10)  # high tone at most 4 dB above the low one
MIN_BLOCKS = 2
JOIN_MS = 3000
MIN_TONES = 4
PAD_MS = 250

_n = np.arange(BLOCK)
_FREQS = np.array(LOW + HIGH)
_COS = np.cos(2 * np.pi * np.outer(_n, _FREQS) / RATE)
_SIN = np.sin(2 * np.pi * np.outer(_n, _FREQS) / RATE)


@dataclass(frozen=True)
class Suggestion:
    start_ms: int
    end_ms: int
    tones: int

    def to_json(self) -> dict[str, object]:
        return {"startMs": self.start_ms, "endMs": self.end_ms, "kind": "dtmf", "tones": self.tones}


def _pairs(blocks: np.ndarray) -> np.ndarray:
    """For each block (a row of ``blocks``): the index of its tone pair (row * 4 + column), or
    -1 when it holds none."""
    re = blocks @ _COS
    im = blocks @ _SIN
    power = re * re + im * im
    energy = np.einsum("ij,ij->i", blocks, blocks)
    # A pure sinusoid's power at its own bin is about (N A / 2)^2 and its energy N A^2 / 2:
    # so ``share`` is the fraction of the block's energy at that frequency.
    share = 2 * power / (BLOCK * np.maximum(energy, 1e-12))[:, None]
    low, high = share[:, :4], share[:, 4:]
    row, col = low.argmax(axis=1), high.argmax(axis=1)
    idx = np.arange(len(blocks))
    r, c = low[idx, row], high[idx, col]
    low_sorted, high_sorted = np.sort(low, axis=1), np.sort(high, axis=1)
    ok = (
        (energy / BLOCK >= MIN_RMS**2)
        & (r + c >= MIN_SHARE)
        & (r >= MIN_EACH)
        & (c >= MIN_EACH)
        & (r >= PEAK_RATIO * low_sorted[:, -2])
        & (c >= PEAK_RATIO * high_sorted[:, -2])
        & (c * NORMAL_TWIST >= r)
        & (c <= REVERSE_TWIST * r)
    )
    return np.where(ok, row * 4 + col, -1)


def _blocks(samples: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Pair indices of consecutive blocks, from mono float samples at 8 kHz in any pieces."""
    pending = np.zeros(0, dtype=np.float64)
    for piece in samples:
        pending = np.concatenate([pending, piece.astype(np.float64)])
        whole = len(pending) // BLOCK
        if whole:
            yield _pairs(pending[: whole * BLOCK].reshape(whole, BLOCK))
            pending = pending[whole * BLOCK :]


def tones(samples: Iterable[np.ndarray]) -> list[tuple[int, int]]:
    """The tones heard, as (start ms, end ms), in order."""
    found: list[tuple[int, int]] = []
    index = 0
    current, first, length = -1, 0, 0

    def close() -> None:
        if current >= 0 and length >= MIN_BLOCKS:
            found.append((first * BLOCK * 1000 // RATE, (first + length) * BLOCK * 1000 // RATE))

    for pairs in _blocks(samples):
        for pair in pairs.tolist():
            if pair == current and pair >= 0:
                length += 1
            else:
                close()
                current, first, length = pair, index, 1
            index += 1
    close()
    return found


def suggestions(samples: Iterable[np.ndarray], duration_ms: int | None) -> list[Suggestion]:
    """Runs of ``MIN_TONES`` tones or more, joined across gaps under ``JOIN_MS``, padded."""
    runs: list[list[tuple[int, int]]] = []
    for tone in tones(samples):
        if runs and tone[0] - runs[-1][-1][1] < JOIN_MS:
            runs[-1].append(tone)
        else:
            runs.append([tone])
    out = []
    for run in runs:
        if len(run) < MIN_TONES:
            continue
        end = run[-1][1] + PAD_MS
        if duration_ms is not None:
            end = min(end, duration_ms)
        out.append(Suggestion(max(run[0][0] - PAD_MS, 0), end, len(run)))
    return out
