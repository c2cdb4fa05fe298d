"""An export leaves no copy at rest (contract §20, §24): during and after the download of a
big package, no byte of plaintext audio or personal value is found in the data directory, the
temporary directory, or any file the server process has open; on PostgreSQL + S3 also in the
PostgreSQL cluster's data directory (tables, WAL) and SeaweedFS's (its volumes), the stores
there.

Embedded: a 200 MB package. PostgreSQL + S3: 64 MB (eight multipart parts of the upload, the
package hundreds of response chunks), the suite's time being short: the package is streamed by
the same code on both, and what differs there is where the stores keep their bytes."""

from __future__ import annotations

import json
import mmap
import os
import tempfile
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import blob_objects, call_info

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]

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


def hits(paths: list[Path], skip: Path, needles: tuple[bytes, ...] = ()) -> list[str]:
    found = []
    for path in paths:
        try:
            if os.path.realpath(path).startswith(str(skip)):
                continue  # the test's own source file of the upload, outside the instance
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size == 0:
                    continue
                with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    for needle in needles or (AUDIO_MARK, *PERSONAL):
                        if data.find(needle) != -1:
                            found.append(f"{path} ({os.path.realpath(path)}): {needle!r}")
        except (OSError, ValueError):
            continue
    return found


def flush_postgresql(runtime: Any) -> None:
    """The test cluster commits without writing its WAL at once (synchronous_commit=off): a
    CHECKPOINT writes what is committed to the WAL and the tables' files, where a scan reads."""
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CHECKPOINT")


def store_dirs(request: pytest.FixtureRequest, runtime: Any) -> list[Path]:
    """Where the stores keep their bytes beside the data directory: PostgreSQL's cluster (its
    data directory) and SeaweedFS's folder (its ``-dir``). Each is shown to be where a value
    written to that store lands (so that a scan of it can fail)."""
    if runtime.engine.dialect.name == "sqlite":
        return []
    servers = request.getfixturevalue("scale_out")
    (weed,) = [a.split("=", 1)[1] for a in servers.s3.process.args if a.startswith("-dir=")]
    pg_data, weed_dir = servers.pg.root / "data", Path(weed)
    canary = f"STORE-CANARY-{uuid.uuid4().hex}".encode()
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scan_canary (v text)")
        conn.exec_driver_sql("INSERT INTO scan_canary VALUES (%(v)s)", {"v": canary.decode()})
    flush_postgresql(runtime)
    store = runtime.blobs
    # Random around it: SeaweedFS stores a compressible object gzipped (the audio it holds is
    # ciphertext, which no compression shrinks).
    body = os.urandom(4096) + canary + os.urandom(4096)
    store.client.put_object(Bucket=store.bucket, Key=store.prefix + "canary", Body=body)
    assert hits(list(files_in(pg_data)), Path("/nowhere"), (canary,))
    assert hits(list(files_in(weed_dir)), Path("/nowhere"), (canary,))
    return [pg_data, weed_dir]


def test_no_plaintext_at_rest_during_and_after_a_big_export(
    live, backend, request, tmp_path, monkeypatch
):
    size = 200 if backend == "embedded" else 64  # MiB
    stores = store_dirs(request, live.runtime)
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    # Whatever the server would put in a temporary file lands here, where the scan looks.
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    wav = source_dir / "big.wav"
    big_wav(wav, size)
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
        flush_postgresql(live.runtime)
        paths = [*files_in(data_dir), *files_in(temp_dir), *open_files()]
        return hits([*paths, *(p for root in stores for p in files_in(root))], source_dir)

    # The scan finds what it looks for: the upload's own source file is full of it.
    assert hits([wav], tmp_path / "elsewhere")
    assert scan() == []
    # Nor is anything new put in the blob store (which may compress what it keeps, S3 too).
    objects = sorted(blob_objects(live.runtime))
    received = 0
    scanned_during = False
    with live.client() as client, client.stream("GET", link) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += len(chunk)
            if not scanned_during and received > size // 2 * MIB:
                assert scan() == [], "during the export"
                assert sorted(blob_objects(live.runtime)) == objects
                scanned_during = True
    assert scanned_during
    assert received > size * MIB
    assert scan() == [], "after the export"
    assert sorted(blob_objects(live.runtime)) == objects
