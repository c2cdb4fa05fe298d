"""``GET /purge/v1/requests``: the purge requests, newest first, without items, paged (contract
§6)."""

from __future__ import annotations

import time

import pytest

from callvault.demo import seed_calls

pytestmark = pytest.mark.both_backends

PROBLEM = "application/problem+json"


def _purge(client, path: str, ids: list[str], what_if: bool = False) -> str:
    params = {"whatIf": "true"} if what_if else None
    answer = client.post(path, json={"ids": ids}, params=params)
    assert answer.status_code == 200, answer.text
    request_id: str = answer.json()["requestId"]
    return request_id


def _settled(client, request_id: str) -> None:
    deadline = time.monotonic() + 60
    while client.get(f"/purge/v1/requests/{request_id}").json()["state"] == "Purging":
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture
def made(live) -> dict[str, str]:
    """Four requests, oldest first: calls (Complete), sessions (Complete), calls (Purging or
    done), and a preview, which the list leaves out."""
    ids = seed_calls(live.runtime, 2, seed=71)
    with live.client(live.token("purge")) as client:
        first = _purge(client, "/purge/v1/calls", ["ghost"])
        second = _purge(client, "/purge/v1/calls/sessions", ["nobody", "nobody-else"])
        third = _purge(client, "/purge/v1/calls", ids)
        preview = _purge(client, "/purge/v1/calls", ["ghost"], what_if=True)
        _settled(client, third)
    return {"first": first, "second": second, "third": third, "preview": preview}


def test_newest_first_without_items_and_no_previews(live, made):
    with live.client(live.token("purge")) as client:
        answer = client.get("/purge/v1/requests")
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert "nextCursor" not in doc  # one page: the last
    listed = doc["requests"]
    assert [r["requestId"] for r in listed] == [made["third"], made["second"], made["first"]]
    for row in listed:
        assert "items" not in row
        assert row["whatIf"] is False
        assert row["createdAt"].endswith("Z")
        assert row["requestedBy"]
    assert [r["kind"] for r in listed] == ["calls", "sessions", "calls"]
    assert [r["itemCount"] for r in listed] == [2, 2, 1]
    assert [r["state"] for r in listed] == ["Complete"] * 3


def test_filters_by_state_and_kind(live, made):
    with live.client(live.token("audit")) as client:  # audit reads it too
        sessions = client.get("/purge/v1/requests", params={"kind": "sessions"}).json()
        complete = client.get("/purge/v1/requests", params={"state": "Complete"}).json()
        failed = client.get("/purge/v1/requests", params={"state": "Failed", "kind": "calls"})
    assert [r["requestId"] for r in sessions["requests"]] == [made["second"]]
    assert len(complete["requests"]) == 3
    assert failed.status_code == 200
    assert failed.json() == {"requests": []}


def test_pages_with_limit_and_cursor(live, made):
    seen = []
    with live.client(live.token("purge")) as client:
        page = client.get("/purge/v1/requests", params={"limit": 2}).json()
        assert len(page["requests"]) == 2
        seen += [r["requestId"] for r in page["requests"]]
        cursor = page["nextCursor"]
        assert isinstance(cursor, str)
        assert cursor
        # A request made meanwhile is newer: it does not shift the pages that follow.
        _purge(client, "/purge/v1/calls", ["late"])
        last = client.get("/purge/v1/requests", params={"limit": 2, "cursor": cursor}).json()
        seen += [r["requestId"] for r in last["requests"]]
        assert "nextCursor" not in last
        one = client.get("/purge/v1/requests", params={"limit": 1, "kind": "calls"}).json()
        rest = client.get(
            "/purge/v1/requests",
            params={"limit": 100, "kind": "calls", "cursor": one["nextCursor"]},
        ).json()
    assert seen == [made["third"], made["second"], made["first"]]
    assert len(one["requests"]) == 1
    assert [r["requestId"] for r in rest["requests"]] == [made["third"], made["first"]]


def test_default_page_is_50(live):
    with live.client(live.token("purge")) as client:
        for n in range(51):
            _purge(client, "/purge/v1/calls", [f"ghost-{n}"])
        page = client.get("/purge/v1/requests").json()
        assert len(page["requests"]) == 50
        rest = client.get("/purge/v1/requests", params={"cursor": page["nextCursor"]}).json()
    assert len(rest["requests"]) == 1
    assert "nextCursor" not in rest


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"state": "Done"}, "state"),
        ({"kind": "phone"}, "kind"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"page": "2"}, "page"),
        ({"reference": "tab\there"}, "reference"),  # a reference is printable (§23)
        ({"Limit": "5"}, "Limit"),
    ],
)
def test_bad_query_is_a_400_problem(live, params, says):
    with live.client(live.token("purge")) as client:
        answer = client.get("/purge/v1/requests", params=params, headers={"Accept": PROBLEM})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert says in answer.json()["detail"]
    assert "Input should" not in answer.json()["detail"]  # our words, not pydantic's


def test_a_parameter_given_twice_is_a_400(live):
    with live.client(live.token("purge")) as client:
        answer = client.get("/purge/v1/requests?limit=5&limit=6")
    assert answer.status_code == 400
    assert "limit" in answer.json()["detail"]


def test_needs_purge_or_audit(live):
    with live.client(live.token("capture")) as client:
        assert client.get("/purge/v1/requests").status_code == 403
    with live.client() as client:
        assert client.get("/purge/v1/requests").status_code == 401
