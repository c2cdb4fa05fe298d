"""Input no database can hold, or that once broke a parser: always a 4xx, never a 500 (§8)."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from callvault.store.tables import calls, customer_phones, purge_jobs
from helpers import call_info

pytestmark = pytest.mark.both_backends

BAD_TEXT = ["a\u0000b", "\ud800", "x" * 300]


def _raw_json(client, path, text):
    return client.post(
        path,
        content=text.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize("path", ["/purge/v1/calls", "/purge/v1/calls/sessions"])
def test_unstorable_ids_in_a_purge_are_400(live, path, value):
    with live.client(live.token("purge")) as client:
        answer = _raw_json(client, path, '{"ids": [' + json.dumps(value) + "]}")
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize("path", ["/callCapture/v1/status", "/callCapture/v1/status/exclude"])
def test_unstorable_ids_in_status_are_400(live, path, value):
    with live.client(live.token("capture")) as client:
        answer = _raw_json(client, path, '{"CallSessionIds": [' + json.dumps(value) + "]}")
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/calls/v1/a%00b",
        "/calls/v1/a%00b/audio",
        "/purge/v1/requests/a%00b",
        "/calls/v1/" + "x" * 300,
    ],
)
def test_unstorable_path_ids_are_404(live, path):
    with live.client(live.token("admin")) as client:
        answer = client.get(path)
    assert answer.status_code == 404, answer.text


def test_unstorable_session_in_status_path_is_not_found(live):
    with live.client(live.token("capture")) as client:
        answer = client.get("/callCapture/v1/status/a%00b")
    assert answer.status_code == 200
    assert answer.json()["status"] == "NotFound"


def test_nul_in_token_credentials_is_invalid_client(live):
    answer = httpx.post(
        f"{live.url}/Token",
        content="grant_type=client_credentials&client_id=%00&client_secret=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize("field", ["sessionId"])
def test_nul_in_a_clear_capture_field_is_400(live, capture, field):
    with live.client(live.token("capture")) as client:
        answer = capture(client, call_info("ok", **{field: "a\u0000b"}))
    assert answer.status_code == 400
    assert field in answer.json()["detail"]


def test_heartbeat_name_with_nul_is_400(live):
    with live.client(live.token("capture")) as client:
        answer = client.post("/callCapture/v1/monitor", json={"Status": 1, "Name": "a\u0000b"})
    assert answer.status_code == 400


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_times_out_of_range_are_400(live, capture, when):
    with live.client(live.token("capture")) as client:
        answer = capture(client, call_info("t", startTime=when, endTime=None))
    assert answer.status_code == 400
    assert "range" in answer.json()["detail"]


def test_deeply_nested_info_is_400(live, capture):
    deep = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    with live.client(live.token("capture")) as client:
        answer = capture(client, deep)
    assert answer.status_code == 400


def test_many_long_contact_types_and_a_long_content_type_are_stored(live, capture):
    contacts = [{"type": f"T{n:02d}" + "x" * 96} for n in range(100)]
    with live.client(live.token("capture", "read")) as client:
        answer = capture(
            client, call_info("wide", contacts=contacts), content_type="audio/" + "w" * 300
        )
        assert answer.status_code == 200, answer.text
        got = client.get(f"/calls/v1/{answer.json()['callId']}").json()
    assert [c["type"] for c in got["contacts"]] == [c["type"] for c in contacts]


@pytest.mark.parametrize("phone", [5125551234, "1" * 500, "anonymous", "555-1234"])
def test_a_phone_number_never_fails_a_capture(live, capture, phone):
    info = call_info(
        "ph", numberDialed="9" * 400, contacts=[{"type": "Customer", "phoneNumber": phone}]
    )
    with live.client(live.token("capture", "read")) as client:
        answer = capture(client, info)
        assert answer.status_code == 200, answer.text
        got = client.get(f"/calls/v1/{answer.json()['callId']}").json()
    assert got["contacts"][0]["phoneNumber"] == str(phone)
    assert got["numberDialed"] == "9" * 400
    if phone == 5125551234:
        assert got["contacts"][0]["phoneE164"] == "+15125551234"
    else:
        assert got["contacts"][0]["phoneE164"] is None  # kept as given, not indexed


def test_local_only_numbers_are_not_indexed_and_not_purgeable(live, capture):
    info = call_info("local", contacts=[{"type": "Customer", "phoneNumber": "555-1234"}])
    with live.client(live.token("capture")) as client:
        assert capture(client, info).status_code == 200
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customer_phones)).scalar_one() == 0
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": "555-1234"})
    assert answer.status_code == 400
    assert "area code" in answer.json()["detail"]


def test_null_direction_means_unknown(live, capture):
    with live.client(live.token("capture", "read")) as client:
        answer = capture(client, call_info("dir", direction=None))
        assert answer.status_code == 200
        assert client.get(f"/calls/v1/{answer.json()['callId']}").json()["direction"] == "Unknown"


def test_audit_paging_beyond_any_sequence_is_400(live):
    with live.client(live.token("audit")) as client:
        assert client.get("/audit/v1/events", params={"after": 2**63}).status_code == 400
        assert client.get("/audit/v1/events", params={"after": 2**63 - 1}).status_code == 200


def test_oversized_chunked_json_body_is_413(live):
    def body():
        yield b'{"ids": ["'
        for _ in range(300):
            yield b"x" * 10_000
        yield b'"]}'

    with live.client(live.token("purge")) as client:
        answer = client.post(
            "/purge/v1/calls", content=body(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/purge/v1/calls", '{"ids": ["a"]}'),
        ("/callCapture/v1/status", '{"CallSessionIds": []}'),
        ("/purge/v1/calls/customer", '{"phoneNumber": "+15125551234"}'),
    ],
)
def test_json_endpoints_refuse_other_content_types_with_415(live, path, body):
    with live.client(live.token("admin")) as client:
        answer = client.post(path, content=body, headers={"Content-Type": "text/plain"})
        assert answer.status_code == 415, answer.text
        assert "application/json" in answer.json()["detail"]
        ok = client.post(
            path, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        assert ok.status_code == 200
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 0
