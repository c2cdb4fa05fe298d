"""``callvault audit events`` against a running server (contract §23): the trail out, filtered,
as a table, JSON or CSV."""

from __future__ import annotations

import json

import pytest


def _requests(live, count: int) -> None:
    with live.client(live.token("purge")) as client:
        for n in range(count):
            client.post("/purge/v1/calls", json={"ids": [f"ghost-{n}"]})
        client.post("/purge/v1/calls", params={"whatIf": "true"}, json={"ids": ["ghost-x"]})


@pytest.mark.cli_process
def test_events_as_json_filtered_by_action_and_time(live, cli_as):
    _requests(live, 3)
    cli = cli_as("audit")
    every = cli("audit", "events", "--output", "json")
    assert every.returncode == 0, every.stderr
    events = json.loads(every.stdout)
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert all(isinstance(e["details"], dict) for e in events)
    assert events[3]["details"]["whatIf"] is True
    assert "4 events" in every.stderr

    some = cli(
        "audit", "events", "--action", "purge.requested", "--since", events[2]["at"],
        "--limit", "1", "--output", "json",
    )  # fmt: skip
    assert some.returncode == 0, some.stderr
    assert [e["seq"] for e in json.loads(some.stdout)] == [3]
    after = cli("audit", "events", "--after", "3", "--output", "csv")
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines()[0].startswith("seq,at,actor,action")
    assert len(after.stdout.splitlines()) == 2

    table = cli("audit", "events")
    assert table.returncode == 0, table.stderr
    assert "purge.requested" in table.stdout
    assert '"whatIf": true' in table.stdout or '"whatIf":true' in table.stdout


def test_bad_filters_and_permissions(live, cli_as):
    cli = cli_as("audit")
    bad = cli("audit", "events", "--since", "yesterday")
    assert bad.returncode == 1
    assert "--since" in bad.stderr
    assert "Traceback" not in bad.stderr
    denied = cli_as("capture")("audit", "events")
    assert denied.returncode == 1
    assert "permission" in denied.stderr
