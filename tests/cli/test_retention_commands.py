"""``callvault retention set|list|delete|forecast`` against a live server (contract §15)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
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


@pytest.mark.cli_process
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
        "--output", "json", "--yes",
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
    assert cli("retention", "set", "thirty", "--max-age-days", "30", "--yes").returncode == 0
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


def test_set_shows_what_a_change_expires_and_asks_first(live, cli_as):
    """A policy change erases as surely as a purge (contract §15, issue 32 item 1): the command
    previews it, asks before saving one that expires calls, and confirms with its preview's
    token, so it never saves a change that expires more than it showed."""
    _aged(live.runtime, 40, 50, 10)
    cli = cli_as("retention")
    unasked = cli("retention", "set", "thirty", "--max-age-days", "30")
    assert unasked.returncode == 1, unasked.stderr
    assert "2 calls" in unasked.stderr
    assert "--yes" in unasked.stderr
    assert "nothing saved" in unasked.stderr
    assert json.loads(cli("retention", "list", "--output", "json").stdout) == []

    declined = cli("retention", "set", "thirty", "--max-age-days", "30", stdin="n\n")
    assert declined.returncode == 1
    assert json.loads(cli("retention", "list", "--output", "json").stdout) == []

    # Nothing expired: saved without a question.
    quiet = cli("retention", "set", "century", "--max-age-days", "36500")
    assert quiet.returncode == 0, quiet.stderr

    saved = cli("retention", "set", "thirty", "--max-age-days", "30", "--yes")
    assert saved.returncode == 0, saved.stderr
    assert "2 calls past it now will be erased" in saved.stderr
    names = [p["name"] for p in json.loads(cli("retention", "list", "--output", "json").stdout)]
    assert names == ["century", "thirty"]


@pytest.mark.settings(purge_confirm_above=1)
def test_set_above_the_threshold_is_confirmed_with_its_preview(live, cli_as):
    """Above the confirmation threshold the server needs the preview's token: the command gives
    it, so `--yes` saves a large change in one step; the SDK passes ``confirm``."""
    from callvault.client import Client, ConfirmationRequiredError

    _aged(live.runtime, 40, 50, 60)
    cli = cli_as("retention")
    saved = cli("retention", "set", "thirty", "--max-age-days", "30", "--yes")
    assert saved.returncode == 0, saved.stderr

    client_id, secret = live.user("retention")
    with Client(live.url, client_id=client_id, client_secret=secret) as client:
        with pytest.raises(ConfirmationRequiredError):
            client.set_retention_policy("twenty", 20)
        preview = client.set_retention_policy("twenty", 20, what_if=True)
        assert preview.confirm_token
        assert preview.expired_now + preview.held_now >= 2
        policy = client.set_retention_policy("twenty", 20, confirm=preview.confirm_token)
        assert policy.name == "twenty"
