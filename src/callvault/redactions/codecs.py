"""Compressed audio redaction through FFmpeg's libraries (PyAV, whose wheel ships them): MP3,
Ogg Opus, Ogg Vorbis, FLAC and M4A/AAC are decoded, every sample inside a range is set to zero
(digital silence), and the result is encoded again with the same codec, sample rate and channels,
into the same container. Lossy codecs change the samples outside the ranges within their own
noise; FLAC keeps them exactly.

Ogg Vorbis is encoded by Xiph's libvorbis through libsndfile (soundfile's wheel ships both):
PyAV's wheel has no libvorbis, and FFmpeg's own Vorbis encoder encodes stereo only. libvorbis
is set to the original's quality: the lowest whose nominal bit rate is at least the original's.
Mono and stereo are redacted; more channels are refused (Vorbis orders them otherwise than
FFmpeg does, and calls have one or two).

Streaming: frames are decoded, silenced and encoded one at a time. A muxer may go back to patch
its header once the stream is written (FLAC's STREAMINFO, MP3's Xing frame, MP4's ``mdat`` size):
those writes land in the first ``HEAD`` bytes, which ``HeadBuffer`` keeps in memory while the rest
streams on (to a sink the caller gives: an encrypted blob of its own), so memory stays flat
whatever the call's length and no plaintext touches a disk.

PyAV (``av``, FFmpeg's libraries) is imported by the functions that decode or encode, when a
redaction first needs it: a worker process starts without it (bench/README.md, "A worker's first
erasure").
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from callvault.redactions.wav import NotRedactable, Readable

HEAD = 1024 * 1024

# Demuxer name and decoder name -> (muxer, encoder, encoder options).
_MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
_CODECS: dict[tuple[str, str], tuple[str, str, dict[str, str]]] = {
    ("mp3", "mp3float"): ("mp3", "libmp3lame", {}),
    ("mp3", "mp3"): ("mp3", "libmp3lame", {}),
    ("ogg", "opus"): ("ogg", "libopus", {}),
    ("ogg", "vorbis"): ("ogg", "libvorbis", {}),
    ("flac", "flac"): ("flac", "flac", {}),
    (_MP4, "aac"): ("ipod", "aac", {}),
}
NAMES = {"mp3": "MP3", "ogg": "Ogg", "flac": "FLAC", _MP4: "M4A"}


@dataclass(frozen=True)
class CodecPlan:
    kind: str  # "mp3", "opus", "vorbis", "flac", "aac"
    duration_ms: int
    muxer: str
    encoder: str
    options: dict[str, str]
    rate: int
    layout: str
    bit_rate: int | None


def _open(src: Readable) -> Any:
    import av
    import av.error

    src.seek(0)
    try:
        return av.open(src, mode="r")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise NotRedactable(
            f"the audio is no format that can be redacted ({type(exc).__name__})"
        ) from None


def probe(src: Readable) -> CodecPlan:
    """What a compressed recording is and how long; NotRedactable when it cannot be redacted."""
    with _open(src) as container:
        audio = container.streams.audio
        if len(audio) != 1 or len(container.streams) != 1:
            raise NotRedactable("the audio must hold exactly one audio stream")
        stream = audio[0]
        context = stream.codec_context
        demuxer = container.format.name
        found = _CODECS.get((demuxer, context.name))
        if (demuxer, context.name) == ("ogg", "vorbis") and context.channels > 2:
            raise NotRedactable(
                f"Ogg Vorbis of {context.channels} channels cannot be redacted (mono or stereo can)"
            )
        if found is None:
            raise NotRedactable(
                f"{NAMES.get(demuxer, demuxer)} audio coded as {context.name} cannot be redacted"
            )
        muxer, encoder, options = found
        if container.duration is not None:
            duration_ms = round(container.duration / 1000)
        elif stream.duration is not None and stream.time_base is not None:
            duration_ms = round(float(stream.duration * stream.time_base) * 1000)
        else:
            raise NotRedactable("the audio does not say how long it is")
        if duration_ms <= 0:
            raise NotRedactable("the audio holds no samples")
        kind = {"libmp3lame": "mp3", "libopus": "opus", "libvorbis": "vorbis"}.get(encoder, encoder)
        return CodecPlan(
            kind=kind,
            duration_ms=duration_ms,
            muxer=muxer,
            encoder=encoder,
            options=options,
            rate=context.sample_rate,
            layout=context.layout.name,
            bit_rate=context.bit_rate or None,
        )


class HeadBuffer(io.RawIOBase):
    """A seekable output for a muxer that streams past its first ``HEAD`` bytes: those stay in
    memory (a muxer goes back to patch its header there), everything after goes to ``tail`` as
    it comes, in order. A write behind the head that is not at the end fails (NotRedactable)."""

    def __init__(self, tail: Callable[[bytes], None]) -> None:
        super().__init__()
        self.head = bytearray()
        self._tail = tail
        self._tail_end = HEAD  # the file's offset the next tail byte has
        self._pos = 0
        self.size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = base + offset
        return self._pos

    def write(self, data: Any) -> int:
        data = bytes(data)
        n = len(data)
        if self._pos < HEAD:
            inside = data[: HEAD - self._pos]
            end = self._pos + len(inside)
            if len(self.head) < end:
                self.head.extend(b"\x00" * (end - len(self.head)))
            self.head[self._pos : end] = inside
            self._pos = end
            data = data[len(inside) :]
        if data:
            if self._pos != self._tail_end:
                raise NotRedactable("the muxer rewrote its output beyond its header")
            self._tail(data)
            self._tail_end += len(data)
            self._pos += len(data)
        self.size = max(self.size, self._pos)
        return n


def _silence(frame: Any, first: int, ranges: Sequence[tuple[int, int]]) -> None:
    """Zero the samples of ``frame`` (whose first sample is the stream's ``first``) that lie in
    any of the sample ranges."""
    n = frame.samples
    fmt = frame.format
    width = fmt.bytes
    planes = frame.planes
    per_plane = 1 if fmt.is_planar else len(frame.layout.channels)
    for start, end in ranges:
        a, b = max(start - first, 0), min(end - first, n)
        if a >= b:
            continue
        for plane in planes:
            view = memoryview(plane)
            lo, hi = a * width * per_plane, b * width * per_plane
            view[lo:hi] = bytes(hi - lo)


def redact(
    src: Readable,
    plan: CodecPlan,
    ranges_ms: Sequence[tuple[int, int]],
    out: HeadBuffer,
) -> None:
    """Decode ``src``, silence the ranges, encode it again as ``plan`` says into ``out``."""
    if plan.encoder == "libvorbis":
        _redact_vorbis(src, plan, ranges_ms, out)
        return
    import av

    with _open(src) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        samples = _sample_ranges(ranges_ms, rate)
        with av.open(out, mode="w", format=plan.muxer) as target:
            encoder: Any = target.add_stream(
                plan.encoder, rate=rate, layout=plan.layout, options=dict(plan.options)
            )
            if plan.bit_rate and plan.encoder not in ("flac",):
                encoder.codec_context.bit_rate = plan.bit_rate
            position = 0
            for frame in container.decode(stream):
                _silence(frame, position, samples)
                position += frame.samples
                frame.pts = None  # the encoder's own timeline, from zero
                for packet in encoder.encode(frame):
                    target.mux(packet)
            for packet in encoder.encode(None):
                target.mux(packet)


def _sample_ranges(ranges_ms: Sequence[tuple[int, int]], rate: int) -> list[tuple[int, int]]:
    return [(start * rate // 1000, -(-end * rate // 1000)) for start, end in ranges_ms]


def _vorbis_level(rate: int, channels: int, nominal: int | None) -> float:
    """libsndfile's compression level (1 - libvorbis's quality) whose nominal bit rate is the
    lowest at least ``nominal``: the original's quality, found by bisection on header-only
    encodes (a few milliseconds each). Without a nominal bit rate, libsndfile's default."""
    import av
    import soundfile  # only here: loading libsndfile costs every process's start 0.4 s

    def bit_rate(level: float) -> int:
        header = io.BytesIO()
        with soundfile.SoundFile(
            header,
            "w",
            samplerate=rate,
            channels=channels,
            format="OGG",
            subtype="VORBIS",
            compression_level=level,
        ):
            pass
        header.seek(0)
        with av.open(header, mode="r") as written:
            return int(written.streams.audio[0].codec_context.bit_rate or 0)

    if not nominal or nominal <= 0:
        return 0.6  # libsndfile's own default: libvorbis quality 0.4
    low, high = 0.0, 1.0  # bit_rate(low) is the highest the encoder has
    if bit_rate(high) >= nominal:
        return high
    for _ in range(7):
        middle = (low + high) / 2
        if bit_rate(middle) >= nominal:
            low = middle
        else:
            high = middle
    return low


def _redact_vorbis(
    src: Readable, plan: CodecPlan, ranges_ms: Sequence[tuple[int, int]], out: HeadBuffer
) -> None:
    """Ogg Vorbis: decoded by FFmpeg, encoded by libvorbis (libsndfile), strictly forward."""
    import numpy
    import soundfile

    with _open(src) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        channels = stream.codec_context.channels
        samples = _sample_ranges(ranges_ms, rate)
        level = _vorbis_level(rate, channels, plan.bit_rate)
        with soundfile.SoundFile(
            out,
            "w",
            samplerate=rate,
            channels=channels,
            format="OGG",
            subtype="VORBIS",
            compression_level=level,
        ) as target:
            position = 0
            for frame in container.decode(stream):
                _silence(frame, position, samples)
                position += frame.samples
                block = frame.to_ndarray()  # planar: (channels, samples); packed: (1, n * ch)
                block = block.T if frame.format.is_planar else block.reshape(-1, channels)
                target.write(numpy.ascontiguousarray(block, dtype=numpy.float32))


def mono_samples(src: Readable, rate: int) -> Iterator[Any]:
    """The recording (any format FFmpeg reads: WAV, MP3, …) as mono float32 arrays at ``rate``,
    a frame at a time."""
    import av
    import av.error

    with _open(src) as container:
        if not container.streams.audio:
            raise NotRedactable("the recording holds no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray()[0]
            for out in resampler.resample(None):
                yield out.to_ndarray()[0]
        except av.error.FFmpegError as exc:
            raise NotRedactable(f"the recording cannot be decoded ({type(exc).__name__})") from None
