"""SQLite WAL checkpoints after erasure: a reader can block one; it is retried until done."""

from __future__ import annotations

from callvault.demo import seed_calls
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService


def test_a_checkpoint_blocked_by_a_reader_is_retried_until_the_wal_is_clean(runtime):
    ids = seed_calls(runtime, 3, seed=8)
    wrapped = runtime.keystore.get(ids[0])
    PurgeService(runtime).purge_calls(ids[:1], False, "tester")
    worker = ErasureLoop(runtime, ErasureOptions())
    with runtime.keystore.engine.connect() as reader, reader.begin():
        reader.exec_driver_sql("SELECT count(*) FROM data_keys").all()  # holds a read snapshot
        assert worker.run_once() == 1
        assert "keys" in worker.eraser.pending_checkpoints
    worker.eraser.retry_checkpoints()
    assert worker.eraser.pending_checkpoints == set()
    data_dir = runtime.settings.data_dir
    on_disk = b"".join(p.read_bytes() for p in data_dir.glob("keystore.db*"))
    assert wrapped not in on_disk
