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
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"


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


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/purge/v1/calls/customer", {"phoneNumber": "abc"}),
        ("/interactions/v2/purge/customer", {"phoneNumbers": ["abc"]}),
        ("/holds/v1", {"matter": "M", "reason": "R", "phoneNumbers": ["abc"]}),
    ],
)
def test_a_phone_that_is_no_number_is_told_so_not_to_add_an_area_code(live, path, body):
    with live.client(live.token("purge", "hold")) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "no digits" in detail
    assert "area code" not in detail
    assert "abc" not in detail  # a problem names the field, never the value


@pytest.mark.parametrize(
    ("path", "body", "said"),
    [
        ("/purge/v1/calls", {"ids": [f"i{n}" for n in range(101)]}, "ids: at most 100 items"),
        ("/purge/v1/calls", {"ids": []}, "ids: at least 1 item"),
        ("/purge/v1/calls", {"ids": "abc"}, "ids: must be a list"),
        ("/purge/v1/calls", {"ids": [7]}, "ids[0]: must be a string"),
        ("/purge/v1/calls", {}, "ids: is required"),
        ("/purge/v1/calls/customer", {"phoneNumber": 5125551234}, "phoneNumber: must be a string"),
        ("/callCapture/v1/status", {"CallSessionIds": ["s"] * 101}, "at most 100 items"),
    ],
)
def test_a_bad_body_is_told_in_plain_words_not_pydantic_s(live, path, body, said):
    with live.client(live.token("purge", "capture")) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert said in detail, detail
    for pydantic_words in ("after validation", "Input should be", "Field required", "List should"):
        assert pydantic_words not in detail, detail


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
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"


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


def _nested(depth: int) -> object:
    value: object = "bottom"
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


def _info_bytes(**overrides: object) -> bytes:
    # ensure_ascii (the default) writes a lone surrogate as its \\ud800 escape, as an attacker's
    # client would; the bytes sent are valid UTF-8.
    return json.dumps(call_info("unservable", **overrides)).encode()


def _contact(**fields: object) -> list[dict[str, object]]:
    return [{"type": "Customer", "phoneNumber": "+15125550100", **fields}]


UNSERVABLE_INFO = {
    "surrogate firstName": {"contacts": _contact(firstName="Bo\ud800b")},
    "surrogate lastName": {"contacts": _contact(lastName="\udfff")},
    "surrogate referenceId": {"contacts": _contact(referenceId="r\ud83d")},
    "surrogate phoneNumber": {"contacts": _contact(phoneNumber="+1512555\udc000")},
    "surrogate channel": {"contacts": _contact(channel="\ud800")},
    "NUL firstName": {"contacts": _contact(firstName="Bo\u0000b")},
    "surrogate numberDialed": {"numberDialed": "800\ud800"},
    "surrogate masterCallId": {"masterCallId": "m\ud800"},
    "surrogate metadata value": {"metadata": {"note": ["ok", "\ud800"]}},
    "surrogate metadata key": {"metadata": {"k\udc00": 1}},
    "NUL metadata value": {"metadata": {"note": "a\u0000b"}},
    "NUL metadata key": {"metadata": {"a\u0000": 1}},
    "metadata 256 deep": {"metadata": _nested(256)},
    "metadata 33 deep": {"metadata": _nested(33)},
}


@pytest.mark.parametrize("overrides", UNSERVABLE_INFO.values(), ids=UNSERVABLE_INFO.keys())
def test_info_that_could_not_be_served_back_is_400_at_capture(live, capture, overrides):
    with live.client(live.token("capture")) as client:
        answer = capture(client, _info_bytes(**overrides))
    assert answer.status_code == 400, answer.text
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert "info" in answer.json()["detail"]
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 0


def test_metadata_32_deep_and_ordinary_unicode_are_stored_and_read_back(live, capture):
    metadata = {"deep": _nested(31), "text": "Zoë 😀 ☎ \u00a0\t\n"}
    info = call_info("deep-ok", metadata=metadata, contacts=_contact(firstName="Åsa 😀"))
    with live.client(live.token("capture", "read")) as client:
        answer = capture(client, info)
        assert answer.status_code == 200, answer.text
        got = client.get(f"/calls/v1/{answer.json()['callId']}")
    assert got.status_code == 200
    assert got.json()["metadata"] == metadata
    assert got.json()["contacts"][0]["firstName"] == "Åsa 😀"


def _raw_capture(client: httpx.Client, data_content_type: bytes) -> httpx.Response:
    boundary = b"cvboundary42"
    body = b"".join(
        [
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="info"\r\n',
            b"Content-Type: application/json\r\n\r\n",
            json.dumps(call_info("ctype")).encode(),
            b"\r\n--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="data"; filename="call.wav"\r\n',
            b"Content-Type: " + data_content_type + b"\r\n\r\n",
            b"RIFF-not-really-audio",
            b"\r\n--" + boundary + b"--\r\n",
        ]
    )
    return client.post(
        "/callCapture/v1/archive",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=" + boundary.decode()},
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "audio/wäv€".encode(),  # outside latin-1 once decoded
        "audio/wäv".encode("latin-1"),
        b"audio/wav\x00",
        b"audio/\x00wav",
        b"audio/wav\x7f",
        b"audio",
        b"audio/",
        b"/wav",
        b"audio/wav/x",
        b"audio wav",
        b"audio/wav; rate=8000 bits",
    ],
)
def test_an_audio_content_type_that_is_not_plain_is_400_at_capture(live, content_type):
    with live.client(live.token("capture")) as client:
        answer = _raw_capture(client, content_type)
    assert answer.status_code == 400, answer.text
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert "Content-Type" in answer.json()["detail"]
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 0


@pytest.mark.parametrize(
    "content_type", [b"audio/wav", b"Audio/X-WAV", b"audio/ogg; codecs=opus", b'audio/mp4; a="b c"']
)
def test_a_plain_audio_content_type_is_stored_and_served_back(live, content_type):
    with live.client(live.token("capture", "read")) as client:
        answer = _raw_capture(client, content_type)
        assert answer.status_code == 200, answer.text
        audio = client.get(f"/calls/v1/{answer.json()['callId']}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == content_type.decode()
    assert audio.content == b"RIFF-not-really-audio"


def test_a_content_type_stored_before_capture_refused_it_is_not_served(live):
    """A call captured by an older version with an unsendable type still reads back (no 500)."""
    from sqlalchemy import update

    from callvault.store.engine import write_transaction

    with live.client(live.token("capture", "read")) as client:
        call_id = _raw_capture(client, b"audio/wav").json()["callId"]
        with write_transaction(live.runtime.engine) as conn:
            conn.execute(update(calls).values(audio_content_type="audio/w\u20acv"))
        audio = client.get(f"/calls/v1/{call_id}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"  # from its format, as without a type
    assert audio.content == b"RIFF-not-really-audio"


def test_details_sealed_before_capture_refused_them_still_read_back(live, capture):
    """A call an older version stored with lone surrogates or 256-deep metadata reads back 200."""
    from sqlalchemy import update

    from callvault.capture.sealed import PURPOSE
    from callvault.crypto import CallCipher
    from callvault.store.engine import write_transaction

    with live.client(live.token("capture", "read")) as client:
        call_id = capture(client, call_info("legacy")).json()["callId"]
        rt = live.runtime
        cipher = CallCipher(call_id, rt.keys.unwrap(call_id, rt.keystore.get(call_id)))
        contact = {
            "type": "Customer",
            "channel": None,
            "phoneNumber": "+1512555\udc00",
            "phoneE164": None,
            "referenceId": None,
            "firstName": "Bo\ud800b",
            "lastName": None,
        }
        document = {
            "masterCallId": None,
            "numberDialed": None,
            "metadata": {"deep": _nested(256), "k\udc00": "v"},
            "contacts": [contact],
        }
        sealed = cipher.seal(json.dumps(document).encode(), PURPOSE)
        with write_transaction(rt.engine) as conn:
            conn.execute(update(calls).values(sealed=sealed))
        answer = client.get(f"/calls/v1/{call_id}")
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["contacts"][0]["firstName"] == "Bo\ufffdb"
    assert "k\ufffd" in got["metadata"]
