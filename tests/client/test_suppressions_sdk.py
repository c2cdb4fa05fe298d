"""The SDK's suppression methods (contract §22) against a live server, sync and async."""

from __future__ import annotations

import asyncio

import pytest

from callvault.client import (
    AsyncClient,
    BadRequestError,
    Client,
    ConflictError,
    PermissionDeniedError,
    RetryPolicy,
    Suppression,
)
from helpers import call_info, post_call

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
PHONE = "(512) 555-0133"


def _client(live, *permissions: str) -> Client:
    client_id, secret = live.user(*permissions)
    return Client(live.url, client_id=client_id, client_secret=secret, retry=FAST)


def test_suppress_look_up_check_list_and_lift_with_the_sync_client(live) -> None:
    with _client(live, "suppress") as cv, _client(live, "capture") as recorder:
        made = cv.suppress(
            "objected", phone_numbers=[PHONE], emails=["a@b.example"], reference="DSR-1"
        )
        assert isinstance(made, Suppression)
        assert made.state == "Active"
        assert made.identifiers == 2
        assert cv.get_suppression(made.suppression_id) == made
        assert cv.lookup_suppression(phone="+15125550133") == [made.suppression_id]
        assert cv.lookup_suppression(email="A@B.EXAMPLE") == [made.suppression_id]
        assert recorder.check_suppression(phone="512-555-0133") is True
        assert recorder.check_suppression(phone="512-555-0134") is False
        assert [s.suppression_id for s in cv.list_suppressions(reference="DSR-1")] == [
            made.suppression_id
        ]
        lifted = cv.lift_suppression(made.suppression_id, "consented")
        assert lifted.state == "Lifted"
        assert lifted.lift_reason == "consented"
        with pytest.raises(ConflictError):
            cv.lift_suppression(made.suppression_id, "again")
        with pytest.raises(BadRequestError):
            cv.suppress("objected")
        with pytest.raises(PermissionDeniedError):
            recorder.suppress("objected", phone_numbers=[PHONE])
        with pytest.raises(ValueError, match="exactly one"):
            cv.lookup_suppression()


def test_purge_customer_with_suppress_and_the_async_client(live) -> None:
    with live.client(live.token("capture")) as client:
        info = call_info("sdk-supp", contacts=[{"type": "Customer", "phoneNumber": PHONE}])
        assert post_call(client, info).status_code == 200
    client_id, secret = live.user("purge", "suppress")

    async def run() -> None:
        async with AsyncClient(
            live.url, client_id=client_id, client_secret=secret, retry=FAST
        ) as cv:
            result = await cv.purge_customer(PHONE, suppress=True)
            [request] = await cv.wait_for_purge(result.request_ids, timeout=30, poll_interval=0.05)
            assert request.suppression_id is not None
            found = await cv.lookup_suppression(phone=PHONE)
            assert found == [request.suppression_id]
            listed = await cv.list_suppressions(state="Active")
            assert [s.request_id for s in listed] == [request.request_id]

    asyncio.run(run())
