"""The SDK's ``audit_events`` (``GET /audit/v1/events``, contract §23), sync and async: every
page followed, filtered by time and action, each event's details a dict."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from callvault.client import AsyncClient, AuditRecord, BadRequestError, Client, RetryPolicy

pytestmark = pytest.mark.both_backends

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def _requests(live, count: int) -> None:
    with live.client(live.token("purge")) as client:
        for n in range(count):
            client.post("/purge/v1/calls", json={"ids": [f"ghost-{n}"]})


def test_audit_events_follow_every_page_and_filter(live) -> None:
    _requests(live, 1005)  # two pages of 1,000
    client_id, secret = live.user("audit")
    with Client(live.url, client_id=client_id, client_secret=secret, retry=FAST) as cv:
        every = cv.audit_events()
        assert [e.seq for e in every] == list(range(1, 1006))
        first = every[0]
        assert isinstance(first, AuditRecord)
        assert first.action == "purge.requested"
        assert isinstance(first.details, dict)
        assert first.request_id
        assert every[1].prev_hash == first.hash
        assert isinstance(first.at, datetime)
        assert first.at.tzinfo is not None

        assert [e.seq for e in cv.audit_events(after=1000)] == [1001, 1002, 1003, 1004, 1005]
        assert len(cv.audit_events(limit=3)) == 3
        assert cv.audit_events(actions=["hold.placed"]) == []
        since = every[1002].at
        assert all(e.at >= since for e in cv.audit_events(since=since))
        with pytest.raises(BadRequestError):
            cv.audit_events(since=since, until=since.isoformat())  # an empty window
        with pytest.raises(BadRequestError):
            cv.audit_events(actions=["not an action"])


def test_audit_events_with_the_async_client(live) -> None:
    _requests(live, 3)
    client_id, secret = live.user("audit")

    async def run() -> list[AuditRecord]:
        async with AsyncClient(
            live.url, client_id=client_id, client_secret=secret, retry=FAST
        ) as cv:
            return await cv.audit_events(actions=["purge.requested"])

    assert [e.seq for e in asyncio.run(run())] == [1, 2, 3]
