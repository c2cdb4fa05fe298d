"""The console's exports (contract §17, §20): "Export" beside "Purge" on a customer lookup, and
the exports page (list, make, revoke), over real HTTP through the one ``ExportService``."""

from __future__ import annotations

import html
import io
import re
import zipfile

from helpers import call_info, post_call

PAGE = "/console/exports"
PHONE = "+15125550193"


def capture(live, session: str) -> str:
    with live.client(live.token("capture")) as client:
        info = call_info(session, contacts=[{"type": "Customer", "phoneNumber": PHONE}])
        answer = post_call(client, info)
        assert answer.status_code == 200
        return str(answer.json()["callId"])


def link_of(page: str) -> str:
    found = re.search(r'id="download-link" href="([^"]+)"', page)
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


def test_export_beside_purge_on_a_customer_lookup(live, console_as):
    call_id = capture(live, "con-x1")
    purger = console_as("purge")
    assert 'id="export-form"' not in purger.post("/console/lookup", phone=PHONE).text
    console = console_as("purge", "export")
    preview = console.post("/console/lookup", phone=PHONE)
    assert 'id="export-form"' in preview.text
    assert 'id="purge-form"' in preview.text
    made = console.post(PAGE, phone=PHONE, reference="DSR-11", recipients="")
    assert made.status_code == 201, made.text[:500]
    link = link_of(made.text)
    assert link.startswith("/exports/v1/")
    assert "token=" in link
    assert PHONE not in str(made.url)
    assert "555" not in str(made.url)
    with live.client() as anyone:  # the link alone, no sign-in
        package = anyone.get(link)
    assert package.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(package.content)).namelist()
    assert f"calls/{call_id}/audio.wav" in names
    listed = console.http.get(PAGE).text
    assert 'href="/console/exports"' in listed  # in the navigation
    assert "DSR-11" in listed
    assert "1 of 3" in listed
    assert "token=" not in listed  # the link is shown once, never on the list


def test_make_and_revoke_on_the_exports_page_and_who_may(live, console_as):
    capture(live, "con-x2")
    console = console_as("export")
    page = console.http.get(PAGE)
    assert page.status_code == 200
    assert 'id="export-form"' in page.text
    bad = console.post(PAGE, phones="", emails="", reference="R")
    assert bad.status_code == 400
    assert "at least one identifier" in bad.text
    made = console.post(PAGE, phones=f"{PHONE}\n", emails="", reference="DSR-12")
    assert made.status_code == 201
    export_id = re.search(r"Export <code>([0-9a-f]{32})</code>", made.text).group(1)  # type: ignore[union-attr]
    auditor = console_as("audit")
    seen = auditor.http.get(PAGE)
    assert seen.status_code == 200
    assert export_id in seen.text
    assert 'id="export-form"' not in seen.text
    assert "Revoke" not in seen.text
    assert auditor.post(f"{PAGE}/{export_id}/revoke").status_code == 403
    assert auditor.post(PAGE, phones=PHONE, emails="").status_code == 403
    assert console_as("purge").http.get(PAGE).status_code == 403
    revoked = console.post(f"{PAGE}/{export_id}/revoke")
    assert revoked.status_code == 303
    with live.client() as anyone:
        assert anyone.get(link_of(made.text)).status_code == 410
    assert "Revoked" in console.http.get(PAGE).text
