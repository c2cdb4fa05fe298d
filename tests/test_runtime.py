"""The embedded store's files are private whatever the umask (contract §19, "Files")."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from callvault.api.app import create_app
from callvault.runtime import ConfigurationError, Runtime
from callvault.settings import Settings
from helpers import call_info, post_call, serve_in_thread


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: 0755 folders, 0644 files
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_data_dir_is_0700_and_every_file_in_it_0600(tmp_path, loose_umask):
    data = tmp_path / "data"
    runtime = Runtime.open(Settings(data_dir=data))
    app = create_app(runtime.settings, runtime)
    server, thread, port = serve_in_thread(app)
    try:
        from helpers import LiveServer

        live = LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime, port=port)
        with live.client(live.token("capture")) as client:
            assert post_call(client, call_info("modes")).status_code == 200
        # A blob's temporary (an upload in progress) is private from its first byte.
        writer = runtime.blobs.writer("audio/z/in-progress")
        modes = _modes(data)
        writer.abort()
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        runtime.close()
    names = set(modes)
    assert {"callvault.db", "callvault.db-wal", "keystore.db", "master.key"} <= names
    assert any(n.startswith("blobs/audio/") and "/.tmp-" in n for n in names), names
    assert any(n.startswith("blobs/audio/") and "/.tmp-" not in n for n in names), names
    loose = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert loose == {}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666])
def test_a_master_key_file_others_can_read_is_refused(tmp_path, mode):
    data = tmp_path / "data"
    Runtime.open(Settings(data_dir=data)).close()
    key = data / "master.key"
    key.chmod(mode)
    with pytest.raises(ConfigurationError) as refused:
        Runtime.open(Settings(data_dir=data))
    message = str(refused.value)
    assert "\n" not in message
    assert str(key) in message
    assert "chmod 600" in message
