"""WAV files of every redactable encoding, written byte by byte (no library decides the layout)."""

from __future__ import annotations

import io
import struct
from typing import Any

# (name, format tag, bits, silence byte)
ENCODINGS = [
    ("pcm8", 1, 8, 0x80),
    ("pcm16", 1, 16, 0x00),
    ("pcm24", 1, 24, 0x00),
    ("pcm32", 1, 32, 0x00),
    ("float32", 3, 32, 0x00),
    ("mulaw", 7, 8, 0xFF),
    ("alaw", 6, 8, 0xD5),
]


def wav_file(
    tag: int,
    bits: int,
    samples: bytes,
    *,
    rate: int = 8000,
    channels: int = 1,
    extensible: bool = False,
    trailer: bytes = b"",
) -> bytes:
    """A RIFF/WAVE file: a LIST chunk before the samples and ``trailer`` chunks after them."""
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack(
            "<HHIIHHHHIH", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0, tag
        )
        fmt += guid_tail
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    info = b"INFOISFT" + struct.pack("<I", 6) + b"wavgen"
    chunks = (
        b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"LIST"
        + struct.pack("<I", len(info))
        + info
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
        + (b"\x00" if len(samples) % 2 else b"")
        + trailer
    )
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def pattern(n: int, seed: int = 7) -> bytes:
    """``n`` bytes of a fixed pseudo-random pattern, never a run of one value."""
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out += x.to_bytes(4, "little")
    return bytes(out[:n])


# (name, muxer, encoder, sample rate, layout, content type) of the compressed formats redacted
COMPRESSED = [
    ("mp3", "mp3", "libmp3lame", 8000, "mono", "audio/mpeg"),
    ("opus", "ogg", "libopus", 48000, "mono", "audio/ogg"),
    ("vorbis", "ogg", "libvorbis", 8000, "mono", "audio/ogg"),
    ("vorbis-stereo", "ogg", "libvorbis", 44100, "stereo", "audio/ogg"),
    ("flac", "flac", "flac", 8000, "mono", "audio/flac"),
    ("aac", "ipod", "aac", 16000, "mono", "audio/mp4"),
]


def samples_of(seconds: float, rate: int, tone: tuple[int, int], seed: int = 5) -> list[float]:
    """Speech-like noise (quiet, its level wandering) with a loud 1 kHz tone from ``tone[0]`` to
    ``tone[1]`` ms: the marker a redaction of that range must leave no trace of."""
    import math

    out = []
    x = seed
    for i in range(int(seconds * rate)):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        noise = (x / 0x7FFFFFFF - 0.5) * 0.2 * (0.5 + 0.5 * math.sin(2 * math.pi * 3 * i / rate))
        ms = i * 1000 // rate
        marker = 0.6 * math.sin(2 * math.pi * 1000 * i / rate) if tone[0] <= ms < tone[1] else 0
        out.append(noise + marker)
    return out


def encoded(
    name: str, seconds: float, tone: tuple[int, int], *, channels: int = 0, level: float = 0.6
) -> bytes:
    """A recording of that format (``COMPRESSED``), encoded by FFmpeg's libraries (PyAV), or,
    Ogg Vorbis, by libvorbis (as Vorbis files are made) at libsndfile's compression ``level``
    (1 - libvorbis's quality), with ``channels`` if given."""
    import array

    import av

    _, muxer, encoder, rate, layout, _ = next(c for c in COMPRESSED if c[0] == name)
    channels = channels or (2 if layout == "stereo" else 1)
    mono = samples_of(seconds, rate, tone)
    buffer = io.BytesIO()
    if encoder == "libvorbis":
        import numpy as np
        import soundfile

        block = np.repeat(np.array(mono, dtype=np.float32)[:, None], channels, axis=1)
        with soundfile.SoundFile(
            buffer, "w", rate, channels, format="OGG", subtype="VORBIS", compression_level=level
        ) as vorbis:
            vorbis.write(block)
        return buffer.getvalue()
    with av.open(buffer, "w", format=muxer) as out:
        stream = out.add_stream(encoder, rate=rate, layout=layout)
        for start in range(0, len(mono), 1024):
            chunk = mono[start : start + 1024]
            frame = av.AudioFrame(format="flt", layout=layout, samples=len(chunk))
            frame.planes[0].update(
                array.array("f", [s for s in chunk for _ in range(channels)]).tobytes()
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def decoded(data: bytes) -> tuple[list[float], int]:
    """The first channel's samples of a recording, as floats, and its sample rate."""
    import array

    import av

    out: list[float] = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for f in resampler.resample(frame):
                out.extend(array.array("f", bytes(f.planes[0])[: 4 * f.samples]))
        for f in resampler.resample(None):
            out.extend(array.array("f", bytes(f.planes[0])[: 4 * f.samples]))
    return out, rate


def rms(samples: list[float]) -> float:
    return (sum(s * s for s in samples) / max(len(samples), 1)) ** 0.5


KEYPAD = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}  # fmt: skip


def speech_like(seconds: float, rate: int = 8000, seed: int = 9) -> Any:
    """Voiced sound as speech has it: a pitch gliding between 90 and 240 Hz with its harmonics
    under a moving formant envelope, syllables and pauses, and a noise floor."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    pitch = 165 + 75 * np.sin(2 * np.pi * 0.7 * t) * np.sin(2 * np.pi * 0.13 * t + 1)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    formant = 500 + 1500 * (0.5 + 0.5 * np.sin(2 * np.pi * 1.9 * t))
    voice = np.zeros(n)
    for k in range(1, 30):
        weight = np.exp(-(((k * pitch) - formant) ** 2) / (2 * 400.0**2)) / k**0.5
        voice += weight * np.sin(k * phase)
    syllables = (np.sin(2 * np.pi * 4 * t) > -0.2) * (np.sin(2 * np.pi * 0.31 * t) > -0.6)
    out = 0.25 * voice / max(np.abs(voice).max(), 1e-9) * syllables
    return out + rng.normal(0, 0.01, n)


def with_keypad(
    base: Any,
    digits: str,
    at_ms: int,
    tone_ms: int = 80,
    gap_ms: int = 80,
    rate: int = 8000,
    level: float = 0.25,
    noise: float = 0.0,
    seed: int = 3,
) -> Any:
    """``base`` with ``digits`` keyed from ``at_ms`` (each tone ``tone_ms``, ``gap_ms`` apart),
    the pair's two sines of ``level`` each, under Gaussian noise of RMS ``noise``."""
    import numpy as np

    out = np.array(base, dtype=np.float64)
    start = at_ms * rate // 1000
    length, step = tone_ms * rate // 1000, (tone_ms + gap_ms) * rate // 1000
    t = np.arange(length) / rate
    for i, digit in enumerate(digits):
        low, high = KEYPAD[digit]
        s = start + i * step
        out[s : s + length] = level * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
    if noise:
        out += np.random.default_rng(seed).normal(0, noise, len(out))
    return out


def mulaw_wav(samples: Any, rate: int = 8000) -> bytes:
    """An 8 kHz G.711 μ-law WAV of ``samples`` (floats in -1..1), encoded by FFmpeg."""
    import av
    import numpy as np

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as out:
        stream = out.add_stream("pcm_mulaw", rate=rate, layout="mono")
        for start in range(0, len(pcm), 4096):
            chunk = pcm[start : start + 4096]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk))
            frame.planes[0].update(chunk.tobytes())
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()
