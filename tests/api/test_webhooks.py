"""Webhooks' registration (contract §23): POST/GET/DELETE /webhooks/v1, permission admin, the
secret shown once; bad input is a 400 and creates nothing. (Delivery: tests/webhooks/.)"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from callvault.store.tables import webhooks

GOOD = {"url": "https://privacy.example.com/hooks", "events": ["purge.completed", "hold.placed"]}


@pytest.fixture
def admin(live) -> str:
    return live.token("admin")


def count(live) -> int:
    with live.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(webhooks)).scalar_one()


def test_a_webhook_is_registered_shown_listed_and_removed(live, admin):
    with live.client(admin) as client:
        made = client.post("/webhooks/v1", json=GOOD)
        assert made.status_code == 201, made.text
        doc = made.json()
        wid = doc["webhookId"]
        assert made.headers["location"] == f"/webhooks/v1/{wid}"
        assert doc["url"] == GOOD["url"]
        assert doc["events"] == GOOD["events"]
        assert doc["secret"].startswith("whsec_")
        assert len(base64.b64decode(doc["secret"][len("whsec_") :])) == 32
        shown = client.get(f"/webhooks/v1/{wid}").json()
        assert "secret" not in shown  # shown once, in the 201 only
        assert shown == {k: v for k, v in doc.items() if k != "secret"}
        assert client.get("/webhooks/v1").json() == {"webhooks": [shown]}
        assert client.get(f"/webhooks/v1/{wid}/deliveries").json() == {"deliveries": []}
        assert client.delete(f"/webhooks/v1/{wid}").status_code == 204
        assert client.get(f"/webhooks/v1/{wid}").status_code == 404
        assert client.delete(f"/webhooks/v1/{wid}").status_code == 404
        assert client.get(f"/webhooks/v1/{wid}/deliveries").status_code == 404
        assert client.get("/webhooks/v1").json() == {"webhooks": []}


def test_the_secret_is_sealed_at_rest(live, admin):
    with live.client(admin) as client:
        secret = client.post("/webhooks/v1", json=GOOD).json()["secret"]
    raw = base64.b64decode(secret[len("whsec_") :])
    with live.runtime.engine.connect() as conn:
        stored = conn.execute(select(webhooks)).one()._mapping
    cells = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in stored.values())
    assert raw not in cells
    assert secret.encode() not in cells
    assert secret[len("whsec_") :].encode() not in cells


def test_the_list_pages(live, admin):
    with live.client(admin) as client:
        made = [client.post("/webhooks/v1", json=GOOD).json()["webhookId"] for _ in range(3)]
        first = client.get("/webhooks/v1", params={"limit": 2}).json()
        assert "nextCursor" in first, first
        second = client.get("/webhooks/v1", params={"limit": 2, "cursor": first["nextCursor"]})
    seen = [w["webhookId"] for w in first["webhooks"] + second.json()["webhooks"]]
    assert sorted(seen) == sorted(made)
    assert len(set(seen)) == 3
    assert "nextCursor" not in second.json()


def test_only_an_admin_manages_webhooks(live, admin):
    with live.client(admin) as client:
        wid = client.post("/webhooks/v1", json=GOOD).json()["webhookId"]
    everything_but_admin = ("capture", "purge", "audit", "hold", "suppress", "retention", "read")
    with live.client(live.token(*everything_but_admin)) as client:
        assert client.post("/webhooks/v1", json=GOOD).status_code == 403
        assert client.get("/webhooks/v1").status_code == 403
        assert client.get(f"/webhooks/v1/{wid}").status_code == 403
        assert client.get(f"/webhooks/v1/{wid}/deliveries").status_code == 403
        assert client.delete(f"/webhooks/v1/{wid}").status_code == 403
    with live.client() as client:
        assert client.get("/webhooks/v1").status_code == 401
    assert count(live) == 1


BAD = [
    ({**GOOD, "url": "http://privacy.example.com/hooks"}, "https://"),
    ({**GOOD, "url": "ftp://privacy.example.com/hooks"}, "https://"),
    ({**GOOD, "url": "privacy.example.com/hooks"}, "https://"),
    ({**GOOD, "url": "https:///hooks"}, "host"),
    ({**GOOD, "url": "https://user:pw@privacy.example.com/"}, "password"),
    ({**GOOD, "url": "https://privacy.example.com:99999/"}, "URL"),
    ({**GOOD, "url": "https://privacy.example.com/a b"}, "printable"),
    ({**GOOD, "url": "https://privacy.example.com/\u0000"}, "printable"),
    ({**GOOD, "url": "https://x.example/" + "a" * 2000}, "2000"),
    ({**GOOD, "url": ""}, "https://"),
    ({**GOOD, "events": []}, "at least one"),
    ({**GOOD, "events": ["purge.complete"]}, "purge.complete"),
    ({**GOOD, "events": ["purge.completed", "call.captured"]}, "call.captured"),
    ({**GOOD, "events": "purge.completed"}, "events"),
    ({**GOOD, "events": [7]}, "events"),
    ({**GOOD, "secret": "whsec_mine"}, "secret"),
    ({**GOOD, "reference": "DSR-1"}, "reference"),
    ({"url": GOOD["url"]}, "events"),
    ({"events": GOOD["events"]}, "url"),
    ({**GOOD, "url": 5}, "url"),
]


def test_bad_input_is_a_400_that_says_what_to_fix_and_creates_nothing(live, admin):
    with live.client(admin) as client:
        for body, says in BAD:
            answer = client.post("/webhooks/v1", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert says in answer.json()["detail"], (body, answer.json())
    assert count(live) == 0


def test_unknown_query_parameters_are_refused(live, admin):
    with live.client(admin) as client:
        assert client.post("/webhooks/v1", json=GOOD, params={"whatIf": "true"}).status_code == 400
        assert client.get("/webhooks/v1", params={"limt": "2"}).status_code == 400
        assert client.get("/webhooks/v1", params={"cursor": "not-ours"}).status_code == 400
        wid = client.post("/webhooks/v1", json=GOOD).json()["webhookId"]
        assert client.delete(f"/webhooks/v1/{wid}", params={"force": "1"}).status_code == 400
        got = client.get(f"/webhooks/v1/{wid}/deliveries", params={"cursor": "x"})
        assert got.status_code == 400
    assert count(live) == 1


def test_plain_http_is_allowed_to_loopback(live, admin):
    with live.client(admin) as client:
        for url in ("http://127.0.0.1:9/hooks", "http://[::1]:9/hooks", "http://localhost:9/"):
            assert client.post("/webhooks/v1", json={**GOOD, "url": url}).status_code == 201


@pytest.mark.settings(webhook_allow_http=True)
def test_plain_http_anywhere_only_with_the_setting(live, admin):
    with live.client(admin) as client:
        made = client.post("/webhooks/v1", json={**GOOD, "url": "http://privacy.example.com/"})
    assert made.status_code == 201, made.text


def test_events_are_kept_once_each_in_the_order_given(live, admin):
    events = ["hold.released", "purge.completed", "hold.released"]
    with live.client(admin) as client:
        made = client.post("/webhooks/v1", json={**GOOD, "events": events}).json()
    assert made["events"] == ["hold.released", "purge.completed"]
