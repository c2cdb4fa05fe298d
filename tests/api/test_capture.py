"""POST /callCapture/v1/archive: round trip, encryption at rest, and every bad input (§3, §8)."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select

from callvault.store.keystore import data_keys
from callvault.store.tables import calls, customer_phones
from helpers import blob_objects, call_info, stored_bytes, wav_bytes

pytestmark = pytest.mark.both_backends


def _count_calls(live) -> int:
    with live.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(calls)).scalar_one()


def _stored_nothing(live) -> None:
    assert _count_calls(live) == 0
    with live.runtime.keystore.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(data_keys)).scalar_one() == 0
    assert list(live.runtime.blobs.iter_keys()) == []
    assert blob_objects(live.runtime) == []  # no temporaries, versions or open uploads either


def test_capture_round_trips_details_and_audio_exactly(live, capture):
    audio = wav_bytes(2.5, marker=b"AUDIO-MARKER-1")
    info = call_info(
        "sess-rt",
        masterCallId="master-9",
        numberDialed="+1 800 555 0100",
        metadata={"nested": {"list": [1, 2.5, None, "x"]}, "flag": True},
    )
    with live.client(live.token("capture", "read")) as client:
        answer = capture(client, info, audio)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        call_id = answer.json()["callId"]
        assert len(call_id) >= 21
        got = client.get(f"/calls/v1/{call_id}").json()
        sound = client.get(f"/calls/v1/{call_id}/audio")
    assert sound.status_code == 200
    assert sound.content == audio
    assert sound.headers["content-type"] == "audio/wav"
    assert got["callId"] == call_id
    assert got["sessionId"] == "sess-rt"
    assert got["masterCallId"] == "master-9"
    assert got["startTime"] == "2024-01-01T04:23:00Z"
    assert got["endTime"] == "2024-01-01T04:24:00.628590Z"
    assert got["direction"] == "Inbound"
    assert got["numberDialed"] == "+1 800 555 0100"
    assert got["metadata"] == info["metadata"]
    assert got["audioFormat"] == "wav"
    assert got["contacts"] == [
        {
            "type": "Agent",
            "channel": 0,
            "phoneNumber": None,
            "phoneE164": None,
            "referenceId": "agent-7",
            "firstName": "Alice",
            "lastName": None,
        },
        {
            "type": "Customer",
            "channel": 1,
            "phoneNumber": "(512) 555-1234",
            "phoneE164": "+15125551234",
            "referenceId": None,
            "firstName": "Bob",
            "lastName": "Caller",
        },
    ]


def test_call_ids_are_unique_and_unguessable(live, capture):
    with live.client(live.token("capture")) as client:
        ids = [capture(client, call_info(f"u-{i}")).json()["callId"] for i in range(5)]
    assert len(set(ids)) == 5
    assert all(len(i) >= 21 for i in ids)  # 16 random bytes, URL-safe base64


def test_no_plaintext_personal_value_is_anywhere_on_disk(live, capture):
    markers = {
        "audio": b"ZQX-AUDIO-SENTINEL-4711",
        "first": "Zebediah",
        "last": "Quixotefield",
        "phone": "(512) 555-8642",
        "e164": "+15125558642",
        "digits": "5125558642",
        "ref": "REF-SENTINEL-99",
        "dialed": "+1 415 555 0199",
        "master": "MASTER-SENTINEL-5",
        "meta": "META-SENTINEL-VALUE",
    }
    info = call_info(
        "scan-1",
        masterCallId=markers["master"],
        numberDialed=markers["dialed"],
        metadata={"note": markers["meta"]},
        contacts=[
            {
                "type": "Customer",
                "phoneNumber": markers["phone"],
                "firstName": markers["first"],
                "lastName": markers["last"],
                "referenceId": markers["ref"],
            }
        ],
    )
    with live.client(live.token("capture")) as client:
        assert capture(client, info, wav_bytes(1, marker=markers["audio"])).status_code == 200
    data = stored_bytes(live.runtime)
    for name, value in markers.items():
        needle = value if isinstance(value, bytes) else value.encode()
        assert needle not in data, f"{name} found in clear on disk"
    assert b"scan-1" in data  # session IDs stay in clear: the scan does see stored values


def test_customer_phone_is_indexed_by_blind_index_only(live, capture):
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("idx-1")).json()["callId"]
    with live.runtime.engine.connect() as conn:
        digests = conn.execute(
            select(customer_phones.c.digest).where(customer_phones.c.call_id == call_id)
        ).all()
    assert [bytes(d[0]) for d in digests] == [live.runtime.keys.blind_index("+15125551234")]


def test_the_blob_version_capture_was_given_is_kept_with_the_call(live, capture, backend):
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("version-1")).json()["callId"]
    with live.runtime.engine.connect() as conn:
        kept = conn.execute(select(calls.c.blob_version).where(calls.c.call_id == call_id)).one()[0]
    if backend == "embedded":
        assert kept is None  # a folder keeps no versions
    else:
        [stored] = [
            version
            for key, version, marker in live.runtime.blobs.iter_all_versions()
            if key.endswith(call_id) and not marker
        ]
        assert kept == stored


def test_agent_phone_is_not_indexed(live, capture):
    info = call_info(
        "idx-agent",
        contacts=[{"type": "agent", "phoneNumber": "+15125550000"}],
    )
    with live.client(live.token("capture")) as client:
        assert capture(client, info).status_code == 200
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customer_phones)).scalar_one() == 0


BAD_INFOS = [
    pytest.param(
        {"startTime": "2024-01-01T00:00:00Z", "contacts": [{"type": "Agent"}]},
        "sessionId",
        id="no-session",
    ),
    pytest.param(call_info(""), "sessionId", id="empty-session"),
    pytest.param(call_info("x" * 257), "sessionId", id="long-session"),
    pytest.param({**call_info("b"), "startTime": None}, "startTime", id="null-start"),
    pytest.param(
        {k: v for k, v in call_info("b").items() if k != "startTime"}, "startTime", id="no-start"
    ),
    pytest.param(call_info("b", startTime="yesterday"), "startTime", id="bad-time"),
    pytest.param(call_info("b", startTime=1700000000), "startTime", id="numeric-time"),
    pytest.param(call_info("b", endTime="2023-01-01T00:00:00Z"), "endTime", id="end-before-start"),
    pytest.param(call_info("b", direction="Sideways"), "direction", id="bad-direction"),
    pytest.param(call_info("b", contacts=[]), "contacts", id="no-contacts"),
    pytest.param(
        {k: v for k, v in call_info("b").items() if k != "contacts"},
        "contacts",
        id="missing-contacts",
    ),
    pytest.param(call_info("b", contacts=[{"firstName": "x"}]), "type", id="contact-no-type"),
    pytest.param(call_info("b", contacts="Agent"), "contacts", id="contacts-not-list"),
    pytest.param(call_info("b", sessionId=42), "sessionId", id="session-not-string"),
    pytest.param(["not", "an", "object"], "object", id="info-array"),
]


@pytest.mark.parametrize(("info", "mentions"), BAD_INFOS)
def test_bad_info_is_400_naming_the_field_and_stores_nothing(live, capture, info, mentions):
    with live.client(live.token("capture")) as client:
        answer = capture(client, info)
    assert answer.status_code == 400, answer.text
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    body = answer.json()
    assert body["status"] == 400
    assert body["type"]
    assert body["title"]
    assert mentions in body["detail"]
    _stored_nothing(live)


def test_info_not_json_is_400(live, capture):
    with live.client(live.token("capture")) as client:
        answer = capture(client, b"{not json")
    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]
    _stored_nothing(live)


def test_duplicate_live_session_is_409_and_keeps_the_first(live, capture):
    with live.client(live.token("capture", "read")) as client:
        first = capture(client, call_info("dup"), wav_bytes(1))
        second = capture(client, call_info("dup"), wav_bytes(2))
        assert second.status_code == 409
        assert "dup" in second.json()["detail"]
        audio = client.get(f"/calls/v1/{first.json()['callId']}/audio").content
    assert audio == wav_bytes(1)
    assert _count_calls(live) == 1
    assert len(list(live.runtime.blobs.iter_keys())) == 1


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"]
)
def test_wrong_content_type_is_415(live, content_type):
    with live.client(live.token("capture")) as client:
        answer = client.post(
            "/callCapture/v1/archive", content=b"{}", headers={"Content-Type": content_type}
        )
    assert answer.status_code == 415
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    _stored_nothing(live)


@pytest.mark.parametrize(
    ("body", "content_type", "mentions"),
    [
        (b"", "multipart/form-data; boundary=xyz", "empty"),
        (b"garbage without boundary", "multipart/form-data; boundary=xyz", "boundary"),
        (
            b"--xyz\r\nContent-Disposition: form-data; name=info\r\n\r\n{}",
            "multipart/form-data; boundary=xyz",
            "truncated",
        ),
        (b"--xyz--\r\n", "multipart/form-data; boundary=xyz", "part"),
        (b"--xyz\r\n", "multipart/form-data", "boundary"),
    ],
)
def test_malformed_multipart_is_400(live, body, content_type, mentions):
    with live.client(live.token("capture")) as client:
        answer = client.post(
            "/callCapture/v1/archive", content=body, headers={"Content-Type": content_type}
        )
    assert answer.status_code == 400, answer.text
    assert mentions in answer.json()["detail"].lower()
    _stored_nothing(live)


def test_missing_data_part_is_400(live):
    with live.client(live.token("capture")) as client:
        answer = client.post(
            "/callCapture/v1/archive",
            files={"info": (None, json.dumps(call_info("nodata")), "application/json")},
        )
    assert answer.status_code == 400
    assert "`data`" in answer.json()["detail"]
    _stored_nothing(live)


def test_oversize_upload_is_413_and_stores_nothing(tmp_path, capture):
    from callvault.api.app import create_app
    from callvault.runtime import Runtime
    from callvault.settings import Settings
    from helpers import LiveServer, serve_in_thread

    settings = Settings(data_dir=tmp_path / "small", max_upload_bytes=200_000)
    rt = Runtime.open(settings)
    server, thread, port = serve_in_thread(create_app(settings, rt))
    live = LiveServer(url=f"http://127.0.0.1:{port}", runtime=rt, port=port)
    try:
        with live.client(live.token("capture")) as client:
            answer = capture(client, call_info("big"), os.urandom(300_000))
            assert answer.status_code == 413
            assert "200000" in answer.json()["detail"]

            def chunks():
                boundary = b"--b\r\nContent-Disposition: form-data; name=data\r\n\r\n"
                yield boundary
                for _ in range(30):
                    yield os.urandom(10_000)

            chunked = client.post(
                "/callCapture/v1/archive",
                content=chunks(),
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            )
            assert chunked.status_code == 413
        _stored_nothing(live)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        rt.close()


def test_capture_needs_capture_permission(live, capture):
    with live.client(live.token("purge")) as client:
        answer = capture(client, call_info("perm"))
    assert answer.status_code == 403
    _stored_nothing(live)


def test_capture_without_token_is_401(live, capture):
    with live.client() as client:
        answer = capture(client, call_info("anon"))
    assert answer.status_code == 401
    _stored_nothing(live)
