"""What an attacker found against `callvault serve` (issue 12, contract §19), answered in-app:
one authentication method at /Token, authentication before the body, no Host-built redirects,
no non-finite numbers stored, a quiet log for a client that hangs up."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time

import httpx
from sqlalchemy import func, select

from callvault.store.tables import calls
from helpers import call_info

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_token_with_basic_and_form_credentials_is_invalid_request(live):
    client_id, secret = live.user("capture")
    other_id, other_secret = live.user("purge")
    for form in (
        f"grant_type=client_credentials&client_id={other_id}&client_secret={other_secret}",
        f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}",
        f"grant_type=client_credentials&client_secret={other_secret}",
        f"grant_type=client_credentials&client_id={client_id}",
    ):
        answer = httpx.post(
            f"{live.url}/Token",
            content=form,
            headers={**FORM, "Authorization": _basic(client_id, secret)},
        )
        assert answer.status_code == 400, (form, answer.text)
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json()["error"] == "invalid_request"
        assert "access_token" not in answer.json()
    # Each method alone still works.
    alone = httpx.post(
        f"{live.url}/Token",
        content="grant_type=client_credentials",
        headers={**FORM, "Authorization": _basic(client_id, secret)},
    )
    assert alone.status_code == 200


def test_non_finite_numbers_in_capture_info_are_400(live, capture):
    with live.client(live.token("capture", "read")) as client:
        for n, constant in enumerate(("NaN", "Infinity", "-Infinity", "1e400", "-1e400")):
            raw = json.dumps(call_info(f"nan-{n}", metadata={"score": 1.5})).replace(
                "1.5", constant
            )
            answer = capture(client, raw.encode())
            assert answer.status_code == 400, (constant, answer.text)
            # A problem, as Tethr JSON: httpx names no problem+json in its Accept (§8).
            assert answer.headers["content-type"] == "application/json; charset=utf-8"
            assert answer.json()["status"] == 400
            assert constant in answer.json()["detail"]
        # Finite numbers, even huge ones, are read back as sent.
        answer = capture(client, call_info("finite", metadata={"score": 1.5, "big": 1e308}))
        assert answer.status_code == 200, answer.text
        doc = client.get(f"/calls/v1/{answer.json()['callId']}").json()
    assert doc["metadata"] == {"score": 1.5, "big": 1e308}
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 1


def test_a_trailing_slash_is_a_404_problem_not_a_redirect_to_the_host_header(live):
    token = live.token("admin")
    # Under a Tethr path the problem comes as Tethr JSON to a client that asks for no
    # problem+json (httpx sends `Accept: */*`; contract §8).
    for method, path, media_type in (
        ("POST", "/purge/v1/calls/", "application/json; charset=utf-8"),
        ("GET", "/healthz/", "application/problem+json"),
        ("GET", "/callCapture/v1/monitor/", "application/json; charset=utf-8"),
    ):
        answer = httpx.request(
            method,
            f"{live.url}{path}",
            headers={"Host": "evil.example", "Authorization": f"Bearer {token}"},
            json={"ids": ["a"]},
        )
        assert answer.status_code == 404, (path, answer.status_code)
        assert "location" not in answer.headers
        assert answer.headers["content-type"] == media_type


def test_a_client_that_hangs_up_mid_capture_is_one_quiet_log_line(live, caplog):
    token = live.token("capture")
    start = (
        "POST /callCapture/v1/archive HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
        "--b\r\nContent-Disposition: form-data; name=data\r\n\r\nsome audio"
    ).encode()
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", live.port), timeout=20) as sock:
        sock.sendall(start)
    deadline = time.monotonic() + 20

    def about_it() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if "disconnect" in r.getMessage().lower() or r.levelno >= logging.ERROR
        ]

    while not about_it():
        assert time.monotonic() < deadline, "the hang-up was never logged"
        time.sleep(0.02)
    records = about_it()
    assert [r.levelno for r in records] == [logging.INFO], [r.getMessage() for r in records]
    assert records[0].exc_info is None
    assert list(live.runtime.blobs.iter_keys()) == []
