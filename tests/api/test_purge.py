"""The seed's three purge endpoints (contract §5, §6) over real HTTP."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from callvault.store.tables import calls, purge_jobs
from helpers import call_info

pytestmark = pytest.mark.both_backends


def wait_request(client, request_id: str, deadline: float = 30) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] != "Purging":
            return doc
        time.sleep(0.05)
    raise AssertionError(f"purge request {request_id} did not finish")


@pytest.fixture
def tokens(live):
    return live.token("capture", "read"), live.token("purge")


def _capture_many(live, capture, token, sessions, **overrides):
    ids = {}
    with live.client(token) as client:
        for sid in sessions:
            answer = capture(client, call_info(sid, **overrides.get(sid, {})))
            assert answer.status_code == 200, answer.text
            ids[sid] = answer.json()["callId"]
    return ids


def test_seed_single_call_purge_by_call_id(live, capture, tokens):
    ids = _capture_many(live, capture, tokens[0], ["SessionId"])
    with live.client(tokens[1]) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [ids["SessionId"]]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    body = answer.json()
    assert body["items"] == [
        {
            "callId": ids["SessionId"],
            "sessionId": "SessionId",
            "status": "Purging",
            "errorMsg": None,
        }
    ]
    assert answer.headers["location"] == f"/purge/v1/requests/{body['requestId']}"


def test_seed_multiple_call_purge_with_bad_id(live, capture, tokens):
    ids = _capture_many(live, capture, tokens[0], ["S1", "S2"])
    with live.client(tokens[1]) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [ids["S1"], ids["S2"], "BadCallID"]})
    assert answer.json()["items"] == [
        {"callId": ids["S1"], "sessionId": "S1", "status": "Purging", "errorMsg": None},
        {"callId": ids["S2"], "sessionId": "S2", "status": "Purging", "errorMsg": None},
        {"callId": "BadCallID", "sessionId": None, "status": "NotFound", "errorMsg": None},
    ]


def test_seed_single_and_multiple_session_purge(live, capture, tokens):
    ids = _capture_many(live, capture, tokens[0], ["SessionId", "SessionId1", "SessionId2"])
    with live.client(tokens[1]) as client:
        one = client.post("/purge/v1/calls/sessions", json={"ids": ["SessionId"]}).json()
        many = client.post(
            "/purge/v1/calls/sessions", json={"ids": ["SessionId1", "SessionId2", "BadSessionId"]}
        ).json()
    assert one["items"] == [
        {
            "callId": ids["SessionId"],
            "sessionId": "SessionId",
            "status": "Purging",
            "errorMsg": None,
        }
    ]
    assert many["items"] == [
        {
            "callId": ids["SessionId1"],
            "sessionId": "SessionId1",
            "status": "Purging",
            "errorMsg": None,
        },
        {
            "callId": ids["SessionId2"],
            "sessionId": "SessionId2",
            "status": "Purging",
            "errorMsg": None,
        },
        {"callId": None, "sessionId": "BadSessionId", "status": "NotFound", "errorMsg": None},
    ]


def _customer(phone):
    return {"contacts": [{"type": "Customer", "phoneNumber": phone}, {"type": "Agent"}]}


def test_seed_customer_purge_matches_every_format_in_start_order(live, capture, tokens):
    overrides = {
        "c-late": {
            **_customer("1-512-555-1234"),
            "startTime": "2024-03-01T00:00:00Z",
            "endTime": None,
        },
        "c-early": {
            **_customer("+15125551234"),
            "startTime": "2024-01-01T00:00:00Z",
            "endTime": None,
        },
        "c-mid": {
            **_customer("(512) 555-1234"),
            "startTime": "2024-02-01T00:00:00Z",
            "endTime": None,
        },
        "other": {**_customer("+15125559999")},
        "agent-only": {"contacts": [{"type": "Agent", "phoneNumber": "+15125551234"}]},
    }
    ids = _capture_many(live, capture, tokens[0], list(overrides), **overrides)
    with live.client(tokens[1]) as client:
        preview = client.post(
            "/purge/v1/calls/customer?whatIf=true", json={"phoneNumber": "+15125551234"}
        )
        real = client.post("/purge/v1/calls/customer", json={"phoneNumber": "512-555-1234"})
    order = ["c-early", "c-mid", "c-late"]
    assert preview.json()["items"] == [
        {"callId": ids[s], "sessionId": s, "status": "WhatIf", "errorMsg": None} for s in order
    ]
    assert "location" not in preview.headers
    assert real.json()["items"] == [
        {"callId": ids[s], "sessionId": s, "status": "Purging", "errorMsg": None} for s in order
    ]


def test_customer_with_no_calls_is_empty(live, tokens):
    with live.client(tokens[1]) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": "+15125550000"})
    assert answer.status_code == 200
    assert answer.json()["items"] == []


@pytest.mark.parametrize("path", ["/purge/v1/calls", "/purge/v1/calls/sessions"])
def test_what_if_changes_nothing_and_equals_the_real_run(live, capture, tokens, path):
    ids = _capture_many(live, capture, tokens[0], ["w1", "w2"])
    asked = [ids["w1"], "nope", ids["w2"]] if path.endswith("calls") else ["w1", "nope", "w2"]
    with live.client(tokens[1]) as client:
        preview = client.post(f"{path}?whatIf=true", json={"ids": asked}).json()["items"]
        with live.client(tokens[0]) as reader:
            for sid in ("w1", "w2"):
                assert reader.get(f"/calls/v1/{ids[sid]}").status_code == 200
        real = client.post(path, json={"ids": asked}).json()["items"]
    assert [{**i, "status": i["status"].replace("WhatIf", "Purging")} for i in preview] == real


def test_purging_hides_then_erases_and_status_becomes_not_found(live, capture, tokens):
    ids = _capture_many(live, capture, tokens[0], ["gone", "kept"])
    with live.client(tokens[1]) as client:
        body = client.post("/purge/v1/calls/sessions", json={"Ids": ["gone"]}).json()
        done = wait_request(client, body["requestId"])
    assert done["state"] == "Complete"
    assert done["kind"] == "sessions"
    assert done["whatIf"] is False
    assert done["items"][0]["status"] == "Purged"
    assert done["items"][0]["erasedAt"]
    with live.client(tokens[0]) as client:
        assert client.get(f"/calls/v1/{ids['gone']}").status_code == 404
        assert client.get(f"/calls/v1/{ids['gone']}/audio").status_code == 404
        statuses = client.post(
            "/callCapture/v1/status", json={"CallSessionIds": ["gone", "kept"]}
        ).json()["callSessions"]
        assert client.get(f"/calls/v1/{ids['kept']}").status_code == 200
    assert statuses[0] == {"sessionId": "gone", "status": "NotFound"}
    assert statuses[1]["status"] in ("Concluded", "Complete")
    with live.client(tokens[1]) as client:
        again = client.post("/purge/v1/calls", json={"ids": [ids["gone"]]}).json()
    assert again["items"][0]["status"] == "NotFound"


def test_asking_again_while_purging_queues_nothing_new(live, capture, tokens, settings):
    ids = _capture_many(live, capture, tokens[0], ["twice"])
    # Stop the in-process worker so the call stays Purging while we ask again.
    live_workers = live.app_state.workers
    live_workers.close()
    with live.client(tokens[1]) as client:
        first = client.post("/purge/v1/calls", json={"ids": [ids["twice"]]}).json()
        second = client.post("/purge/v1/calls", json={"ids": [ids["twice"]]}).json()
        with live.client(tokens[0]) as reader:
            assert reader.get(f"/calls/v1/{ids['twice']}").status_code == 404
            status = reader.get("/callCapture/v1/status/twice").json()
    assert first["items"][0]["status"] == "Purging"
    assert second["items"][0]["status"] == "Purging"
    # Tethr's status keeps what the call had until it is erased (section 4).
    assert status["status"] in ("Concluded", "Complete")
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one() == 1


def test_duplicate_ids_give_one_item_each_in_first_order(live, capture, tokens):
    ids = _capture_many(live, capture, tokens[0], ["d1", "d2"])
    with live.client(tokens[1]) as client:
        items = client.post(
            "/purge/v1/calls/sessions?whatIf=true", json={"ids": ["d2", "x", "d2", "d1", "x"]}
        ).json()["items"]
    assert [i["sessionId"] for i in items] == ["d2", "x", "d1"]
    assert items[0]["callId"] == ids["d2"]


BAD_BODIES = [
    pytest.param({"ids": []}, "ids", id="zero"),
    pytest.param({"ids": [f"i{n}" for n in range(101)]}, "100", id="101"),
    pytest.param({"ids": [1, 2]}, "string", id="ints"),
    pytest.param({"ids": ["a", None]}, "string", id="null-id"),
    pytest.param({"ids": "abc"}, "list", id="not-list"),
    pytest.param({}, "ids", id="missing"),
    pytest.param({"id": ["a"]}, "ids", id="wrong-key"),
    pytest.param(["a"], "object", id="array-body"),
    pytest.param("abc", "object", id="string-body"),
]


@pytest.mark.parametrize("path", ["/purge/v1/calls", "/purge/v1/calls/sessions"])
@pytest.mark.parametrize(("body", "mentions"), BAD_BODIES)
def test_bad_id_bodies_are_400_and_purge_nothing(live, capture, tokens, path, body, mentions):
    _capture_many(live, capture, tokens[0], ["a"])
    with live.client(tokens[1]) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 400, answer.text
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert mentions in answer.json()["detail"]
    _nothing_purged(live)


def _nothing_purged(live):
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one() == 0
        statuses = conn.execute(select(calls.c.status)).scalars().all()
    assert "Purging" not in statuses


@pytest.mark.parametrize("path", ["/purge/v1/calls", "/purge/v1/calls/customer"])
def test_non_json_is_400(live, tokens, path):
    with live.client(tokens[1]) as client:
        answer = client.post(path, content=b"ids=1", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]


@pytest.mark.parametrize("phone", ["", "abc", "12", "+", "not a number at all", "1" * 80])
def test_unparseable_phone_is_400_and_purges_nothing(live, capture, tokens, phone):
    _capture_many(live, capture, tokens[0], ["p"])
    with live.client(tokens[1]) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": phone})
    assert answer.status_code == 400
    assert "phone" in answer.json()["detail"]
    _nothing_purged(live)


@pytest.mark.parametrize("body", [{}, {"phoneNumber": 15125551234}, {"phoneNumber": None}])
def test_bad_customer_bodies_are_400(live, tokens, body):
    with live.client(tokens[1]) as client:
        answer = client.post("/purge/v1/calls/customer", json=body)
    assert answer.status_code == 400
    assert "phoneNumber" in answer.json()["detail"]


def test_bad_what_if_value_is_400(live, tokens):
    with live.client(tokens[1]) as client:
        answer = client.post("/purge/v1/calls?whatIf=maybe", json={"ids": ["a"]})
    assert answer.status_code == 400
    assert "whatIf" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/purge/v1/calls", {"ids": ["a"]}),
        ("/purge/v1/calls/sessions", {"ids": ["a"]}),
        ("/purge/v1/calls/customer", {"phoneNumber": "+15125551234"}),
    ],
)
def test_purge_needs_purge_permission(live, capture, tokens, path, body):
    _capture_many(live, capture, tokens[0], ["a"])
    with live.client(tokens[0]) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 403
    with live.client() as client:
        assert client.post(path, json=body).status_code == 401
    _nothing_purged(live)


def test_request_tracking_permissions_and_404(live, tokens):
    with live.client(tokens[1]) as client:
        rid = client.post("/purge/v1/calls", json={"ids": ["zz"]}).json()["requestId"]
        assert client.get("/purge/v1/requests/unknown").status_code == 404
    with live.client(live.token("audit")) as client:
        doc = client.get(f"/purge/v1/requests/{rid}").json()
    assert doc["state"] == "Complete"
    assert doc["items"] == [
        {
            "callId": "zz",
            "sessionId": None,
            "status": "NotFound",
            "errorMsg": None,
            "erasedAt": None,
            "holdIds": [],
        }
    ]
    with live.client(tokens[0]) as client:
        assert client.get(f"/purge/v1/requests/{rid}").status_code == 403


def _purge_item_counts(live) -> dict[str, float]:
    with live.client(live.token("audit")) as client:
        text = client.get("/metrics").text
    prefix = 'callvault_purge_items_total{status="'
    return {
        line[len(prefix) :].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def test_metrics_count_each_answered_item_once_by_status(live, capture, tokens):
    ids = _capture_many(live, capture, tokens[0], ["met-1", "met-2", "met-3"])
    before = _purge_item_counts(live)
    with live.client(tokens[1]) as client:
        asked = [ids["met-1"], ids["met-2"], "no-such-call"]
        assert client.post("/purge/v1/calls?whatIf=true", json={"ids": asked}).status_code == 200
        client.post("/purge/v1/calls", json={"ids": [ids["met-3"]]})
    after = _purge_item_counts(live)
    grown = {s: after[s] - before.get(s, 0.0) for s in after if after[s] != before.get(s, 0.0)}
    assert grown == {"WhatIf": 2.0, "NotFound": 1.0, "Purging": 1.0}
