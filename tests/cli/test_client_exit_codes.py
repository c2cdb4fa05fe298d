"""Exit code 1 when an item ends in Error (the erasure gave up), with the reason in the output."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest

from callvault.demo import seed_calls
from callvault.settings import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", purge_max_attempts=1)


class BrokenBlobs:
    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def delete_many(self, keys, versions=None):
        return {k: PermissionError("denied") for k in keys}


def test_an_item_ending_in_error_exits_1(live, tmp_path):
    seed_calls(live.runtime, 2, seed=31)
    live.runtime.blobs = BrokenBlobs(live.runtime.blobs)
    client_id, secret = live.user("purge")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "callvault.cli.main",
            "purge",
            "sessions",
            "demo-0",
            "demo-1",
            "ghost",
            "--wait",
            "--output",
            "csv",
            "--url",
            live.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "CALLVAULT_CLIENT_ID": client_id,
            "CALLVAULT_CLIENT_SECRET": secret,
        },
    )
    assert result.returncode == 1, result.stderr
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["demo-0"]["status"] == "Error"
    assert "blob store failed" in rows["demo-0"]["errorMsg"]
    assert rows["ghost"]["status"] == "NotFound"
    assert "Error: 2" in result.stderr
