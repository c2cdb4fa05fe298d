"""What an attacker found against `callvault serve` (issue 12, contract §19), answered in-app:
one authentication method at /Token, authentication before the body, no Host-built redirects,
no non-finite numbers stored, a quiet log for a client that hangs up."""

from __future__ import annotations

import base64

import httpx

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
