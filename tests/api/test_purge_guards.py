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
        assert refused.headers["content-type"] == "application/problem+json"
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
