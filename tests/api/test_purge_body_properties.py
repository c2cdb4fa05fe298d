"""Purge endpoints under generated bodies (contract §5, §8): whatever a client sends, the answer is
200 or a 400/413/415 problem (never a 5xx), a 200 has exactly one well-formed item per distinct ID,
and — every request carrying ``whatIf=true`` — nothing is ever purged.

Each test runs one live server and drives hypothesis inside it; an oracle written from the
contract predicts, for every generated body, whether it must be accepted and what the items are.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from callvault.audit.trail import AuditTrail
from callvault.demo import seed_calls
from callvault.phone import index_form
from callvault.store.tables import calls, purge_jobs

SESSIONS = [f"demo-{n}" for n in range(5)]
PHONES = ["+15125550100", "(512) 555-0199"]
ITEM_KEYS = {"callId", "sessionId", "status", "errorMsg"}
WHAT_IF = ["true", "True", "TRUE", "1"]
WHAT_IF_KEYS = ["whatIf", "whatif", "WHATIF"]
JSON_CT = "application/json; charset=utf-8"

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and ±Infinity too: Python's json accepts them, so the server may
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)
odd_strings = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "demo-0\x00",
        "\ud800",
        "x\udfff",
        "demo-1\ud83d",
        "\U0001f600",
        "é",
        "DEMO-0",
        "demo-0 ",
        "../../etc/passwd",
        "' OR 1=1 --",
        "%",
        "_",
        "a" * 256,
        "a" * 257,
        "b" * 5000,
    ]
)
ID_KEYS = st.sampled_from(["ids", "Ids", "IDS", "iDs", "ids ", "id", "callIds", "IDs"])
PHONE_KEYS = st.sampled_from(["phoneNumber", "phonenumber", "PHONENUMBER", "phone", "PhoneNumber"])


def id_strings(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(str.upper),
        odd_strings,
        st.text(max_size=30),
        st.text(min_size=250, max_size=260, alphabet="xy"),
    )


def id_bodies(known: list[str]) -> st.SearchStrategy[Any]:
    ids = id_strings(known)
    id_lists = st.one_of(
        st.lists(ids, min_size=0, max_size=150),
        st.lists(ids, min_size=1, max_size=8),
        st.lists(st.sampled_from(known), min_size=95, max_size=105),  # around the 100 limit
        st.lists(ids | scalars, max_size=6),  # mixed types
        json_values,
    )
    near_valid = st.dictionaries(ID_KEYS, id_lists, min_size=1, max_size=3)
    extra = st.dictionaries(st.text(max_size=6), json_values, max_size=2)
    well_formed = st.builds(lambda i: {"ids": i}, st.lists(ids, min_size=1, max_size=10))
    return st.one_of(
        json_values,
        near_valid,
        well_formed,
        st.tuples(near_valid, extra).map(lambda p: {**p[1], **p[0]}),
        st.lists(ids, max_size=5),  # a bare list, not an object
    )


def phone_bodies() -> st.SearchStrategy[Any]:
    phones = st.one_of(
        st.sampled_from(
            [
                "+15125550100",
                "+1 512 555 0100",
                "(512) 555-0100",
                "1-512-555-0199",
                "512.555.0199",
                "tel:+1-512-555-0199",
                "+1512555\x000100",
                "+1 512 555 0100\ud800",
                "555-0100",
                "+1 512 555 0100 ext. 7",
                "+442079460958",
                "anonymous",
                "",
                "+",
                "9" * 65,
            ]
        ),
        st.text(max_size=30),
        st.text(alphabet="0123456789 +-().", max_size=20),
    )
    values = phones | json_values
    near_valid = st.dictionaries(PHONE_KEYS, values, min_size=1, max_size=2)
    seeded_spellings = st.sampled_from(
        ["+15125550100", "(512) 555-0100", "1-512-555-0199", "512 555 0199", "+1.512.555.0100"]
    )
    well_formed = st.builds(lambda phone: {"phoneNumber": phone}, phones | seeded_spellings)
    matching = st.builds(lambda phone: {"PhoneNumber": phone}, seeded_spellings)
    return st.one_of(json_values, near_valid, well_formed, matching)


@st.composite
def encodings(draw: st.DrawFn, body: Any) -> tuple[bytes, str | None]:
    """The raw request body and its declared Content-Type (a missing one: its own test below)."""
    how = draw(st.integers(0, 9))
    if how == 0:  # not UTF-8 at all (lone surrogates written raw, or random bytes)
        raw = draw(
            st.just(json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            | st.binary(max_size=40)
        )
    elif how == 1:
        raw = json.dumps(body)[: draw(st.integers(0, 20))].encode()  # truncated JSON
    else:
        raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/json",
                "application/json; charset=utf-8",
                "APPLICATION/JSON",
                "application/merge-patch+json",
                "text/plain",
                "application/x-www-form-urlencoded",
            ]
        )
    )
    return raw, content_type


# --- the oracle (from the contract, not from the implementation) ------------------------------


def _parse(raw: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None


def _field(doc: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Case-insensitive key lookup; when several keys fold together, the last one wins."""
    found: tuple[bool, Any] = (False, None)
    for key, value in doc.items():
        if key.lower() == name.lower():
            found = (True, value)
    return found


def _unknown_key(doc: dict[str, Any], *known: str) -> bool:
    """Whether the body has a key the endpoint does not know, in any case: a 400, nothing
    purged (contract §19, "Unknown keys fail closed"; ``whatIf`` in the body among them)."""
    names = {name.lower() for name in known}
    return any(key.lower() not in names for key in doc)


def _clean(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value and len(value) <= 256


def _json_object(raw: bytes, content_type: str | None) -> dict[str, Any] | int:
    """The body's JSON object, or the status a body that is not one must get."""
    if content_type is not None and not content_type.split(";")[0].strip().lower().endswith(
        ("/json", "+json")
    ):
        return 415
    ok, doc = _parse(raw)
    if not ok or not isinstance(doc, dict):
        return 400
    return doc


def expected_ids(raw: bytes, content_type: str | None) -> list[str] | int:
    """The distinct IDs a 200 must answer for, or the error status the body must get."""
    doc = _json_object(raw, content_type)
    if isinstance(doc, int):
        return doc
    if _unknown_key(doc, "ids"):
        return 400
    present, ids = _field(doc, "ids")
    if not present or not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        return 400
    if not all(isinstance(i, str) and _clean(i) for i in ids):
        return 400
    return list(dict.fromkeys(ids))


def expected_phone(raw: bytes, content_type: str | None) -> str | int:
    doc = _json_object(raw, content_type)
    if isinstance(doc, int):
        return doc
    if _unknown_key(doc, "phoneNumber"):
        return 400
    present, phone = _field(doc, "phoneNumber")
    if not present or not isinstance(phone, str):
        return 400
    # What the blind index hashes: E.164 with the extension, so "… ext. 7" matches only calls
    # of that extension (contract §19), never the bare number's.
    form = index_form(phone, "US")
    return 400 if form is None else form


# --- the harness -------------------------------------------------------------------------------


class Seeded:
    def __init__(self, live: Any) -> None:
        self.live = live
        self.call_ids = seed_calls(live.runtime, 5, seed=1, phones=PHONES)
        self.capture_token = live.token("capture", "read")
        self.purge_client = live.client(live.token("purge"))
        self.by_session: dict[str, str] = {}
        self.by_call: dict[str, str] = {}
        self.by_phone: dict[str, list[str]] = {}
        with live.client(self.capture_token) as client:
            for call_id in self.call_ids:
                doc = client.get(f"/calls/v1/{call_id}").json()
                self.by_session[doc["sessionId"]] = call_id
                self.by_call[call_id] = doc["sessionId"]
                e164 = next(c["phoneE164"] for c in doc["contacts"] if c["type"] == "Customer")
                self.by_phone.setdefault(e164, []).append(call_id)
        assert sorted(self.by_session) == SESSIONS
        assert set(self.by_phone) == {"+15125550100", "+15125550199"}
        self.requests = 0
        self.requests_accepted = 0

    def post(self, path: str, raw: bytes, content_type: str | None, what_if: str) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        request = self.purge_client.build_request(
            "POST", path, content=raw, headers=headers, params={what_if[0]: what_if[1]}
        )
        assert (content_type is None) == ("content-type" not in request.headers)
        for _ in range(20):
            answer = self.purge_client.send(request)
            if answer.status_code != 429:
                break
            time.sleep(float(answer.headers.get("Retry-After", "1")))
        self.requests += 1
        return answer

    def assert_untouched(self) -> None:
        """Every seeded call is still live and readable; nothing was queued for erasure."""
        runtime = self.live.runtime
        with runtime.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar() == 0
            statuses = dict(conn.execute(select(calls.c.call_id, calls.c.status)).all())
        assert statuses == dict.fromkeys(self.call_ids, "Complete")
        with self.live.client(self.capture_token) as client:
            for call_id in self.call_ids:
                answer = client.get(f"/calls/v1/{call_id}")
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "Complete"
                assert client.get(f"/calls/v1/{call_id}/audio").status_code == 200
            sessions = client.post(
                "/callCapture/v1/status", json={"CallSessionIds": SESSIONS}
            ).json()["callSessions"]
        assert [s["status"] for s in sessions] == ["Complete"] * 5
        checked, problem = AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)
        assert problem is None
        assert checked >= self.requests_accepted


def check_common(
    answer: httpx.Response, expected: Any, raw: bytes, customer: bool = False
) -> dict[str, Any] | None:
    """Status and shape shared by every endpoint; returns the 200 body."""
    status = answer.status_code
    assert status < 500, (status, raw[:200], answer.text)
    assert status in (200, 400, 413, 415), (status, raw[:200], answer.text)
    if isinstance(expected, int):
        assert status == expected, (expected, raw[:200], answer.text)
    else:
        assert status == 200, (raw[:200], answer.text)
    if status != 200:
        # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        problem = answer.json()
        assert isinstance(problem.get("detail"), str), problem
        assert problem["detail"].strip(), problem
        assert problem["status"] == status
        return None
    assert answer.headers["content-type"] == JSON_CT
    assert "location" not in answer.headers  # whatIf: nothing was queued
    body = answer.json()
    # A customer preview answers its confirmation token too (contract §13).
    assert set(body) == (
        {"items", "requestId", "confirmToken"} if customer else {"items", "requestId"}
    )
    if customer:
        assert isinstance(body["confirmToken"], str)
    for item in body["items"]:
        assert set(item) == ITEM_KEYS, item
        assert item["errorMsg"] is None
    return body


@pytest.fixture
def seeded(live):
    harness = Seeded(live)
    yield harness
    harness.purge_client.close()


what_ifs = st.tuples(st.sampled_from(WHAT_IF_KEYS), st.sampled_from(WHAT_IF))


def check_id_items(seeded: Seeded, expected: list[str], items: list[Any], by_session: bool) -> None:
    assert len(items) == len(expected), (expected, items)
    live = seeded.by_session if by_session else seeded.by_call
    for asked, item in zip(expected, items, strict=True):
        if asked in live:
            call_id = live[asked] if by_session else asked
            assert item == {
                "callId": call_id,
                "sessionId": seeded.by_call[call_id],
                "status": "WhatIf",
                "errorMsg": None,
            }
        elif by_session:
            assert item == {
                "callId": None,
                "sessionId": asked,
                "status": "NotFound",
                "errorMsg": None,
            }
        else:
            assert item == {
                "callId": asked,
                "sessionId": None,
                "status": "NotFound",
                "errorMsg": None,
            }


def test_id_endpoints_answer_every_body_and_purge_nothing(seeded):
    known = [*SESSIONS, *seeded.call_ids]
    what_ifs_seen: list[dict[str, Any]] = []

    @settings(SETTINGS, max_examples=120)
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        body = data.draw(id_bodies(known), label="body")
        raw, content_type = data.draw(encodings(body), label="encoding")
        expected = expected_ids(raw, content_type)
        for path, by_session in (("/purge/v1/calls", False), ("/purge/v1/calls/sessions", True)):
            answer = seeded.post(path, raw, content_type, data.draw(what_ifs, label="whatIf"))
            result = check_common(answer, expected, raw)
            if result is not None:
                assert isinstance(expected, list)
                seeded.requests_accepted += 1
                check_id_items(seeded, expected, result["items"], by_session)
                what_ifs_seen.extend(i for i in result["items"] if i["status"] == "WhatIf")

    examples()
    # The generator reaches the happy path too: a guard against a strategy that stopped making
    # valid bodies, not a quota. Ten runs accepted 18-66 of 240; one full-suite run accepted
    # exactly 10, and the bound was > 10.
    assert seeded.requests_accepted >= 3
    assert what_ifs_seen  # and IDs of live calls
    seeded.assert_untouched()


def test_customer_endpoint_answers_every_body_and_purges_nothing(seeded):
    hits: list[int] = []

    @settings(SETTINGS, max_examples=80)
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        body = data.draw(phone_bodies(), label="body")
        raw, content_type = data.draw(encodings(body), label="encoding")
        expected = expected_phone(raw, content_type)
        what_if = data.draw(what_ifs, label="whatIf")
        answer = seeded.post("/purge/v1/calls/customer", raw, content_type, what_if)
        result = check_common(answer, expected, raw, customer=True)
        if result is None:
            return
        assert isinstance(expected, str)
        seeded.requests_accepted += 1
        matches = seeded.by_phone.get(expected, [])
        hits.append(len(matches))
        assert [i["callId"] for i in result["items"]] == matches  # in start-time order
        assert all(i["status"] == "WhatIf" for i in result["items"])
        assert [i["sessionId"] for i in result["items"]] == [seeded.by_call[c] for c in matches]

    examples()
    assert seeded.requests_accepted > 5
    assert any(hits)  # some requests matched seeded calls (and were only previewed)
    seeded.assert_untouched()


def test_json_body_without_content_type_is_accepted(seeded):
    answers = {
        path: seeded.post(path, body, None, ("whatIf", "true"))
        for path, body in (
            ("/purge/v1/calls/sessions", b'{"ids": ["demo-0"]}'),
            ("/purge/v1/calls", json.dumps({"ids": [seeded.call_ids[0]]}).encode()),
            ("/purge/v1/calls/customer", b'{"phoneNumber": "+15125550100"}'),
        )
    }
    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(answers, 200), {
        path: a.text for path, a in answers.items()
    }
    assert answers["/purge/v1/calls/sessions"].json()["items"][0]["status"] == "WhatIf"


def test_oversized_body_is_a_413_problem(seeded):
    raw = json.dumps({"ids": ["demo-0"], "pad": "x" * (1024 * 1024 + 1)}).encode()
    for path in ("/purge/v1/calls", "/purge/v1/calls/sessions", "/purge/v1/calls/customer"):
        answer = seeded.post(path, raw, "application/json", ("whatIf", "true"))
        assert answer.status_code == 413, answer.text
        # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json()["detail"]
    seeded.assert_untouched()
