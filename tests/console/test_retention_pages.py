"""The console's retention page (contract §15 and §17) over real HTTP: policies and the forecast
for ``retention`` or ``audit``, a policy previewed then saved or deleted only with
``retention``, through the one ``RetentionService`` the API uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from console_helpers import hidden
from helpers import call_info, post_call

PAGE = "/console/retention"


def _capture(live, session_id: str, days_ago: float, direction: str = "Inbound") -> str:
    start = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = call_info(session_id, startTime=start, endTime=None, direction=direction)
    with live.client(live.token("capture")) as client:
        answer = post_call(client, info)
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["callId"]
    return call_id


def _policies(live) -> list[dict[str, object]]:
    with live.client(live.token("audit")) as api:
        answer = api.get("/retention/v1/policies")
    assert answer.status_code == 200
    policies: list[dict[str, object]] = answer.json()["policies"]
    return policies


def _events(live, kind: str) -> list[dict[str, object]]:
    with live.client(live.token("audit")) as api:
        events = api.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    return [e for e in events if e["action"] == kind]


def test_a_policy_is_previewed_then_saved_with_the_count_typed(live, console_as):
    for n, days in enumerate((400, 200, 10)):
        _capture(live, f"ret-{n}", days)
    console = console_as("retention")
    preview = console.post(f"{PAGE}/preview", name="calls-180d", maxAgeDays="180", direction="")
    assert preview.status_code == 200, preview.text[:300]
    assert re.search(r'id="expired-now">2<', preview.text)
    assert _policies(live) == []  # a preview saves nothing
    fields = {n: hidden(preview.text, n) for n in ("name", "maxAgeDays", "direction", "expected")}
    assert fields == {"name": "calls-180d", "maxAgeDays": "180", "direction": "", "expected": "2"}
    wrong = console.post(f"{PAGE}/save", **fields, typed="3")
    assert wrong.status_code == 400
    assert "type the number of calls" in wrong.text
    assert _policies(live) == []
    saved = console.post(f"{PAGE}/save", **fields, typed="2")
    assert saved.status_code == 303
    assert saved.headers["location"] == PAGE
    [policy] = _policies(live)
    assert policy["name"] == "calls-180d"
    assert policy["maxAgeDays"] == 180
    assert policy["direction"] is None
    assert policy["expiredNow"] == 2
    [event] = _events(live, "retention.policy.set")
    assert event["actor"].startswith("person-")
    page = console.http.get(PAGE)
    assert 'id="policy-calls-180d"' in page.text
    assert "Every direction" in page.text


def test_a_policy_that_erases_nothing_now_needs_no_typed_count(live, console_as):
    _capture(live, "young", 3, direction="Outbound")
    console = console_as("retention")
    preview = console.post(f"{PAGE}/preview", name="out", maxAgeDays="30", direction="Outbound")
    assert re.search(r'id="expired-now">0<', preview.text)
    assert 'id="typed"' not in preview.text
    fields = {n: hidden(preview.text, n) for n in ("name", "maxAgeDays", "direction", "expected")}
    assert console.post(f"{PAGE}/save", **fields).status_code == 303
    [policy] = _policies(live)
    assert policy["direction"] == "Outbound"


def test_calls_that_became_due_since_the_preview_are_shown_anew(live, console_as):
    _capture(live, "first", 100)
    console = console_as("retention")
    preview = console.post(f"{PAGE}/preview", name="p", maxAgeDays="30", direction="")
    fields = {n: hidden(preview.text, n) for n in ("name", "maxAgeDays", "direction", "expected")}
    _capture(live, "late", 100)  # one more call past the policy before the save
    again = console.post(f"{PAGE}/save", **fields, typed="1")
    assert again.status_code == 409
    assert re.search(r'id="expired-now">2<', again.text)
    assert _policies(live) == []


def test_a_policy_is_deleted(live, console_as):
    console = console_as("retention")
    preview = console.post(f"{PAGE}/preview", name="gone", maxAgeDays="30", direction="")
    fields = {n: hidden(preview.text, n) for n in ("name", "maxAgeDays", "direction", "expected")}
    assert console.post(f"{PAGE}/save", **fields).status_code == 303
    deleted = console.post(f"{PAGE}/gone/delete")
    assert deleted.status_code == 303
    assert _policies(live) == []
    assert len(_events(live, "retention.policy.deleted")) == 1
    assert console.post(f"{PAGE}/gone/delete").status_code == 404


def test_the_forecast_is_a_chart_and_a_table_of_the_same_counts(live, console_as):
    _capture(live, "due-in-3", 27)  # a 30-day policy reaches it in three days
    _capture(live, "overdue", 45)
    console = console_as("retention")
    preview = console.post(f"{PAGE}/preview", name="m", maxAgeDays="30", direction="")
    fields = {n: hidden(preview.text, n) for n in ("name", "maxAgeDays", "direction", "expected")}
    console.post(f"{PAGE}/save", **fields, typed="1")
    page = console.http.get(PAGE, params={"days": "7"})
    assert page.status_code == 200
    assert re.search(r'id="overdue">1<', page.text)
    assert re.search(r'id="held">0<', page.text)
    with live.client(live.token("audit")) as api:
        forecast = api.get("/retention/v1/forecast", params={"days": 7}).json()
    rows = re.findall(
        r'<tr data-date="([0-9-]+)"><th scope="row">[^<]*</th><td>(\d+)</td>', page.text
    )
    assert rows == [(d["date"], str(d["calls"])) for d in forecast["days"]]
    assert sum(d["calls"] for d in forecast["days"]) == 1
    bars = re.findall(r'<rect class="bar" data-date="([0-9-]+)" data-calls="(\d+)"', page.text)
    assert bars == rows
    assert 'role="img"' in page.text
    assert console.http.get(PAGE, params={"days": "0"}).status_code == 400
    assert console.http.get(PAGE, params={"days": "367"}).status_code == 400


def test_audit_reads_the_page_but_changes_nothing(live, console_as):
    analyst = console_as("audit")
    page = analyst.http.get(PAGE)
    assert page.status_code == 200
    assert 'id="set-policy"' not in page.text
    assert "/delete" not in page.text
    refused = analyst.post(f"{PAGE}/preview", name="x", maxAgeDays="30", direction="")
    assert refused.status_code == 403
    assert analyst.post(f"{PAGE}/save", name="x", maxAgeDays="30", direction="").status_code == 403
    assert _policies(live) == []
    nav = console_as("retention").http.get(PAGE).text
    assert 'href="/console/retention" aria-current="page"' in nav
    purger = console_as("purge")
    assert purger.http.get(PAGE).status_code == 403
    assert "/console/retention" not in purger.http.get("/console/lookup").text


def test_a_retention_post_without_its_csrf_token_changes_nothing(live, console_as):
    console = console_as("retention")
    body = {"name": "x", "maxAgeDays": "30", "direction": "", "expected": "0"}
    answer = console.http.post(f"{PAGE}/save", data=body)
    assert answer.status_code == 403
    assert "security token" in answer.text
    assert _policies(live) == []


BOTH = ("preview", "save")


@pytest.mark.parametrize(
    ("fields", "steps"),
    [
        ({"name": "bad name", "maxAgeDays": "30"}, BOTH),
        ({"name": "", "maxAgeDays": "30"}, BOTH),
        ({"name": "x" * 65, "maxAgeDays": "30"}, BOTH),
        ({"name": "ok", "maxAgeDays": "thirty"}, BOTH),
        ({"name": "ok", "maxAgeDays": "0"}, BOTH),
        ({"name": "ok", "maxAgeDays": "36501"}, BOTH),
        ({"name": "ok", "maxAgeDays": "1e3"}, BOTH),
        ({"name": "ok", "maxAgeDays": "-5"}, BOTH),
        ({"name": "ok", "maxAgeDays": "30", "direction": "Sideways"}, BOTH),
        ({"name": "ok", "maxAgeDays": "30", "expected": "many"}, ("save",)),
        ({"name": "ok", "maxAgeDays": "30", "expected": ""}, ("save",)),
    ],
)
def test_bad_policy_forms_are_a_400_page_and_save_nothing(live, console_as, fields, steps):
    console = console_as("retention")
    for step in steps:
        answer = console.post(f"{PAGE}/{step}", **{"direction": "", "expected": "0", **fields})
        assert answer.status_code == 400, (step, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html")
    assert _policies(live) == []
