"""Suppressions (contract §22): make, list, look up, check, lift; bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from callvault.store.tables import suppression_digests, suppressions
from helpers import stored_bytes

pytestmark = pytest.mark.both_backends

PHONE = "(512) 555-0177"
SPELLINGS = ["+15125550177", "(512) 555-0177", "1-512-555-0177", "512.555.0177", "+1 512 555 0177"]
EMAIL = "Jane.Doe@Bücher.example"


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "purge", "suppress", "audit", "admin", "hold")}


def suppress(live, token, **body: Any):
    body.setdefault("reason", "caller objected on 2026-12-01")
    with live.client(token) as client:
        return client.post("/suppressions/v1", json=body)


def count_rows(live) -> tuple[int, int]:
    with live.runtime.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(suppressions)).scalar_one(),
            conn.execute(select(func.count()).select_from(suppression_digests)).scalar_one(),
        )


def test_a_suppression_is_made_shown_and_found_by_every_spelling(live, tokens):
    answer = suppress(
        live, tokens["suppress"], phoneNumbers=[PHONE], emails=[EMAIL], reference="DSR-2026-0142"
    )
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    sid = doc["suppressionId"]
    assert answer.headers["location"] == f"/suppressions/v1/{sid}"
    assert doc["state"] == "Active"
    assert doc["identifiers"] == 2
    assert doc["reason"] == "caller objected on 2026-12-01"
    assert doc["reference"] == "DSR-2026-0142"
    assert doc["expiresAt"] is None
    assert doc["createdBy"]
    assert doc["createdAt"].endswith("Z")
    with live.client(tokens["audit"]) as client:
        assert client.get(f"/suppressions/v1/{sid}").json() == doc
        for spelling in SPELLINGS:
            found = client.post("/suppressions/v1/lookup", json={"phoneNumber": spelling}).json()
            assert found == {"suppressed": True, "suppressionIds": [sid]}, spelling
        by_mail = client.post(
            "/suppressions/v1/lookup", json={"email": "  jane.doe@xn--bcher-kva.EXAMPLE "}
        )
        assert by_mail.json() == {"suppressed": True, "suppressionIds": [sid]}
        other = client.post("/suppressions/v1/lookup", json={"phoneNumber": "+15125550178"})
        assert other.json() == {"suppressed": False, "suppressionIds": []}
    with live.client(tokens["capture"]) as client:
        for spelling in SPELLINGS:
            check = client.post("/suppressions/v1/check", json={"phoneNumber": spelling})
            assert check.status_code == 200
            assert check.json() == {"suppressed": True}
        no = client.post("/suppressions/v1/check", json={"email": "jane.doe+x@bücher.example"})
        assert no.json() == {"suppressed": False}


def test_identifiers_are_stored_only_as_keyed_hashes(live, tokens):
    assert (
        suppress(live, tokens["suppress"], phoneNumbers=[PHONE], emails=[EMAIL]).status_code == 201
    )
    stored = stored_bytes(live.runtime)
    for value in ("+15125550177", "5125550177", "555-0177", "jane.doe", "Jane.Doe", "bcher"):
        assert value.encode() not in stored, value
    assert b"caller objected" not in stored  # the reason is sealed
    digest = live.runtime.keys.blind_index("+15125550177")
    assert digest in stored  # the scan sees what is there


def test_list_pages_newest_first_and_filters(live, tokens):
    made = []
    for n in range(5):
        doc = suppress(
            live, tokens["suppress"], phoneNumbers=[f"+1512555{1000 + n}"], reference=f"R-{n % 2}"
        ).json()
        made.append(doc["suppressionId"])
    with live.client(tokens["suppress"]) as client:
        first = client.get("/suppressions/v1", params={"limit": 2}).json()
        assert [s["suppressionId"] for s in first["suppressions"]] == made[::-1][:2]
        seen = [s["suppressionId"] for s in first["suppressions"]]
        cursor = first["nextCursor"]
        while cursor:
            page = client.get("/suppressions/v1", params={"limit": 2, "cursor": cursor}).json()
            seen += [s["suppressionId"] for s in page["suppressions"]]
            cursor = page.get("nextCursor")
        assert seen == made[::-1]
        refs = client.get("/suppressions/v1", params={"reference": "R-1"}).json()
        assert {s["suppressionId"] for s in refs["suppressions"]} == {made[1], made[3]}
        assert "nextCursor" not in refs
        client.post(f"/suppressions/v1/{made[0]}/lift", json={"reason": "consent given"})
        active = client.get("/suppressions/v1", params={"state": "active"}).json()
        assert made[0] not in {s["suppressionId"] for s in active["suppressions"]}
        lifted = client.get("/suppressions/v1", params={"state": "Lifted"}).json()
        assert [s["suppressionId"] for s in lifted["suppressions"]] == [made[0]]


def test_lift_ends_it_and_a_second_lift_is_409(live, tokens):
    sid = suppress(live, tokens["suppress"], phoneNumbers=[PHONE]).json()["suppressionId"]
    with live.client(tokens["suppress"]) as client:
        lifted = client.post(f"/suppressions/v1/{sid}/lift", json={"reason": "consent given"})
        assert lifted.status_code == 200, lifted.text
        doc = lifted.json()
        assert doc["state"] == "Lifted"
        assert doc["liftReason"] == "consent given"
        assert doc["liftedBy"]
        assert doc["liftedAt"]
        again = client.post(f"/suppressions/v1/{sid}/lift", json={"reason": "again"})
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        found = client.post("/suppressions/v1/lookup", json={"phoneNumber": PHONE}).json()
        assert found == {"suppressed": False, "suppressionIds": []}
        unknown = client.post("/suppressions/v1/" + "0" * 32 + "/lift", json={"reason": "x"})
        assert unknown.status_code == 404
    with live.client(tokens["capture"]) as client:
        assert client.post("/suppressions/v1/check", json={"phoneNumber": PHONE}).json() == {
            "suppressed": False
        }


def test_an_expired_suppression_stops_applying(live, tokens):
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sid = suppress(live, tokens["suppress"], phoneNumbers=[PHONE], expiresAt=soon).json()[
        "suppressionId"
    ]
    with live.client(tokens["capture"]) as client:
        assert client.post("/suppressions/v1/check", json={"phoneNumber": PHONE}).json() == {
            "suppressed": True
        }
        # The hour passes.
        with live.runtime.engine.begin() as conn:
            conn.execute(
                suppressions.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        assert client.post("/suppressions/v1/check", json={"phoneNumber": PHONE}).json() == {
            "suppressed": False
        }
    with live.client(tokens["audit"]) as client:
        assert client.get(f"/suppressions/v1/{sid}").json()["state"] == "Expired"


def test_audit_events_carry_keyed_hashes_of_reasons_never_their_text(live, tokens):
    sid = suppress(live, tokens["suppress"], phoneNumbers=[PHONE], reason="Jane asked, 555-0177")
    sid = sid.json()["suppressionId"]
    with live.client(tokens["suppress"]) as client:
        client.post(f"/suppressions/v1/{sid}/lift", json={"reason": "Jane consented"})
    with live.client(tokens["audit"]) as client:
        events = client.get("/audit/v1/events").json()["events"]
    mine = {e["action"]: e for e in events if e["details"].get("suppressionId") == sid}
    created, lifted = mine["suppression.created"], mine["suppression.lifted"]
    keys = live.runtime.keys
    assert created["details"]["reasonHash"] == keys.audit_hash("Jane asked, 555-0177")
    assert created["details"]["identifiers"] == 1
    assert lifted["details"]["liftReasonHash"] == keys.audit_hash("Jane consented")
    text = str(events)
    assert "Jane" not in text
    assert "555-0177" not in text


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"reason": "r"}, "at least one identifier"),
    ({"reason": "r", "phoneNumbers": [], "emails": []}, "at least one identifier"),
    ({"phoneNumbers": [PHONE]}, "reason"),
    ({"reason": " ", "phoneNumbers": [PHONE]}, "reason"),
    ({"reason": "r", "phoneNumbers": ["12"]}, "phoneNumbers[0]"),
    ({"reason": "r", "phoneNumbers": ["anonymous"]}, "phoneNumbers[0]"),
    ({"reason": "r", "phoneNumbers": [PHONE, "+1 999"]}, "phoneNumbers[1]"),
    ({"reason": "r", "emails": ["jane@"]}, "emails[0]"),
    ({"reason": "r", "emails": ["jane@a@b.example"]}, "emails[0]"),
    ({"reason": "r", "phoneNumbers": [PHONE], "expiresAt": "2020-01-01T00:00:00Z"}, "past"),
    ({"reason": "r", "phoneNumbers": [PHONE], "expiresAt": "tomorrow"}, "expiresAt"),
    ({"reason": "r", "phoneNumbers": [PHONE], "email": ["jane@x.example"]}, "`email`"),
    ({"reason": "r", "phoneNumbers": [PHONE], "whatIf": True}, "`whatIf`"),
    ({"reason": "r", "phoneNumbers": PHONE}, "phoneNumbers"),
    ({"reason": "r", "phoneNumbers": [PHONE], "reference": ""}, "reference"),
]


def test_bad_input_is_a_clear_400_and_makes_nothing(live, tokens):
    with live.client(tokens["suppress"]) as client:
        for body, says in BAD_BODIES:
            answer = client.post("/suppressions/v1", json=body)
            assert answer.status_code == 400, (body, answer.text)
            problem = answer.json()
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert says in problem["detail"], (body, problem)
            # The problem names the field, never the value.
            for secret in ("555-0177", "5125550177", "jane@"):
                assert secret not in problem["detail"], body
    assert count_rows(live) == (0, 0)


UNCLEAR_QUESTIONS: list[dict[str, Any]] = [
    {},
    {"phoneNumber": PHONE, "email": "a@b.example"},
    {"phonenumbers": [PHONE]},
    {"phoneNumber": "x"},
    {"email": "nobody"},
]


def test_a_lookup_or_check_of_nothing_clear_is_a_400(live, tokens):
    for token, path in ((tokens["suppress"], "lookup"), (tokens["capture"], "check")):
        with live.client(token) as client:
            for body in UNCLEAR_QUESTIONS:
                answer = client.post(f"/suppressions/v1/{path}", json=body)
                assert answer.status_code == 400, (path, body, answer.text)


def test_each_endpoint_needs_its_permission(live, tokens):
    body = {"phoneNumbers": [PHONE], "reason": "r"}
    with live.client(tokens["capture"]) as client:
        assert client.post("/suppressions/v1", json=body).status_code == 403
        assert client.get("/suppressions/v1").status_code == 403
        assert (
            client.post("/suppressions/v1/lookup", json={"phoneNumber": PHONE}).status_code == 403
        )
    with live.client(tokens["audit"]) as client:
        assert client.post("/suppressions/v1", json=body).status_code == 403
        assert client.get("/suppressions/v1").status_code == 200
    for who in ("suppress", "audit", "purge", "hold"):
        with live.client(tokens[who]) as client:
            check = client.post("/suppressions/v1/check", json={"phoneNumber": PHONE})
            assert check.status_code == 403, who
    with live.client(tokens["admin"]) as client:
        made = client.post("/suppressions/v1", json=body)
        assert made.status_code == 201
        assert client.post("/suppressions/v1/check", json={"phoneNumber": PHONE}).json() == {
            "suppressed": True
        }
        sid = made.json()["suppressionId"]
    with live.client(tokens["audit"]) as client:
        assert client.post(f"/suppressions/v1/{sid}/lift", json={"reason": "x"}).status_code == 403
    with live.client() as client:
        assert client.post("/suppressions/v1/check", json={"phoneNumber": PHONE}).status_code == 401
    assert count_rows(live)[0] == 1


@pytest.mark.settings(rate_limit_per_minute=12)  # bursts of 2 a user
def test_check_is_rate_limited_like_every_call(live):
    token = live.token("capture")
    with live.client(token) as client:
        answers = [
            client.post("/suppressions/v1/check", json={"phoneNumber": PHONE}) for _ in range(3)
        ]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[2].status_code == 429
    assert int(answers[2].headers["retry-after"]) >= 1


def test_a_lift_with_an_unknown_key_lifts_nothing(live, tokens):
    sid = suppress(live, tokens["suppress"], phoneNumbers=[PHONE]).json()["suppressionId"]
    with live.client(tokens["suppress"]) as client:
        answer = client.post(f"/suppressions/v1/{sid}/lift", json={"reason": "x", "force": True})
        assert answer.status_code == 400
        assert "`force`" in answer.json()["detail"]
        assert client.get(f"/suppressions/v1/{sid}").json()["state"] == "Active"
