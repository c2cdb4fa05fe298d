"""Guards on customer purges (contract §13): the preview's confirmation token."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from callvault.store.tables import purge_jobs, purge_requests
from helpers import call_info, post_call

pytestmark = [pytest.mark.both_backends, pytest.mark.settings(purge_confirm_above=3)]

PHONE = "+1 512 555 0123"
CUSTOMER = "/purge/v1/calls/customer"


def capture_for(live, token, sessions, phone=PHONE) -> list[str]:
    ids = []
    with live.client(token) as client:
        for i, sid in enumerate(sessions):
            info = call_info(
                sid,
                contacts=[{"type": "Customer", "phoneNumber": phone}],
                startTime=f"2024-01-01T04:{i:02d}:00Z",
                endTime=None,
            )
            answer = post_call(client, info)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["callId"])
    return ids


def queued(live) -> int:
    with live.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one()


def real_requests(live) -> int:
    with live.runtime.engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(purge_requests)
            .where(purge_requests.c.what_if.is_(False))
        ).scalar_one()


@pytest.fixture
def tokens(live):
    return live.token("capture"), live.token("purge")


def test_every_customer_what_if_answers_a_confirm_token(live, tokens):
    capture_for(live, tokens[0], ["w1"])
    with live.client(tokens[1]) as client:
        preview = client.post(CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": PHONE})
        empty = client.post(
            CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": "+1 512 555 0999"}
        )
    token = preview.json()["confirmToken"]
    assert isinstance(token, str)
    assert len(token) >= 32
    assert isinstance(empty.json()["confirmToken"], str)
    assert empty.json()["confirmToken"] != token


def test_a_large_customer_purge_needs_the_previews_token(live, tokens):
    ids = capture_for(live, tokens[0], [f"big-{i}" for i in range(4)])
    with live.client(tokens[1]) as client:
        refused = client.post(CUSTOMER, json={"phoneNumber": PHONE})
        assert refused.status_code == 409
        # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
        assert refused.headers["content-type"] == "application/json; charset=utf-8"
        problem = refused.json()
        assert problem["matched"] == 4
        assert "4" in problem["detail"]
        assert "whatIf" in problem["detail"]
        assert (queued(live), real_requests(live)) == (0, 0)

        preview = client.post(
            CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": "(512) 555-0123"}
        ).json()
        assert [i["callId"] for i in preview["items"]] == ids
        accepted = client.post(
            CUSTOMER, params={"confirm": preview["confirmToken"]}, json={"phoneNumber": PHONE}
        )
        assert accepted.status_code == 200, accepted.text
        assert [i["status"] for i in accepted.json()["items"]] == ["Purging"] * 4
        # Used once.
        capture_for(live, tokens[0], [f"late-{i}" for i in range(4)])
        again = client.post(
            CUSTOMER, params={"confirm": preview["confirmToken"]}, json={"phoneNumber": PHONE}
        )
        assert again.status_code == 409
    assert real_requests(live) == 1


def test_a_token_binds_the_user_the_number_and_the_previewed_calls(live, tokens):
    capture_for(live, tokens[0], [f"b-{i}" for i in range(4)])
    capture_for(live, tokens[0], [f"o-{i}" for i in range(4)], phone="+1 512 555 0456")
    other_user = live.token("purge")
    with live.client(tokens[1]) as client:
        token = client.post(
            CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": PHONE}
        ).json()["confirmToken"]
        # Another number.
        answer = client.post(
            CUSTOMER, params={"confirm": token}, json={"phoneNumber": "+1 512 555 0456"}
        )
        assert answer.status_code == 409
        assert "preview" in answer.json()["detail"]
    with live.client(other_user) as client:
        answer = client.post(CUSTOMER, params={"confirm": token}, json={"phoneNumber": PHONE})
        assert answer.status_code == 409
    # A call captured after the preview: the set differs, so the token no longer fits.
    capture_for(live, tokens[0], ["b-new"])
    with live.client(tokens[1]) as client:
        answer = client.post(CUSTOMER, params={"confirm": token}, json={"phoneNumber": PHONE})
        assert answer.status_code == 409
        assert "preview" in answer.json()["detail"]
        for bad in ("", "nonsense", "x" * 5000):
            answer = client.post(CUSTOMER, params={"confirm": bad}, json={"phoneNumber": PHONE})
            assert answer.status_code in (400, 409), answer.text
    assert (queued(live), real_requests(live)) == (0, 0)


def test_below_the_threshold_a_token_is_optional_but_binding(live, tokens):
    capture_for(live, tokens[0], ["s-1", "s-2"])
    with live.client(tokens[1]) as client:
        token = client.post(
            CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": PHONE}
        ).json()["confirmToken"]
        capture_for(live, tokens[0], ["s-3"])
        held_to_it = client.post(CUSTOMER, params={"confirm": token}, json={"phoneNumber": PHONE})
        assert held_to_it.status_code == 409
        plain = client.post(CUSTOMER, json={"phoneNumber": PHONE})
        assert plain.status_code == 200
        assert len(plain.json()["items"]) == 3


def test_expired_tokens_are_refused(live, tokens):
    from datetime import timedelta

    from callvault.store.tables import confirm_tokens
    from callvault.store.types import utcnow

    capture_for(live, tokens[0], [f"e-{i}" for i in range(4)])
    with live.client(tokens[1]) as client:
        token = client.post(
            CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": PHONE}
        ).json()["confirmToken"]
    with live.runtime.engine.begin() as conn:
        conn.execute(confirm_tokens.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    with live.client(tokens[1]) as client:
        answer = client.post(CUSTOMER, params={"confirm": token}, json={"phoneNumber": PHONE})
    assert answer.status_code == 409
    assert "preview" in answer.json()["detail"]
    assert queued(live) == 0


# --------------------------------------------------------------------------- quota


def capture_sessions(live, token, sessions) -> list[str]:
    return capture_for(live, token, sessions, phone="+1 512 555 0888")


@pytest.mark.settings(purge_quota_per_hour=5)
def test_the_hourly_quota_refuses_a_request_whole(live, tokens):
    live.app_state.workers.close()  # count what is queued, not what is left of it
    sessions = [f"q-{i}" for i in range(8)]
    capture_sessions(live, tokens[0], sessions)
    with live.client(tokens[1]) as client:
        first = client.post("/purge/v1/calls/sessions", json={"ids": sessions[:4]})
        assert first.status_code == 200
        refused = client.post("/purge/v1/calls/sessions", json={"ids": sessions[4:6]})
        assert refused.status_code == 429
        # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
        assert refused.headers["content-type"] == "application/json; charset=utf-8"
        retry_after = int(refused.headers["retry-after"])
        assert 3500 <= retry_after <= 3600
        assert "quota" in refused.json()["detail"]
        # Nothing of the refused request was queued; what fits still goes through.
        assert queued(live) == 4
        fits = client.post("/purge/v1/calls/sessions", json={"ids": sessions[4:5]})
        assert fits.status_code == 200
        # IDs of no live call queue nothing and cost nothing.
        ghosts = client.post("/purge/v1/calls", json={"ids": ["ghost-1", "ghost-2"]})
        assert ghosts.status_code == 200
        # A preview is never refused.
        preview = client.post(
            "/purge/v1/calls/sessions", params={"whatIf": "true"}, json={"ids": sessions}
        )
        assert preview.status_code == 200
    assert queued(live) == 5
    # The quota is per API user.
    with live.client(live.token("purge")) as client:
        other = client.post("/purge/v1/calls/sessions", json={"ids": sessions[5:8]})
        assert other.status_code == 200


@pytest.mark.settings(purge_quota_per_hour=3)
def test_a_request_larger_than_the_quota_says_so(live, tokens):
    sessions = [f"big-q-{i}" for i in range(4)]
    capture_sessions(live, tokens[0], sessions)
    with live.client(tokens[1]) as client:
        refused = client.post("/purge/v1/calls/sessions", json={"ids": sessions})
    assert refused.status_code == 429
    assert "split" in refused.json()["detail"]
    assert queued(live) == 0


# --------------------------------------------------------------------------- grace window


@pytest.mark.settings(purge_grace_seconds=3600)
def test_grace_window_hides_at_once_erases_later_and_cancel_restores(live, tokens):
    ids = capture_sessions(live, tokens[0], ["g-1", "g-2"])
    reader = live.token("read")
    with live.client(reader) as client:
        before = client.post("/callCapture/v1/status", json={"CallSessionIds": ["g-1"]}).json()
    with live.client(tokens[1]) as client:
        accepted = client.post("/purge/v1/calls/sessions", json={"ids": ["g-1", "g-2"]}).json()
        tracked = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
    assert tracked["eraseAfter"] is not None
    assert tracked["state"] == "Purging"
    with live.client(reader) as client:
        assert client.get(f"/calls/v1/{ids[0]}").status_code == 404  # hidden at once
        status = client.post("/callCapture/v1/status", json={"CallSessionIds": ["g-1"]}).json()
        assert status == before  # Tethr's status is kept until erased
    # A worker finds nothing due inside the window.
    from callvault.purge.loop import ErasureLoop, ErasureOptions

    assert ErasureLoop(live.runtime, ErasureOptions()).run_once() == 0
    with live.client(tokens[1]) as client:
        cancelled = client.post(f"/purge/v1/requests/{accepted['requestId']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        doc = cancelled.json()
        assert doc["state"] == "Cancelled"
        assert [i["status"] for i in doc["items"]] == ["Cancelled", "Cancelled"]
        again = client.post(f"/purge/v1/requests/{accepted['requestId']}/cancel")
        assert again.status_code == 409
    with live.client(reader) as client:
        for call_id in ids:
            assert client.get(f"/calls/v1/{call_id}").status_code == 200
    assert queued(live) == 0
    with live.client(live.token("audit")) as client:
        events = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    assert "purge.cancelled" in [e["action"] for e in events]


@pytest.mark.settings(purge_grace_seconds=1)
def test_cancel_after_the_window_is_409_and_the_erasure_completes(live, tokens):
    import time

    capture_sessions(live, tokens[0], ["late-1"])
    with live.client(tokens[1]) as client:
        accepted = client.post("/purge/v1/calls/sessions", json={"ids": ["late-1"]}).json()
        deadline = time.monotonic() + 30
        while True:
            doc = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
            if doc["state"] != "Purging":
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert doc["items"][0]["status"] == "Purged"
        late = client.post(f"/purge/v1/requests/{accepted['requestId']}/cancel")
        assert late.status_code == 409


def test_without_a_window_cancel_is_409_and_nothing_waits(live, tokens):
    capture_sessions(live, tokens[0], ["now-1"])
    with live.client(tokens[1]) as client:
        accepted = client.post("/purge/v1/calls/sessions", json={"ids": ["now-1"]}).json()
        tracked = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
        assert tracked["eraseAfter"] is None
        answer = client.post(f"/purge/v1/requests/{accepted['requestId']}/cancel")
        assert answer.status_code == 409
        assert client.post("/purge/v1/requests/nope/cancel").status_code == 404
    with live.client(tokens[0]) as client:
        assert client.post("/purge/v1/requests/nope/cancel").status_code == 403


@pytest.mark.settings(purge_quota_per_hour=10)
def test_the_quota_holds_across_two_api_nodes(live, tokens, settings):
    """Two API nodes on one database, one user's requests racing on both: exactly the quota
    is queued, the rest refused whole."""
    from concurrent.futures import ThreadPoolExecutor

    from callvault.api.app import create_app
    from callvault.runtime import Runtime
    from helpers import serve_in_thread

    live.app_state.workers.close()
    sessions = [f"n-{i}" for i in range(30)]
    capture_sessions(live, tokens[0], sessions)
    second = Runtime.open(settings.model_copy(update={"run_worker": False}))
    app = create_app(settings.model_copy(update={"run_worker": False}), second)
    server, thread, port = serve_in_thread(app)
    try:
        urls = [live.url, f"http://127.0.0.1:{port}"]

        def purge(n: int) -> int:
            import httpx

            pair = sessions[2 * n : 2 * n + 2]
            with httpx.Client(
                base_url=urls[n % 2], headers={"Authorization": f"Bearer {tokens[1]}"}, timeout=60
            ) as client:
                return client.post("/purge/v1/calls/sessions", json={"ids": pair}).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(purge, range(15)))
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        second.close()
    assert sorted(codes) == [200] * 5 + [429] * 10, codes
    assert queued(live) == 10


@pytest.mark.settings(purge_grace_seconds=3600)
def test_cancel_restores_a_call_that_a_preview_also_named(live, tokens):
    live.app_state.workers.close()
    (call_id,) = capture_sessions(live, tokens[0], ["pv-1"])
    with live.client(tokens[1]) as client:
        accepted = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()
        client.post("/purge/v1/calls", params={"whatIf": "true"}, json={"ids": [call_id]})
        assert client.post(f"/purge/v1/requests/{accepted['requestId']}/cancel").status_code == 200
    assert queued(live) == 0
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 200


@pytest.mark.settings(purge_grace_seconds=3600)
def test_a_hold_released_inside_the_window_waits_for_it(live, tokens):
    from datetime import UTC, datetime

    from callvault.store.tables import purge_jobs as jobs

    live.app_state.workers.close()
    capture_sessions(live, tokens[0], ["hw-1", "hw-2"])
    hold_token = live.token("hold")
    with live.client(hold_token) as client:
        held = client.post(
            "/holds/v1", json={"matter": "M", "reason": "R", "sessionIds": ["hw-2"]}
        ).json()
    with live.client(tokens[1]) as client:
        accepted = client.post("/purge/v1/calls/sessions", json={"ids": ["hw-1", "hw-2"]}).json()
        erase_after = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()["eraseAfter"]
    with live.client(hold_token) as client:
        client.post(f"/holds/v1/{held['holdId']}/release", json={"reason": "done"})
    with live.runtime.engine.connect() as conn:
        due = conn.execute(select(jobs.c.available_at)).scalars().all()
    assert len(due) == 2
    window = datetime.fromisoformat(erase_after.replace("Z", "+00:00"))
    assert all(abs((d.astimezone(UTC) - window).total_seconds()) < 1 for d in due)
    with live.client(tokens[1]) as client:
        cancelled = client.post(f"/purge/v1/requests/{accepted['requestId']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert {i["status"] for i in cancelled.json()["items"]} == {"Cancelled"}
    assert queued(live) == 0
