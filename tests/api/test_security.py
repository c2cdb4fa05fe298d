"""Authentication boundaries: no endpoint but /healthz, /Token and the JWKS (which verifies
certificates of erasure) answers without a token, and a token acts as its own user only."""

from __future__ import annotations

import re

import httpx
import pytest

from helpers import call_info

pytestmark = pytest.mark.both_backends


def _routes(live):
    with live.client(live.token("admin")) as client:
        spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method in operations:
            yield method.upper(), re.sub(r"\{[^}]+\}", "some-id", path)


def test_no_endpoint_but_healthz_token_and_jwks_answers_without_a_token(live):
    open_paths = {"/healthz", "/Token", "/.well-known/jwks.json"}
    checked = 0
    for method, path in _routes(live):
        if path in open_paths:
            continue
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = httpx.request(method, f"{live.url}{path}", headers=headers, json={})
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.headers["www-authenticate"] == "Bearer"
        checked += 1
    assert checked >= 14
    assert httpx.get(f"{live.url}/openapi.json").status_code == 401


def test_each_token_acts_as_its_own_user(live, capture):
    with live.client(live.token("capture")) as client:
        capture(client, call_info("mine"))
    alice = live.user("purge", name="alice")
    bob = live.user("purge", name="bob")
    tokens = {}
    for name, (client_id, secret) in (("alice", alice), ("bob", bob)):
        tokens[name] = httpx.post(
            f"{live.url}/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        ).json()["access_token"]
    assert tokens["alice"] != tokens["bob"]
    requested = {}
    for name in ("bob", "alice"):
        with live.client(tokens[name]) as client:
            rid = client.post("/purge/v1/calls/sessions?whatIf=true", json={"ids": ["mine"]})
            requested[name] = rid.json()["requestId"]
    with live.client(live.token("audit")) as client:
        for name, rid in requested.items():
            assert client.get(f"/purge/v1/requests/{rid}").json()["requestedBy"] == name


def test_a_token_is_not_a_secret_and_a_secret_is_not_a_token(live):
    client_id, secret = live.user("capture")
    token = httpx.post(
        f"{live.url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).json()["access_token"]
    assert (
        httpx.get(
            f"{live.url}/callCapture/v1/status/x", headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 401
    )
    wrong = httpx.post(
        f"{live.url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": token},
    )
    assert wrong.status_code == 400
