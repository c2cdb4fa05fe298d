"""Contract §17: "an unknown console path or a failure answers an HTML page (never JSON)".

Over real HTTP, every kind of error a console address can meet (a path no route takes, a
resource that does not exist, a method the path does not take, a bad value, a missing
permission or session, a form of the wrong type, a body over the limit, a fault of the server
and a database gone for a moment) answers the console's error page: its status kept, HTML, the
console's Content-Security-Policy, a heading and a sentence for a person, and no JSON.
"""

from __future__ import annotations

import re
import sqlite3
from html import unescape

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from callvault.console.web import CSP

# Paths no console route takes, and resources that do not exist (to a person signed in; one
# signed out is sent to the login page first, as for any page, so learns nothing of them).
UNROUTED = (
    "/console/nope",
    "/console/nope/deeper/still",
    "/console/retention/nope",
    "/console/audit/nope",
    "/console/static/nope.js",
)
MISSING = (
    "/console/requests/does-not-exist",
    "/console/requests/does-not-exist/progress",
    "/console/holds/does-not-exist",
)


def assert_page(answer: httpx.Response, status: int) -> str:
    """The answer is the console's error page with ``status``; its sentence for a person."""
    where = f"{answer.request.method} {answer.request.url.path}"
    assert answer.status_code == status, (where, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html"), where
    assert answer.headers["content-security-policy"] == CSP, where
    assert answer.headers["cache-control"] == "no-store", where
    body = answer.text
    assert body.lstrip().startswith("<!doctype html>"), (where, body[:200])
    assert '"type":' not in body, where
    assert "problems/" not in body, where
    heading = re.search(r"<h1>([^<]+)</h1>", body)
    detail = re.search(r'id="error-detail">([^<]+)<', body)
    assert heading is not None, (where, body[:300])
    assert detail is not None, (where, body[:300])
    sentence = unescape(detail.group(1))
    assert len(sentence.split()) >= 4, (where, sentence)  # words, not a code
    assert "{" not in sentence, (where, sentence)
    return sentence


def test_an_unknown_console_path_is_a_404_page_signed_in_or_not(live, console_as):
    anonymous = httpx.Client(base_url=live.url)
    console = console_as("purge", "hold", "retention", "audit")
    for path in UNROUTED:
        assert_page(anonymous.get(path), 404)
    for path in UNROUTED + MISSING:
        assert_page(console.http.get(path), 404)
    assert anonymous.get(MISSING[0]).headers["location"] == "/console/login"
    for path in ("/console/nope", "/console/holds/nope/release"):
        assert_page(console.http.post(path, data={"csrf": console.csrf, "reason": "r"}), 404)
    # Signed in, the page has the console's navigation; signed out, a way to log in.
    page = console.http.get("/console/nope")
    assert 'href="/console/audit"' in page.text
    assert 'href="/console/login"' in anonymous.get("/console/nope").text
    # Outside /console/ the API's problem details stay as they were.
    api = anonymous.get("/nope")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert anonymous.get("/consolex").headers["content-type"].startswith("application/")
    anonymous.close()


def test_a_method_a_console_path_does_not_take_is_a_405_page_with_allow(live, console_as):
    console = console_as("purge", "hold", "retention", "audit")
    cases = {
        ("GET", "/console/logout"): "POST",
        ("GET", "/console/purge"): "POST",
        ("GET", "/console/audit/verify"): "POST",
        ("GET", "/console/retention/preview"): "POST",  # the retention pages' own router
        ("PUT", "/console/lookup"): "GET, POST",
        ("DELETE", "/console/requests/x"): "GET",
        ("PATCH", "/console/holds"): "GET, POST",
    }
    for (method, path), allow in cases.items():
        answer = console.http.request(method, path)
        assert_page(answer, 405)
        assert answer.headers["allow"] == allow, (method, path)
    assert_page(httpx.get(live.url + "/console/logout"), 405)  # signed out alike


def test_bad_values_and_refusals_are_pages_with_their_status(live, console_as):
    console = console_as("purge", "hold", "audit")
    assert_page(console.http.get("/console/requests?page=0"), 400)
    assert_page(console.http.get("/console/requests?state=Bogus"), 400)
    assert_page(console.http.get("/console/audit?after=-1"), 400)
    assert_page(console.post("/console/lookup", phone=""), 400)
    holds_only = console_as("hold")
    assert_page(holds_only.http.get("/console/lookup"), 403)
    assert_page(holds_only.http.get("/console/retention"), 403)
    assert_page(holds_only.http.get("/console/audit"), 403)
    assert_page(console.http.post("/console/lookup", data={"phone": "1"}), 403)  # no CSRF
    assert_page(console.http.post("/console/lookup", json={"phone": "1"}), 415)
    poll = httpx.get(live.url + "/console/requests/x/progress", headers={"HX-Request": "true"})
    assert_page(poll, 401)


@pytest.mark.settings(max_json_body_bytes=4096)
def test_a_form_streamed_past_the_body_limit_is_a_413_page(live, console_as):
    console = console_as("purge")

    def chunks():  # no Content-Length: the limit is met while the body streams in
        yield f"csrf={console.csrf}&phone=".encode()
        for _ in range(10):
            yield b"5" * 1024

    answer = console.http.post(
        "/console/lookup",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_page(answer, 413)


def test_a_fault_of_the_server_is_a_500_page_and_a_database_outage_a_503(
    live, console_as, monkeypatch, caplog
):
    console = console_as("purge", "audit")
    purges = live.app_state.purge_service

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug with a secret value 555-0100 in its message")

    monkeypatch.setattr(purges, "list_requests", broken)
    sentence = assert_page(console.http.get("/console/requests"), 500)
    assert "555-0100" not in sentence  # the fault's own words stay in the log
    assert any("unhandled error on a console page" in r.getMessage() for r in caplog.records)

    def locked(*_args, **_kwargs):
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorname = "SQLITE_BUSY"
        raise OperationalError("SELECT 1", {}, error)

    monkeypatch.setattr(purges, "list_requests", locked)
    busy = console.http.get("/console/requests")
    assert_page(busy, 503)
    assert busy.headers["retry-after"] == "5"
