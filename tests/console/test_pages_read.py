"""What a person reads on every console page (contract §17: "no page shows a value as a
programming language writes it (`None`, `True`, a repr); times are ISO 8601 UTC").

Loading is not reading: a page whose every row said ``<built-in method items of dict object at
0x…>`` loaded fine and passed the other browser tests. Here one store gets real data of every
kind (calls captured, a customer purged to ``Complete``, a purge kept ``Held``, a retention sweep,
a hold active and one released, two retention policies, the audit events all of that writes),
and a real chromium visits every page the console has: the lookup form and its result, the
purge requests (all and filtered) and each kind of request, the holds (active, released, all) and
each hold, retention with its preview and its forecast opened, the audit trail (two pages) and
its verification, the error pages and the page of a user with no console permission. Of each it
reads what a person reads (``element.text`` of headings, paragraphs, table cells, definition
lists) and collects every fault, so one run names them all:

- a repr (``<built-in``, ``<bound method``, ``object at 0x``, ``{'``), ``None``/``True``/
  ``False`` shown as a value, ``[]`` or ``{}`` printed raw (the audit trail's details are JSON,
  where ``[]`` is a value: they are held to the JSON rules instead);
- an empty cell or definition: an absent value says so ("—"), and only in the columns where a
  value may be absent (``ABSENT_OK``);
- a time not in ISO 8601 UTC (``2026-12-07T08:00:00Z``), anywhere in the text; a cell of a
  "(UTC)" column must be one, or an ISO date, or "—".
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.retention.service import RetentionService
from console_browser import capture, chromium, live_site, log_in, person, shot, wait_for
from helpers import LiveServer

pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

PURGED_PHONE = "(512) 555-0131"
HELD_PHONE = "(512) 555-0132"
ABSENT = "—"
OTHER_ABSENT_MARKS = {"–", "-", "--", "n/a", "N/A", "null", "none", "?"}

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\b")
# Anything a reader would take for a date with a time of day, whatever its format.
TIME_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}[^\s\"',;)}\]]*(?: ?UTC| ?GMT)?")
REPRS = ("<built-in", "<bound method", "<function", "object at 0x", "{'", "['", "Decimal(")
LANGUAGE_WORDS = re.compile(r"\b(None|True|False|nil|undefined|NaN)\b")
RAW_CONTAINERS = ("[]", "{}")

# (table id or "dl", column header or term): where a value may be absent, shown as ABSENT.
ABSENT_OK = {
    ("calls", "Start (UTC)"),  # a call whose row went while the preview was built
    ("calls", "Direction"),
    ("calls", "Duration"),  # a call captured without its end time
    ("items", "Call ID"),  # a sessionId that matched no call
    ("items", "Session ID"),
    ("items", "Erased at (UTC)"),  # not erased (held, failed, cancelled) or not yet
    ("items", "Note"),
    ("events", "Request / call"),  # an event of no request or call (a hold, a policy, a login)
    ("events", "Details"),
}


# Every cell and definition of the page in one round trip to the browser (a WebDriver call per
# cell made this test the suite's slowest): ``innerText`` is the text as rendered, what a person
# reads and what WebElement.text gives.
_CELLS_SCRIPT = """
const found = [];
for (const table of document.querySelectorAll('main table')) {
  const name = table.id || 'table';
  const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
  for (const row of table.querySelectorAll('tbody tr')) {
    [...row.children].filter(c => c.tagName === 'TD' || c.tagName === 'TH').forEach((cell, n) => {
      found.push([name, n < headers.length ? headers[n] : 'column ' + (n + 1),
                  cell.innerText.trim(), cell.classList.contains('details')]);
    });
  }
}
for (const facts of document.querySelectorAll('main dl')) {
  for (const term of facts.querySelectorAll('dt')) {
    let definition = term.nextElementSibling;
    while (definition && definition.tagName !== 'DD') definition = definition.nextElementSibling;
    found.push(['dl', term.innerText.trim(), definition ? definition.innerText.trim() : '',
                definition ? definition.classList.contains('details') : false]);
  }
}
return found;
"""


def _visible_cells(driver: WebDriver) -> Iterator[tuple[str, str, str, bool]]:
    """(table id, column header, text, is a details cell) of every body cell of every table of
    the page, then ("dl", term, text, is details) of every definition list."""
    for name, header, text, details in driver.execute_script(_CELLS_SCRIPT):
        yield str(name), str(header), str(text), bool(details)


def faults_of(driver: WebDriver, page: str) -> list[str]:
    """Everything on the page now that a person should not read."""
    faults: list[str] = []
    # What a person may open, opened (a closed <details> hides its text from .text).
    driver.execute_script("document.querySelectorAll('main details').forEach(d => d.open = true)")
    text = driver.find_element(By.TAG_NAME, "body").text
    if not driver.find_element(By.CSS_SELECTOR, "main h1").text.strip():
        faults.append(f"{page}: an empty heading")
    for marker in REPRS:
        if marker in text:
            line = next(line for line in text.splitlines() if marker in line)
            faults.append(f"{page}: a repr ({marker!r}) in {line[:160]!r}")
    for line in text.splitlines():
        word = LANGUAGE_WORDS.search(line)
        if word:
            faults.append(f"{page}: {word.group(0)!r} shown in {line[:160]!r}")
        for found in TIME_LIKE.finditer(line):
            moment = found.group(0).rstrip(".:")
            if not ISO_UTC.fullmatch(moment):
                faults.append(f"{page}: time {moment!r} is not ISO 8601 UTC, in {line[:160]!r}")
    for table, header, value, details in _visible_cells(driver):
        where = f"{page}: {table} / {header!r}"
        if not value:
            faults.append(f"{where}: an empty cell (an absent value says {ABSENT!r})")
        elif value == ABSENT and (table, header) not in ABSENT_OK:
            faults.append(f"{where}: {ABSENT!r} where a value is due")
        elif value in OTHER_ABSENT_MARKS:
            faults.append(f"{where}: an absent value shown as {value!r}, not {ABSENT!r}")
        if not details and any(raw in value for raw in RAW_CONTAINERS):
            faults.append(f"{where}: a container printed raw: {value[:160]!r}")
        if details and value != ABSENT:
            faults.extend(f"{where}: {problem}" for problem in _json_faults(value))
        if "(UTC)" in header and value != ABSENT:
            head = value.split(" ")[0]
            if not (ISO_UTC.fullmatch(head) or ISO_DATE.fullmatch(head)):
                faults.append(f"{where}: {value!r} is not an ISO 8601 UTC time or date")
    return faults


def _json_faults(shown: str) -> list[str]:
    """An event's details, one ``key: value`` a line: each value must be JSON."""
    faults = []
    for line in shown.splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key:
            faults.append(f"detail {line[:120]!r} is not `key: value`")
            continue
        try:
            json.loads(value)
        except ValueError:
            faults.append(f"detail {key!r} is not a JSON value: {value[:120]!r}")
    return faults


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_site(tmp_path_factory.mktemp("reading") / "data") as live:
        yield live


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium(tmp_path_factory.mktemp("reading-downloads")) as driver:
        yield driver


def _days_ago(days: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))


def _erase(site: LiveServer) -> None:
    ErasureLoop(site.runtime, ErasureOptions()).drain()


def _submit(driver: WebDriver, form: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]").click()


class Tour:
    """The pages visited and the faults found on them."""

    def __init__(self, driver: WebDriver, site: LiveServer) -> None:
        self.driver, self.site = driver, site
        self.faults: list[str] = []
        self.pages: list[str] = []

    def read(self, page: str) -> None:
        """The page as it is now (every caller waited for what it expects first)."""
        self.pages.append(page)
        if not self.driver.find_elements(By.CSS_SELECTOR, "main h1"):
            body = self.driver.find_element(By.TAG_NAME, "body").text
            self.faults.append(f"{page}: not a console page: {body[:200]!r}")
            return
        for attempt in range(3):
            try:
                self.faults.extend(faults_of(self.driver, page))
                return
            except StaleElementReferenceException:
                # A live request page replaced its items while they were read: read again.
                if attempt == 2:
                    raise

    def visit(self, path: str, page: str | None = None) -> None:
        self.driver.get(self.site.url + path)
        self.read(page or path)

    def href(self, css: str) -> str:
        found: str = self.driver.find_element(By.CSS_SELECTOR, css).get_attribute("href")
        return found.removeprefix(self.site.url)


def test_every_console_page_reads_as_a_person_reads_it(site: LiveServer, browser: WebDriver):
    # ---- the data: every kind a page shows
    capture(site, ["read-purge-1"], PURGED_PHONE)
    capture(site, ["read-purge-2"], PURGED_PHONE, endTime=None, direction="Outbound")
    held = capture(site, ["read-held-1", "read-held-2"], HELD_PHONE)
    for n in range(2):  # past the retention policy below: the sweep erases them
        capture(
            site,
            [f"read-old-{n}"],
            f"(512) 555-014{n}",
            startTime=_days_ago(400 + n),
            endTime=None,
            direction="Outbound",
        )
    browser.get(site.url + "/console/login")
    browser.delete_all_cookies()
    browser.set_window_size(1280, 800)
    log_in(browser, site, person(site, "reader", "purge", "hold", "retention", "audit"))
    tour = Tour(browser, site)

    # A hold kept, covering one call of the held customer; one placed and released.
    tour.visit("/console/holds", "holds (none yet)")
    browser.find_element(By.ID, "matter").send_keys("Doe v. Example Corp")
    browser.find_element(By.ID, "reason").send_keys("litigation hold from counsel")
    browser.find_element(By.ID, "callIds").send_keys(held[0])
    _submit(browser, "#place-hold")
    wait_for(browser, "#hold-state", "Active")
    active_hold = browser.current_url.rsplit("/", 1)[1]
    tour.read("one active hold")
    browser.get(site.url + "/console/holds")
    browser.find_element(By.ID, "matter").send_keys("Audit 2026-Q1")
    browser.find_element(By.ID, "reason").send_keys("regulator's sample")
    browser.find_element(By.ID, "sessionIds").send_keys("read-purge-1")
    browser.find_element(By.ID, "startedAfter").send_keys("2020-01-01T00:00:00Z")
    browser.find_element(By.ID, "startedBefore").send_keys("2030-01-01T00:00:00Z")
    _submit(browser, "#place-hold")
    wait_for(browser, "#hold-state", "Active")
    released_hold = browser.current_url.rsplit("/", 1)[1]
    browser.find_element(By.ID, "release-reason").send_keys("sample returned")
    _submit(browser, "#release-hold")
    wait_for(browser, "#hold-state", "Released")
    tour.read("one released hold")

    # The lookup form, then its result: a call that would go, one with no duration.
    tour.visit("/console/lookup", "lookup")
    browser.find_element(By.ID, "phone").send_keys(PURGED_PHONE)
    _submit(browser, "form.stack")
    wait_for(browser, "#erasable", "2")
    tour.read("lookup result")
    browser.find_element(By.ID, "typed").send_keys("2")
    _submit(browser, "#purge-form")
    wait_for(browser, "#state", "Purging")
    tour.read("one request, Purging")
    purge_path = browser.current_url.removeprefix(site.url)
    _erase(site)
    wait_for(browser, "#state", "Complete")
    tour.read("one request, Complete (live update)")
    tour.visit(purge_path, "one request, Complete")

    # A customer one of whose calls a hold keeps: the request waits, Held.
    tour.visit("/console/lookup", "lookup")
    browser.find_element(By.ID, "phone").send_keys(HELD_PHONE)
    _submit(browser, "form.stack")
    wait_for(browser, "#erasable", "1")
    tour.read("lookup result with a held call")
    browser.find_element(By.ID, "typed").send_keys("1")
    _submit(browser, "#purge-form")
    wait_for(browser, "#state")
    _erase(site)
    held_path = browser.current_url.removeprefix(site.url)
    tour.visit(held_path, "one request, Held")
    shot(browser, "read-request-held")

    # Retention: a policy of one direction, one of every direction; the sweep erases two calls.
    tour.visit("/console/retention", "retention (no policy)")
    for name, days, direction in (("outbound-1y", "365", "Outbound"), ("all-10y", "3650", "")):
        browser.find_element(By.ID, "name").send_keys(name)
        browser.find_element(By.ID, "maxAgeDays").send_keys(days)
        if direction:
            Select(browser.find_element(By.ID, "direction")).select_by_visible_text(direction)
        _submit(browser, "#set-policy")
        wait_for(browser, "#preview")
        tour.read(f"retention preview of {name}")
        typed = browser.find_elements(By.ID, "typed")
        if typed:
            typed[0].send_keys(browser.find_element(By.ID, "expired-now").text)
        _submit(browser, "#save-policy")
        wait_for(browser, f"#policy-{name}")
    assert RetentionService(site.runtime).sweep().queued == 2
    _erase(site)
    tour.visit("/console/retention?days=366", "retention, a year's forecast")

    # ---- every list, and every page it links to
    tour.visit("/console/requests", "purge requests")
    shot(browser, "read-requests")
    rows = browser.find_elements(By.CSS_SELECTOR, "#requests tbody tr")
    assert len(rows) == 3, [r.text for r in rows]  # customer, customer (held), retention
    links = [tour.href(f"#requests tbody tr:nth-child({n}) a") for n in range(1, len(rows) + 1)]
    for link in links:
        tour.visit(link, f"one request ({link})")
    tour.visit("/console/requests?state=Held&kind=customer", "purge requests, filtered")
    tour.visit("/console/requests?state=Failed", "purge requests, none match")
    for state in ("active", "released", "all"):
        tour.visit(f"/console/holds?state={state}", f"holds ({state})")
    for hold in (active_hold, released_hold):
        tour.visit(f"/console/holds/{hold}")
    tour.visit("/console/audit", "audit trail")
    shot(browser, "read-audit")
    assert browser.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    tour.visit("/console/audit?after=10", "audit trail, a later page")
    shot(browser, "read-audit-details")
    assert browser.find_elements(By.CSS_SELECTOR, ".pager a")  # "Earlier"
    browser.get(site.url + "/console/audit")
    browser.find_element(By.ID, "verify").click()
    wait_for(browser, "#verdict")
    tour.read("audit chain verified")

    # ---- pages of no data: errors, and a user who may see nothing
    tour.visit("/console/nope", "an unknown console path")
    shot(browser, "read-not-found", phone_too=False)
    tour.visit("/console/requests/does-not-exist", "a request that does not exist")
    tour.visit("/console/holds/does-not-exist", "a hold that does not exist")
    browser.find_element(By.CSS_SELECTOR, ".signout button").click()
    wait_for(browser, "h1", "Log in")
    tour.read("login")
    log_in(browser, site, person(site, "nobody-in-particular", "capture"))
    tour.read("home of a user without console permission")

    assert len(tour.pages) >= 30, tour.pages
    assert tour.faults == [], "\n".join(tour.faults)
