"""The SDK against real callvault servers: in-process (ASGI) and over a socket (uvicorn)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import pytest

from callvault.api.app import create_app
from callvault.auth.users import create_user
from callvault.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    Progress,
    RetryPolicy,
    TimeoutWaiting,
    TransportError,
)
from callvault.demo import seed_calls
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import LiveServer, call_info, free_port, post_v2_call, v2_customer_info, wav_bytes

pytestmark = pytest.mark.both_backends

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=1.0)


def sdk(live: LiveServer, *permissions: str, **kwargs: Any) -> Client:
    client_id, secret = live.user(*(permissions or ("purge", "capture")))
    return Client(live.url, client_id=client_id, client_secret=secret, retry=FAST, **kwargs)


# -- in process, async -------------------------------------------------------------------------


def test_async_client_in_process_capture_status_purge(settings: Settings, runtime: Runtime) -> None:
    app = create_app(settings, runtime)
    creds = create_user(runtime.engine, "sdk-async", ["purge", "capture"])
    sessions = ["in-proc-1", "in-proc-2", "in-proc-3"]

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with (
            app.router.lifespan_context(app),
            AsyncClient(
                "http://testserver",
                client_id=creds.client_id,
                client_secret=creds.client_secret,
                transport=httpx.ASGITransport(app=app),
                retry=FAST,
            ) as cv,
        ):
            out["call_ids"] = [
                await cv.capture_call(wav_bytes(0.2), call_info(s)) for s in sessions
            ]
            out["before"] = await cv.status([*sessions, "in-proc-missing"])
            asked = [sessions[1], "in-proc-missing", sessions[0], sessions[2]]
            out["what_if"] = await cv.purge_sessions(asked, what_if=True)
            out["real"] = await cv.purge_sessions(asked)
            out["done"] = await cv.wait_for_purge(
                out["real"].request_ids, timeout=30, poll_interval=0.05
            )
            out["after"] = await cv.status(sessions)
        return out

    out = asyncio.run(main())
    call_of = dict(zip(sessions, out["call_ids"], strict=True))
    assert len(set(out["call_ids"])) == 3

    before = out["before"]
    assert [s.session_id for s in before] == [*sessions, "in-proc-missing"]
    assert [s.call_id for s in before[:3]] == out["call_ids"]
    assert all(s.status in {"Concluded", "Complete"} for s in before[:3])
    assert before[3].status == "NotFound"
    assert before[3].call_id is None

    what_if, real = out["what_if"], out["real"]
    assert [i.id for i in what_if.items] == [sessions[1], "in-proc-missing", *sessions[::2]]
    assert [i.status for i in what_if.items] == ["WhatIf", "NotFound", "WhatIf", "WhatIf"]
    expected = {"WhatIf": "Purging", "NotFound": "NotFound"}
    assert len(real.items) == len(what_if.items)
    for would, did in zip(what_if.items, real.items, strict=True):
        assert (did.id, did.call_id, did.session_id) == (would.id, would.call_id, would.session_id)
        assert did.status == expected[would.status]
    assert [i.call_id for i in real.items] == [
        call_of[sessions[1]],
        None,
        call_of[sessions[0]],
        call_of[sessions[2]],
    ]
    assert len(real.request_ids) == 1

    (request,) = out["done"]
    assert request.request_id == real.request_ids[0]
    assert request.done
    assert request.state == "Complete"
    assert request.kind == "sessions"
    assert not request.what_if
    purged = {i.call_id for i in request.items if i.status == "Purged"}
    assert purged == set(out["call_ids"])
    assert all(i.status in {"Purged", "NotFound"} for i in request.items)

    assert [s.status for s in out["after"]] == ["NotFound"] * 3


# -- over a socket, sync -----------------------------------------------------------------------


def test_purge_250_sessions_of_which_120_exist(live: LiveServer) -> None:
    seed_calls(live.runtime, 120, seed=1)
    known = [f"demo-{n}" for n in range(120)]
    unknown = [f"ghost-{n}" for n in range(130)]
    asked = known + unknown
    random.Random(7).shuffle(asked)
    progress: list[Progress] = []

    with sdk(live) as cv:
        result = cv.purge_sessions(asked, progress=progress.append)
        assert len(result.request_ids) == 3
        assert [(p.done, p.total) for p in progress] == [(100, 250), (200, 250), (250, 250)]
        assert [i.id for i in result.items] == asked
        assert all(i.session_id == i.id for i in result.items)
        for item in result.items:
            if item.id in unknown:
                assert (item.status, item.call_id) == ("NotFound", None), item
            else:
                assert item.status == "Purging", item
                assert item.call_id
        assert [i.request_id for i in result.items] == [
            rid for rid in result.request_ids for _ in range(100)
        ][:250]

        waited: list[Progress] = []
        done = cv.wait_for_purge(
            result.request_ids, timeout=60, poll_interval=0.05, progress=waited.append
        )
        assert [r.request_id for r in done] == result.request_ids
        assert all(r.state == "Complete" for r in done)
        purged = {i.session_id for r in done for i in r.items if i.status == "Purged"}
        assert purged == set(known)
        assert waited[-1] == Progress(done=3, total=3, stage="wait")

        after = cv.status(asked)
        assert [s.session_id for s in after] == asked
        assert {s.status for s in after} == {"NotFound"}


def test_purge_customer_by_phone(live: LiveServer) -> None:
    seed_calls(live.runtime, 3, phones=["+15125550100"], session_prefix="cust-", seed=2)
    seed_calls(live.runtime, 2, phones=["+15125550199"], session_prefix="other-", seed=3)

    with sdk(live) as cv:
        would = cv.purge_customer("(512) 555-0100", what_if=True)
        assert [i.session_id for i in would.items] == ["cust-0", "cust-1", "cust-2"]
        assert {i.status for i in would.items} == {"WhatIf"}
        assert all(i.id is None for i in would.items)

        result = cv.purge_customer("1-512-555-0100")
        assert [i.session_id for i in result.items] == ["cust-0", "cust-1", "cust-2"]
        assert [i.call_id for i in result.items] == [i.call_id for i in would.items]
        assert {i.status for i in result.items} == {"Purging"}
        assert len(result.request_ids) == 1
        assert {i.request_id for i in result.items} == set(result.request_ids)

        (request,) = cv.wait_for_purge(result.request_ids, timeout=60, poll_interval=0.05)
        assert request.kind == "customer"
        assert sorted(i.status for i in request.items) == ["Purged"] * 3

        remaining = cv.status(["cust-0", "cust-1", "cust-2", "other-0", "other-1"])
        assert [s.status for s in remaining] == ["NotFound"] * 3 + ["Complete"] * 2

        nobody = cv.purge_customer("+1 512 555 0142")
        assert nobody.items == []


def test_purge_customer_by_phone_and_emails_is_one_request(live: LiveServer) -> None:
    with live.client(live.token("capture")) as client:
        ids = [
            post_v2_call(client, v2_customer_info(sid, phone, email)).json()["id"]
            for sid, phone, email in (
                ("e-0", "+15125550121", None),
                ("e-1", None, "Ada@Example.com"),
                ("e-2", None, "bea@example.com"),
                ("e-3", None, "someone.else@example.com"),
            )
        ]
    with sdk(live) as cv:
        would = cv.purge_customer(
            "512-555-0121", emails=["ada@example.com", " BEA@example.com"], what_if=True
        )
        assert sorted(i.call_id or "" for i in would.items) == sorted(ids[:3])
        assert {i.status for i in would.items} == {"WhatIf"}
        assert would.confirm_token
        result = cv.purge_customer(
            "512-555-0121",
            emails=["ada@example.com", " BEA@example.com"],
            confirm=would.confirm_token,
        )
        assert len(result.request_ids) == 1
        (request,) = cv.wait_for_purge(result.request_ids, timeout=60, poll_interval=0.05)
        assert request.kind == "customer"
        assert sorted(i.status for i in request.items) == ["Purged"] * 3
        only_email = cv.purge_customer(emails=["someone.else@example.com"])
        assert [i.session_id for i in only_email.items] == ["e-3"]
        assert only_email.items[0].call_id == ids[3]
        with pytest.raises(ValueError, match="phone number or an e-mail"):
            cv.purge_customer()


def test_unknown_purge_request_raises_not_found(live: LiveServer) -> None:
    with sdk(live) as cv, pytest.raises(NotFoundError) as info:
        cv.get_purge_request("no-such-request")
    assert info.value.status_code == 404
    assert info.value.detail


def test_token_without_purge_permission_is_refused(live: LiveServer) -> None:
    with sdk(live, "capture") as cv, pytest.raises(PermissionDeniedError) as info:
        cv.purge_sessions(["anything"])
    assert info.value.status_code == 403


@pytest.mark.parametrize("which", ["unknown-id", "wrong-secret"])
def test_bad_credentials_raise_authentication_error(live: LiveServer, which: str) -> None:
    client_id, secret = live.user("purge")
    if which == "unknown-id":
        client_id = "cv_unknown"
    else:
        secret = secret + "x"
    with (
        Client(live.url, client_id=client_id, client_secret=secret, retry=FAST) as cv,
        pytest.raises(AuthenticationError) as info,
    ):
        cv.purge_sessions(["anything"])
    assert info.value.status_code == 400
    assert info.value.body["error"] == "invalid_client"


def test_static_token_from_server_works(live: LiveServer) -> None:
    with Client(live.url, token=live.token("purge"), retry=FAST) as cv:
        result = cv.purge_sessions(["nothing-here"])
    assert [i.status for i in result.items] == ["NotFound"]


def test_unreachable_server_raises_transport_error_quickly() -> None:
    port = free_port()  # bound then closed: nothing listens there
    started = time.monotonic()
    with (
        Client(f"http://127.0.0.1:{port}", token="t", retry=FAST) as cv,
        pytest.raises(TransportError) as info,
    ):
        cv.purge_sessions(["a"])
    assert time.monotonic() - started < 5
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_wait_for_purge_times_out_while_worker_is_stopped(live: LiveServer) -> None:
    live.app_state.workers.close()
    seed_calls(live.runtime, 1, seed=4)
    with sdk(live) as cv:
        result = cv.purge_sessions(["demo-0"])
        assert [i.status for i in result.items] == ["Purging"]
        started = time.monotonic()
        with pytest.raises(TimeoutWaiting) as info:
            cv.wait_for_purge(result.request_ids, timeout=0.5, poll_interval=0.05)
        assert 0.5 <= time.monotonic() - started < 10
        assert info.value.pending == result.request_ids
        assert cv.get_purge_request(result.request_ids[0]).state == "Purging"
        # The status API shows what the call had until it is erased (contract §4).
        assert [s.status for s in cv.status(["demo-0"])] == ["Complete"]


# -- legal holds ---------------------------------------------------------------------------------


def test_hold_lifecycle_with_the_sync_client(live: LiveServer) -> None:
    seed_calls(live.runtime, 2, seed=21, phones=["+15125550177"])
    with sdk(live, "purge", "hold", "audit") as cv:
        hold = cv.place_hold(
            "Doe v. Acme",
            "litigation notice",
            phone_numbers=["(512) 555-0177"],
            started_after="2000-01-01T00:00:00Z",
        )
        assert hold.state == "Active"
        assert hold.phone_numbers == ("+15125550177",)
        assert hold.started_after == "2000-01-01T00:00:00Z"
        assert hold.covered_calls == 2
        assert cv.get_hold(hold.hold_id) == hold
        assert [h.hold_id for h in cv.list_holds()] == [hold.hold_id]
        refused = cv.purge_customer("+15125550177")
        assert {i.status for i in refused.items} == {"Error"}
        assert all(i.error_msg == f"held by legal hold {hold.hold_id}" for i in refused.items)
        request = cv.wait_for_purge(refused.request_ids, timeout=10)[0]
        assert request.state == "Held"
        assert {i.hold_ids for i in request.items} == {(hold.hold_id,)}
        released = cv.release_hold(hold.hold_id, "settled")
        assert (released.state, released.release_reason) == ("Released", "settled")
        assert cv.list_holds() == []
        assert [h.hold_id for h in cv.list_holds("all")] == [hold.hold_id]
        with pytest.raises(NotFoundError):
            cv.get_hold("no-such-hold")
        final = cv.wait_for_purge(refused.request_ids, timeout=30)[0]
        assert final.state == "Complete"
        assert {i.status for i in final.items} == {"Purged"}


def test_hold_lifecycle_with_the_async_client(live: LiveServer) -> None:
    client_id, secret = live.user("hold")

    async def main() -> tuple[Any, Any, list[Any]]:
        async with AsyncClient(
            live.url, client_id=client_id, client_secret=secret, retry=FAST
        ) as cv:
            hold = await cv.place_hold("M", "R", session_ids=["s-1"])
            got = await cv.get_hold(hold.hold_id)
            released = await cv.release_hold(hold.hold_id, "done")
            return got, released, await cv.list_holds("Released")

    got, released, listed = asyncio.run(main())
    assert got.session_ids == ("s-1",)
    assert released.state == "Released"
    assert [h.hold_id for h in listed] == [got.hold_id]


@pytest.mark.settings(purge_confirm_above=2)
def test_customer_purge_confirmed_with_the_previews_token(live: LiveServer) -> None:
    from callvault.client import ConfirmationRequiredError

    seed_calls(live.runtime, 3, seed=22, phones=["+15125550155"])
    with sdk(live) as cv:
        with pytest.raises(ConfirmationRequiredError) as refused:
            cv.purge_customer("+15125550155")
        assert refused.value.matched == 3
        assert refused.value.status_code == 409
        preview = cv.purge_customer("+15125550155", what_if=True)
        assert preview.confirm_token
        done = cv.purge_customer("+15125550155", confirm=preview.confirm_token)
        assert [i.status for i in done.items] == ["Purging"] * 3
        with pytest.raises(ConfirmationRequiredError):
            cv.purge_customer("+15125550155", confirm=preview.confirm_token)


@pytest.mark.settings(purge_grace_seconds=3600, purge_quota_per_hour=2)
def test_cancel_within_the_window_and_a_quota_429_is_not_waited_out(live: LiveServer) -> None:
    from callvault.client import RateLimitError

    seed_calls(live.runtime, 3, seed=23)
    with sdk(live) as cv:
        result = cv.purge_sessions(["demo-0", "demo-1"])
        request = cv.get_purge_request(result.request_ids[0])
        assert request.erase_after is not None
        started = time.monotonic()
        with pytest.raises(RateLimitError) as refused:
            cv.purge_sessions(["demo-2"])
        assert time.monotonic() - started < 5  # told at once, not retried for an hour
        assert refused.value.retry_after is not None
        assert refused.value.retry_after > 60
        cancelled = cv.cancel_purge(result.request_ids[0])
        assert cancelled.state == "Cancelled"
        assert {i.status for i in cancelled.items} == {"Cancelled"}
        # Done waiting: a cancelled request is final.
        assert cv.wait_for_purge(result.request_ids, timeout=5)[0].state == "Cancelled"
