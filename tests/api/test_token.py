"""POST /Token: OAuth client credentials as Tethr answers them (contract §2, §10)."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import update

from callvault.auth.users import disable_user
from callvault.store.tables import access_tokens
from callvault.store.types import utcnow
from helpers import stored_bytes

pytestmark = pytest.mark.both_backends

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_token_answer_is_exactly_what_tethr_clients_need(live):
    client_id, secret = live.user("capture")
    # Tethr's .NET client puts client_secret first.
    body = f"client_secret={quote(secret)}&grant_type=client_credentials&client_id={client_id}"
    answer = httpx.post(f"{live.url}/Token", content=body, headers=FORM)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    doc = answer.json()
    assert set(doc) == {"access_token", "token_type", "expires_in"}
    assert doc["token_type"] == "bearer"
    assert doc["expires_in"] == 1799


def test_plus_and_percent20_spaces_decode_alike(live):
    client_id, secret = live.user("capture")
    for grant in ("client_credentials",):
        for sep in ("+", "%20"):
            body = f"grant_type={grant}&client_id={client_id}&client_secret={secret}&scope=a{sep}b"
            assert httpx.post(f"{live.url}/Token", content=body, headers=FORM).status_code == 200


def test_basic_client_authentication(live):
    client_id, secret = live.user("capture")
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    ok = httpx.post(
        f"{live.url}/Token",
        content="grant_type=client_credentials",
        headers={**FORM, "Authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200
    bad = base64.b64encode(f"{client_id}:wrong".encode()).decode()
    refused = httpx.post(
        f"{live.url}/Token",
        content="grant_type=client_credentials",
        headers={**FORM, "Authorization": f"Basic {bad}"},
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in refused.headers


def test_wrong_secret_and_unknown_client_are_invalid_client(live):
    client_id, _ = live.user("capture")
    for cid, sec in ((client_id, "wrong"), ("cv_unknown", "x"), ("", "")):
        answer = httpx.post(
            f"{live.url}/Token",
            data={"grant_type": "client_credentials", "client_id": cid, "client_secret": sec},
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_client"


def test_other_grant_types_are_unsupported(live):
    client_id, secret = live.user("capture")
    answer = httpx.post(
        f"{live.url}/Token",
        data={"grant_type": "password", "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_token_body_must_be_a_form(live):
    answer = httpx.post(f"{live.url}/Token", json={"grant_type": "client_credentials"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_missing_malformed_and_forged_tokens_get_401_with_bearer_challenge(live):
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer forged-token-value"},
    ):
        answer = httpx.get(f"{live.url}/callCapture/v1/status/s1", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        # A Tethr endpoint, and httpx names no problem+json in its Accept: Tethr JSON (§8).
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json()["detail"]


def test_expired_token_gets_401(live):
    token = live.token("capture")
    with live.client(token) as client:
        assert client.get("/callCapture/v1/status/s1").status_code == 200
        with live.runtime.engine.begin() as conn:
            conn.execute(update(access_tokens).values(expires_at=utcnow() - timedelta(seconds=1)))
        answer = client.get("/callCapture/v1/status/s1")
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


def test_disabled_user_tokens_stop_at_once(live):
    client_id, secret = live.user("capture", name="to-disable")
    token = httpx.post(
        f"{live.url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).json()["access_token"]
    with live.client(token) as client:
        assert client.get("/callCapture/v1/status/s1").status_code == 200
        disable_user(live.runtime.engine, "to-disable")
        assert client.get("/callCapture/v1/status/s1").status_code == 401
    again = httpx.post(
        f"{live.url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert again.status_code == 400


def test_missing_permission_is_403(live):
    token = live.token("audit")
    with live.client(token) as client:
        answer = client.get("/callCapture/v1/status/s1")
    assert answer.status_code == 403
    assert "capture" in answer.json()["detail"]


def test_admin_implies_every_permission(live):
    with live.client(live.token("admin")) as client:
        assert client.get("/callCapture/v1/status/s1").status_code == 200


def test_tokens_and_secrets_are_stored_only_as_hashes(live):
    client_id, secret = live.user("capture")
    token = live.token("capture")
    data = stored_bytes(live.runtime)
    assert secret.encode() not in data
    assert token.encode() not in data
    assert client_id.encode() in data  # the scan can see what is stored
