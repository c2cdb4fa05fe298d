"""What the purge service writes durably: every acceptance before its answer; a preview's
record relaxed (docs/api.md, "Durability of previews")."""

from __future__ import annotations

import pytest

from callvault.demo import seed_calls
from callvault.purge import service as purge_service
from callvault.purge.service import PurgeService
from helpers import commit_durability, durable_by_default

PHONE = "+15125550177"


@pytest.fixture
def recorded(runtime, monkeypatch):
    """The durability each purge request row was written with, in order."""
    seen: list[tuple[bool, str]] = []
    original = purge_service.purges.insert_request

    def spy(conn, request_id, kind, what_if, *args, **kwargs):
        seen.append((what_if, commit_durability(conn)))
        return original(conn, request_id, kind, what_if, *args, **kwargs)

    monkeypatch.setattr(purge_service.purges, "insert_request", spy)
    durable_by_default(runtime.engine)
    return seen


@pytest.mark.both_backends
def test_previews_are_relaxed_and_purges_durable(runtime, recorded):
    ids = seed_calls(runtime, 4, phones=[PHONE])
    service = PurgeService(runtime)
    service.purge_customer(PHONE, True, "alice")
    service.purge_calls(ids[:1], True, "alice")
    service.purge_sessions(["no-such-session"], True, "alice")
    service.purge_calls(ids[:2], False, "alice")
    service.purge_sessions(["no-such-session"], False, "alice")
    assert recorded == [
        (True, "relaxed"),
        (True, "relaxed"),
        (True, "relaxed"),
        (False, "durable"),
        (False, "durable"),
    ]


@pytest.mark.both_backends
def test_a_preview_confirms_the_purge_that_follows_it(runtime, recorded):
    """The preview's record is committed (relaxed, not left behind): its confirm token works."""
    seed_calls(runtime, 3, phones=[PHONE])
    service = PurgeService(runtime)
    preview = service.purge_customer(PHONE, True, "alice")
    assert preview.confirm_token
    done = service.purge_customer(PHONE, False, "alice", preview.confirm_token)
    assert [i.status for i in done.items] == ["Purging"] * 3
    assert recorded == [(True, "relaxed"), (False, "durable")]
