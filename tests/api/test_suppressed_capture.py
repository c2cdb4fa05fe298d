"""Capture of a suppressed caller (contract §22): nothing of the call is stored, only a tombstone;
the recorder is answered as for an accepted upload, and the session's status is ``Excluded``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from callvault.store.tables import calls, suppressed_captures, suppressions
from helpers import blob_objects, call_info, post_call, stored_bytes, v2_customer_info, wav_bytes
from tethr_clients import assert_tethr_clients_read

pytestmark = pytest.mark.both_backends

E164 = "+14155550101"
SPELLINGS = [
    "+14155550101",
    "(415) 555-0101",
    "1-415-555-0101",
    "415.555.0101",
    "+1 415 555 0101",
    "011 1 415 555 0101",
]
EMAIL = "quinn.objector@example.org"


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "suppress", "purge", "read", "audit")}


def suppress(live, token, **body: Any) -> str:
    body.setdefault("reason", "objected to recording")
    with live.client(token) as client:
        answer = client.post("/suppressions/v1", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["suppressionId"])


def personal(tag: str, phone: str) -> dict[str, str]:
    return {
        "first": f"Firstname{tag}Qz",
        "last": f"Lastname{tag}Qz",
        "phone": phone,
        "ref": f"REF-{tag}-XYZ",
        "dialed": f"+1 212 555 {tag}",
        "meta": f"META-{tag}-VALUE",
        "master": f"MASTER-{tag}-ID",
        "audio": f"AUDIO-{tag}-MARKER",
    }


def v1_info(session_id: str, p: dict[str, str]) -> dict[str, Any]:
    return call_info(
        session_id,
        masterCallId=p["master"],
        numberDialed=p["dialed"],
        metadata={"note": p["meta"]},
        contacts=[
            {"type": "Agent", "firstName": "Agentname", "referenceId": p["ref"]},
            {
                "type": "customer ",
                "phoneNumber": p["phone"],
                "firstName": p["first"],
                "lastName": p["last"],
            },
        ],
    )


def upload(
    client: httpx.Client, path: str, info: dict[str, Any], audio: bytes, audio_first: bool
) -> httpx.Response:
    parts = {
        "info": (None, json.dumps(info).encode(), "application/json"),
        "data": ("call.wav", audio, "audio/wav"),
    }
    order = ["data", "info"] if audio_first else ["info", "data"]
    return client.post(path, files={name: parts[name] for name in order})


def live_calls(live) -> int:
    with live.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(calls)).scalar_one())


def assert_stores_nothing(live, values: list[dict[str, str]]) -> None:
    assert live_calls(live) == 0
    assert blob_objects(live.runtime) == []
    stored = stored_bytes(live.runtime)
    for p in values:
        for name, value in p.items():
            assert value.encode() not in stored, f"{name} of a suppressed capture is stored"
    assert E164.encode() not in stored
    assert b"4155550101" not in stored
    assert EMAIL.encode() not in stored


@pytest.mark.parametrize("audio_first", [False, True], ids=["info-first", "audio-first"])
def test_a_suppressed_caller_is_not_recorded_by_any_spelling_v1(live, tokens, audio_first):
    sid = suppress(live, tokens["suppress"], phoneNumbers=[E164])
    captured: dict[str, str] = {}
    values = []
    with live.client(tokens["capture"]) as client:
        for n, spelling in enumerate(SPELLINGS):
            p = personal(f"{7100 + n}", spelling)
            values.append(p)
            session = f"sess-suppressed-{n}"
            # Audio first and over 1 MiB: some of it is written (sealed) before `info` arrives.
            seconds = 70 if audio_first and n < 2 else 2
            answer = upload(
                client,
                "/callCapture/v1/archive",
                v1_info(session, p),
                wav_bytes(seconds, marker=p["audio"].encode()),
                audio_first,
            )
            # As an accepted upload: 200, Tethr's media type, a call ID, so the recorder moves on.
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json; charset=utf-8"
            assert set(answer.json()) == {"callId"}
            captured[session] = answer.json()["callId"]
        statuses = client.post(
            "/callCapture/v1/status", json={"CallSessionIds": list(captured)}
        ).json()["callSessions"]
        for item, (session, call_id) in zip(statuses, captured.items(), strict=True):
            assert item == {"callId": call_id, "sessionId": session, "status": "Excluded"}
            assert_tethr_clients_read(item)
        one = client.get("/callCapture/v1/status/sess-suppressed-0").json()
        assert one["status"] == "Excluded"
        assert_tethr_clients_read(one)
    assert_stores_nothing(live, values)
    with live.runtime.engine.connect() as conn:
        rows = conn.execute(select(suppressed_captures)).mappings().all()
    assert {r["call_id"] for r in rows} == set(captured.values())
    assert {r["suppression_id"] for r in rows} == {sid}
    assert live.runtime.keystore.existing(list(captured.values())) == set()

    # The tombstone is no live call: not readable, not purgeable.
    with live.client(tokens["read"]) as client:
        assert client.get(f"/calls/v1/{captured['sess-suppressed-0']}").status_code == 404
    with live.client(tokens["purge"]) as client:
        by_id = client.post("/purge/v1/calls", json={"ids": [captured["sess-suppressed-0"]]})
        assert by_id.json()["items"][0]["status"] == "NotFound"
        by_session = client.post("/purge/v1/calls/sessions", json={"ids": ["sess-suppressed-1"]})
        assert by_session.json()["items"][0]["status"] == "NotFound"

    # Audited without the number.
    with live.client(tokens["audit"]) as client:
        events = client.get("/audit/v1/events").json()["events"]
    refused = [e for e in events if e["action"] == "capture.suppressed"]
    assert len(refused) == len(SPELLINGS)
    assert {e["details"]["suppressionId"] for e in refused} == {sid}
    assert {e["sessionId"] for e in refused} == set(captured)
    assert not [e for e in events if e["action"] == "call.captured"]
    assert "4155550101" not in json.dumps(events)
    assert "555-0101" not in json.dumps(events)


@pytest.mark.parametrize("audio_first", [False, True], ids=["info-first", "audio-first"])
def test_a_suppressed_caller_is_not_recorded_by_email_or_phone_v2(live, tokens, audio_first):
    suppress(live, tokens["suppress"], emails=[EMAIL.upper()], phoneNumbers=["415 555 0101"])
    values = []
    ids = {}
    with live.client(tokens["capture"]) as client:
        for n, (phone, email) in enumerate(
            [(None, "  Quinn.Objector@EXAMPLE.org"), ("+1 (415) 555-0101", None)]
        ):
            p = personal(f"{7200 + n}", phone or "")
            values.append({k: v for k, v in p.items() if v})
            info = v2_customer_info(f"v2-suppressed-{n}", phone=phone, email=email)
            info["participants"][1].update(firstName=p["first"], lastName=p["last"])
            info["metadata"] = {"note": p["meta"]}
            answer = upload(
                client,
                "/capture/v2/call",
                info,
                wav_bytes(1, marker=p["audio"].encode()),
                audio_first,
            )
            assert answer.status_code == 200, answer.text
            assert set(answer.json()) == {"id"}
            ids[f"v2-suppressed-{n}"] = answer.json()["id"]
        for session, call_id in ids.items():
            status = client.get(f"/capture/v2/status/{session}").json()
            assert status == {"status": "Excluded", "id": call_id, "sessionId": session}
            assert_tethr_clients_read(status)
        many = client.post("/capture/v2/status", json={"sessionIds": list(ids)}).json()
        assert [s["status"] for s in many["sessions"]] == ["Excluded", "Excluded"]
    assert_stores_nothing(live, values)


def test_other_callers_and_non_customers_are_recorded(live, tokens):
    suppress(live, tokens["suppress"], phoneNumbers=[E164])
    with live.client(tokens["capture"]) as client:
        other = call_info(
            "sess-other", contacts=[{"type": "Customer", "phoneNumber": "+14155550102"}]
        )
        assert post_call(client, other).status_code == 200
        agent = call_info("sess-agent", contacts=[{"type": "Agent", "phoneNumber": E164}])
        assert post_call(client, agent).status_code == 200
        for session in ("sess-other", "sess-agent"):
            status = client.get(f"/callCapture/v1/status/{session}").json()["status"]
            assert status in ("Concluded", "Complete")
    assert live_calls(live) == 2


def test_after_a_lift_the_same_session_is_recorded_again(live, tokens):
    sid = suppress(live, tokens["suppress"], phoneNumbers=[E164])
    info = call_info("sess-again", contacts=[{"type": "Customer", "phoneNumber": E164}])
    with live.client(tokens["capture"]) as client:
        first = post_call(client, info).json()["callId"]
        assert client.get("/callCapture/v1/status/sess-again").json()["status"] == "Excluded"
    with live.client(tokens["suppress"]) as client:
        assert client.post(f"/suppressions/v1/{sid}/lift", json={"reason": "ok"}).status_code == 200
    with live.client(tokens["capture"]) as client:
        second = post_call(client, info)
        assert second.status_code == 200
        assert second.json()["callId"] != first
        status = client.get("/callCapture/v1/status/sess-again").json()
        assert status["callId"] == second.json()["callId"]
        assert status["status"] in ("Concluded", "Complete")
    assert live_calls(live) == 1
    # Erased, the live call is NotFound: the old tombstone does not answer for it again.
    with live.client(tokens["purge"]) as client:
        purged = client.post("/purge/v1/calls/sessions", json={"ids": ["sess-again"]}).json()
        deadline = time.monotonic() + 30
        while client.get(f"/purge/v1/requests/{purged['requestId']}").json()["state"] != (
            "Complete"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with live.client(tokens["capture"]) as client:
        status = client.get("/callCapture/v1/status/sess-again").json()
        assert status == {"sessionId": "sess-again", "status": "NotFound"}


def test_an_expired_suppression_stops_applying_to_captures(live, tokens):
    suppress(live, tokens["suppress"], phoneNumbers=[E164], expiresAt="2999-01-01T00:00:00Z")
    info = call_info("sess-exp", contacts=[{"type": "Customer", "phoneNumber": E164}])
    with live.client(tokens["capture"]) as client:
        assert post_call(client, info).status_code == 200
        assert client.get("/callCapture/v1/status/sess-exp").json()["status"] == "Excluded"
        with live.runtime.engine.begin() as conn:  # the date passes
            conn.execute(suppressions.update().values(expires_at=datetime.now(UTC)))
        assert post_call(client, info).status_code == 200
        assert client.get("/callCapture/v1/status/sess-exp").json()["status"] != "Excluded"
    assert live_calls(live) == 1
