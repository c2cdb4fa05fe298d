"""A preview never erases (contract §19): anything that may mean whatIf but is not one plain,
accepted value is a 400, and nothing is purged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from callvault.store.tables import calls, purge_jobs
from helpers import call_info

ENDPOINTS = [
    ("/purge/v1/calls", "ids"),
    ("/purge/v1/calls/sessions", "ids"),
    ("/purge/v1/calls/customer", "phoneNumber"),
]

MALFORMED_QUERIES = [
    "whatIf=true&whatIf=false",
    "whatIf=false&whatIf=true",
    "whatIf=true&whatif=true",
    "whatIf=",
    "whatIf",
    "whatIf=%20true",
    "whatIf=yes",
    "whatIf=off",
    "whatIf=maybe",
    "what_if=true",
    "what_if=false",
    "what-if=true",
    "whatIf[]=true",
    "whatIf%5B%5D=true",
    "WHAT_IF=true",
    "whatIf.=true",
]


@pytest.fixture
def seeded(live, capture):
    """One call, of session ``preview-me`` and customer +1 512 555 0123."""
    phone = [{"type": "Customer", "phoneNumber": "+15125550123"}]
    with live.client(live.token("capture")) as client:
        answer = capture(client, call_info("preview-me", contacts=phone))
        assert answer.status_code == 200, answer.text
    return {"ids": answer.json()["callId"], "sessions": "preview-me"}


def _body(path: str, key: str, seeded: dict[str, str]) -> dict[str, object]:
    if key == "phoneNumber":
        return {"phoneNumber": "+15125550123"}
    return {"ids": [seeded["sessions" if path.endswith("sessions") else "ids"]]}


def _nothing_purged(live) -> None:
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one() == 0
        statuses = conn.execute(select(calls.c.status)).scalars().all()
    assert len(statuses) == 1
    assert "Purging" not in statuses


@pytest.mark.parametrize(("path", "key"), ENDPOINTS)
def test_a_malformed_what_if_in_the_query_is_400(live, seeded, path, key):
    with live.client(live.token("purge")) as client:
        for query in MALFORMED_QUERIES:
            answer = client.post(f"{path}?{query}", json=_body(path, key, seeded))
            assert answer.status_code == 400, (query, answer.text)
            # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
            assert answer.headers["content-type"] == "application/json; charset=utf-8"
            assert "whatIf" in answer.json()["detail"], query
    _nothing_purged(live)


@pytest.mark.parametrize(("path", "key"), ENDPOINTS)
def test_a_what_if_in_the_body_is_400(live, seeded, path, key):
    with live.client(live.token("purge")) as client:
        for body_key in ("whatIf", "whatif", "WhatIf", "what_if", "whatIf[]", "What-If"):
            for value in (True, False, "true", None):
                body = {**_body(path, key, seeded), body_key: value}
                answer = client.post(path, json=body)
                assert answer.status_code == 400, (body, answer.text)
                # A Tethr endpoint, Accept */*: the problem as Tethr JSON (contract §8).
                assert answer.headers["content-type"] == "application/json; charset=utf-8"
                assert "whatIf" in answer.json()["detail"], body
    _nothing_purged(live)


@pytest.mark.parametrize(("path", "key"), ENDPOINTS)
def test_each_accepted_spelling_of_true_previews(live, seeded, path, key):
    with live.client(live.token("purge")) as client:
        for name in ("whatIf", "whatif", "WHATIF"):
            for value in ("true", "True", "TRUE", "1"):
                answer = client.post(path, params={name: value}, json=_body(path, key, seeded))
                assert answer.status_code == 200, (name, value, answer.text)
                assert [i["status"] for i in answer.json()["items"]] == ["WhatIf"]
                assert "location" not in answer.headers
    _nothing_purged(live)


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "0"])
def test_each_accepted_spelling_of_false_purges(live, seeded, value):
    with live.client(live.token("purge")) as client:
        answer = client.post(
            "/purge/v1/calls/sessions", params={"whatIf": value}, json={"ids": ["preview-me"]}
        )
    assert answer.status_code == 200, answer.text
    assert [i["status"] for i in answer.json()["items"]] == ["Purging"]
