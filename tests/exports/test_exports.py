"""Subject access exports (contract §20): the resource, the link, the streamed package.

Every package is unzipped and every file checked against the manifest's size and SHA-256, the
manifest's JWS verified with the instance's JWKS, each vCon validated by the ``vcon`` package.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pyrage
import pytest
from pyrage import x25519
from sqlalchemy import func, select, update

from callvault.api.app import HideLinkTokens
from callvault.store.tables import audit_events, export_calls, exports
from callvault.store.users import set_region
from helpers import call_info, chained, forget_digests, post_call, stored_bytes, wav_bytes

pytestmark = pytest.mark.both_backends

PHONE = "+1 512 555 0177"
E164 = "+15125550177"
EMAIL = "jane.roe@example.org"
OTHER = "+1 512 555 0999"


def customer(phone: str | None = PHONE, email: str | None = None) -> list[dict[str, Any]]:
    contact: dict[str, Any] = {"type": "Customer", "channel": 1, "firstName": "Jane"}
    contact["lastName"] = "Roe"
    if phone:
        contact["phoneNumber"] = phone
    if email:
        contact["email"] = email
    return [{"type": "Agent", "channel": 0, "firstName": "Alice"}, contact]


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "export", "audit", "purge", "hold", "read")}


def capture(live, token: str, session: str, start: str, phone: str = PHONE) -> tuple[str, bytes]:
    audio = wav_bytes(1.0, marker=f"AUDIO-{session}".encode())
    info = call_info(session, startTime=start, contacts=customer(phone))
    info["endTime"] = start.replace(":00Z", ":30Z")
    with live.client(token) as client:
        answer = post_call(client, info, audio)
    assert answer.status_code == 200, answer.text
    return answer.json()["callId"], audio


def create(live, token: str, params: dict[str, str] | None = None, **body: Any):
    with live.client(token) as client:
        return client.post("/exports/v1", json=body, params=params or {})


def fetch(live, url: str, token: str | None = None):
    with live.client(token) as client:
        return client.get(url)


def count_exports(live) -> tuple[int, int]:
    with live.runtime.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(exports)).scalar_one(),
            conn.execute(select(func.count()).select_from(export_calls)).scalar_one(),
        )


def open_package(live, raw: bytes) -> tuple[zipfile.ZipFile, dict[str, Any], dict[str, Any]]:
    """The package unzipped, every file checked against the manifest, the JWS verified with
    the JWKS; returns the archive, the manifest and the JWS's claims."""
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert archive.testzip() is None
    names = archive.namelist()
    manifest_raw = archive.read("manifest.json")
    manifest = json.loads(manifest_raw)
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json", "manifest.jws"}
    for name, entry in listed.items():
        data = archive.read(name)
        assert entry["bytes"] == len(data), name
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
    jws = archive.read("manifest.jws").decode()
    jwks = fetch(live, "/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(jws)
    assert header["typ"] == "export-manifest+jwt"
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(jws, jwt.PyJWK(key).key, algorithms=["EdDSA"])
    assert claims["manifestSha256"] == hashlib.sha256(manifest_raw).hexdigest()
    assert claims["exportId"] == manifest["exportId"]
    assert claims["iss"] == live.runtime.settings.instance_name
    assert isinstance(claims["iat"], int)
    return archive, manifest, claims


def check_vcon(text: bytes, audio: bytes) -> dict[str, Any]:
    from vcon import Vcon

    valid, errors = Vcon.validate_json(text.decode())
    assert valid, errors
    doc: dict[str, Any] = json.loads(text)
    dialog = doc["dialog"][0]
    assert dialog["type"] == "recording"
    import base64

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    assert dialog["content_hash"] == "sha512-" + b64(hashlib.sha512(audio).digest())
    assert dialog["signature"] == b64(hashlib.sha256(audio).digest())
    assert dialog["mediatype"]
    assert dialog["mimetype"]
    return doc


def test_an_export_is_made_shown_listed_and_its_package_checks_out(live, tokens):
    first, audio1 = capture(live, tokens["capture"], "ex-1", "2026-01-02T10:00:00Z")
    second, audio2 = capture(live, tokens["capture"], "ex-2", "2026-01-03T10:00:00Z")
    capture(live, tokens["capture"], "ex-other", "2026-01-04T10:00:00Z", phone=OTHER)
    answer = create(
        live, tokens["export"], phoneNumbers=["(512) 555-0177"], reference="DSR-2026-0142"
    )
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    export_id = doc["exportId"]
    assert answer.headers["location"] == f"/exports/v1/{export_id}"
    assert doc["calls"] == 2
    assert doc["state"] == "Ready"
    assert doc["downloads"] == 0
    assert doc["maxDownloads"] == 3
    assert doc["reference"] == "DSR-2026-0142"
    assert doc["downloadUrl"].startswith(f"/exports/v1/{export_id}/package?token=")
    created = datetime.fromisoformat(doc["createdAt"])
    expires = datetime.fromisoformat(doc["expiresAt"])
    assert timedelta(hours=71) < expires - created <= timedelta(hours=72)
    shown = fetch(live, f"/exports/v1/{export_id}", tokens["audit"]).json()
    assert "downloadUrl" not in shown
    assert shown["exportId"] == export_id

    package = fetch(live, doc["downloadUrl"])  # no API token: the link alone
    assert package.status_code == 200, package.text
    assert package.headers["content-type"] == "application/zip"
    assert (
        package.headers["content-disposition"]
        == f'attachment; filename="callvault-export-{export_id}.zip"'
    )
    archive, manifest, _ = open_package(live, package.content)
    assert manifest["reference"] == "DSR-2026-0142"
    assert manifest["subject"]["phoneNumbers"] == [E164]
    assert [c["callId"] for c in manifest["calls"]] == [first, second]
    assert all(c["state"] == "included" and c["redactions"] == [] for c in manifest["calls"])
    for call_id, audio in ((first, audio1), (second, audio2)):
        assert archive.read(f"calls/{call_id}/audio.wav") == audio
        as_api = fetch(live, f"/calls/v1/{call_id}", tokens["read"]).json()
        assert json.loads(archive.read(f"calls/{call_id}/call.json")) == as_api
        vcon = check_vcon(archive.read(f"calls/{call_id}/call.vcon.json"), audio)
        tels = [p.get("tel") for p in vcon["parties"]]
        assert E164 in tels
        assert vcon["dialog"][0]["filename"] == "audio.wav"
    rows = archive.read("calls.csv").decode().splitlines()
    assert rows[0] == "callId,sessionId,startTime,direction,durationSec,state"
    assert [r.split(",")[0] for r in rows[1:]] == [first, second]
    html = archive.read("index.html").decode()
    assert "<script" not in html.lower()
    assert "http:" not in html
    assert "https:" not in html
    assert '="//' not in html
    assert html.count("<audio controls") == 2
    assert f'src="calls/{first}/audio.wav"' in html

    with live.client(tokens["export"]) as client:
        after = client.get(f"/exports/v1/{export_id}").json()
        assert after["downloads"] == 1
        listed = client.get("/exports/v1", params={"reference": "DSR-2026-0142"}).json()
        assert [e["exportId"] for e in listed["exports"]] == [export_id]
        assert client.get("/exports/v1", params={"reference": "other"}).json()["exports"] == []


def test_the_audios_hashes_are_those_sealed_with_it_else_computed_as_it_streams(
    live, tokens, monkeypatch
):
    # A captured call's audio has its SHA-256 and SHA-512 sealed with its details: the export
    # names them and hashes none of its audio. A call stored before they were kept is hashed
    # as it streams. The manifest and the vCon are right for both.
    from callvault.exports import package as package_module

    hashed: list[str] = []

    class Counted(package_module.OffThread):
        def __init__(self, name: str, worker: Any) -> None:
            hashed.append(name)
            super().__init__(name, worker)

    monkeypatch.setattr(package_module, "OffThread", Counted)
    new, new_audio = capture(live, tokens["capture"], "hx-1", "2026-01-02T10:00:00Z")
    old, old_audio = capture(live, tokens["capture"], "hx-2", "2026-01-03T10:00:00Z")
    forget_digests(live.runtime, old)
    made = create(live, tokens["export"], phoneNumbers=[PHONE])
    assert made.status_code == 201, made.text
    package = fetch(live, made.json()["downloadUrl"])
    assert package.status_code == 200, package.text
    archive, _, _ = open_package(live, package.content)  # every file's hash checked
    for call_id, audio in ((new, new_audio), (old, old_audio)):
        assert archive.read(f"calls/{call_id}/audio.wav") == audio
        check_vcon(archive.read(f"calls/{call_id}/call.vcon.json"), audio)
    assert sorted(hashed) == ["sha256", "sha512"]  # the old call's audio alone, once each


def test_a_vcon_party_has_the_number_as_capture_read_it_in_its_users_region(live, tokens):
    """Found by review: the vCon re-read a contact's number in the instance's default region, so
    a call a GB user captured (020 7946 0018) had no ``tel``; it is the E.164 capture kept."""
    gb = live.token("capture", name="uk-recorder")
    assert set_region(live.runtime.engine, "uk-recorder", "GB")
    call_id, _ = capture(live, gb, "gb-1", "2026-01-02T10:00:00Z", phone="020 7946 0018")
    made = create(live, tokens["export"], callIds=[call_id]).json()
    archive, _, _ = open_package(live, fetch(live, made["downloadUrl"]).content)
    vcon = json.loads(archive.read(f"calls/{call_id}/call.vcon.json"))
    assert "+442079460018" in [p.get("tel") for p in vcon["parties"]]


def test_the_list_pages_newest_first(live, tokens):
    capture(live, tokens["capture"], "pg-1", "2026-01-02T10:00:00Z")
    made = [
        create(live, tokens["export"], sessionIds=["pg-1"]).json()["exportId"] for _ in range(3)
    ]
    with live.client(tokens["audit"]) as client:
        page = client.get("/exports/v1", params={"limit": 2}).json()
        assert [e["exportId"] for e in page["exports"]] == made[::-1][:2]
        rest = client.get("/exports/v1", params={"limit": 2, "cursor": page["nextCursor"]}).json()
        assert [e["exportId"] for e in rest["exports"]] == made[:1]
        assert "nextCursor" not in rest


def test_what_if_names_the_calls_and_makes_nothing(live, tokens):
    call_id, _ = capture(live, tokens["capture"], "wi-1", "2026-01-02T10:00:00Z")
    answer = create(live, tokens["export"], {"whatIf": "true"}, phoneNumbers=[PHONE])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "calls": 1,
        "items": [{"callId": call_id, "sessionId": "wi-1", "startTime": "2026-01-02T10:00:00Z"}],
    }
    assert count_exports(live) == (0, 0)


def test_ids_e_mails_and_the_window_narrow_as_purges_match(live, tokens):
    early, _ = capture(live, tokens["capture"], "w-1", "2026-01-02T10:00:00Z")
    late, _ = capture(live, tokens["capture"], "w-2", "2026-02-02T10:00:00Z")
    info = call_info("w-3", contacts=customer(None, EMAIL))
    with live.client(tokens["capture"]) as client:
        by_mail = post_call(client, info).json()["callId"]
    preview = create(
        live,
        tokens["export"],
        {"whatIf": "1"},
        phoneNumbers=[PHONE],
        startedAfter="2026-01-15T00:00:00Z",
    ).json()
    assert [i["callId"] for i in preview["items"]] == [late]
    both = create(
        live,
        tokens["export"],
        {"whatIf": "true"},
        emails=["Jane.Roe@EXAMPLE.org"],
        callIds=[early],
    ).json()
    assert {i["callId"] for i in both["items"]} == {early, by_mail}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "at least one identifier"),
        ({"startedAfter": "2026-01-01T00:00:00Z"}, "window"),
        ({"phoneNumbers": ["12"]}, "phoneNumbers[0]"),
        ({"emails": ["not-an-address"]}, "emails[0]"),
        ({"phoneNumbers": [PHONE], "recipients": ["ssh-ed25519 AAAA"]}, "recipients[0]"),
        ({"phoneNumbers": [PHONE], "recipients": ["age1notakey"]}, "recipients[0]"),
        ({"phoneNumbers": [PHONE], "phonenumber": [PHONE]}, "phonenumber"),
        ({"phoneNumbers": [PHONE], "whatIf": True}, "whatIf"),
        ({"phoneNumbers": [PHONE], "reference": "a\nb"}, "reference"),
        (
            {
                "phoneNumbers": [PHONE],
                "startedAfter": "2026-02-01T00:00:00Z",
                "startedBefore": "2026-01-01T00:00:00Z",
            },
            "earlier",
        ),
    ],
)
def test_bad_input_is_a_clear_400_and_changes_nothing(live, tokens, body, says):
    capture(live, tokens["capture"], "bad-1", "2026-01-02T10:00:00Z")
    answer = create(live, tokens["export"], **body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert says in answer.json()["detail"]
    assert count_exports(live) == (0, 0)


def test_an_unknown_query_parameter_is_a_400(live, tokens):
    capture(live, tokens["capture"], "uq-1", "2026-01-02T10:00:00Z")
    answer = create(live, tokens["export"], {"dryRun": "true"}, phoneNumbers=[PHONE])
    assert answer.status_code == 400
    assert "dryRun" in answer.json()["detail"]
    assert count_exports(live) == (0, 0)


def test_more_calls_than_an_export_holds_is_a_400_saying_to_narrow(live, tokens, monkeypatch):
    import callvault.exports.service as service

    monkeypatch.setattr(service, "MAX_CALLS", 2)  # the rule, without capturing 10,001 calls
    for n in range(3):
        capture(live, tokens["capture"], f"many-{n}", f"2026-01-0{n + 1}T10:00:00Z")
    answer = create(live, tokens["export"], phoneNumbers=[PHONE])
    assert answer.status_code == 400
    assert "narrow the window" in answer.json()["detail"]
    assert count_exports(live) == (0, 0)
    narrowed = create(
        live, tokens["export"], phoneNumbers=[PHONE], startedBefore="2026-01-03T00:00:00Z"
    )
    assert narrowed.status_code == 201
    assert narrowed.json()["calls"] == 2


def test_permissions(live, tokens):
    capture(live, tokens["capture"], "perm-1", "2026-01-02T10:00:00Z")
    for who in ("audit", "purge", "read"):
        assert create(live, tokens[who], phoneNumbers=[PHONE]).status_code == 403
    doc = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    package = f"/exports/v1/{doc['exportId']}/package"
    refused = fetch(live, package, tokens["audit"])  # a bearer token without `export`
    assert refused.status_code == 403
    assert fetch(live, package).status_code == 401  # neither link token nor bearer token
    assert fetch(live, f"/exports/v1/{doc['exportId']}", tokens["read"]).status_code == 403
    with live.client(tokens["audit"]) as client:
        assert client.post(f"/exports/v1/{doc['exportId']}/revoke").status_code == 403
    assert fetch(live, f"/exports/v1/{doc['exportId']}", tokens["export"]).json()["downloads"] == 0


@pytest.mark.settings(export_max_downloads=2)
def test_every_broken_link_is_one_410_and_a_bearer_download_counts(live, tokens):
    capture(live, tokens["capture"], "gone-1", "2026-01-02T10:00:00Z")
    used = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    assert fetch(live, used["downloadUrl"]).status_code == 200
    bearer = fetch(live, f"/exports/v1/{used['exportId']}/package", tokens["export"])
    assert bearer.status_code == 200  # the second download: by bearer token
    assert fetch(live, f"/exports/v1/{used['exportId']}", tokens["export"]).json()["state"] == (
        "Expired"
    )
    revoked = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    with live.client(tokens["export"]) as client:
        answer = client.post(f"/exports/v1/{revoked['exportId']}/revoke")
        assert answer.status_code == 200
        assert answer.json()["state"] == "Revoked"
        again = client.post(f"/exports/v1/{revoked['exportId']}/revoke")
        assert again.status_code == 409
        assert client.post("/exports/v1/nope/revoke").status_code == 404
    expired = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    with live.runtime.engine.begin() as conn:  # the link's hours have passed
        conn.execute(
            update(exports)
            .where(exports.c.export_id == expired["exportId"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    good = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    wrong = good["downloadUrl"].rsplit("=", 1)[0] + "=" + "A" * 43
    elsewhere = good["downloadUrl"].replace(good["exportId"], used["exportId"])
    unknown = good["downloadUrl"].replace(good["exportId"], "0" * 32)
    answers = [
        fetch(live, url)
        for url in (
            used["downloadUrl"],
            revoked["downloadUrl"],
            expired["downloadUrl"],
            wrong,
            elsewhere,
            unknown,
            good["downloadUrl"] + "x",
            f"/exports/v1/{good['exportId']}/package?token=",
        )
    ]
    assert {a.status_code for a in answers} == {410}
    assert len({a.content for a in answers}) == 1
    assert fetch(live, f"/exports/v1/{expired['exportId']}", tokens["audit"]).json()["state"] == (
        "Expired"
    )
    with live.client(tokens["export"]) as client:
        assert client.post(f"/exports/v1/{expired['exportId']}/revoke").status_code == 409
        assert client.get(f"/exports/v1/{good['exportId']}").json()["downloads"] == 0
        gone = client.get(f"/exports/v1/{revoked['exportId']}/package")
        assert gone.status_code == 410
        assert client.get(f"/exports/v1/{'0' * 32}/package").status_code == 404
    assert fetch(live, good["downloadUrl"]).status_code == 200  # wrong guesses spent nothing


def test_a_call_erased_after_creation_is_listed_erased_and_a_held_call_is_exported(live, tokens):
    purged, _ = capture(live, tokens["capture"], "er-1", "2026-01-02T10:00:00Z")
    held, held_audio = capture(live, tokens["capture"], "er-2", "2026-01-03T10:00:00Z")
    with live.client(tokens["hold"]) as client:
        placed = client.post(
            "/holds/v1", json={"matter": "M-1", "reason": "litigation", "callIds": [held]}
        )
        assert placed.status_code == 201, placed.text
    doc = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    assert doc["calls"] == 2
    with live.client(tokens["purge"]) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [purged, held]})
        assert answer.status_code == 200, answer.text
    archive, manifest, _ = open_package(live, fetch(live, doc["downloadUrl"]).content)
    states = {c["callId"]: c["state"] for c in manifest["calls"]}
    assert states == {purged: "erased", held: "included"}
    assert not [n for n in archive.namelist() if n.startswith(f"calls/{purged}/")]
    assert archive.read(f"calls/{held}/audio.wav") == held_audio
    csv_rows = archive.read("calls.csv").decode().splitlines()
    assert csv_rows[1].startswith(purged)
    assert csv_rows[1].endswith(",erased")


def test_a_call_purged_after_the_read_ahead_before_its_turn_is_listed_erased(live, tokens):
    # The package reads its calls' rows and keys ahead; a call whose purge is accepted after
    # that read, before its turn, is listed erased and none of its bytes is sent, while the
    # download goes on with the next call.
    from callvault.certificates.service import CertificateService
    from callvault.exports.service import ExportService

    sessions = ("ra-1", "ra-2", "ra-3")
    calls = [
        capture(live, tokens["capture"], s, f"2026-01-0{i + 2}T10:00:00Z")
        for i, s in enumerate(sessions)
    ]
    doc = create(live, tokens["export"], phoneNumbers=[PHONE]).json()
    rt = live.runtime
    service = ExportService(rt, CertificateService(rt).sign)
    chunks = iter(service.download_by_user(doc["exportId"], "tester").chunks)
    sent = next(chunks)  # the first call's audio has begun: the rest were read ahead
    first = next(c for c, _ in calls if f"calls/{c}/audio.wav".encode() in sent)
    later = [(c, audio) for c, audio in calls if c != first]
    (purged, purged_audio), (kept, kept_audio) = later
    with live.client(tokens["purge"]) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [purged]})
        assert answer.status_code == 200, answer.text
    package = sent + b"".join(chunks)
    assert purged_audio[44:] not in package
    archive, manifest, _ = open_package(live, package)
    states = {c["callId"]: c["state"] for c in manifest["calls"]}
    assert states == {first: "included", purged: "erased", kept: "included"}
    assert not [n for n in archive.namelist() if n.startswith(f"calls/{purged}/")]
    assert archive.read(f"calls/{kept}/audio.wav") == kept_audio


def test_recipients_get_an_age_encrypted_package(live, tokens):
    call_id, audio = capture(live, tokens["capture"], "age-1", "2026-01-02T10:00:00Z")
    identity = x25519.Identity.generate()
    other = x25519.Identity.generate()
    recipients = [str(identity.to_public()), str(other.to_public())]
    doc = create(live, tokens["export"], phoneNumbers=[PHONE], recipients=recipients).json()
    package = fetch(live, doc["downloadUrl"])
    assert package.status_code == 200
    assert package.headers["content-type"] == "application/octet-stream"
    assert package.headers["content-disposition"].endswith(
        f'filename="callvault-export-{doc["exportId"]}.zip.age"'
    )
    assert package.content.startswith(b"age-encryption.org/v1\n")
    assert b"PK\x03\x04" not in package.content
    assert audio[100:200] not in package.content
    for key in (identity, other):
        archive, _, _ = open_package(live, pyrage.decrypt(package.content, [key]))
        assert archive.read(f"calls/{call_id}/audio.wav") == audio
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(package.content, [x25519.Identity.generate()])


def test_audit_events_and_nothing_personal_or_secret_kept(live, tokens):
    capture(live, tokens["capture"], "au-1", "2026-01-02T10:00:00Z")
    doc = create(live, tokens["export"], phoneNumbers=[PHONE], reference="DSR-1").json()
    raw = fetch(live, doc["downloadUrl"]).content
    with live.client(tokens["export"]) as client:
        client.post(f"/exports/v1/{doc['exportId']}/revoke")
    with chained(live.runtime).engine.connect() as conn:
        rows = conn.execute(
            select(audit_events.c.action, audit_events.c.actor, audit_events.c.details).where(
                audit_events.c.action.like("export.%")
            )
        ).all()
    events = {r.action: (r.actor, json.loads(r.details)) for r in rows}
    assert set(events) == {"export.created", "export.downloaded", "export.revoked"}
    _, created = events["export.created"]
    assert created["exportId"] == doc["exportId"]
    assert created["calls"] == 1
    assert created["reference"] == "DSR-1"
    assert [h["type"] for h in created["subjectHashes"]] == ["phone"]
    link, downloaded = events["export.downloaded"]
    assert link == "link"
    assert downloaded["by"] == "link"
    assert downloaded["complete"] is True
    assert downloaded["bytes"] == len(raw)
    assert downloaded["sha256"] == hashlib.sha256(raw).hexdigest()
    token = doc["downloadUrl"].rsplit("=", 1)[1]
    kept = stored_bytes(live.runtime)
    for secret in (token, E164, "5125550177", "Jane"):
        assert secret.encode() not in kept, secret


def test_the_access_log_never_shows_a_link_token():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/exports/v1/abc/package?token=s3cr3t-T0k3n&x=1", "1.1", 410),
        None,
    )
    assert HideLinkTokens().filter(record)
    line = record.getMessage()
    assert "s3cr3t" not in line
    assert "/exports/v1/abc/package?[hidden] HTTP/1.1" in line  # the whole query goes
