"""Duration measurement never lets a parser quote the audio into the log (contract §19)."""

from __future__ import annotations

import io
import logging

import pytest

from audiogen import encoded
from callvault.capture import audio as audio_module
from callvault.capture.audio import (
    AudioEnds,
    measure_duration,
    measure_from_ends,
)
from helpers import wav_bytes, wav_read_from_its_middle

SECRET = b"SECRET-AUDIO-BYTES"


@pytest.mark.parametrize(
    "audio",
    [
        # mutagen's Ogg reader quotes up to 26 bytes of a short page header in its message.
        b"OggSOpusHead-" + SECRET,
        b"OggS\x00\x02"
        + b"\x00" * 20
        + b"\x01\x13OpusHead\x01\x01\x00\x00\x80\xbb"
        + b"\x00" * 5
        + b"OggS"
        + SECRET,
    ],
)
def test_a_parser_error_is_logged_by_type_only(audio, caplog):
    caplog.set_level(logging.DEBUG)
    assert measure_duration(io.BytesIO(audio)) is None
    assert caplog.records, "the failure is still logged"
    for record in caplog.records:
        assert record.exc_info is None
        assert "OggOpusHeaderError" in record.getMessage()
    assert SECRET.decode() not in caplog.text
    assert "SECRET" not in caplog.text


# -- the duration measured as the audio streams in (no read-back of the stored audio) ------------


def _ends_of(audio: bytes, piece: int = 65536) -> AudioEnds:
    ends = AudioEnds()
    for at in range(0, len(audio), piece):
        ends.feed(audio[at : at + piece])
    return ends


def _long(name: str) -> bytes:
    """A recording far longer than the ends kept (so the middle is never at hand)."""
    if name == "wav":
        return wav_bytes(90.0)
    return encoded(name, 200.0 if name == "mp3" else 90.0, (1000, 2000))


@pytest.mark.parametrize("name", ["wav", "mp3", "opus", "vorbis", "flac"])
def test_the_ends_of_a_recording_give_the_duration_the_whole_file_gives(name, monkeypatch):
    # Ends of 16 and 64 KiB (the service keeps 256 and 128: mutagen reads an Ogg stream's
    # last 64 KiB), so that a recording of a few minutes in each format has a middle that is
    # never at hand.
    monkeypatch.setattr(audio_module, "HEAD_BYTES", 16 * 1024)
    monkeypatch.setattr(audio_module, "TAIL_BYTES", 64 * 1024)
    audio = _long(name)
    assert len(audio) > 2 * 80 * 1024  # else the test proves nothing
    whole = measure_duration(io.BytesIO(audio))
    assert whole is not None
    assert whole >= 90
    assert measure_from_ends(_ends_of(audio)) == (True, whole)


def test_a_recording_whose_parser_needs_its_middle_is_left_to_the_read_back():
    # A WAV whose `data` chunk comes after a chunk larger than the ends kept: the parser must
    # read a chunk header from the middle, which streaming did not keep.
    made = wav_read_from_its_middle(30.0)
    assert measure_duration(io.BytesIO(made)) == 30.0
    assert measure_from_ends(_ends_of(made)) == (False, None)


def test_short_audio_is_all_head_and_unknown_audio_has_no_duration():
    short = wav_bytes(2.0)
    assert measure_from_ends(_ends_of(short, piece=1000)) == (True, 2.0)
    assert measure_from_ends(_ends_of(b"not audio at all " * 40_000)) == (True, None)
    assert measure_from_ends(AudioEnds()) == (True, None)
