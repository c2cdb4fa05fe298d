"""The console in a real browser: Debian's chromium, headless, driven by Selenium through
/usr/bin/chromedriver (``scripts/ensure-chromium.sh`` installs both where missing).

One server and one browser for the module, a handful of flows: login, customer lookup and purge
to ``Purged`` with live progress, the certificate download, a hold placed and released, a
CSRF-less post refused, a user without ``purge`` not seeing the purge action, the audit trail
verified, a retention policy previewed, saved and forecast, a caller suppressed, looked up and
the suppression lifted. Each page is saved as a screenshot
under ``build/console-screenshots/`` (1280×800 and a phone's width). Every URL the server saw
and every log line of the process are checked for the phone number, and the browser's console
for any Content-Security-Policy violation.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from callvault.client import verify_certificate
from callvault.purge.loop import ErasureLoop, ErasureOptions
from console_browser import (
    SHOTS,
    WAIT,
    capture,
    chromium,
    csp_violations,
    live_site,
    log_in,
    person,
    shot,
    wait_for,
)
from console_helpers import PASSWORD
from helpers import LiveServer, call_info, post_call

pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

PHONE = "(512) 555-0186"
HOLD_PHONE = "+1 512 555 0142"
SUPPRESSED_PHONE = "(512) 555-0177"
EXPORT_PHONE = "(512) 555-0178"


@dataclass
class Seen:
    """What the server was asked (method, path and query, as an access log writes them) and
    every log record the process emitted while the module ran."""

    urls: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


class _Recorder(logging.Handler):
    def __init__(self, seen: Seen) -> None:
        super().__init__(logging.DEBUG)
        self.seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        # The test's own tools (Selenium telling chromedriver what to type) are not the server.
        if not record.name.startswith(("selenium", "urllib3")):
            self.seen.logs.append(f"{record.name}: {self.format(record)}")


@pytest.fixture(scope="module")
def seen() -> Seen:
    return Seen()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, seen: Seen) -> Iterator[LiveServer]:
    # The worker runs only when a test says so, so a request page is seen while Purging.
    def recording(app: Any) -> Any:
        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                query = scope.get("query_string", b"").decode("latin-1")
                seen.urls.append(f"{scope['method']} {scope['path']}?{query}")
            await app(scope, receive, send)

        return recorded

    recorder = _Recorder(seen)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        with live_site(tmp_path_factory.mktemp("console") / "data", recording) as live:
            yield live
    finally:
        root.removeHandler(recorder)
        root.setLevel(old_level)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[WebDriver]:
    with chromium(downloads) as driver:
        yield driver


@pytest.fixture
def fresh(browser: WebDriver, site: LiveServer) -> WebDriver:
    """The browser, signed out, at 1280×800."""
    browser.get(site.url + "/console/login")
    browser.delete_all_cookies()
    browser.set_window_size(1280, 800)
    return browser


def test_login_refuses_a_wrong_password_then_lets_the_person_in(fresh, site):
    name = person(site, "officer-login", "purge", "hold", "audit")
    fresh.get(site.url + "/console/requests")  # not signed in: sent to the login page
    assert fresh.current_url == site.url + "/console/login"
    shot(fresh, "login")
    log_in(fresh, site, name, "not the password at all")
    alert = wait_for(fresh, "#login-error")
    assert "wrong" in alert.text
    assert name not in alert.text
    fresh.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)  # the keyboard
    wait_for(fresh, "h1", "Customer lookup")
    cookie = fresh.get_cookie("callvault_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert fresh.execute_script("return document.cookie") == ""  # HttpOnly: no script reads it
    # The keyboard reaches the lookup field (visible focus is in the style sheet).
    active = fresh.switch_to.active_element
    assert active.get_attribute("id") == "phone"
    active.send_keys(Keys.TAB)  # to the button, whose keyboard focus is plain to see
    focused = fresh.switch_to.active_element
    assert focused.tag_name == "button"
    assert focused.value_of_css_property("outline-style") == "solid"
    assert focused.value_of_css_property("outline-width") == "3px"
    shot(fresh, "lookup")
    fresh.find_element(By.CSS_SELECTOR, ".signout button").click()
    wait_for(fresh, "h1", "Log in")
    fresh.get(site.url + "/console/lookup")
    assert fresh.current_url == site.url + "/console/login"
    assert csp_violations(fresh) == []


def test_lookup_preview_and_purge_to_purged_with_live_progress_and_certificate(
    fresh, site, downloads
):
    ids = capture(site, ["browser-purge-1", "browser-purge-2"], PHONE)
    log_in(fresh, site, person(site, "officer-purge", "purge", "audit"))
    wait_for(fresh, "h1", "Customer lookup")
    fresh.find_element(By.ID, "phone").send_keys(PHONE)
    fresh.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for(fresh, "#erasable", "2")
    assert fresh.current_url == site.url + "/console/lookup"  # the preview is the POST's answer
    rows = fresh.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
    assert len(rows) == 2
    assert "Inbound" in rows[0].text
    assert "Would be erased" in rows[0].text
    shot(fresh, "preview")
    # A wrong count purges nothing.
    fresh.find_element(By.ID, "typed").send_keys("3")
    fresh.find_element(By.CSS_SELECTOR, "#purge-form button").click()
    wait_for(fresh, "#purge-error", "type the number of calls")
    fresh.find_element(By.ID, "typed").send_keys("2")
    fresh.find_element(By.CSS_SELECTOR, "#purge-form button").click()
    state = wait_for(fresh, "#state", "Purging")
    assert "/console/requests/" in fresh.current_url
    assert fresh.find_elements(By.ID, "certificate") == []  # none while Purging
    shot(fresh, "request-purging", phone_too=False)
    page_marker = fresh.execute_script("return window.performance.timeOrigin")
    # The worker erases now; the page, not reloaded, follows by itself (htmx polling).
    assert ErasureLoop(site.runtime, ErasureOptions()).drain() == 2
    state = wait_for(fresh, "#state", "Complete")
    assert fresh.execute_script("return window.performance.timeOrigin") == page_marker
    statuses = [e.text for e in fresh.find_elements(By.CSS_SELECTOR, "#items .badge")]
    assert statuses == ["Purged", "Purged"]
    assert state.text == "Complete"
    shot(fresh, "request-purged")
    with site.client(site.token("capture")) as api:
        for call_id in ids:
            gone = api.get(f"/callCapture/v1/status/browser-purge-{ids.index(call_id) + 1}")
            assert gone.json()["status"] == "NotFound"
    # The certificate of erasure, downloaded as a file, verifies against the instance's keys.
    fresh.find_element(By.ID, "certificate").click()
    request_id = fresh.current_url.rsplit("/", 1)[1]
    target = downloads / f"erasure-{request_id}.jws"
    deadline = time.monotonic() + WAIT
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), sorted(p.name for p in downloads.iterdir())
    jwks = httpx.get(site.url + "/.well-known/jwks.json").json()
    claims = verify_certificate(target.read_text(), jwks)
    assert claims["requestId"] == request_id
    assert sorted(i["callId"] for i in claims["items"]) == sorted(ids)
    assert {i["status"] for i in claims["items"]} == {"Purged"}
    fresh.get(site.url + "/console/requests?kind=customer")
    wait_for(fresh, "#requests", request_id)
    shot(fresh, "requests")
    assert csp_violations(fresh) == []


def test_a_hold_placed_and_released(fresh, site):
    capture(site, ["browser-hold-1"], HOLD_PHONE)
    log_in(fresh, site, person(site, "counsel", "hold", "purge", "audit"))
    wait_for(fresh, "h1")
    fresh.get(site.url + "/console/holds")
    fresh.find_element(By.ID, "matter").send_keys("Doe v. Example Corp")
    fresh.find_element(By.ID, "reason").send_keys("litigation hold from counsel")
    fresh.find_element(By.ID, "phoneNumbers").send_keys(HOLD_PHONE)
    fresh.find_element(By.CSS_SELECTOR, "#place-hold button").click()
    wait_for(fresh, "#hold-state", "Active")
    assert fresh.find_element(By.ID, "covered").text == "1"
    hold_id = fresh.current_url.rsplit("/", 1)[1]
    shot(fresh, "hold")
    # The held call shows as kept in a preview.
    fresh.get(site.url + "/console/lookup")
    fresh.find_element(By.ID, "phone").send_keys(HOLD_PHONE)
    fresh.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for(fresh, "#calls", "Held")
    assert hold_id in fresh.find_element(By.ID, "calls").text
    assert fresh.find_elements(By.ID, "purge-form") == []  # nothing to erase
    fresh.get(site.url + f"/console/holds/{hold_id}")
    fresh.find_element(By.ID, "release-reason").send_keys("matter settled")
    fresh.find_element(By.CSS_SELECTOR, "#release-hold button").click()
    wait_for(fresh, "#hold-state", "Released")
    assert fresh.find_elements(By.ID, "release-hold") == []
    fresh.get(site.url + "/console/holds?state=all")
    wait_for(fresh, "#holds", hold_id)
    shot(fresh, "holds")
    assert csp_violations(fresh) == []


def test_a_form_posted_without_its_csrf_token_is_refused(fresh, site):
    capture(site, ["browser-csrf-1"], "(512) 555-0191")
    log_in(fresh, site, person(site, "officer-csrf", "purge", "audit"))
    wait_for(fresh, "h1", "Customer lookup")
    fresh.find_element(By.ID, "phone").send_keys("(512) 555-0191")
    fresh.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for(fresh, "#erasable", "1")
    fresh.execute_script("document.querySelector('#purge-form input[name=csrf]').remove()")
    fresh.find_element(By.ID, "typed").send_keys("1")
    fresh.find_element(By.CSS_SELECTOR, "#purge-form button").click()
    detail = wait_for(fresh, "#error-detail", "security token")
    assert "reload" in detail.text
    shot(fresh, "csrf-refused", phone_too=False)
    with site.client(site.token("capture")) as api:
        kept = api.get("/callCapture/v1/status/browser-csrf-1").json()
    assert kept["status"] == "Complete"


def test_a_user_without_purge_sees_no_purge_action(fresh, site):
    log_in(fresh, site, person(site, "analyst", "audit"))
    wait_for(fresh, "h1", "Purge requests")
    nav = fresh.find_element(By.CSS_SELECTOR, ".top nav").text
    assert "Customer lookup" not in nav
    assert "Audit trail" in nav
    assert fresh.find_elements(By.CSS_SELECTOR, "a[href='/console/lookup']") == []
    fresh.get(site.url + "/console/lookup")
    wait_for(fresh, "#error-detail", "purge")
    fresh.get(site.url + "/console/audit")
    wait_for(fresh, "#events")
    shot(fresh, "audit")
    fresh.find_element(By.ID, "verify").click()
    verdict = wait_for(fresh, "#verdict", "intact")
    assert "events verified" in verdict.text
    shot(fresh, "audit-verified", phone_too=False)
    assert csp_violations(fresh) == []


def test_a_retention_policy_previewed_saved_and_forecast(fresh, site):
    with site.client(site.token("capture")) as client:
        for n, days_ago in enumerate((400, 380, 20)):
            start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days_ago * 86400))
            # Outbound, as no other call of this module's store is: the policy takes these alone.
            info = call_info(
                f"browser-retention-{n}", startTime=start, endTime=None, direction="Outbound"
            )
            assert post_call(client, info).status_code == 200
    log_in(fresh, site, person(site, "records-manager", "retention"))
    wait_for(fresh, "h1", "Retention")  # the first page this user may see
    fresh.find_element(By.ID, "name").send_keys("calls-1y")
    fresh.find_element(By.ID, "maxAgeDays").send_keys("365")
    Select(fresh.find_element(By.ID, "direction")).select_by_visible_text("Outbound")
    fresh.find_element(By.CSS_SELECTOR, "#set-policy button").click()
    assert wait_for(fresh, "#expired-now").text == "2"
    shot(fresh, "retention-preview")
    fresh.find_element(By.ID, "typed").send_keys("2")
    fresh.find_element(By.CSS_SELECTOR, "#save-policy button").click()
    row = wait_for(fresh, "#policy-calls-1y", "365 days")
    assert "Outbound" in row.text
    # The call 20 days old falls due in 345 days: the forecast over a year shows it.
    days = fresh.find_element(By.ID, "days")
    days.clear()
    days.send_keys("366" + Keys.ENTER)
    wait_for(fresh, "#forecast-summary", "1 due in the next 366 days")
    assert fresh.find_element(By.ID, "overdue").text == "2"
    bars = fresh.find_elements(By.CSS_SELECTOR, "#forecast-chart rect.bar")
    assert len(bars) == 366
    tall = [b for b in bars if b.get_attribute("data-calls") != "0"]
    assert len(tall) == 1
    assert float(tall[0].get_attribute("height")) > 100
    shot(fresh, "retention")
    assert csp_violations(fresh) == []


def test_a_caller_suppressed_looked_up_and_lifted(fresh, site):
    log_in(fresh, site, person(site, "privacy-officer", "suppress"))
    wait_for(fresh, "h1", "Suppressions")  # the first page this user may see
    fresh.find_element(By.ID, "phones").send_keys(SUPPRESSED_PHONE)
    fresh.find_element(By.ID, "reason").send_keys("objected to recording")
    fresh.find_element(By.ID, "reference").send_keys("DSR-2026-0142")
    fresh.find_element(By.CSS_SELECTOR, "#suppress-form button").click()
    row = wait_for(fresh, "#suppressions", "DSR-2026-0142")
    assert "Active" in row.text
    assert "555-0177" not in row.text  # only keyed hashes are kept
    fresh.find_element(By.ID, "lookup-phone").send_keys(SUPPRESSED_PHONE)
    fresh.find_element(By.CSS_SELECTOR, "#lookup-form button").click()
    wait_for(fresh, "#lookup-answer", "Suppressed")
    shot(fresh, "suppressions")
    fresh.find_element(By.CSS_SELECTOR, "#suppressions input[name=reason]").send_keys(
        "consent given" + Keys.ENTER
    )
    wait_for(fresh, "#suppressions", "Lifted")
    fresh.find_element(By.ID, "lookup-phone").send_keys(SUPPRESSED_PHONE)
    fresh.find_element(By.CSS_SELECTOR, "#lookup-form button").click()
    wait_for(fresh, "#lookup-answer", "Not suppressed")
    assert csp_violations(fresh) == []


def test_an_export_made_and_revoked(fresh, site):
    with site.client(site.token("capture")) as client:
        info = call_info(
            "browser-export", contacts=[{"type": "Customer", "phoneNumber": EXPORT_PHONE}]
        )
        assert post_call(client, info).status_code == 200
    log_in(fresh, site, person(site, "dpo-exports", "export"))
    wait_for(fresh, "h1", "Access exports")  # the first page this user may see
    fresh.find_element(By.ID, "phones").send_keys(EXPORT_PHONE)
    fresh.find_element(By.ID, "reference").send_keys("DSR-2026-0143")
    fresh.find_element(By.CSS_SELECTOR, "#export-form button").click()
    wait_for(fresh, "#export-summary", "covers 1 call")
    link = fresh.find_element(By.ID, "download-link").get_attribute("href")
    assert link is not None
    assert "/package?token=" in link
    shot(fresh, "export-made")
    fresh.get(site.url + "/console/exports")
    row = wait_for(fresh, "#exports", "DSR-2026-0143")
    assert "Ready" in row.text
    fresh.find_element(By.CSS_SELECTOR, "#exports button").click()
    wait_for(fresh, "#exports", "Revoked")
    shot(fresh, "exports")
    assert csp_violations(fresh) == []


def test_no_phone_number_in_any_url_or_log_line(site, seen):
    """Runs last in this module: everything above is in ``seen``."""
    assert seen.urls, "the recorder saw no request"
    assert any("/console/purge" in u for u in seen.urls)
    for phone in (PHONE, HOLD_PHONE, "(512) 555-0191", SUPPRESSED_PHONE, EXPORT_PHONE):
        digits = re.sub(r"\D", "", phone)[-10:]
        for url in seen.urls:
            assert digits not in re.sub(r"\D", "", url), url
        for line in seen.logs:
            assert phone not in line, line
            assert digits not in re.sub(r"\D", "", line), line
    shots = sorted(p.name for p in SHOTS.glob("*.png"))
    expected = {
        "login",
        "preview",
        "request-purged",
        "holds",
        "audit",
        "retention",
        "suppressions",
        "exports",
    }
    assert {f"{name}.png" for name in expected} <= set(shots)
