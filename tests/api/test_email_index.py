"""A customer's e-mail address finds their calls however it is spelt (contract §16; issue 32, item
5): trimmed, NFKC, the domain's IDNA A-label (UTS #46), case-folded. Over real HTTP, v2 capture
and v2 customer purge, on both backends; a bad address is a 400 naming the field, never the
address."""

from __future__ import annotations

import uuid

import pytest

from helpers import post_v2_call, stored_bytes, v2_customer_info

pytestmark = pytest.mark.both_backends

# (captured as, asked for as): one address each.
SAME = [
    ("jane@bücher.de", "jane@xn--bcher-kva.de"),
    ("JANE@XN--BCHER-KVA.DE", "Jane@Bücher.de"),
    ("ｐａｔ＠ｅｘａｍｐｌｅ．ｃｏｍ", "pat@example.com"),
    ("Straße@example.org", "STRASSE@example.org"),
    ("  Lee@Example.NET\t", "lee@example.net"),
]


def _capture(live, token: str, email: str) -> str:
    with live.client(token) as client:
        answer = post_v2_call(client, v2_customer_info(f"e-{uuid.uuid4()}", email=email))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def _preview(client, *emails: str):
    return client.post(
        "/interactions/v2/purge/customer",
        json={"emails": list(emails), "allowIncompleteInteraction": True},
        params={"whatIf": "true"},
    )


@pytest.mark.parametrize(("captured_as", "asked_as"), SAME)
def test_one_address_in_any_spelling_finds_the_call(live, captured_as, asked_as):
    call_id = _capture(live, live.token("capture"), captured_as)
    with live.client(live.token("purge")) as client:
        for spelling in (asked_as, captured_as):
            answer = _preview(client, spelling)
            assert answer.status_code == 200, answer.text
            assert [i["id"] for i in answer.json()["items"]] == [call_id], spelling


def test_a_plus_tag_is_another_address(live):
    tagged = _capture(live, live.token("capture"), "jane+x@example.com")
    plain = _capture(live, live.token("capture"), "jane@example.com")
    with live.client(live.token("purge")) as client:
        assert [i["id"] for i in _preview(client, "jane@example.com").json()["items"]] == [plain]
        assert [i["id"] for i in _preview(client, "JANE+X@example.com").json()["items"]] == [tagged]


BAD = ["jane@ex_ample.com", "two@@bücher.de", "@bücher.de", "jane@", "jane@ab--cd.example"]


@pytest.mark.parametrize("email", BAD)
def test_a_bad_address_is_a_400_naming_the_field_not_the_address(live, email):
    with live.client(live.token("purge")) as client:
        answer = _preview(client, "ok@example.com", email)
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert "emails[1]" in detail
    for part in email.split("@"):
        if part:
            assert part not in detail
    session_id = f"bad-{uuid.uuid4()}"
    with live.client(live.token("capture")) as client:
        answer = post_v2_call(client, v2_customer_info(session_id, email=email))
        assert answer.status_code == 400, answer.text
        detail = answer.json()["detail"]
        assert "participants[1].email" in detail
        for part in email.split("@"):
            if part:
                assert part not in detail
        status = client.get(f"/capture/v2/status/{session_id}").json()
    assert status["status"] == "NotFound"


def test_the_address_is_stored_as_sent_and_never_in_clear(live):
    email = "Zoë.Quist@Bücher.example"
    call_id = _capture(live, live.token("capture"), email)
    with live.client(live.token("read")) as client:
        contacts = client.get(f"/calls/v1/{call_id}").json()["contacts"]
    assert contacts[1]["email"] == email
    stored = stored_bytes(live.runtime)
    for form in (email, "zoë.quist@xn--bcher-kva.example", "xn--bcher-kva", "Quist"):
        assert form.encode() not in stored
