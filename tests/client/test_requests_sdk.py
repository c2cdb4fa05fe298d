"""The SDK's ``list_requests`` (``GET /purge/v1/requests``, contract §6), sync and async: every
page followed, newest first, filters and a limit."""

from __future__ import annotations

import asyncio

import pytest

from callvault.client import (
    AsyncClient,
    BadRequestError,
    Client,
    PermissionDeniedError,
    PurgeRequestSummary,
    RetryPolicy,
)

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def _made(live, count: int) -> list[str]:
    with live.client(live.token("purge")) as client:
        made = [
            client.post(
                "/purge/v1/calls" if n % 2 else "/purge/v1/calls/sessions",
                json={"ids": [f"ghost-{n}"]},
            ).json()["requestId"]
            for n in range(count)
        ]
        client.post("/purge/v1/calls", json={"ids": ["x"]}, params={"whatIf": "true"})
    return made


def test_list_requests_with_the_sync_client(live) -> None:
    made = _made(live, 120)
    client_id, secret = live.user("audit")
    with Client(live.url, client_id=client_id, client_secret=secret, retry=FAST) as cv:
        every = cv.list_requests()
        assert [r.request_id for r in every] == made[::-1]  # 3 pages, newest first
        first = every[0]
        assert isinstance(first, PurgeRequestSummary)
        assert (first.kind, first.what_if, first.item_count) == ("calls", False, 1)
        assert first.state in ("Purging", "Complete")
        assert first.created_at.endswith("Z")
        assert first.requested_by
        assert [r.request_id for r in cv.list_requests(limit=7)] == made[::-1][:7]
        sessions = cv.list_requests(kind="sessions", limit=150)
        assert [r.request_id for r in sessions] == made[-2::-2]
        assert cv.list_requests(state="Failed") == []
        with pytest.raises(BadRequestError, match="state"):
            cv.list_requests(state="Done")
        with pytest.raises(ValueError, match="limit"):
            cv.list_requests(limit=0)
    client_id, secret = live.user("capture")
    with (
        Client(live.url, client_id=client_id, client_secret=secret, retry=FAST) as cv,
        pytest.raises(PermissionDeniedError),
    ):
        cv.list_requests()


def test_list_requests_with_the_async_client(live) -> None:
    made = _made(live, 3)
    client_id, secret = live.user("purge")

    async def main() -> tuple[list[PurgeRequestSummary], list[PurgeRequestSummary]]:
        async with AsyncClient(
            live.url, client_id=client_id, client_secret=secret, retry=FAST
        ) as cv:
            return await cv.list_requests(), await cv.list_requests(kind="calls", limit=1)

    every, one = asyncio.run(main())
    assert [r.request_id for r in every] == made[::-1]
    assert [r.request_id for r in one] == [made[1]]
