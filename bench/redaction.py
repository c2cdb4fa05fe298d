"""Redaction (contract §21): how long a worker takes to redact a long call, against the floor of
decoding and re-encoding the same file, and its peak memory (flat in the call's length).

    .venv/bin/python bench/redaction.py [--minutes 15,60,180] [--formats wav,mp3]

For each format and each length in ``--minutes``, a call (8 kHz mono speech-like noise; WAV
16-bit PCM, MP3 by LAME at 32 kbit/s) is generated into a temporary folder and captured into a
fresh embedded store (in a child process, through the ASGI app, streamed). Then, each in a child
process of its own so that its peak RSS is its own:

- ``redact``: ``RedactionService.redact`` (one 20 s range about the middle) and one step of the
  redaction loop: decrypt, silence, re-encode, encrypt under a new key, swap, delete the old audio;
- ``floor``: the same file decoded and encoded again with the same codec by FFmpeg's libraries,
  into nothing (no decryption, no encryption, no store): what no redaction can beat.

It prints seconds and peak RSS for both and the ratio floor / redaction (the target is 0.5 or
more) for every length, and the redaction's peak RSS above its idle (the child's peak once the
store is open and the redaction modules imported, before the redaction starts): flat in the
call's length if nothing grows with it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

RATE = 8000


def _speech_like(start: int, count: int) -> bytes:
    """16-bit samples of a voiced sound with a wandering pitch and noise, from sample ``start``."""
    import numpy as np

    t = (np.arange(count) + start) / RATE
    pitch = 150 + 60 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    noise = np.random.default_rng(start).normal(0, 0.05, count)
    return (np.clip(0.2 * voice + noise, -1, 1) * 20000).astype("<i2").tobytes()


def make_file(path: Path, fmt: str, minutes: float) -> None:
    total = int(minutes * 60 * RATE)
    step = RATE * 10
    if fmt == "wav":
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            for start in range(0, total, step):
                out.writeframes(_speech_like(start, min(step, total - start)))
        return
    import av

    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=RATE, layout="mono")
        stream.codec_context.bit_rate = 32000
        for start in range(0, total, step):
            data = _speech_like(start, min(step, total - start))
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(data) // 2)
            frame.planes[0].update(data)
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_capture(store: Path, audio: Path, content_type: str) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from callvault.api.app import create_app
    from callvault.auth.users import create_user
    from callvault.runtime import Runtime
    from callvault.settings import Settings

    settings = Settings(data_dir=store, run_worker=False, max_upload_bytes=4 * 1024**3)
    runtime = Runtime.open(settings)
    creds = create_user(runtime.engine, f"bench-{time.monotonic_ns()}", ["capture"])
    info = {
        "sessionId": f"bench-{audio.name}",
        "startTime": "2026-12-07T08:00:00Z",
        "endTime": "2026-12-07T09:00:00Z",
        "direction": "Inbound",
        "contacts": [{"type": "Agent", "firstName": "A"}],
    }
    with TestClient(create_app(settings, runtime)) as client:
        token = client.post(
            "/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        ).json()["access_token"]
        with audio.open("rb") as handle:
            answer = client.post(
                "/callCapture/v1/archive",
                headers={"Authorization": f"Bearer {token}"},
                files={
                    "info": (None, io.BytesIO(json.dumps(info).encode()), "application/json"),
                    "data": (audio.name, handle, content_type),
                },
            )
    assert answer.status_code == 200, answer.text
    runtime.close()
    return {"callId": answer.json()["callId"]}


def child_redact(store: Path, call_id: str, minutes: float) -> dict[str, Any]:
    import callvault.redactions.codecs  # noqa: F401  (FFmpeg, libsndfile, numpy: idle has them)
    from callvault.redactions.loop import RedactionLoop
    from callvault.redactions.service import RedactionService
    from callvault.runtime import Runtime
    from callvault.settings import Settings

    runtime = Runtime.open(Settings(data_dir=store, run_worker=False))
    idle = _peak_mb()
    middle = int(minutes * 30_000)
    length = min(20_000, middle)  # 20 s in the middle (less of a call under 40 s)
    start = time.perf_counter()
    RedactionService(runtime).redact(
        call_id,
        [{"startMs": middle - length // 2, "endMs": middle + length // 2}],
        "pci",
        None,
        "bench",
    )
    assert RedactionLoop(runtime).step() == 1
    seconds = time.perf_counter() - start
    runtime.close()
    return {"seconds": seconds, "peakRssMb": _peak_mb(), "idleRssMb": idle}


def child_floor(audio: Path, fmt: str) -> dict[str, Any]:
    import av

    class Nothing(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            return len(data)

    encoder = {"wav": "pcm_s16le", "mp3": "libmp3lame"}[fmt]
    start = time.perf_counter()
    with av.open(str(audio)) as source, av.open(Nothing(), "w", format=fmt) as target:
        stream = source.streams.audio[0]
        out = target.add_stream(encoder, rate=stream.codec_context.sample_rate, layout="mono")
        if fmt == "mp3":
            out.codec_context.bit_rate = 32000
        for frame in source.decode(stream):
            frame.pts = None
            for packet in out.encode(frame):
                target.mux(packet)
        for packet in out.encode(None):
            target.mux(packet)
    return {"seconds": time.perf_counter() - start, "peakRssMb": _peak_mb()}


def _child(*args: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        raise SystemExit(run.stderr[-3000:])
    found: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return found


def measure(folder: Path, fmt: str, minutes: float) -> dict[str, Any]:
    audio = folder / f"call-{minutes:g}.{fmt}"
    make_file(audio, fmt, minutes)
    store = folder / f"store-{fmt}-{minutes:g}"
    content_type = {"wav": "audio/wav", "mp3": "audio/mpeg"}[fmt]
    call_id = _child("capture", str(store), str(audio), content_type)["callId"]
    redaction = _child("redact", str(store), call_id, str(minutes))
    floor = _child("floor", str(audio), fmt)
    return {
        "bytes": os.path.getsize(audio),
        "redact": redaction,
        "floor": floor,
        "ratio": floor["seconds"] / redaction["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="15,60", help="call lengths, comma-separated")
    parser.add_argument("--formats", default="wav,mp3")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "capture":
            result = child_capture(Path(rest[0]), Path(rest[1]), rest[2])
        elif kind == "redact":
            result = child_redact(Path(rest[0]), rest[1], float(rest[2]))
        else:
            result = child_floor(Path(rest[0]), rest[1])
        print(json.dumps(result))
        return
    lengths = [float(m) for m in args.minutes.split(",")]
    columns = ("MB", "redact s", "floor s", "ratio", "peak RSS", "idle RSS", "above idle")
    print(f"{'format':<6} {'min':>5} " + " ".join(f"{c:>10}" for c in columns))
    for fmt in args.formats.split(","):
        for minutes in lengths:
            with tempfile.TemporaryDirectory() as tmp:  # one call's files at a time
                found = measure(Path(tmp), fmt, minutes)
            redact = found["redact"]
            values = (
                f"{found['bytes'] / 1e6:.0f}",
                f"{redact['seconds']:.2f}",
                f"{found['floor']['seconds']:.2f}",
                f"{found['ratio']:.2f}",
                f"{redact['peakRssMb']:.0f}",
                f"{redact['idleRssMb']:.0f}",
                f"{redact['peakRssMb'] - redact['idleRssMb']:.0f}",
            )
            print(f"{fmt:<6} {minutes:>5g} " + " ".join(f"{v:>10}" for v in values))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
