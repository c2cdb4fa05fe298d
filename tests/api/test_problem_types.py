"""The content type of errors (contract §8, issue 33).

Tethr's C++ client (Poco) sends no ``Accept`` header and reads an answer's body only when its
type is exactly ``application/json; charset=utf-8``; any other type it reports as "Unexpected
content type … (code 0)", losing the status. So a request to a Tethr endpoint (§2–5, §10, §16)
that does not name ``application/problem+json`` in its ``Accept`` gets the same problem body
with that type, status kept; callvault's own endpoints keep ``application/problem+json``.

Every request is framed by hand on a real socket to real uvicorn, as the C++ client frames it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from api.test_tethr_wire import (
    TETHR_JSON,
    RawResponse,
    build_request,
    capture_parts,
    capture_request,
    multipart_body,
    new_session,
    raw_capture,
    send_raw,
)
from helpers import call_info, wav_bytes

PROBLEM_JSON = "application/problem+json"
# What each Accept asks for on a Tethr endpoint.
NOT_NAMING_PROBLEMS = [None, "*/*", "application/json", "application/problem+json;q=0"]
NAMING_PROBLEMS = [
    "application/problem+json",
    "application/json, application/problem+json",
    "Application/Problem+JSON; q=0.5, */*; q=0.1",
]


def with_accept(headers: list[tuple[str, str]], accept: str | None) -> list[tuple[str, str]]:
    return headers if accept is None else [*headers, ("Accept", accept)]


def json_request(
    path: str, document: Any, token: str | None = None, accept: str | None = None
) -> bytes:
    body = json.dumps(document).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if token is not None:
        headers.insert(0, ("Authorization", f"Bearer {token}"))
    return build_request("POST", path, with_accept(headers, accept), body)


def get_request(path: str, token: str | None = None, accept: str | None = None) -> bytes:
    headers = [("Authorization", f"Bearer {token}")] if token is not None else []
    return build_request("GET", path, with_accept(headers, accept))


def assert_problem_as(answer: RawResponse, status: int, media_type: str) -> dict[str, Any]:
    """A problem body (RFC 9457 members), its status kept, sent as ``media_type``."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.header("content-type") == media_type
    doc: dict[str, Any] = answer.json()
    assert {"type", "title", "status", "detail"} <= set(doc)
    assert doc["status"] == status
    assert doc["detail"].strip()
    return doc


def duplicate_capture(live: Any, accept: str | None) -> RawResponse:
    token = live.token("capture")
    session_id = new_session()
    raw_capture(live, token, call_info(session_id))
    boundary = uuid.uuid4().hex
    body = multipart_body(boundary, capture_parts(call_info(session_id), wav_bytes()))
    request = capture_request(token, body, f"multipart/form-data; boundary={boundary}")
    if accept is not None:
        head, _, rest = request.partition(b"\r\n")
        request = head + f"\r\nAccept: {accept}".encode() + b"\r\n" + rest
    return send_raw(live.port, request)


# ------------------------------------------------------------------ Tethr endpoints: JSON


def test_a_409_reaches_the_cpp_client_with_its_status(live):
    answer = duplicate_capture(live, None)
    doc = assert_problem_as(answer, 409, TETHR_JSON)
    assert doc["title"]
    assert answer.header("vary") == "Accept"  # the type depends on it: caches must know


def test_a_400_reaches_the_cpp_client_with_its_status(live):
    request = json_request("/purge/v1/calls", {"ids": []}, live.token("purge"))
    doc = assert_problem_as(send_raw(live.port, request), 400, TETHR_JSON)
    assert "ids" in doc["detail"]


def test_a_401_reaches_the_cpp_client_with_its_status(live):
    request = json_request("/callCapture/v1/status", {"CallSessionIds": ["x"]}, "not-a-token")
    answer = send_raw(live.port, request)
    assert_problem_as(answer, 401, TETHR_JSON)
    assert answer.header("www-authenticate") == "Bearer"


@pytest.mark.parametrize("accept", NOT_NAMING_PROBLEMS, ids=str)
def test_tethr_endpoints_answer_problems_as_tethr_json(live, accept):
    assert_problem_as(duplicate_capture(live, accept), 409, TETHR_JSON)
    purge = live.token("purge")
    for path, document, status in (
        ("/purge/v1/calls/sessions", {"ids": "x"}, 400),
        ("/purge/v1/calls/customer", {"phoneNumber": "12"}, 400),
        ("/interactions/v2/purge", {"ids": 3}, 400),
        ("/interactions/v2/purge/customer", {"phoneNumbers": [], "emails": []}, 400),
    ):
        answer = send_raw(live.port, json_request(path, document, purge, accept))
        assert_problem_as(answer, status, TETHR_JSON)
    capture = live.token("capture")
    answer = send_raw(live.port, json_request("/capture/v2/status", {"sessionIds": 1}, capture))
    assert_problem_as(answer, 400, TETHR_JSON)
    answer = send_raw(live.port, get_request("/capture/v2/status/x", None, accept))
    assert_problem_as(answer, 401, TETHR_JSON)


@pytest.mark.parametrize("accept", NAMING_PROBLEMS)
def test_a_client_that_asks_for_problem_json_gets_it(live, accept):
    assert_problem_as(duplicate_capture(live, accept), 409, PROBLEM_JSON)
    request = json_request("/purge/v1/calls", {"ids": []}, live.token("purge"), accept)
    assert_problem_as(send_raw(live.port, request), 400, PROBLEM_JSON)
    request = json_request("/callCapture/v1/status", {"CallSessionIds": ["x"]}, None, accept)
    assert_problem_as(send_raw(live.port, request), 401, PROBLEM_JSON)


def test_the_body_limit_413_of_a_tethr_endpoint_is_tethr_json(live):
    """Answered by the body-limit middleware, before any route."""
    big = {"ids": ["x" * (1024 * 1024)]}
    request = json_request("/purge/v1/calls", big, live.token("purge"))
    assert_problem_as(send_raw(live.port, request), 413, TETHR_JSON)
    form = b"grant_type=client_credentials&pad=" + b"x" * (1024 * 1024)
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Content-Length", str(len(form))),
    ]
    answer = send_raw(live.port, build_request("POST", "/Token", headers, form))
    assert_problem_as(answer, 413, TETHR_JSON)


def test_a_head_too_large_for_a_tethr_endpoint_is_a_431_in_tethr_json(live):
    """The protocol's own answer, when the head was read whole: its path and Accept are known."""
    filler = ("X-Filler", "a" * 70_000)
    answer = send_raw(live.port, build_request("GET", "/callCapture/v1/status/x", [filler]))
    assert_problem_as(answer, 431, TETHR_JSON)
    accepting = [filler, ("Accept", PROBLEM_JSON)]
    answer = send_raw(live.port, build_request("GET", "/callCapture/v1/status/x", accepting))
    assert_problem_as(answer, 431, PROBLEM_JSON)
    answer = send_raw(live.port, build_request("GET", "/healthz", [filler]))
    assert_problem_as(answer, 431, PROBLEM_JSON)


# --------------------------------------------------------- callvault's own: problem+json


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"], ids=str)
def test_callvaults_own_endpoints_keep_problem_json(live, accept):
    admin = live.token("admin")
    for request, status in (
        (get_request(f"/purge/v1/requests/{uuid.uuid4()}", admin, accept), 404),
        (get_request("/holds/v1/no-such-hold", admin, accept), 404),
        (get_request("/calls/v1/no-such-call", admin, accept), 404),
        (get_request("/audit/v1/events", None, accept), 401),
        (get_request("/retention/v1/policies", None, accept), 401),
        (json_request("/holds/v1", {"phoneNumbers": 5}, admin, accept), 400),
        (get_request("/no/such/path", admin, accept), 404),
    ):
        assert_problem_as(send_raw(live.port, request, "GET"), status, PROBLEM_JSON)
