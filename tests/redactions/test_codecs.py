"""Compressed audio redaction (MP3, Ogg Opus, Ogg Vorbis mono and stereo, FLAC, M4A/AAC through
FFmpeg's libraries, Vorbis encoded by libvorbis): the range decodes to silence, the rest is the
original within the codec's noise (FLAC: exactly), the codec, rate, channels and duration are
kept."""

from __future__ import annotations

import io

import av
import pytest

from audiogen import COMPRESSED, decoded, encoded, rms, samples_of
from callvault.redactions.audio import HeadBuffer, NotRedactable, plan, write_compressed
from callvault.redactions.codecs import HEAD

TONE = (1000, 2000)


def redacted(data: bytes, ranges: list[tuple[int, int]]) -> bytes:
    src = io.BytesIO(data)
    audio = plan(src, len(data))
    tail = io.BytesIO()
    out = HeadBuffer(tail.write)
    write_compressed(src, audio, ranges, out)
    return bytes(out.head[: min(HEAD, out.size)]) + tail.getvalue()


@pytest.mark.parametrize(
    ("name", "level"),
    [(c[0], 0.6) for c in COMPRESSED] + [("vorbis", 0.1), ("vorbis-stereo", 0.9)],
)
def test_the_range_decodes_to_silence_and_the_rest_is_kept(name, level):
    # Vorbis also at a high and a low quality: the redaction keeps the original's.
    original = encoded(name, 3.0, TONE, level=level)
    audio = plan(io.BytesIO(original), len(original))
    assert audio.kind == name.split("-")[0]
    assert abs(audio.duration_ms - 3000) <= 130  # a codec frame or two of padding
    new = redacted(original, [TONE])
    before, rate = decoded(original)
    after, rate_after = decoded(new)
    assert rate_after == rate
    with av.open(io.BytesIO(original)) as a, av.open(io.BytesIO(new)) as b:
        old_stream, new_stream = a.streams.audio[0], b.streams.audio[0]
        assert a.format.name == b.format.name
        assert new_stream.codec_context.name == old_stream.codec_context.name
        assert new_stream.codec_context.layout.name == old_stream.codec_context.layout.name
        assert new_stream.codec_context.sample_rate == old_stream.codec_context.sample_rate
        if name.startswith("vorbis"):  # libvorbis keeps the duration to the sample
            assert a.duration == b.duration == 3_000_000
    # The same duration, within a codec frame or two of padding.
    assert abs(len(after) - len(before)) <= rate // 10, (len(after), len(before))

    def span(samples, start_ms, end_ms):
        return samples[start_ms * rate // 1000 : end_ms * rate // 1000]

    # Inside the range (away from its edges, where a transform codec spreads a frame): silence.
    assert rms(span(before, 1100, 1900)) > 0.3  # the marker tone was there
    assert rms(span(after, 1100, 1900)) < 0.001
    # Outside it: the original, within the codec's noise: a second generation differs from the
    # first by no more than the first differed from what was recorded (with some room).
    source = samples_of(3.0, rate, TONE)
    for lo, hi in ((200, 800), (2200, 2800)):
        kept, was, said = span(after, lo, hi), span(before, lo, hi), span(source, lo, hi)
        error = rms([x - y for x, y in zip(kept, was, strict=False)])
        codec_noise = rms([x - y for x, y in zip(was, said, strict=False)])
        assert error <= 1.5 * codec_noise + 1e-6, (name, lo, error, codec_noise)
    if name == "flac":  # lossless: every sample outside the range, exactly
        assert span(after, 0, 990) == span(before, 0, 990)
        assert span(after, 2010, 3000) == span(before, 2010, 3000)


def test_a_long_output_streams_past_the_head_and_patches_only_inside_it():
    original = encoded("flac", 150.0, (60000, 61000))  # 8 kHz noise: over a megabyte of FLAC
    assert len(original) > HEAD
    new = redacted(original, [(60000, 61000)])
    after, rate = decoded(new)
    assert abs(len(after) - 150 * rate) <= rate // 10
    assert rms(after[60100 * rate // 1000 : 60900 * rate // 1000]) == 0
    assert plan(io.BytesIO(new), len(new)).duration_ms == 150000


def test_audio_that_is_none_of_them_is_not_redactable():
    with pytest.raises(NotRedactable, match="no format"):
        plan(io.BytesIO(b"\x00" * 4096), 4096)
    # Ogg Vorbis of more than two channels (Vorbis orders them otherwise than FFmpeg): refused.
    vorbis = encoded("vorbis", 1.0, (0, 0), channels=3)
    with pytest.raises(NotRedactable, match="Ogg Vorbis of 3 channels"):
        plan(io.BytesIO(vorbis), len(vorbis))
