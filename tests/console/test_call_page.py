"""The console's call page (contract §17, §21): reached from the customer lookup, the audio drawn
as a server-drawn SVG waveform with the DTMF suggestions marked, ranges chosen, previewed, then
redacted, over real HTTP through the one ``RedactionService`` the API uses."""

from __future__ import annotations

import re

import pytest

from audiogen import mulaw_wav, speech_like, with_keypad
from console_helpers import hidden
from helpers import call_info, post_call

pytestmark = [pytest.mark.settings(run_worker=False)]


def test_choose_preview_and_redact_a_call_from_the_lookup(live, console_as):
    audio = mulaw_wav(with_keypad(speech_like(10), "4111111111111111", at_ms=4000))
    info = call_info("console-redact")
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, info, audio).json()["callId"]
    console = console_as("purge", "redact")
    looked = console.post("/console/lookup", phone="(512) 555-1234")
    assert f'href="/console/calls/{call_id}"' in looked.text  # reached from the lookup

    page = console.http.get(f"/console/calls/{call_id}")
    assert page.status_code == 200, page.text[:500]
    svg = re.search(r'<svg id="waveform".*?</svg>', page.text, flags=re.DOTALL)
    assert svg is not None
    assert svg.group(0).count('class="suggested"') == 1
    assert "http" not in svg.group(0).replace("http://www.w3.org/2000/svg", "")  # no remote asset
    assert "4111" not in page.text  # never the digits
    assert 'id="suggested-count">1<' in page.text
    ranges = re.search(
        r'<textarea id="ranges" name="ranges"[^>]*>(.*?)</textarea>', page.text, re.S
    )
    assert ranges is not None
    assert ranges.group(1).strip().startswith("3.7")  # the suggestion, padded 250 ms

    bad = console.post(f"/console/calls/{call_id}/preview", ranges="9-3", reason="pci")
    assert bad.status_code == 400
    assert "less than endMs" in bad.text
    shown = console.post(
        f"/console/calls/{call_id}/preview", ranges="3.75-7\n6.5-7.5", reason="pci",
        reference="PCI-4",
    )  # fmt: skip
    assert shown.status_code == 200
    assert 'id="preview-summary">1 range, 3.75 s of 10.0 s' in shown.text
    assert shown.text.count('class="chosen"') == 1
    with live.client(live.token("audit")) as api:
        assert api.get("/redactions/v1").json()["redactions"] == []  # a preview changes nothing

    done = console.post(
        f"/console/calls/{call_id}/redact",
        ranges=hidden(shown.text, "ranges"),
        reason=hidden(shown.text, "reason"),
        reference=hidden(shown.text, "reference"),
    )
    assert done.status_code == 303
    listed = console.http.get(done.headers["location"])
    assert "Redacting" in listed.text
    assert "PCI-4" in listed.text
    with live.client(live.token("audit")) as api:
        (made,) = api.get("/redactions/v1").json()["redactions"]
    assert made["ranges"] == [{"startMs": 3750, "endMs": 7500}]


def test_the_call_page_needs_redact(live, console_as):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("console-audit")).json()["callId"]
    console = console_as("audit")
    assert console.http.get(f"/console/calls/{call_id}").status_code == 403
