"""``callvault retention set|list|delete|forecast`` against a live server (contract §15)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from callvault.demo import seed_calls
from callvault.store.tables import calls


def _aged(runtime, *ages: int) -> None:
    ids = seed_calls(runtime, len(ages), session_prefix="cli-")
    with runtime.engine.begin() as conn:
        for call_id, age in zip(ids, ages, strict=True):
            conn.execute(
                update(calls)
                .where(calls.c.call_id == call_id)
                .values(start_time=datetime.now(UTC) - timedelta(days=age), direction="Outbound")
            )


def test_set_list_delete(live, cli_as):
    _aged(live.runtime, 40, 10)
    cli = cli_as("retention")
    preview = cli("retention", "set", "thirty", "--max-age-days", "30", "--what-if")
    assert preview.returncode == 0, preview.stderr
    assert "would expire 1 call now" in preview.stderr
    assert "nothing saved" in preview.stderr
    listed = cli("retention", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []

    saved = cli(
        "retention", "set", "thirty", "--max-age-days", "30", "--direction", "outbound",
        "--output", "json",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    (policy,) = json.loads(saved.stdout)
    assert (policy["name"], policy["maxAgeDays"], policy["direction"]) == ("thirty", 30, "Outbound")
    assert policy["expiredNow"] == 1
    assert "applies to calls already stored" in saved.stderr

    table = cli("retention", "list")
    assert table.returncode == 0, table.stderr
    assert "thirty" in table.stdout
    assert "Outbound" in table.stdout

    deleted = cli("retention", "delete", "thirty")
    assert deleted.returncode == 0, deleted.stderr
    again = cli("retention", "delete", "thirty")
    assert again.returncode == 1
    assert "no retention policy named 'thirty'" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_arguments(live, cli_as):
    cli = cli_as("retention")
    refused = cli("retention", "set", "bad.name", "--max-age-days", "30")
    assert refused.returncode == 1  # the server refused it
    assert "NAME" in refused.stderr  # the argument as typed, not the API's path.name
    assert "path.name" not in refused.stderr
    assert "Traceback" not in refused.stderr
    assert cli("retention", "set", "x", "--max-age-days", "0").returncode == 2
    assert cli("retention", "set", "x", "--max-age-days", "3", "--direction", "up").returncode == 2
    assert cli("retention", "set", "x").returncode == 2
    assert cli("retention", "forecast", "--days", "0").returncode == 2
    denied = cli_as("capture")("retention", "list")
    assert denied.returncode == 1
    assert "permission" in denied.stderr


def test_forecast_draws_a_bar_per_day(live, cli_as):
    _aged(live.runtime, 28, 28, 28, 27, 45)
    cli = cli_as("retention")
    assert cli("retention", "set", "thirty", "--max-age-days", "30").returncode == 0
    today = datetime.now(UTC).date()
    chart = cli("retention", "forecast", "--days", "5")
    assert chart.returncode == 0, chart.stderr
    lines = chart.stdout.splitlines()
    in_two = next(line for line in lines if (today + timedelta(days=2)).isoformat() in line)
    in_three = next(line for line in lines if (today + timedelta(days=3)).isoformat() in line)
    assert in_two.rstrip().endswith(" 3")
    assert in_three.rstrip().endswith(" 1")
    assert in_two.count("█") > in_three.count("█") > 0
    assert "overdue: 1" in chart.stderr
    assert "held: 0" in chart.stderr
    doc = cli("retention", "forecast", "--days", "5", "--output", "json")
    assert doc.returncode == 0, doc.stderr
    forecast = json.loads(doc.stdout)
    assert [d["calls"] for d in forecast["days"]] == [0, 0, 3, 1, 0]
    assert forecast["overdue"] == 1
