"""``callvault redact CALL_ID --range … --reason … [--what-if] [--wait]`` and ``callvault redact
suggest CALL_ID`` against a live server (its worker redacts), and the SDK calls they stand on
(contract §21)."""

from __future__ import annotations

import json

import pytest

from audiogen import mulaw_wav, speech_like, with_keypad
from callvault.client import Client, Redaction, RedactionPreview
from helpers import call_info, post_call


@pytest.mark.cli_process
def test_suggest_preview_redact_and_wait(live, cli_as):
    audio = mulaw_wav(with_keypad(speech_like(10), "4111111111111111", at_ms=2000))
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("cli-redact"), audio).json()["callId"]
    cli = cli_as("redact")

    suggested = cli("redact", "suggest", call_id, "-o", "json")
    assert suggested.returncode == 0, suggested.stderr
    (found,) = json.loads(suggested.stdout)
    assert (found["kind"], found["tones"]) == ("dtmf", 16)
    assert "4111" not in suggested.stdout

    preview = cli(
        "redact", call_id, "--range", "1.75-4.5", "--range", "4.5-5", "--reason", "pci",
        "--what-if", "-o", "json",
    )  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    assert json.loads(preview.stdout) == [
        {"ranges": "1.75-5", "redactedMs": 3250, "durationMs": 10000}
    ]
    assert "nothing was changed" in preview.stderr

    done = cli(
        "redact", call_id, "--range", "1.75-5", "--reason", "pci", "--reference", "PCI-9",
        "--wait", "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["state"], row["ranges"], row["reference"]) == ("Redacted", "1.75-5", "PCI-9")

    bad = cli("redact", call_id, "--range", "5-x", "--reason", "pci")
    assert bad.returncode == 2
    assert "START-END" in bad.stderr
    refused = cli("redact", call_id, "--range", "5-4", "--reason", "pci")
    assert refused.returncode != 0
    assert "less than endMs" in refused.stderr


def test_the_sdk_redacts_waits_and_lists(live):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("sdk-redact")).json()["callId"]
    client_id, secret = live.user("redact")
    with Client(live.url, client_id=client_id, client_secret=secret) as cv:
        preview = cv.redact(call_id, [(0, 100), (50, 200)], "pii", what_if=True)
        assert isinstance(preview, RedactionPreview)
        assert (preview.ranges, preview.redacted_ms) == ([(0, 200)], 200)
        made = cv.redact(call_id, [(0, 100)], "pii", reference="DSR-1")
        assert isinstance(made, Redaction)
        finished = cv.wait_for_redaction(call_id, made.redaction_id, timeout=60, poll_interval=0.1)
        assert finished.state == "Redacted"
        assert cv.get_redaction(call_id, made.redaction_id) == finished
        assert [r.redaction_id for r in cv.list_redactions(reference="DSR-1")] == [
            made.redaction_id
        ]
        assert cv.list_redactions(call_id) == [finished]
        assert cv.redaction_suggestions(call_id) == []
        assert cv.get_redaction_certificate(call_id, made.redaction_id).count(".") == 2
