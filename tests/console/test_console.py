"""The console over real HTTP (contract §17): headers, cookies, CSRF, permissions, and the same
services as the API. The browser tests (test_browser.py) drive the flows in a real chromium."""

from __future__ import annotations

import re
from urllib.parse import quote_from_bytes

import httpx
import pytest

from console_helpers import PASSWORD, hidden
from helpers import call_info, post_call

PHONE = "(512) 555-0173"


def capture(live, sessions, phone=PHONE) -> list[str]:
    ids = []
    with live.client(live.token("capture")) as client:
        for sid in sessions:
            info = call_info(sid, contacts=[{"type": "Customer", "phoneNumber": phone}])
            answer = post_call(client, info)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["callId"])
    return ids


def test_pages_carry_a_strict_policy_and_no_store(live, console_as):
    console = console_as("purge", "hold", "retention", "audit")
    pages = ("/console/lookup", "/console/requests", "/console/holds", "/console/retention")
    for path in (*pages, "/console/audit"):
        page = console.http.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        for rule in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ):
            assert rule in csp
        assert "unsafe" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        # Every asset is this server's own: no script, style or link elsewhere, nothing inline.
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", page.text)
        assert "<style" not in page.text
        assert " style=" not in page.text
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page.text)
        assert not re.search(r"<[^>]+\son[a-z]+=", page.text)  # no inline handlers
    assets = {
        "/console/static/htmx.min.js": "text/javascript",
        "/console/static/console.css": "text/css",
    }
    for path, media in assets.items():
        answer = httpx.get(live.url + path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(media)
    assert httpx.get(live.url + "/console/static/..%2Fweb.py").status_code == 404


def test_the_session_cookie_is_httponly_strict_and_scoped(live, person):
    name = person("audit")
    http = httpx.Client(base_url=live.url)
    page = http.get("/console/login")
    answer = http.post(
        "/console/login",
        data={
            "login_token": hidden(page.text, "login_token"),
            "username": name,
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("callvault_session=")
    )
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path=/console", "samesite=strict"} <= attributes
    assert "secure" not in attributes  # plain HTTP here; over HTTPS it is Secure
    http.close()


def test_login_failures_say_nothing_about_which_part_was_wrong(live, person):
    name = person("audit")
    http = httpx.Client(base_url=live.url)
    token = hidden(http.get("/console/login").text, "login_token")
    answers = [
        http.post(
            "/console/login", data={"login_token": token, "username": user, "password": secret}
        )
        for user, secret in ((name, "not the password"), ("nobody-at-all", PASSWORD))
    ]
    assert [a.status_code for a in answers] == [401, 401]
    alerts = [re.search(r'role="alert"[^>]*>([^<]+)', a.text).group(1) for a in answers]
    assert alerts[0] == alerts[1]
    # The login form itself needs its token (no login CSRF).
    forged = httpx.post(live.url + "/console/login", data={"username": name, "password": PASSWORD})
    assert forged.status_code == 403
    assert "callvault_session" not in forged.headers.get("set-cookie", "")
    http.close()


def test_repeated_login_failures_are_429_with_retry_after_even_for_the_right_password(live, person):
    name = person("audit")
    http = httpx.Client(base_url=live.url)
    token = hidden(http.get("/console/login").text, "login_token")

    def attempt(password: str) -> httpx.Response:
        fields = {"login_token": token, "username": name, "password": password}
        return http.post("/console/login", data=fields)

    statuses = [attempt(f"guess {n}").status_code for n in range(12)]
    assert statuses[0] == 401
    assert 429 in statuses
    refused = attempt(PASSWORD)  # the right password waits too: no guessing at full speed
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "callvault_session" not in refused.headers.get("set-cookie", "")
    http.close()


def test_a_user_without_a_password_cannot_log_in(live):
    _client_id, secret = live.user("purge", name="machine-only")
    http = httpx.Client(base_url=live.url)
    token = hidden(http.get("/console/login").text, "login_token")
    for password in ("", secret, PASSWORD):
        answer = http.post(
            "/console/login",
            data={"login_token": token, "username": "machine-only", "password": password},
        )
        assert answer.status_code == 401
    http.close()


def test_without_a_session_pages_send_to_login_and_posts_are_refused(live):
    page = httpx.get(live.url + "/console/requests")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login"
    post = httpx.post(live.url + "/console/lookup", data={"phone": PHONE, "csrf": "x"})
    assert post.status_code == 401
    poll = httpx.get(live.url + "/console/requests/x/progress", headers={"HX-Request": "true"})
    assert poll.status_code == 401
    assert poll.headers["hx-redirect"] == "/console/login"
    # A bearer token is no way into the console, nor a session cookie into the API.
    token = live.token("admin")
    with_token = httpx.get(
        live.url + "/console/audit", headers={"Authorization": f"Bearer {token}"}
    )
    assert with_token.status_code == 303


def test_a_post_without_the_csrf_token_changes_nothing(live, console_as):
    capture(live, ["csrf-1"])
    console = console_as("purge", "hold", "audit")
    preview = console.post("/console/lookup", phone=PHONE)
    assert preview.status_code == 200
    fields = {name: hidden(preview.text, name) for name in ("phone", "confirm", "expected")} | {
        "typed": "1"
    }
    for csrf in (None, "", "0" * 64):
        data = dict(fields) if csrf is None else {**fields, "csrf": csrf}
        refused = console.http.post("/console/purge", data=data)
        assert refused.status_code == 403
    held = console.http.post("/console/holds", data={"matter": "M", "reason": "R", "callIds": "x"})
    assert held.status_code == 403
    with live.client(live.token("audit")) as api:
        events = api.get("/audit/v1/events").json()["events"]
    assert [e["action"] for e in events if e["action"] != "call.captured"] == [
        "purge.requested"  # the preview alone (whatIf)
    ]
    assert all(e["details"].get("whatIf", True) for e in events if e["action"] == "purge.requested")


def test_a_user_without_purge_sees_no_purge_action_and_its_post_is_403(live, console_as):
    capture(live, ["nopurge-1"])
    console = console_as("hold", "audit")
    home = console.http.get("/console/", follow_redirects=True)
    assert "/console/lookup" not in home.text
    assert console.http.get("/console/lookup").status_code == 403
    refused = console.post("/console/lookup", phone=PHONE)
    assert refused.status_code == 403
    refused = console.post("/console/purge", phone=PHONE, expected="1", typed="1")
    assert refused.status_code == 403
    # What it may do, it may: the audit trail and the holds.
    assert console.http.get("/console/audit").status_code == 200
    assert console.http.get("/console/holds").status_code == 200


def test_a_purge_needs_the_typed_count_and_uses_the_preview_token(live, console_as):
    ids = capture(live, ["count-1", "count-2"])
    console = console_as("purge", "audit")
    preview = console.post("/console/lookup", phone=PHONE)
    assert 'id="erasable">2<' in preview.text
    fields = {name: hidden(preview.text, name) for name in ("phone", "confirm", "expected")}
    wrong = console.post("/console/purge", **fields, typed="3")
    assert wrong.status_code == 400
    assert "type the number of calls" in wrong.text
    # A call captured after the preview: the preview's token no longer matches what would go.
    capture(live, ["count-3"])
    stale = console.post("/console/purge", **fields, typed="2")
    assert stale.status_code == 409
    assert 'id="erasable">3<' in stale.text
    fields = {name: hidden(stale.text, name) for name in ("phone", "confirm", "expected")}
    done = console.post("/console/purge", **fields, typed="3")
    assert done.status_code == 303
    request_id = done.headers["location"].rsplit("/", 1)[1]
    with live.client(live.token("purge")) as api:
        resource = api.get(f"/purge/v1/requests/{request_id}").json()
    assert resource["kind"] == "customer"
    assert len(resource["items"]) == 3
    assert set(ids) <= {i["callId"] for i in resource["items"]}


def test_nothing_personal_in_any_console_url(live, console_as):
    """Phone numbers travel in POST bodies: no console link or redirect carries one."""
    capture(live, ["url-1"])
    console = console_as("purge", "hold", "audit")
    seen: list[str] = []
    console.http.event_hooks["request"] = [lambda r: seen.append(str(r.url))]
    preview = console.post("/console/lookup", phone=PHONE)
    fields = {name: hidden(preview.text, name) for name in ("phone", "confirm", "expected")}
    done = console.post("/console/purge", **fields, typed="1")
    page = console.http.get(done.headers["location"])
    links = re.findall(r'(?:href|action|hx-get)="([^"]+)"', preview.text + page.text)
    digits = re.sub(r"\D", "", PHONE)
    for url in seen + links + [done.headers["location"]]:
        assert digits not in re.sub(r"\D", "", url), url


def test_console_routes_are_not_in_the_api_document(live):
    with live.client(live.token("audit")) as api:
        paths = api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_bad_input_in_console_forms_is_a_4xx_page_not_a_500(live, console_as):
    console = console_as("purge", "hold", "audit")
    cases = [
        ("/console/lookup", {"phone": "12"}, 400),
        ("/console/lookup", {"phone": ""}, 400),
        ("/console/holds", {"matter": "", "reason": "r", "callIds": "x"}, 400),
        ("/console/holds", {"matter": "m", "reason": "r"}, 400),
        ("/console/holds", {"matter": "m", "reason": "r", "startedAfter": "yesterday"}, 400),
        ("/console/holds/nope/release", {"reason": "r"}, 404),
        ("/console/requests/nope/cancel", {}, 404),
    ]
    for path, fields, status in cases:
        answer = console.post(path, **fields)
        assert answer.status_code == status, (path, fields, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html")
    assert console.http.get("/console/requests?state=Bogus").status_code == 400
    assert console.http.get("/console/requests?page=0").status_code == 400
    assert console.http.get("/console/audit?after=-1").status_code == 400
    assert console.http.get("/console/requests/nope").status_code == 404
    assert console.http.get("/console/requests/nope/certificate").status_code == 404
    json_post = console.http.post("/console/lookup", json={"phone": PHONE, "csrf": console.csrf})
    assert json_post.status_code == 415


def test_logout_ends_the_session(live, console_as):
    console = console_as("audit")
    assert console.post("/console/logout").status_code == 303
    assert console.http.get("/console/audit").status_code == 303


def test_the_chain_verifies_from_the_console(live, console_as):
    console = console_as("audit")
    verdict = console.post("/console/audit/verify")
    assert verdict.status_code == 200
    assert "The chain is intact" in verdict.text


@pytest.mark.settings(purge_grace_seconds=3600)
def test_a_purge_in_its_grace_window_can_be_cancelled(live, console_as):
    capture(live, ["grace-1"])
    console = console_as("purge")
    preview = console.post("/console/lookup", phone=PHONE)
    fields = {name: hidden(preview.text, name) for name in ("phone", "confirm", "expected")}
    done = console.post("/console/purge", **fields, typed="1")
    page = console.http.get(done.headers["location"])
    assert "/cancel" in page.text
    cancelled = console.post(done.headers["location"] + "/cancel")
    assert cancelled.status_code == 303
    after = console.http.get(done.headers["location"])
    assert 'id="state" class="badge state-cancelled">Cancelled<' in after.text
    # Nothing was erased: no certificate of erasure offered, and none to download (§14).
    assert 'id="certificate"' not in after.text
    refused = console.http.get(done.headers["location"] + "/certificate")
    assert refused.status_code == 409


FORM = "application/x-www-form-urlencoded"
NASTY = ["\x00", "\ud800", "x" * 100_000, "+1" * 300, "%00", "'; DROP TABLE calls; --", "🙂" * 50]


def test_hostile_form_values_get_a_4xx_or_a_page_never_a_500(live, console_as):
    console = console_as("purge", "hold", "retention", "audit")
    forms = {
        "/console/lookup": ["phone"],
        "/console/purge": ["phone", "confirm", "expected", "typed"],
        "/console/holds": ["matter", "reason", "phoneNumbers", "callIds", "startedAfter"],
        "/console/holds/x/release": ["reason"],
        "/console/retention/preview": ["name", "maxAgeDays", "direction"],
        "/console/retention/save": ["name", "maxAgeDays", "direction", "expected", "typed"],
        "/console/retention/x/delete": ["csrf"],
    }
    for path, names in forms.items():
        for name in names:
            for value in NASTY:
                fields = {"csrf": console.csrf, **{n: "1" for n in names}, name: value}
                # Encoded by hand: a lone surrogate becomes the invalid UTF-8 a hostile
                # client can send.
                body = "&".join(
                    f"{k}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in fields.items()
                )
                answer = console.http.post(path, content=body, headers={"Content-Type": FORM})
                assert answer.status_code < 500, (path, name, value[:20], answer.text[:200])
    for path in (
        "/console/requests/%00",
        "/console/holds/%ED%A0%80",
        "/console/requests/" + "x" * 70,
        "/console/retention?days=%00",
        "/console/retention?days=99999999999999999999",
    ):
        assert console.http.get(path).status_code < 500, path
    raw = console.http.post(
        "/console/lookup",
        content=b"csrf=" + console.csrf.encode() + b"&phone=%ff%fe%00",
        headers={"Content-Type": FORM},
    )
    assert raw.status_code < 500
