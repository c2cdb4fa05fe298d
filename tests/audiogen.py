"""WAV files of every redactable encoding, written byte by byte (no library decides the layout)."""

from __future__ import annotations

import struct

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
