"""The orphan sweeper removes what a crash between capture's writes left, and nothing else."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from callvault.capture.orphans import OrphanSweeper
from callvault.capture.reads import CallReader
from callvault.capture.service import blob_key_for
from callvault.crypto import new_data_key
from callvault.demo import seed_calls
from callvault.ids import new_call_id
from callvault.store.keystore import data_keys
from callvault.store.types import utcnow

pytestmark = pytest.mark.both_backends


def _crash_leftover(runtime, with_key: bool) -> tuple[str, str]:
    """A blob (and maybe a key) written by a capture that died before its row."""
    call_id = new_call_id()
    writer = runtime.blobs.writer(blob_key_for(call_id))
    writer.write(os.urandom(500))
    writer.commit()
    if with_key:
        runtime.keystore.put(call_id, runtime.keys.wrap(call_id, new_data_key()))
    return call_id, blob_key_for(call_id)


def _age_keys(runtime, seconds: float) -> None:
    with runtime.keystore.engine.begin() as conn:
        conn.execute(update(data_keys).values(created_at=utcnow() - timedelta(seconds=seconds)))


def test_sweeper_removes_orphans_and_spares_live_calls(runtime):
    live_ids = seed_calls(runtime, 5, seed=41)
    orphan, orphan_blob = _crash_leftover(runtime, with_key=True)
    _, bare_blob = _crash_leftover(runtime, with_key=False)
    _age_keys(runtime, 3600)
    sweeper = OrphanSweeper(runtime, grace_seconds=0)
    first = sweeper.sweep()
    assert first.keys_destroyed == 1  # keys go at once: that is what makes the audio unreadable
    assert runtime.keystore.get(orphan) is None
    assert first.blobs_deleted == 0  # a blob must be an orphan at two sweeps in a row
    second = sweeper.sweep()
    assert second.blobs_deleted == 2
    keys = set(runtime.blobs.iter_keys())
    assert orphan_blob not in keys
    assert bare_blob not in keys
    assert keys == {blob_key_for(cid) for cid in live_ids}
    for cid in live_ids:
        assert CallReader(runtime).details(cid, "test")["callId"] == cid


def test_sweeper_spares_what_is_younger_than_the_grace_period(runtime):
    young, young_blob = _crash_leftover(runtime, with_key=True)
    sweeper = OrphanSweeper(runtime, grace_seconds=3600)
    assert sweeper.sweep().total == 0
    assert sweeper.sweep().total == 0
    assert runtime.keystore.get(young) is not None
    assert young_blob in set(runtime.blobs.iter_keys())
