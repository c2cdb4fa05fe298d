"""WAV redaction is exact: every byte of a silenced frame is the encoding's silence, every other
byte of the file (header, other chunks, samples outside the ranges) is unchanged, bit for bit."""

from __future__ import annotations

import io
import struct

import pytest

from audiogen import ENCODINGS, pattern, wav_file
from callvault.redactions import wav
from callvault.redactions.audio import plan, write_wav


def redacted(data: bytes, ranges: list[tuple[int, int]]) -> tuple[bytes, bytes]:
    src = io.BytesIO(data)
    audio = plan(src, len(data))
    out, seen = io.BytesIO(), io.BytesIO()
    write_wav(src, audio, ranges, out.write, seen.write)
    return out.getvalue(), seen.getvalue()


@pytest.mark.parametrize(("name", "tag", "bits", "silence"), ENCODINGS)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("extensible", [False, True])
def test_the_ranges_become_silence_and_every_other_byte_is_unchanged(
    name, tag, bits, silence, channels, extensible
):
    rate, seconds = 8000, 3
    block = channels * bits // 8
    samples = pattern(rate * seconds * block)
    trailer = b"cue " + struct.pack("<I", 4) + b"CUE!"
    data = wav_file(
        tag, bits, samples, rate=rate, channels=channels, extensible=extensible, trailer=trailer
    )
    out, seen = redacted(data, [(500, 1250), (2000, 2001)])
    assert seen == data  # every source byte was read once, in order: its hash is the file's
    assert len(out) == len(data)
    start = data.index(samples)
    spans = [(start + 500 * 8 * block, start + 1250 * 8 * block)]
    spans.append((start + 2000 * 8 * block, start + 2001 * 8 * block))
    pos = 0
    for a, b in spans:
        assert out[pos:a] == data[pos:a]
        assert out[a:b] == bytes([silence]) * (b - a)
        pos = b
    assert out[pos:] == data[pos:]
    assert out.endswith(trailer)


def test_a_range_that_ends_inside_a_frame_silences_that_whole_frame():
    data = wav_file(1, 16, pattern(2 * 44100), rate=44100)  # 44.1 frames a millisecond
    layout = wav.parse(io.BytesIO(data), len(data))
    assert layout.frame_span(1, 2) == (44, 89)
    assert layout.duration_ms == 1000


def test_a_streamed_wav_without_a_data_size_runs_to_the_end_of_the_file():
    body = pattern(1600)
    data = bytearray(wav_file(1, 16, body))
    at = data.index(b"data")
    data[at + 4 : at + 8] = b"\xff\xff\xff\xff"
    layout = wav.parse(io.BytesIO(bytes(data)), len(data))
    assert layout.frames == 800
    assert layout.duration_ms == 100


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"ID3\x03" + b"\x00" * 60, "not a RIFF WAVE"),
        (wav_file(0x55, 16, pattern(100)), "encoding 0x0055"),  # MPEG layer 3 inside a WAV
        (wav_file(0x11, 4, pattern(100)), "encoding 0x0011"),  # IMA ADPCM
        (wav_file(1, 12, pattern(99)), "12-bit PCM"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no data chunk"),
    ],
)
def test_audio_that_cannot_be_redacted_exactly_says_why(data, why):
    with pytest.raises(wav.NotRedactable, match=why):
        wav.parse(io.BytesIO(data), len(data))
