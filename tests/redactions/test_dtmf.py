"""DTMF suggestions (contract §21): runs of 4 or more keypad tones, gaps under 3 s joined,
padded 250 ms a side; tone counts, never the digits; no false range in speech."""

from __future__ import annotations

import io

import numpy as np
import pytest

from audiogen import mulaw_wav, speech_like, with_keypad
from callvault.redactions import dtmf
from callvault.redactions.codecs import mono_samples

CARD = "4111111111111111"


def pieces(samples, size: int = 1000):
    return (samples[i : i + size].astype(np.float32) for i in range(0, len(samples), size))


def found(samples):
    return [(s.start_ms, s.end_ms, s.tones) for s in dtmf.suggestions(pieces(samples), None)]


def test_a_card_number_keyed_under_noise_is_one_padded_range_of_sixteen_tones():
    audio = with_keypad(speech_like(20), CARD, at_ms=5000, noise=0.02)
    ((start, end, tones),) = found(audio)
    assert tones == 16
    keyed_end = 5000 + 16 * 160 - 80  # the last tone ends here
    assert 5000 - 250 - 30 <= start <= 5000 - 250 + 30
    assert keyed_end + 250 - 30 <= end <= keyed_end + 250 + 30


def test_gaps_under_three_seconds_join_and_longer_ones_split():
    joined = with_keypad(speech_like(20), "4111", at_ms=2000)
    joined = with_keypad(joined, "1111", at_ms=2000 + 4 * 160 + 2500)  # a 2.6 s pause
    assert [t for _, _, t in found(joined)] == [8]
    split = with_keypad(speech_like(20), "4111", at_ms=2000)
    split = with_keypad(split, "5555", at_ms=2000 + 4 * 160 + 4000)
    assert [t for _, _, t in found(split)] == [4, 4]


def test_three_tones_are_no_run_and_the_pad_stays_inside_the_call():
    assert found(with_keypad(speech_like(10), "123", at_ms=3000)) == []
    edge = with_keypad(np.zeros(8000 * 3), "1234", at_ms=0)
    (s,) = dtmf.suggestions(pieces(edge), 3000)
    assert s.start_ms == 0


def test_unequal_levels_within_the_twist_rules_are_heard_and_beyond_them_are_not():
    t = np.arange(int(0.08 * 8000)) / 8000
    base = np.zeros(8000 * 4)

    def keyed(low_level: float, high_level: float):
        out = base.copy()
        for i in range(6):
            s = 4000 + i * 1280
            out[s : s + len(t)] = low_level * np.sin(2 * np.pi * 770 * t) + high_level * np.sin(
                2 * np.pi * 1336 * t
            )
        return out

    assert [n for _, _, n in found(keyed(0.4, 0.4 * 10 ** (-6 / 20)))] == [6]  # 6 dB normal
    assert found(keyed(0.4, 0.4 * 10 ** (-12 / 20))) == []  # 12 dB: beyond 8
    assert found(keyed(0.4, 0.4 * 10 ** (7 / 20))) == []  # 7 dB reverse: beyond 4


def test_speech_like_audio_without_tones_gives_no_range():
    assert dtmf.tones(pieces(speech_like(60, seed=1))) == []
    assert found(speech_like(60, seed=2)) == []


def test_an_8_khz_mulaw_recording_is_decoded_and_its_tones_found():
    audio = with_keypad(speech_like(15), CARD, at_ms=4000, noise=0.01)
    data = mulaw_wav(audio)
    found_here = dtmf.suggestions(mono_samples(io.BytesIO(data), dtmf.RATE), None)
    assert [s.tones for s in found_here] == [16]
    assert set(found_here[0].to_json()) == {"startMs", "endMs", "kind", "tones"}


@pytest.mark.parametrize("level", [0.05, 0.5])
def test_quiet_and_loud_keying_are_both_heard(level):
    audio = with_keypad(np.zeros(8000 * 6), "98765", at_ms=1000, level=level, noise=level / 20)
    assert [t for _, _, t in found(audio)] == [5]
