"""Legal holds (contract §12) over real HTTP, on both backends."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from callvault.store.tables import legal_holds, purge_jobs
from helpers import call_info, post_call, stored_bytes

pytestmark = pytest.mark.both_backends

PHONE = "(512) 555-0142"
OTHER_PHONE = "+1 512 555 0199"


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {
        "capture": live.token("capture"),
        "purge": live.token("purge"),
        "hold": live.token("hold"),
        "audit": live.token("audit"),
        "admin": live.token("admin"),
    }


def capture_calls(live, token, sessions, phone=PHONE, start="2024-01-01T04:23:00Z") -> dict:
    ids = {}
    with live.client(token) as client:
        for sid in sessions:
            contacts = [{"type": "Customer", "phoneNumber": phone}]
            info = call_info(sid, contacts=contacts, startTime=start, endTime=None)
            answer = post_call(client, info)
            assert answer.status_code == 200, answer.text
            ids[sid] = answer.json()["callId"]
    return ids


def place(live, token, **body: Any):
    body.setdefault("matter", "Doe v. Acme")
    body.setdefault("reason", "litigation notice of 2026-11-30")
    with live.client(token) as client:
        return client.post("/holds/v1", json=body)


def wait_state(client, request_id: str, states=("Complete", "Failed", "Held")) -> dict:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] in states:
            return doc
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} never reached {states}: {doc}")


def audit_actions(live, token) -> list[dict]:
    with live.client(token) as client:
        return client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]


# --------------------------------------------------------------------------- placing and reading


def test_place_get_list_release_a_hold(live, tokens):
    ids = capture_calls(live, tokens["capture"], ["h1", "h2"])
    capture_calls(live, tokens["capture"], ["other"], phone=OTHER_PHONE)
    answer = place(live, tokens["hold"], phoneNumbers=["512-555-0142"], sessionIds=["h2"])
    assert answer.status_code == 201, answer.text
    hold = answer.json()
    assert answer.headers["location"] == f"/holds/v1/{hold['holdId']}"
    assert len(hold["holdId"]) >= 32
    assert hold["state"] == "Active"
    assert hold["matter"] == "Doe v. Acme"
    assert hold["reason"] == "litigation notice of 2026-11-30"
    assert hold["createdBy"]
    assert hold["createdAt"].endswith("Z")
    assert (hold["releasedBy"], hold["releasedAt"], hold["releaseReason"]) == (None, None, None)
    assert hold["scope"] == {
        "callIds": [],
        "sessionIds": ["h2"],
        "phoneNumbers": ["+15125550142"],
        "phoneNumbersForgotten": 0,
        "startedAfter": None,
        "startedBefore": None,
    }
    assert hold["coveredCalls"] == len(ids)
    assert hold["pendingErasures"] == {"calls": 0, "requestIds": []}

    with live.client(tokens["audit"]) as client:
        assert client.get(f"/holds/v1/{hold['holdId']}").json() == hold
        # Counted only for the hold asked about (contract §12), never for a list's holds.
        counted = ("coveredCalls", "pendingErasures")
        listed = {k: v for k, v in hold.items() if k not in counted}
        assert client.get("/holds/v1").json() == {"holds": [listed]}
        assert client.get("/holds/v1", params={"state": "Released"}).json() == {"holds": []}

    with live.client(tokens["hold"]) as client:
        released = client.post(
            f"/holds/v1/{hold['holdId']}/release", json={"reason": "case settled"}
        )
        assert released.status_code == 200, released.text
        doc = released.json()
        assert doc["state"] == "Released"
        assert doc["releaseReason"] == "case settled"
        assert doc["releasedBy"]
        assert doc["releasedAt"]
        again = client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "twice"})
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert client.get("/holds/v1").json() == {"holds": []}
        listed = client.get("/holds/v1", params={"state": "all"}).json()["holds"]
        assert [h["holdId"] for h in listed] == [hold["holdId"]]
        assert listed[0]["state"] == "Released"

    events = audit_actions(live, tokens["audit"])
    placed = [e for e in events if e["action"] == "hold.placed"]
    released_events = [e for e in events if e["action"] == "hold.released"]
    assert placed[0]["details"]["holdId"] == hold["holdId"]
    assert "reasonHash" in placed[0]["details"]
    assert "litigation notice" not in str(events)
    assert placed[0]["actor"] == hold["createdBy"]
    assert "releaseReasonHash" in released_events[0]["details"]
    assert "case settled" not in str(events)
    assert "5550142" not in str(events)


def test_list_is_newest_first(live, tokens):
    first = place(live, tokens["hold"], sessionIds=["a"]).json()
    second = place(live, tokens["hold"], sessionIds=["b"]).json()
    with live.client(tokens["hold"]) as client:
        holds = client.get("/holds/v1").json()["holds"]
    assert [h["holdId"] for h in holds] == [second["holdId"], first["holdId"]]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"matter": "M", "reason": "R"}, "scope"),
        ({"reason": "R", "sessionIds": ["s"]}, "matter"),
        ({"matter": "M", "sessionIds": ["s"]}, "reason"),
        ({"matter": "", "reason": "R", "sessionIds": ["s"]}, "matter"),
        ({"matter": "M", "reason": "   ", "sessionIds": ["s"]}, "reason"),
        ({"matter": "M" * 201, "reason": "R", "sessionIds": ["s"]}, "200"),
        ({"matter": "M", "reason": "R" * 2001, "sessionIds": ["s"]}, "2000"),
        ({"matter": "M", "reason": "R", "sessionIds": [f"s{i}" for i in range(1001)]}, "1000"),
        ({"matter": "M", "reason": "R", "callIds": [f"c{i}" for i in range(1001)]}, "1000"),
        ({"matter": "M", "reason": "R", "phoneNumbers": ["+15125550100"] * 1001}, "1000"),
        ({"matter": "M", "reason": "R", "phoneNumbers": ["12"]}, "phoneNumbers[0]"),
        ({"matter": "M", "reason": "R", "phoneNumbers": ["555-1234"]}, "area code"),
        ({"matter": "M", "reason": "R", "sessionIds": [""]}, "sessionIds[0]"),
        ({"matter": "M", "reason": "R", "sessionIds": "s1"}, "sessionIds"),
        ({"matter": "M", "reason": "R", "sessionIds": [1]}, "sessionIds"),
        ({"matter": "M", "reason": "R", "startedAfter": "yesterday"}, "startedAfter"),
        (
            {
                "matter": "M",
                "reason": "R",
                "startedAfter": "2024-02-01T00:00:00Z",
                "startedBefore": "2024-01-01T00:00:00Z",
            },
            "earlier",
        ),
        ({"matter": "M", "reason": "R", "phones": ["+15125550100"]}, "phones"),
        (
            {"matter": "M", "reason": "R", "callIds": ["a"], "CALLIDS": ["b"]},
            "name the same field",
        ),
        ({"matter": 5, "reason": "R", "sessionIds": ["s"]}, "matter"),
        ({"matter": "M\x00", "reason": "R", "sessionIds": ["s"]}, "matter"),
    ],
)
def test_bad_holds_are_400_and_change_nothing(live, tokens, body, mentions):
    with live.client(tokens["hold"]) as client:
        answer = client.post("/holds/v1", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert mentions in answer.json()["detail"]
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(legal_holds)).scalar_one() == 0


def test_non_json_and_unknown_and_bad_release(live, tokens):
    with live.client(tokens["hold"]) as client:
        assert client.post("/holds/v1", content=b"{nope").status_code == 400
        assert client.post("/holds/v1", json=[1]).status_code == 400
        assert client.get("/holds/v1/nope").status_code == 404
        assert client.post("/holds/v1/nope/release", json={"reason": "r"}).status_code == 404
        assert client.get("/holds/v1", params={"state": "gone"}).status_code == 400
        hold = client.post(
            "/holds/v1", json={"matter": "M", "reason": "R", "sessionIds": ["s"]}
        ).json()
        for body in ({}, {"reason": ""}, {"reason": 3}):
            answer = client.post(f"/holds/v1/{hold['holdId']}/release", json=body)
            assert answer.status_code == 400, answer.text
        assert client.get(f"/holds/v1/{hold['holdId']}").json()["state"] == "Active"


def test_permissions(live, tokens):
    body = {"matter": "M", "reason": "R", "sessionIds": ["s"]}
    for who in ("capture", "purge", "audit"):
        with live.client(tokens[who]) as client:
            assert client.post("/holds/v1", json=body).status_code == 403
    with live.client(tokens["capture"]) as client:
        assert client.get("/holds/v1").status_code == 403
    with live.client() as client:
        assert client.get("/holds/v1").status_code == 401
    with live.client(tokens["admin"]) as client:
        hold = client.post("/holds/v1", json=body).json()
    with live.client(tokens["audit"]) as client:
        answer = client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "r"})
        assert answer.status_code == 403


# --------------------------------------------------------------------------- a hold beats a purge


def _held_answer(items: list[dict], hold_id: str) -> None:
    for item in items:
        assert item["status"] == "Error", item
        assert item["errorMsg"] == f"held by legal hold {hold_id}"


@pytest.mark.parametrize("what_if", [False, True])
def test_every_purge_endpoint_refuses_covered_calls(live, tokens, what_if):
    ids = capture_calls(live, tokens["capture"], ["p1", "p2"])
    free = capture_calls(live, tokens["capture"], ["free"], phone=OTHER_PHONE)
    hold = place(live, tokens["hold"], phoneNumbers=[PHONE]).json()
    params = {"whatIf": "true"} if what_if else {}
    with live.client(tokens["purge"]) as client:
        by_call = client.post("/purge/v1/calls", params=params, json={"ids": [ids["p1"]]}).json()
        by_session = client.post(
            "/purge/v1/calls/sessions", params=params, json={"ids": ["p2", "free"]}
        ).json()
        by_phone = client.post(
            "/purge/v1/calls/customer", params=params, json={"phoneNumber": "+15125550142"}
        ).json()
        _held_answer(by_call["items"], hold["holdId"])
        _held_answer(by_session["items"][:1], hold["holdId"])
        assert by_session["items"][1]["status"] == ("WhatIf" if what_if else "Purging")
        assert {i["callId"] for i in by_phone["items"]} == {ids["p1"], ids["p2"]}
        _held_answer(by_phone["items"], hold["holdId"])
        tracked = client.get(f"/purge/v1/requests/{by_call['requestId']}").json()
        assert tracked["items"][0]["status"] == "Held"
        assert tracked["items"][0]["holdIds"] == [hold["holdId"]]
        assert tracked["state"] == ("Complete" if what_if else "Held")
        if not what_if:
            done = wait_state(client, by_session["requestId"])
            assert [i["status"] for i in done["items"]] == ["Held", "Purged"]
            assert done["state"] == "Held"
    # Neither hidden nor queued: still served, status unchanged.
    with live.client(tokens["admin"]) as client:
        for call_id in ids.values():
            assert client.get(f"/calls/v1/{call_id}").status_code == 200
        status = client.post("/callCapture/v1/status", json={"CallSessionIds": ["p1", "p2"]})
        assert all(s["status"] in ("Concluded", "Complete") for s in status.json()["callSessions"])
    with live.runtime.engine.connect() as conn:
        queued = conn.execute(select(purge_jobs.c.call_id)).scalars().all()
    assert set(queued) <= set(free.values())


def test_a_hold_is_a_standing_rule_and_windows_narrow_it(live, tokens):
    window = place(
        live,
        tokens["hold"],
        startedAfter="2024-03-01T00:00:00",
        startedBefore="2024-04-01T00:00:00.000Z",
    ).json()
    assert window["coveredCalls"] == 0
    inside = capture_calls(live, tokens["capture"], ["in"], start="2024-03-15T10:00:00Z")
    capture_calls(live, tokens["capture"], ["edge"], start="2024-04-01T00:00:00Z")
    capture_calls(live, tokens["capture"], ["before"], start="2024-02-29T23:59:59Z")
    with live.client(tokens["hold"]) as client:
        assert client.get(f"/holds/v1/{window['holdId']}").json()["coveredCalls"] == 1
    with live.client(tokens["purge"]) as client:
        answer = client.post("/purge/v1/calls/sessions", json={"ids": ["in", "edge", "before"]})
        items = answer.json()["items"]
        assert items[0] == {
            "callId": inside["in"],
            "sessionId": "in",
            "status": "Error",
            "errorMsg": f"held by legal hold {window['holdId']}",
        }
        assert [i["status"] for i in items[1:]] == ["Purging", "Purging"]


def test_hold_placed_while_queued_saves_the_call_and_release_resumes_it(live, tokens):
    live.app_state.workers.close()  # the erasure waits in the queue
    ids = capture_calls(live, tokens["capture"], ["q1", "q2"])
    with live.client(tokens["admin"]) as client:
        before = client.post("/callCapture/v1/status", json={"CallSessionIds": ["q1"]}).json()
    with live.client(tokens["purge"]) as client:
        accepted = client.post("/purge/v1/calls/sessions", json={"ids": ["q1", "q2"]}).json()
    assert [i["status"] for i in accepted["items"]] == ["Purging", "Purging"]

    hold = place(live, tokens["hold"], sessionIds=["q1"]).json()
    assert hold["coveredCalls"] == 1
    with live.client(tokens["purge"]) as client:
        tracked = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
    assert tracked["state"] == "Purging"  # q2 still waits
    assert [i["status"] for i in tracked["items"]] == ["Held", "Purging"]
    assert tracked["items"][0]["holdIds"] == [hold["holdId"]]
    with live.client(tokens["admin"]) as client:
        assert client.get(f"/calls/v1/{ids['q1']}").status_code == 200
        assert client.get(f"/calls/v1/{ids['q1']}/audio").status_code == 200
        assert client.get(f"/calls/v1/{ids['q2']}").status_code == 404
        after = client.post("/callCapture/v1/status", json={"CallSessionIds": ["q1"]}).json()
    assert after == before

    # A second hold on the same call: releasing the first alone resumes nothing.
    second = place(live, tokens["hold"], callIds=[ids["q1"]], matter="Roe v. Acme").json()
    with live.client(tokens["hold"]) as client:
        client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "settled"})
    with live.client(tokens["purge"]) as client:
        tracked = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
    assert tracked["items"][0]["status"] == "Held"
    assert tracked["items"][0]["holdIds"] == [second["holdId"]]

    with live.client(tokens["hold"]) as client:
        client.post(f"/holds/v1/{second['holdId']}/release", json={"reason": "dismissed"})
    with live.client(tokens["purge"]) as client:
        tracked = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
        assert tracked["state"] == "Purging"
        assert [i["status"] for i in tracked["items"]] == ["Purging", "Purging"]
        with live.client(tokens["admin"]) as reader:
            assert reader.get(f"/calls/v1/{ids['q1']}").status_code == 404

        from callvault.purge.loop import ErasureLoop, ErasureOptions

        ErasureLoop(live.runtime, ErasureOptions()).run_once()
        done = wait_state(client, accepted["requestId"])
    assert done["state"] == "Complete"
    assert [i["status"] for i in done["items"]] == ["Purged", "Purged"]
    assert live.runtime.keystore.get(ids["q1"]) is None
    actions = [e["action"] for e in audit_actions(live, tokens["audit"])]
    assert actions.count("purge.held") == 1
    assert actions.count("purge.resumed") == 1
    assert actions.count("hold.released") == 2


def test_release_resumes_an_erasure_refused_at_acceptance(live, tokens):
    ids = capture_calls(live, tokens["capture"], ["r1"])
    hold = place(live, tokens["hold"], callIds=[ids["r1"]]).json()
    with live.client(tokens["purge"]) as client:
        accepted = client.post("/purge/v1/calls", json={"ids": [ids["r1"]]}).json()
        preview = client.post(
            "/purge/v1/calls", params={"whatIf": "true"}, json={"ids": [ids["r1"]]}
        ).json()
        assert client.get(f"/purge/v1/requests/{accepted['requestId']}").json()["state"] == "Held"
    with live.client(tokens["hold"]) as client:
        client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "done"})
    with live.client(tokens["purge"]) as client:
        done = wait_state(client, accepted["requestId"], states=("Complete", "Failed"))
        assert done["items"][0]["status"] == "Purged"
        # A preview is never resumed: it asked for nothing.
        whatif = client.get(f"/purge/v1/requests/{preview['requestId']}").json()
        assert whatif["items"][0]["status"] == "Held"
    with live.client(tokens["admin"]) as client:
        assert client.get(f"/calls/v1/{ids['r1']}").status_code == 404


def test_hold_racing_a_running_worker_never_keeps_a_call_without_its_key(live, tokens):
    sessions = [f"race-{i}" for i in range(60)]
    ids = capture_calls(live, tokens["capture"], sessions)
    with live.client(tokens["purge"]) as client:
        accepted = client.post("/purge/v1/calls/sessions", json={"ids": sessions}).json()
    hold = place(live, tokens["hold"], sessionIds=sessions).json()
    with live.client(tokens["purge"]) as client:
        done = wait_state(client, accepted["requestId"])
    statuses = {i["sessionId"]: i["status"] for i in done["items"]}
    assert set(statuses.values()) <= {"Purged", "Held"}
    held = [s for s, status in statuses.items() if status == "Held"]
    assert hold["coveredCalls"] == len(held)
    with live.client(tokens["admin"]) as client:
        for sid in sessions:
            call_id = ids[sid]
            key = live.runtime.keystore.get(call_id)
            if statuses[sid] == "Held":
                assert key is not None
                assert client.get(f"/calls/v1/{call_id}/audio").status_code == 200
            else:
                assert key is None
                assert client.get(f"/calls/v1/{call_id}").status_code == 404
    with live.client(tokens["hold"]) as client:
        client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "over"})
    with live.client(tokens["purge"]) as client:
        final = wait_state(client, accepted["requestId"], states=("Complete", "Failed"))
    assert {i["status"] for i in final["items"]} == {"Purged"}


def test_a_holds_phone_numbers_are_never_stored_in_clear(live, tokens):
    given = ["(646) 555-0187", "+44 20 7946 0958"]
    hold = place(live, tokens["hold"], phoneNumbers=given).json()
    assert hold["scope"]["phoneNumbers"] == ["+16465550187", "+442079460958"]
    stored = stored_bytes(live.runtime)
    for needle in ("6465550187", "646) 555-0187", "2079460958", "20 7946 0958", "5550187"):
        assert needle.encode() not in stored, needle
        assert needle.encode("utf-16-le") not in stored, needle


# ----------------------------------------------------------------- not an oracle or a lever


@pytest.mark.settings(max_active_holds=2)
def test_active_holds_are_capped(live, tokens):
    first = place(live, tokens["hold"], sessionIds=["a"]).json()
    assert place(live, tokens["hold"], sessionIds=["b"]).status_code == 201
    refused = place(live, tokens["hold"], sessionIds=["c"])
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    detail = refused.json()["detail"]
    assert "2 legal holds are active" in detail
    assert "CALLVAULT_MAX_ACTIVE_HOLDS" in detail
    assert "release" in detail
    with live.client(tokens["hold"]) as client:
        assert len(client.get("/holds/v1").json()["holds"]) == 2
        client.post(f"/holds/v1/{first['holdId']}/release", json={"reason": "over"})
    assert place(live, tokens["hold"], sessionIds=["c"]).status_code == 201


@pytest.mark.settings(hold_rate_per_hour=3)
def test_hold_placement_is_rate_limited_per_user(live, tokens):
    for sid in ("a", "b", "c"):
        assert place(live, tokens["hold"], sessionIds=[sid]).status_code == 201
    refused = place(live, tokens["hold"], sessionIds=["d"])
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert "CALLVAULT_HOLD_RATE_PER_HOUR" in refused.json()["detail"]
    # Another user has its own allowance; nothing was placed by the refused request.
    assert place(live, tokens["admin"], sessionIds=["d"]).status_code == 201
    with live.client(tokens["audit"]) as client:
        assert len(client.get("/holds/v1").json()["holds"]) == 4


def test_the_list_is_paged_and_counts_no_coverage(live, tokens):
    capture_calls(live, tokens["capture"], ["p1"])
    placed = [place(live, tokens["hold"], sessionIds=[f"p{i}"]).json() for i in range(1, 4)]
    with live.client(tokens["audit"]) as client:
        first = client.get("/holds/v1", params={"limit": 2}).json()
        assert [h["holdId"] for h in first["holds"]] == [placed[2]["holdId"], placed[1]["holdId"]]
        assert all("coveredCalls" not in h for h in first["holds"])
        second = client.get("/holds/v1", params={"limit": 2, "cursor": first["nextCursor"]})
        assert second.status_code == 200, second.text
        assert [h["holdId"] for h in second.json()["holds"]] == [placed[0]["holdId"]]
        assert "nextCursor" not in second.json()
        assert "nextCursor" not in client.get("/holds/v1").json()
        assert len(client.get("/holds/v1").json()["holds"]) == 3
        assert client.get(f"/holds/v1/{placed[0]['holdId']}").json()["coveredCalls"] == 1
        for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "nonsense!"}):
            bad = client.get("/holds/v1", params=params)
            assert bad.status_code == 400, (params, bad.text)
            assert bad.headers["content-type"] == "application/problem+json"


# ----------------------------------------------------------------- a hold's words outlive nothing

SECRET_PHONE = "+1 415 555 0163"
SECRET_EMAIL = "jane.roe.qz@example.org"


def test_hold_audit_events_carry_keyed_hashes_never_the_texts(live, tokens):
    hold = place(
        live, tokens["hold"], matter="Roe matter", reason="asked by Jane", sessionIds=["a"]
    )
    hold = hold.json()
    with live.client(tokens["hold"]) as client:
        client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "settled by Jane"})
    events = audit_actions(live, tokens["audit"])
    placed = next(e for e in events if e["action"] == "hold.placed")["details"]
    released = next(e for e in events if e["action"] == "hold.released")["details"]
    assert placed["holdId"] == released["holdId"] == hold["holdId"]
    assert {"matterHash", "reasonHash"} <= placed.keys()
    assert "releaseReasonHash" in released
    assert len({placed["matterHash"], placed["reasonHash"], released["releaseReasonHash"]}) == 3
    for text in ("Roe matter", "Jane", "settled"):
        assert text not in str(events), text


def test_a_released_hold_forgets_its_phone_numbers(live, tokens):
    ids = capture_calls(live, tokens["capture"], ["f1"])
    hold = place(live, tokens["hold"], phoneNumbers=[PHONE, OTHER_PHONE]).json()
    assert hold["scope"]["phoneNumbersForgotten"] == 0
    assert hold["coveredCalls"] == len(ids)
    with live.client(tokens["hold"]) as client:
        released = client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "over"})
        assert released.status_code == 200, released.text
        for doc in (released.json(), client.get(f"/holds/v1/{hold['holdId']}").json()):
            assert doc["scope"]["phoneNumbers"] == []
            assert doc["scope"]["phoneNumbersForgotten"] == 2
            assert doc["matter"] == "Doe v. Acme"
            assert doc["releaseReason"] == "over"


def _checkpointed(runtime) -> None:
    from callvault.store.engine import checkpoint

    if runtime.engine.dialect.name != "sqlite":
        return
    deadline = time.monotonic() + 30
    while not (checkpoint(runtime.engine) and runtime.keystore.checkpoint()):
        assert time.monotonic() < deadline, "a WAL checkpoint stayed blocked for 30 s"
        time.sleep(0.05)


def test_no_personal_data_typed_in_a_hold_outlives_the_customers_purge(live, tokens):
    capture_calls(live, tokens["capture"], ["s1"], phone=SECRET_PHONE)
    words = f"call from {SECRET_PHONE}, write to {SECRET_EMAIL}"
    hold = place(
        live,
        tokens["hold"],
        matter=f"Roe {SECRET_EMAIL}",
        reason=words,
        phoneNumbers=[SECRET_PHONE],
    ).json()
    assert hold["reason"] == words  # shown decrypted to hold and audit users
    with live.client(tokens["audit"]) as client:
        assert client.get(f"/holds/v1/{hold['holdId']}").json()["reason"] == words
    with live.client(tokens["hold"]) as client:
        released = client.post(
            f"/holds/v1/{hold['holdId']}/release", json={"reason": f"{SECRET_EMAIL} settled"}
        )
        assert released.status_code == 200, released.text
    with live.client(tokens["purge"]) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": SECRET_PHONE})
        assert answer.status_code in (200, 202), answer.text
        wait_state(client, answer.json()["requestId"], states=("Complete",))
    _checkpointed(live.runtime)
    stored = stored_bytes(live.runtime)
    for needle in (SECRET_EMAIL, "jane.roe", "4155550163", "415 555 0163", "555 0163"):
        assert needle.encode() not in stored, needle
        assert needle.encode("utf-16-le") not in stored, needle
