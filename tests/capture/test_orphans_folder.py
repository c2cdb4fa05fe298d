"""The sweeper and the folder backend's upload temporaries (only that backend has them)."""

from __future__ import annotations

import os
import time

from callvault.capture.orphans import OrphanSweeper


def test_sweeper_removes_old_upload_temporaries(runtime):
    writer = runtime.blobs.writer("audio/x/never-finished")
    writer.write(b"ciphertext")
    old = time.time() - 7200
    for path in runtime.blobs.root.rglob(".tmp-*"):
        os.utime(path, (old, old))
    assert OrphanSweeper(runtime, grace_seconds=600).sweep().temporaries_removed == 1
