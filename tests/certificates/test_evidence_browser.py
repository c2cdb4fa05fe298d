"""The evidence ZIP of a purge request (contract §23) as its reader meets it: "the evidence ZIP's
certificate verified offline and its HTML read in the browser".

A real customer purge with a reference reaches ``Complete``; its ZIP is downloaded over HTTP and
then nothing more is asked of callvault: the certificate is verified with PyJWT and only the
``jwks.json`` beside it (the socket layer refuses any connection meanwhile), every event of
``audit-events.jsonl`` is the request's, and ``certificate.html``, unpacked to a folder, is
opened in a real chromium by its ``file://`` URL. The page must load nothing but itself (no
script, no remote ``src``/``href``, no CSS ``url()``, no resource fetched) and read as a person
reads it (the rules of tests/console/test_pages_read.py): the request ID, the reference, who
asked, each erased call's call and session ID, every time ISO 8601 UTC, the how-to-verify
section; no repr, no ``None``/``True``/``False``, no empty cell.
"""

from __future__ import annotations

import io
import json
import re
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callvault.purge.loop import ErasureLoop, ErasureOptions
from console_browser import SHOTS, capture, chromium, live_site, shot
from helpers import LiveServer

pytest.importorskip("selenium.webdriver")
jwt = pytest.importorskip("jwt")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

PHONE = "(512) 555-0177"
SESSIONS = ["evidence-read-1", "evidence-read-2"]
REFERENCE = "DSR-2026-0142"
REQUESTER = "dpo-evidence"
ABSENT = "—"

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
# Anything a reader would take for a date with a time of day, whatever its format.
TIME_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}[^\s\"',;)}\]]*(?: ?UTC| ?GMT)?")
REPRS = ("<built-in", "<bound method", "<function", "object at 0x", "{'", "['", "Decimal(")
LANGUAGE_WORDS = re.compile(r"\b(None|True|False|nil|undefined|NaN)\b")
# (table id or "dl", column header or term): where a value may be absent, shown as ABSENT.
ABSENT_OK = {
    ("items", "Legal holds"),
    ("events", "Call"),  # purge.requested, certificate.issued: events of no one call
}

# Every cell and definition of the page in one round trip: (table id, header, text).
_CELLS_SCRIPT = """
const found = [];
for (const table of document.querySelectorAll('table')) {
  const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
  for (const row of table.querySelectorAll('tbody tr')) {
    [...row.children].forEach((cell, n) => {
      found.push([table.id || 'table', n < headers.length ? headers[n] : 'column ' + (n + 1),
                  cell.innerText.trim()]);
    });
  }
}
for (const term of document.querySelectorAll('dl dt')) {
  let definition = term.nextElementSibling;
  while (definition && definition.tagName !== 'DD') definition = definition.nextElementSibling;
  found.push(['dl', term.innerText.trim(), definition ? definition.innerText.trim() : '']);
}
return found;
"""

# What the page would load besides itself: scripts, remote or protocol-relative src/href,
# stylesheets and CSS url()/@import, and what the browser did fetch (Resource Timing).
_LOADS_SCRIPT = """
const found = [];
for (const s of document.querySelectorAll('script')) found.push('script ' + (s.src || 'inline'));
for (const e of document.querySelectorAll('[src], [href], [srcset], [poster], [data]')) {
  for (const name of ['src', 'href', 'srcset', 'poster', 'data']) {
    const value = e.getAttribute(name);
    if (value !== null && !value.startsWith('#'))
      found.push(e.tagName.toLowerCase() + ' ' + name + '=' + value);
  }
}
for (const l of document.querySelectorAll('link, iframe, object, embed, base'))
  found.push(l.tagName.toLowerCase());
for (const style of document.querySelectorAll('style, [style]')) {
  const css = style.tagName === 'STYLE' ? style.textContent : style.getAttribute('style');
  if (/url\\s*\\(|@import/i.test(css)) found.push('css loads ' + css.slice(0, 80));
}
for (const r of performance.getEntriesByType('resource')) found.push('fetched ' + r.name);
return found;
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_site(tmp_path_factory.mktemp("evidence-browser") / "data") as live:
        yield live


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium(tmp_path_factory.mktemp("evidence-browser-downloads")) as driver:
        yield driver


def _complete_request(site: LiveServer) -> tuple[str, list[str]]:
    """A customer purge with a reference, drained to Complete: (request ID, call IDs)."""
    call_ids = capture(site, SESSIONS, PHONE)
    with site.client(site.token("purge", name=REQUESTER)) as client:
        answer = client.post(
            "/purge/v1/calls/customer",
            params={"reference": REFERENCE},
            json={"phoneNumber": PHONE},
        )
        assert answer.status_code == 200, answer.text
        assert sorted(i["callId"] for i in answer.json()["items"]) == sorted(call_ids)
        request_id: str = answer.json()["requestId"]
        ErasureLoop(site.runtime, ErasureOptions()).drain()
        deadline = time.monotonic() + 30
        while (state := client.get(f"/purge/v1/requests/{request_id}").json()["state"]) in (
            "Purging",
        ):
            assert time.monotonic() < deadline, "the request never left Purging"
            time.sleep(0.05)
        assert state == "Complete"
    return request_id, call_ids


def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, this process may open no connection: offline is offline."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a connection was attempted offline: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _verify_offline(jws: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The certificate's claims, its Ed25519 signature checked with the ZIP's key set only."""
    header = jwt.get_unverified_header(jws)
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "erasure-certificate+jwt"
    keys = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert len(keys) == 1, f"jwks.json has no single key {header['kid']!r}"
    key = jwt.PyJWK(keys[0])
    claims: dict[str, Any] = jwt.decode(jws, key=key, algorithms=["EdDSA"])
    # A changed byte fails: one claim altered, the signature kept.
    head, _claims, signature = jws.split(".")
    forged = json.dumps({**claims, "erasedCount": claims["erasedCount"] + 1}).encode()
    forged_body = jwt.utils.base64url_encode(forged).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{forged_body}.{signature}", key=key, algorithms=["EdDSA"])
    return claims


def _faults_of(driver: WebDriver) -> list[str]:
    """What a person should not read on the page (tests/console/test_pages_read.py's rules)."""
    faults: list[str] = []
    # Commands to copy (<pre>: shell, Python) are code, not prose: a person reads them as such.
    code = {
        line
        for block in driver.find_elements(By.TAG_NAME, "pre")
        for line in block.text.splitlines()
    }
    body = driver.find_element(By.TAG_NAME, "body").text
    text = "\n".join(line for line in body.splitlines() if line not in code)
    if not driver.find_element(By.TAG_NAME, "h1").text.strip():
        faults.append("an empty heading")
    for marker in REPRS:
        for line in text.splitlines():
            if marker in line:
                faults.append(f"a repr ({marker!r}) in {line[:160]!r}")
    for line in text.splitlines():
        if word := LANGUAGE_WORDS.search(line):
            faults.append(f"{word.group(0)!r} shown in {line[:160]!r}")
        for found in TIME_LIKE.finditer(line):
            moment = found.group(0).rstrip(".:")
            if not ISO_UTC.fullmatch(moment):
                faults.append(f"time {moment!r} is not ISO 8601 UTC, in {line[:160]!r}")
    for table, header, value in driver.execute_script(_CELLS_SCRIPT):
        where = f"{table} / {header!r}"
        if not value:
            faults.append(f"{where}: an empty cell (an absent value says {ABSENT!r})")
        elif value == ABSENT and (table, header) not in ABSENT_OK:
            faults.append(f"{where}: {ABSENT!r} where a value is due")
        if "(UTC)" in header and value != ABSENT and not ISO_UTC.fullmatch(value):
            faults.append(f"{where}: {value!r} is not an ISO 8601 UTC time")
    return faults


def test_the_evidence_zip_verifies_offline_and_reads_in_the_browser(
    site: LiveServer, browser: WebDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id, call_ids = _complete_request(site)
    with site.client(site.token("audit")) as client:
        answer = client.get(f"/purge/v1/requests/{request_id}/evidence")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"

    # ---- offline from here: the ZIP alone
    _no_network(monkeypatch)
    folder = tmp_path / f"evidence-{request_id}"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert {"certificate.jws", "jwks.json", "audit-events.jsonl", "certificate.html"} <= set(
            archive.namelist()
        )
        archive.extractall(folder)
    claims = _verify_offline(
        (folder / "certificate.jws").read_text().strip(),
        json.loads((folder / "jwks.json").read_text()),
    )
    assert claims["requestId"] == request_id
    assert claims["reference"] == REFERENCE
    assert claims["state"] == "Complete"
    assert claims["kind"] == "customer"
    assert claims["erasedCount"] == 2
    items = claims["items"]
    assert sorted(i["callId"] for i in items) == sorted(call_ids)
    assert sorted(i["sessionId"] for i in items) == sorted(SESSIONS)
    assert {i["status"] for i in items} == {"Purged"}

    events = [
        json.loads(line)
        for line in (folder / "audit-events.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert events, "audit-events.jsonl is empty"
    foreign = [e for e in events if e["requestId"] != request_id]
    assert not foreign, f"events of another request: {foreign}"
    actions = [e["action"] for e in events]
    assert actions[0] == "purge.requested"
    assert actions.count("call.erased") == 2
    assert {e["callId"] for e in events if e["action"] == "call.erased"} == set(call_ids)
    assert events[0]["details"].get("reference") == REFERENCE
    # The certificate's audit claim points at these very events.
    by_seq = {e["seq"]: e for e in events}
    audit = claims["audit"]
    assert audit["firstSeq"] in by_seq
    assert audit["lastSeq"] in by_seq
    assert by_seq[audit["lastSeq"]]["hash"] == audit["headHash"]
    monkeypatch.undo()  # chromium talks to chromedriver over a socket

    # ---- the page, as a person opens it from the unpacked folder
    page = folder / "certificate.html"
    browser.get(page.as_uri())
    assert browser.current_url == page.as_uri()
    loads = browser.execute_script(_LOADS_SCRIPT)
    assert loads == [], f"certificate.html loads more than itself: {loads}"

    body = browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_element(By.TAG_NAME, "h1").text == "Certificate of erasure"
    assert request_id in browser.title
    assert browser.find_element(By.ID, "request-id").text == request_id
    assert browser.find_element(By.ID, "reference").text == REFERENCE
    facts = {
        term: definition
        for table, term, definition in browser.execute_script(_CELLS_SCRIPT)
        if table == "dl"
    }
    assert facts["Requested by"] == claims["requestedBy"]
    assert REQUESTER in facts["Requested by"]
    assert facts["Requested at (UTC)"] == claims["requestedAt"]
    assert facts["Completed at (UTC)"] == claims["completedAt"]
    assert facts["State"] == "Complete"
    assert facts["Calls erased"] == "2"
    assert facts["Certificate ID (jti)"] == claims["jti"]
    summary = browser.find_element(By.ID, "summary").text
    assert "2 calls were erased" in summary
    assert claims["requestedBy"] in summary

    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    ]
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
        (i["callId"], i["sessionId"], "Purged") for i in items
    )
    shown_events = browser.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    assert len(shown_events) == len(events)

    assert "How to verify this certificate yourself" in body
    assert f"--expect-request {request_id}" in body
    assert "openssl pkeyutl -verify" in body

    faults = _faults_of(browser)
    assert not faults, "certificate.html shows what a person should not read:\n" + "\n".join(faults)
    shot(browser, "evidence-certificate")
    assert (SHOTS / "evidence-certificate.png").stat().st_size > 0
