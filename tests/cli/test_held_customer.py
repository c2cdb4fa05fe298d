"""A customer purge whose calls a legal hold keeps is still sent: the request is recorded with
``Held`` items and erases them when the hold is released (contract §11, §12; issue 33, item 6).
A held item is not a failure: the CLI exits 0 for it."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

from callvault.demo import seed_calls

PHONE = "+15125550177"


@pytest.fixture
def cli(cli_as):
    return cli_as("purge", "hold")


def _hold(live, **scope) -> str:
    with live.client(live.token("hold")) as client:
        answer = client.post("/holds/v1", json={"matter": "M", "reason": "R", **scope})
    assert answer.status_code == 201, answer.text
    hold_id: str = answer.json()["holdId"]
    return hold_id


def _release(live, hold_id: str) -> None:
    with live.client(live.token("hold")) as client:
        answer = client.post(f"/holds/v1/{hold_id}/release", json={"reason": "settled"})
    assert answer.status_code == 200, answer.text


def _request(live, request_id: str, until: str | None = None) -> dict:
    with live.client(live.token("purge")) as client:
        deadline = time.monotonic() + 60
        while True:
            doc: dict = client.get(f"/purge/v1/requests/{request_id}").json()
            if until is None or doc["state"] == until:
                return doc
            assert time.monotonic() < deadline, doc
            time.sleep(0.05)


def test_every_call_held_is_still_sent_and_erased_on_release(live, cli):
    ids = seed_calls(live.runtime, 2, seed=61, phones=[PHONE])
    hold_id = _hold(live, phoneNumbers=[PHONE])
    result = cli("purge", "customer", PHONE, "--yes", "--wait", "--output", "json")
    assert result.returncode == 0, result.stderr  # a held item is not a failure
    rows = json.loads(result.stdout)
    assert sorted(r["callId"] for r in rows) == sorted(ids)
    assert {r["status"] for r in rows} == {"Held"}
    assert {r["errorMsg"] for r in rows} == {f"held by legal hold {hold_id}"}
    (request_id,) = {r["requestId"] for r in rows}
    assert request_id in result.stderr
    assert "nothing to purge" not in result.stderr
    assert "2 calls held by a legal hold" in result.stderr
    assert _request(live, request_id)["state"] == "Held"

    _release(live, hold_id)
    done = _request(live, request_id, until="Complete")
    assert [i["status"] for i in done["items"]] == ["Purged", "Purged"]


def test_the_preview_counts_held_calls_apart_and_shows_why(live, cli):
    ids = seed_calls(live.runtime, 3, seed=62, phones=[PHONE])
    hold_id = _hold(live, callIds=[ids[0]])
    preview = cli("purge", "customer", PHONE, "--what-if", "--output", "csv")
    assert preview.returncode == 0, preview.stderr
    rows = list(csv.DictReader(io.StringIO(preview.stdout)))
    assert list(rows[0]) == ["callId", "sessionId", "status", "errorMsg"]
    by_call = {r["callId"]: r for r in rows}
    assert by_call[ids[0]]["status"] == "Held"
    assert by_call[ids[0]]["errorMsg"] == f"held by legal hold {hold_id}"
    assert {by_call[c]["status"] for c in ids[1:]} == {"WhatIf"}
    assert "2 calls would be erased" in preview.stderr
    assert "1 call held by a legal hold" in preview.stderr
    assert "3 calls would be erased" not in preview.stderr


def test_partly_held_is_sent_whole_and_exits_0(live, cli):
    ids = seed_calls(live.runtime, 3, seed=63, phones=[PHONE])
    hold_id = _hold(live, callIds=[ids[1]])
    refused = cli("purge", "customer", PHONE)  # no terminal, no --yes: nothing sent
    assert refused.returncode == 1
    assert "2 calls of this customer will be erased" in refused.stderr
    assert "1 call held by a legal hold" in refused.stderr

    result = cli("purge", "customer", PHONE, "--yes", "--wait")
    assert result.returncode == 0, result.stderr
    assert "Held: 1" in result.stderr
    assert "Purged: 2" in result.stderr
    assert f"held by legal hold {hold_id}" in result.stdout
    with live.client(live.token("purge")) as client:
        requests = client.get("/purge/v1/requests").json()["requests"]
    (request_id,) = [r["requestId"] for r in requests if r["kind"] == "customer"]
    assert f"request {request_id}" in result.stderr
    assert _request(live, request_id)["state"] == "Held"
    _release(live, hold_id)
    done = _request(live, request_id, until="Complete")
    assert sorted(i["status"] for i in done["items"]) == ["Purged"] * 3


def test_held_ids_exit_0_without_wait(live, cli):
    ids = seed_calls(live.runtime, 2, seed=64)
    _hold(live, callIds=[ids[0]])
    result = cli("purge", "calls", *ids, "--output", "json")
    assert result.returncode == 0, result.stderr
    rows = {r["callId"]: r for r in json.loads(result.stdout)}
    assert rows[ids[0]]["status"] == "Held"
    assert rows[ids[1]]["status"] == "Purging"
    preview = cli("purge", "calls", *ids, "--what-if", "--output", "csv")
    assert preview.returncode == 0, preview.stderr
    assert "Held" in preview.stdout
