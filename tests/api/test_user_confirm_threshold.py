"""An API user's own confirmation threshold (contract §10, §13; issue 33 item 2).

Tethr's v2 SDK cannot send ``?confirm=``: a customer purge above the threshold answers it 409 and
it throws. So an API user that is automation gets its own threshold (``users create|update
--confirm-above N|never``), and the setting ``CALLVAULT_PURGE_CONFIRM_ABOVE`` accepts ``never``.
The quota still applies. Every request goes over a real socket to real uvicorn, framed as the v2
SDK frames it; the calls of a number are seeded in bulk as capture stores them.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.test_tethr_v2_wire import assert_v2_purge, sdk_post
from api.test_tethr_wire import RawResponse
from callvault.auth.users import create_user, update_user
from callvault.demo import seed_calls
from callvault.settings import NEVER
from callvault.store.tables import purge_requests
from helpers import TLS

pytestmark = pytest.mark.both_backends

V2_CUSTOMER = "/interactions/v2/purge/customer"
V1_CUSTOMER = "/purge/v1/calls/customer"
SWITCHBOARD = "+1 512 555 0150"
TEST_LINE = "+1 512 555 0250"


def user_token(live, confirm_above: int | None = None) -> tuple[str, str]:
    """A new purge user (with ``confirm_above`` its own threshold) and a token of it."""
    name = f"robot-{time.monotonic_ns()}"
    creds = create_user(live.runtime.engine, name, ["purge"], confirm_above=confirm_above)
    answer = httpx.post(
        f"{live.url}/Token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
        verify=TLS,
    )
    assert answer.status_code == 200, answer.text
    return name, answer.json()["access_token"]


def seed(live, count: int, phone: str) -> list[str]:
    return seed_calls(live.runtime, count, phones=[phone], session_prefix=f"{phone[-4:]}-")


def v2_purge(live, token: str, phone: str) -> RawResponse:
    body = {"phoneNumbers": [phone], "allowIncompleteInteraction": False}
    return sdk_post(live.port, V2_CUSTOMER, token, body)


def accepted(answer: RawResponse, count: int) -> dict[str, Any]:
    assert answer.status == 200, (answer.status, answer.body[:500])
    doc: dict[str, Any] = answer.json()
    assert [i["status"] for i in assert_v2_purge(doc)] == ["Purging"] * count
    return doc


def needs_confirmation(answer: RawResponse, matched: int) -> dict[str, Any]:
    assert answer.status == 409, (answer.status, answer.body[:500])
    problem: dict[str, Any] = answer.json()
    assert problem["matched"] == matched
    assert str(matched) in problem["detail"]
    return problem


def erasing_requests(live) -> int:
    with live.runtime.engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(purge_requests)
            .where(purge_requests.c.what_if.is_(False))
        ).scalar_one()


def test_a_never_user_purges_150_calls_without_confirm_where_others_get_409(live):
    ids = seed(live, 150, SWITCHBOARD)
    _, ordinary = user_token(live)
    needs_confirmation(v2_purge(live, ordinary, SWITCHBOARD), 150)
    assert erasing_requests(live) == 0

    _, robot = user_token(live, confirm_above=NEVER)
    doc = accepted(v2_purge(live, robot, SWITCHBOARD), 150)
    assert sorted(i["id"] for i in doc["items"]) == sorted(ids)
    assert erasing_requests(live) == 1


def test_a_users_own_threshold_replaces_the_instances(live):
    seed(live, 150, SWITCHBOARD)
    seed(live, 250, TEST_LINE)
    _, robot = user_token(live, confirm_above=200)
    problem = needs_confirmation(v2_purge(live, robot, TEST_LINE), 250)
    assert "200" in problem["detail"]
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {robot}"}) as client:
        v1 = client.post(V1_CUSTOMER, json={"phoneNumber": TEST_LINE})
        assert v1.status_code == 409
        assert v1.json()["matched"] == 250
    assert erasing_requests(live) == 0
    accepted(v2_purge(live, robot, SWITCHBOARD), 150)  # above the instance's 100
    assert erasing_requests(live) == 1


def test_a_user_threshold_of_0_confirms_every_customer_purge(live):
    seed(live, 1, SWITCHBOARD)
    _, careful = user_token(live, confirm_above=0)
    needs_confirmation(v2_purge(live, careful, SWITCHBOARD), 1)


@pytest.mark.settings(purge_quota_per_hour=100)
def test_the_quota_still_refuses_a_never_user(live):
    seed(live, 150, SWITCHBOARD)
    _, robot = user_token(live, confirm_above=NEVER)
    refused = v2_purge(live, robot, SWITCHBOARD)
    assert refused.status == 429, (refused.status, refused.body[:500])
    assert refused.header("retry-after") is not None
    assert "quota" in refused.json()["detail"]
    assert erasing_requests(live) == 0


@pytest.mark.settings(purge_confirm_above="never")
def test_the_setting_never_works_instance_wide(live):
    seed(live, 150, SWITCHBOARD)
    seed(live, 3, TEST_LINE)
    _, careful = user_token(live, confirm_above=2)  # a user's own threshold still holds
    needs_confirmation(v2_purge(live, careful, TEST_LINE), 3)
    _, ordinary = user_token(live)
    accepted(v2_purge(live, ordinary, SWITCHBOARD), 150)


@pytest.mark.settings(purge_confirm_above=3)
def test_a_change_takes_effect_for_the_next_request_of_an_existing_token(live):
    seed(live, 4, SWITCHBOARD)
    name, token = user_token(live)
    needs_confirmation(v2_purge(live, token, SWITCHBOARD), 4)
    update_user(live.runtime.engine, name, confirm_above=NEVER)
    accepted(v2_purge(live, token, SWITCHBOARD), 4)

    seed(live, 4, TEST_LINE)
    update_user(live.runtime.engine, name, confirm_above=None)  # back to the instance's 3
    needs_confirmation(v2_purge(live, token, TEST_LINE), 4)
