"""An export leaves no copy at rest (contract §20, §24): during and after the download of a
200 MB package, no byte of plaintext audio or personal value is found in the data directory, the
temporary directory, or any file the server process has open.

Embedded store: there every byte the instance writes is under its data directory (on PostgreSQL +
S3 the same code writes nothing either: the package is never stored, only streamed)."""

from __future__ import annotations

import json
import mmap
import os
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import call_info

pytestmark = pytest.mark.slow

AUDIO_MARK = b"PLAINTEXT-AUDIO-7781-"
MIB = 1024 * 1024
PHONE = "+1 415 867 5309"
NAME = "Quillfeather"
PERSONAL = [b"4158675309", b"415-867-5309", NAME.encode(), b"Xanthippe"]


def big_wav(path: Path, mib: int) -> None:
    block = (AUDIO_MARK * (MIB // len(AUDIO_MARK) + 1))[:MIB]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        for _ in range(mib):
            w.writeframesraw(block)


def files_in(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def open_files() -> Iterator[Path]:
    """The regular files this process (the server runs in it) has open, deleted ones too."""
    for fd in os.listdir("/proc/self/fd"):
        link = Path("/proc/self/fd") / fd
        try:
            target = os.readlink(link)
        except OSError:
            continue
        if target.startswith("/") and not target.startswith(("/dev/", "/proc/")):
            yield link


def hits(paths: list[Path], skip: Path) -> list[str]:
    found = []
    for path in paths:
        try:
            if os.path.realpath(path).startswith(str(skip)):
                continue  # the test's own source file of the upload, outside the instance
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size == 0:
                    continue
                with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    for needle in (AUDIO_MARK, *PERSONAL):
                        if data.find(needle) != -1:
                            found.append(f"{path} ({os.path.realpath(path)}): {needle!r}")
        except (OSError, ValueError):
            continue
    return found


def test_no_plaintext_at_rest_during_and_after_a_200_mb_export(live, tmp_path, monkeypatch):
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    # Whatever the server would put in a temporary file lands here, where the scan looks.
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    wav = source_dir / "big.wav"
    big_wav(wav, 200)
    contacts = [
        {"type": "Agent", "channel": 0, "firstName": "Xanthippe"},
        {"type": "Customer", "channel": 1, "phoneNumber": PHONE, "firstName": NAME},
    ]
    with live.client(live.token("capture")) as client, wav.open("rb") as audio:
        files = {
            "info": (None, json.dumps(call_info("big-1", contacts=contacts)), "application/json"),
            "data": ("call.wav", audio, "audio/wav"),
        }
        assert client.post("/callCapture/v1/archive", files=files).status_code == 200
    with live.client(live.token("export")) as client:
        link = client.post("/exports/v1", json={"phoneNumbers": [PHONE]}).json()["downloadUrl"]
    data_dir = live.runtime.settings.data_dir

    def scan() -> list[str]:
        return hits([*files_in(data_dir), *files_in(temp_dir), *open_files()], source_dir)

    # The scan finds what it looks for: the upload's own source file is full of it.
    assert hits([wav], tmp_path / "elsewhere")
    assert scan() == []
    received = 0
    scanned_during = False
    with live.client() as client, client.stream("GET", link) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += len(chunk)
            if not scanned_during and received > 100 * MIB:
                assert scan() == [], "during the export"
                scanned_during = True
    assert scanned_during
    assert received > 200 * MIB
    assert scan() == [], "after the export"
