"""A call's row and its data key are read as a pair that belongs together: a redaction swaps
them in two commits (the key store's first), and a read in between must wait for the second
rather than fail (a 500) or answer with the wrong call's state."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from callvault.capture.reads import CallReader
from callvault.capture.sealed import open_details
from callvault.crypto import DecryptionError, new_data_key
from callvault.demo import seed_calls
from callvault.store.tables import calls

pytestmark = pytest.mark.both_backends


def _swap_window(runtime, monkeypatch, call_id: str, stale_reads: int) -> list[str]:
    """The key store answers a key that does not open the row (as between a redaction's two
    commits) for the first ``stale_reads`` reads, then the call's own."""
    real = runtime.keystore.get
    other = runtime.keys.wrap(call_id, new_data_key())
    asked: list[str] = []

    def get(cid: str) -> bytes | None:
        asked.append(cid)
        return other if len(asked) <= stale_reads else real(cid)

    monkeypatch.setattr(runtime.keystore, "get", get)
    return asked


def test_a_read_between_a_redactions_two_commits_waits_for_the_pair(runtime, monkeypatch):
    (call_id,) = seed_calls(runtime, 1, seed=5)
    with runtime.engine.begin() as conn:
        conn.execute(update(calls).where(calls.c.call_id == call_id).values(redacting=True))
    asked = _swap_window(runtime, monkeypatch, call_id, stale_reads=2)
    row, cipher = CallReader(runtime).open_call(call_id)
    assert asked == [call_id] * 3
    assert open_details(cipher, row.sealed)["contacts"]


def test_a_pair_that_does_not_open_with_no_redaction_under_way_is_an_error(runtime, monkeypatch):
    (call_id,) = seed_calls(runtime, 1, seed=6)
    asked = _swap_window(runtime, monkeypatch, call_id, stale_reads=1)
    with pytest.raises(DecryptionError):
        CallReader(runtime).open_call(call_id)
    assert asked == [call_id]  # not read again: a fault, not a swap
