"""Erased by a retention policy means erased (contract §18): after the sweep's requests finish,
no stored byte of an expired call survives, on either backend; a kept call's bytes do, so the
scan can fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from callvault.demo import seed_calls
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.retention.service import RetentionService
from callvault.store.tables import calls
from helpers import stored_bytes

pytestmark = pytest.mark.both_backends


def _secrets(runtime, call_id: str) -> dict[str, bytes]:
    with runtime.engine.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().one()
    handle, size = runtime.blobs.open(row["blob_key"])
    with handle:
        blob = handle.read()
    wrapped = runtime.keystore.get(call_id)
    assert wrapped is not None
    return {
        "wrapped key": wrapped,
        "sealed details": bytes(row["sealed"])[12:60],
        "audio ciphertext": blob[size // 2 : size // 2 + 64],
    }


def test_no_byte_of_a_call_erased_by_retention_survives(runtime):
    expired, kept = seed_calls(runtime, 2, session_prefix="forensic-", audio_bytes=4096)
    with runtime.engine.begin() as conn:
        conn.execute(
            update(calls)
            .where(calls.c.call_id == expired)
            .values(start_time=datetime.now(UTC) - timedelta(days=400))
        )
        conn.execute(
            update(calls)
            .where(calls.c.call_id == kept)
            .values(start_time=datetime.now(UTC) - timedelta(days=3))
        )
    secrets = {c: _secrets(runtime, c) for c in (expired, kept)}
    service = RetentionService(runtime)
    service.put("one-year", 365, None, "officer")
    assert service.sweep().queued == 1
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 1
    stored = stored_bytes(runtime)
    for name, value in secrets[expired].items():
        assert value not in stored, f"the {name} of a call erased by retention survives"
    for name, value in secrets[kept].items():
        assert value in stored, f"the scan cannot see a kept call's {name}"
