"""Redaction (contract §21): the POST and its preview, the resources, the work, and what it
leaves behind; bad input changes nothing.

The live server here runs no worker: each test runs the redaction loop's steps itself, so that it
sees the call while Redacting.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from audiogen import pattern, wav_file
from callvault.redactions.loop import RedactionLoop
from callvault.store.tables import calls, redactions
from helpers import blob_objects, call_info, post_call, slow_download, stored_bytes

pytestmark = [pytest.mark.settings(run_worker=False)]

RATE = 8000
SECONDS = 4
# What a caller said inside the range: a byte pattern no other part of the store holds.
MARKER = b"CARD-4111111111111111-CVV-737!"


def card_call() -> tuple[bytes, int, int]:
    """A 16-bit mono WAV whose samples from 1000 ms to 2000 ms hold MARKER (nowhere else); and
    where those samples start and end in the file."""
    before = pattern(2 * RATE * 1, seed=1)
    inside = (MARKER * (2 * RATE // len(MARKER) + 1))[: 2 * RATE]
    after = pattern(2 * RATE * (SECONDS - 2), seed=2)
    data = wav_file(1, 16, before + inside + after, rate=RATE)
    start = data.index(inside)
    return data, start, start + len(inside)


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "read", "redact", "audit", "hold", "purge")}


def captured(live, tokens, audio: bytes, content_type: str = "audio/wav") -> str:
    with live.client(tokens["capture"]) as client:
        answer = post_call(client, call_info(f"s-{time.monotonic_ns()}"), audio, content_type)
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["callId"]
    return call_id


def redact(live, token, call_id: str, query: str = "", **body: Any):
    body.setdefault("ranges", [{"startMs": 1000, "endMs": 2000}])
    body.setdefault("reason", "pci")
    with live.client(token) as client:
        return client.post(f"/calls/v1/{call_id}/redactions{query}", json=body)


def work(live, steps: int = 1) -> int:
    loop = RedactionLoop(live.runtime)
    return sum(loop.step() for _ in range(steps))


def audio_of(live, tokens, call_id: str):
    with live.client(tokens["read"]) as client:
        return client.get(f"/calls/v1/{call_id}/audio")


def nothing_created(live, call_id: str) -> None:
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(redactions)).scalar_one() == 0
        flag = conn.execute(select(calls.c.redacting).where(calls.c.call_id == call_id)).scalar()
        assert not flag


@pytest.mark.both_backends
def test_a_range_is_erased_the_rest_kept_bit_for_bit_and_no_byte_of_it_is_left(
    live, tokens, backend
):
    data, start, end = card_call()
    call_id = captured(live, tokens, data)
    rt = live.runtime
    with rt.engine.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().one()
    old_wrapped = rt.keystore.get(call_id)
    handle, size = rt.blobs.open(row["blob_key"])
    with handle:
        handle.seek(size // 2)
        old_ciphertext = handle.read(64)
    assert old_wrapped is not None
    assert old_wrapped in stored_bytes(rt)
    assert MARKER in audio_of(live, tokens, call_id).content

    answer = redact(live, tokens["redact"], call_id, reference="PCI-2026-7")
    assert answer.status_code == 202, answer.text
    doc = answer.json()
    rid = doc["redactionId"]
    assert answer.headers["location"] == f"/calls/v1/{call_id}/redactions/{rid}"
    assert doc["state"] == "Redacting"
    assert doc["ranges"] == [{"startMs": 1000, "endMs": 2000}]
    assert (doc["callId"], doc["reason"], doc["reference"]) == (call_id, "pci", "PCI-2026-7")
    assert doc["requestedBy"]
    assert doc["createdAt"].endswith("Z")

    # From the 202 the audio is not served; the call's details and status are.
    held_back = audio_of(live, tokens, call_id)
    assert held_back.status_code == 409
    assert "being redacted" in held_back.json()["detail"]
    with live.client(tokens["read"]) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 200

    assert work(live) == 1
    with live.client(tokens["audit"]) as client:
        done = client.get(f"/calls/v1/{call_id}/redactions/{rid}").json()
        assert done["state"] == "Redacted", done
        assert done["completedAt"] is not None
        details = client.get("/audit/v1/events?action=call.redacted").json()["events"]
    assert [(e["callId"], e["requestId"]) for e in details] == [(call_id, rid)]
    assert details[0]["details"]["ranges"] == [[1000, 2000]]
    assert details[0]["details"]["reason"] == "pci"

    after = audio_of(live, tokens, call_id)
    assert after.status_code == 200
    new = after.content
    assert len(new) == len(data)
    assert new[:start] == data[:start]
    assert new[start:end] == b"\x00" * (end - start)
    assert new[end:] == data[end:]
    with live.client(tokens["read"]) as client:
        assert client.get(f"/calls/v1/{call_id}").json()["contacts"][1]["lastName"] == "Caller"

    # The old key is destroyed, the old audio deleted (every version): no byte of either, nor
    # any plaintext of the range, is left anywhere the instance stores.
    assert rt.keystore.get(call_id) != old_wrapped
    scan = stored_bytes(rt)
    assert old_wrapped not in scan
    assert old_ciphertext not in scan
    assert MARKER not in scan
    assert len([o for o in blob_objects(rt) if call_id in o]) == 1


def test_what_if_previews_the_merged_ranges_and_changes_nothing(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    ranges = [
        {"startMs": 3000, "endMs": 3500},
        {"startMs": 100, "endMs": 200},
        {"startMs": 150, "endMs": 300},
        {"startMs": 300, "endMs": 400},  # touching: merged too
    ]
    answer = redact(live, tokens["redact"], call_id, "?whatIf=true", ranges=ranges)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ranges": [{"startMs": 100, "endMs": 400}, {"startMs": 3000, "endMs": 3500}],
        "redactedMs": 800,
        "durationMs": SECONDS * 1000,
    }
    nothing_created(live, call_id)
    assert audio_of(live, tokens, call_id).status_code == 200


BAD = [
    ({"ranges": [{"startMs": 2000, "endMs": 1000}]}, "", "less than endMs"),
    ({"ranges": [{"startMs": 1000, "endMs": 1000}]}, "", "less than endMs"),
    ({"ranges": [{"startMs": -1, "endMs": 1000}]}, "", "0 or more"),
    ({"ranges": [{"startMs": 0, "endMs": 4001}]}, "", "past the end of the call"),
    ({"ranges": [{"startMs": 0.5, "endMs": 1000}]}, "", "whole numbers"),
    ({"ranges": [{"startMs": "0", "endMs": 1000}]}, "", "whole numbers"),
    ({"ranges": [{"startMs": True, "endMs": 1000}]}, "", "whole numbers"),
    ({"ranges": []}, "", "1 to 100"),
    ({"ranges": [{"startMs": n, "endMs": n + 1} for n in range(101)]}, "", "at most 100"),
    ({"reason": "gdpr"}, "", "reason must be one of pci, pii, phi, other"),
    ({"reason": "PCI"}, "", "reason must be one of"),
    ({"ranges": [{"startMs": 0, "endMs": 5, "endMS2": 9}]}, "", "`endMS2`"),
    ({"range": [{"startMs": 0, "endMs": 5}]}, "", "`range`"),
    ({"whatIf": True}, "", "preview with the query parameter"),
    ({"reference": "DSR\n1"}, "", "printable"),
    ({}, "?whatIf=maybe", "whatIf"),
    ({}, "?force=true", "`force` is not a parameter"),
]


def test_bad_input_is_a_400_that_says_what_to_fix_and_changes_nothing(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    for body, query, says in BAD:
        answer = redact(live, tokens["redact"], call_id, query, **body)
        assert answer.status_code == 400, (body, query, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert says in answer.json()["detail"], (body, answer.json()["detail"])
        nothing_created(live, call_id)


def test_a_format_that_cannot_be_redacted_is_a_422_before_anything_is_created(live, tokens):
    mp3ish = b"ID3\x04\x00\x00\x00\x00\x00\x00" + pattern(4000)
    call_id = captured(live, tokens, mp3ish, "audio/mpeg")
    adpcm = wav_file(0x11, 4, pattern(4000))
    adpcm_id = captured(live, tokens, adpcm)
    for cid, query in ((call_id, ""), (call_id, "?whatIf=true"), (adpcm_id, "")):
        answer = redact(live, tokens["redact"], cid, query, ranges=[{"startMs": 0, "endMs": 1}])
        assert answer.status_code == 422, answer.text
        assert "cannot be redacted" in answer.json()["detail"]
        nothing_created(live, cid)


def test_a_held_call_is_a_409_naming_its_holds(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    with live.client(tokens["hold"]) as client:
        hold = client.post(
            "/holds/v1", json={"matter": "M-1", "reason": "litigation", "callIds": [call_id]}
        )
    assert hold.status_code == 201, hold.text
    hold_id = hold.json()["holdId"]
    answer = redact(live, tokens["redact"], call_id)
    assert answer.status_code == 409
    assert hold_id in answer.json()["detail"]
    assert answer.json()["holdIds"] == [hold_id]
    nothing_created(live, call_id)


def test_an_unknown_purging_or_erased_call_is_a_404(live, tokens):
    assert redact(live, tokens["redact"], "0" * 32).status_code == 404
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    with live.client(tokens["purge"]) as client:
        assert client.post("/purge/v1/calls", json={"ids": [call_id]}).status_code == 200
    assert redact(live, tokens["redact"], call_id).status_code == 404
    assert redact(live, tokens["redact"], call_id, "?whatIf=true").status_code == 404


def test_permissions_redact_to_ask_audit_to_read(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    for who in ("read", "audit", "purge"):
        assert redact(live, tokens[who], call_id).status_code == 403
    rid = redact(live, tokens["redact"], call_id).json()["redactionId"]
    for who in ("redact", "audit"):
        with live.client(tokens[who]) as client:
            assert client.get(f"/calls/v1/{call_id}/redactions/{rid}").status_code == 200
            assert client.get("/redactions/v1").status_code == 200
    with live.client(tokens["read"]) as client:
        assert client.get("/redactions/v1").status_code == 403


def test_a_hold_placed_while_redacting_fails_it_and_the_audio_stays_as_it_was(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    rid = redact(live, tokens["redact"], call_id).json()["redactionId"]
    with live.client(tokens["hold"]) as client:
        hold_id = client.post(
            "/holds/v1", json={"matter": "M-2", "reason": "litigation", "callIds": [call_id]}
        ).json()["holdId"]
    work(live)
    with live.client(tokens["audit"]) as client:
        doc = client.get(f"/calls/v1/{call_id}/redactions/{rid}").json()
    assert doc["state"] == "Failed"
    assert hold_id in doc["errorMsg"]
    assert audio_of(live, tokens, call_id).content == data
    assert [o for o in blob_objects(live.runtime) if "." in o.split("/")[-1]] == []


def test_a_purge_accepted_while_redacting_wins(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    rid = redact(live, tokens["redact"], call_id).json()["redactionId"]
    with live.client(tokens["purge"]) as client:
        assert client.post("/purge/v1/calls", json={"ids": [call_id]}).status_code == 200
    work(live)
    from callvault.purge.loop import ErasureLoop, ErasureOptions

    ErasureLoop(live.runtime, ErasureOptions()).run_once()
    with live.client(tokens["audit"]) as client:
        doc = client.get(f"/calls/v1/{call_id}/redactions/{rid}").json()
    assert doc["state"] == "Failed"
    assert "purge" in doc["errorMsg"]
    assert blob_objects(live.runtime) == []
    assert live.runtime.keystore.get(call_id) is None


def test_a_second_redaction_waits_for_the_first_and_both_ranges_end_silent(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    first = redact(live, tokens["redact"], call_id, ranges=[{"startMs": 0, "endMs": 500}])
    second = redact(live, tokens["redact"], call_id, ranges=[{"startMs": 3500, "endMs": 4000}])
    assert (first.status_code, second.status_code) == (202, 202)
    assert work(live) == 1
    with live.client(tokens["redact"]) as client:
        states = {
            r["redactionId"]: r["state"]
            for r in client.get(f"/calls/v1/{call_id}/redactions").json()["redactions"]
        }
    assert states == {
        first.json()["redactionId"]: "Redacted",
        second.json()["redactionId"]: "Redacting",
    }
    assert audio_of(live, tokens, call_id).status_code == 409
    assert work(live) == 1
    new = audio_of(live, tokens, call_id).content
    start = data.index(b"data") + 8
    samples = new[start : start + 2 * RATE * SECONDS]
    assert samples[: 2 * 4000] == b"\x00" * 8000
    assert samples[-2 * 4000 :] == b"\x00" * 8000
    assert samples[8000:-8000] == data[start + 8000 : start + 2 * RATE * SECONDS - 8000]
    assert len([o for o in blob_objects(live.runtime) if call_id in o]) == 1


def test_lists_page_newest_first_and_filter_by_reference(live, tokens):
    data, _, _ = card_call()
    call_id = captured(live, tokens, data)
    made = [
        redact(live, tokens["redact"], call_id, reference=f"T-{n % 2}").json()["redactionId"]
        for n in range(3)
    ]
    with live.client(tokens["audit"]) as client:
        first = client.get("/redactions/v1?limit=2").json()
        assert [r["redactionId"] for r in first["redactions"]] == made[::-1][:2]
        rest = client.get(f"/redactions/v1?limit=2&cursor={first['nextCursor']}").json()
        assert [r["redactionId"] for r in rest["redactions"]] == made[:1]
        assert "nextCursor" not in rest
        tagged = client.get("/redactions/v1?reference=T-0").json()["redactions"]
        assert [r["redactionId"] for r in tagged] == [made[2], made[0]]
        assert client.get(f"/calls/v1/{'0' * 32}/redactions").status_code == 404
        assert client.get(f"/calls/v1/{call_id}/redactions/{'0' * 32}").status_code == 404


def test_a_download_in_flight_is_ended_by_the_redaction(live, tokens):
    """As a purge ends one (tests/api/test_calls.py): the reset comes at the 202, before any
    worker runs (none does here), so no byte of the unredacted audio leaves after it."""
    big = wav_file(1, 16, pattern(2 * RATE * 400), rate=RATE)  # 6.4 MB
    call_id = captured(live, tokens, big)
    sock, received = slow_download(live.port, tokens["read"], call_id)
    with sock:
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert redact(live, tokens["redact"], call_id).status_code == 202
        try:
            while piece := sock.recv(65536):
                body += piece
        except ConnectionResetError:
            pass
    assert len(body) < len(big) - 1024 * 1024, f"{len(body)} of {len(big)} bytes served"
    assert big.startswith(body)


def test_suggestions_mark_where_a_card_number_was_keyed_never_the_digits(live, tokens):
    from audiogen import mulaw_wav, speech_like, with_keypad

    audio = mulaw_wav(with_keypad(speech_like(12), "4111111111111111", at_ms=3000, noise=0.01))
    call_id = captured(live, tokens, audio)
    with live.client(tokens["redact"]) as client:
        answer = client.get(f"/calls/v1/{call_id}/redactions/suggestions")
        assert answer.status_code == 200, answer.text
        (found,) = answer.json()["suggestions"]
        assert set(found) == {"startMs", "endMs", "kind", "tones"}
        assert (found["kind"], found["tones"]) == ("dtmf", 16)
        assert 2700 <= found["startMs"] <= 2800
        assert "4111" not in answer.text
        preview = redact(
            live,
            tokens["redact"],
            call_id,
            "?whatIf=true",
            ranges=[{"startMs": found["startMs"], "endMs": found["endMs"]}],
        )
        assert preview.status_code == 200
        assert client.get(f"/calls/v1/{'0' * 32}/redactions/suggestions").status_code == 404
    with live.client(tokens["audit"]) as client:
        assert client.get(f"/calls/v1/{call_id}/redactions/suggestions").status_code == 403
        events = client.get("/audit/v1/events?action=redaction.suggested").json()["events"]
    assert events[0]["details"] == {"suggestions": 1, "tones": 16}
