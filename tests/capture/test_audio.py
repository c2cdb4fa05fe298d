"""Duration measurement never lets a parser quote the audio into the log (contract §19)."""

from __future__ import annotations

import io
import logging

import pytest

from callvault.capture.audio import measure_duration

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
