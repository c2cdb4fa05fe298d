"""``callvault holds place|list|show|release`` against a live server (contract §12)."""

from __future__ import annotations

import json

import pytest

from callvault.demo import seed_calls


@pytest.fixture
def cli(cli_as):
    return cli_as("hold", "purge")


@pytest.mark.cli_process
def test_place_list_show_release(live, cli):
    seed_calls(live.runtime, 3, seed=41, phones=["+15125550161"])
    placed = cli(
        "holds",
        "place",
        "--matter",
        "Doe v. Acme",
        "--reason",
        "litigation notice",
        "--phone",
        "(512) 555-0161",
        "--session",
        "other",
        "--started-after",
        "2000-01-01T00:00:00Z",
        "--output",
        "json",
    )
    assert placed.returncode == 0, placed.stderr
    (hold,) = json.loads(placed.stdout)
    assert hold["phoneNumbers"] == ["+15125550161"]
    assert hold["sessionIds"] == ["other"]
    assert hold["coveredCalls"] == 3
    assert "covers 3 calls" in placed.stderr

    listed = cli("holds", "list")
    assert listed.returncode == 0, listed.stderr
    assert hold["holdId"] in listed.stdout  # whole, in a table
    assert "Doe v. Acme" in listed.stdout
    # A list counts no coverage (contract §12): only `holds show` and place/release do.
    assert "coveredCalls" not in listed.stdout
    assert "coveredCalls" not in json.loads(cli("holds", "list", "-o", "json").stdout)[0]

    shown = cli("holds", "show", hold["holdId"], "--output", "csv")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith("holdId,state,matter,coveredCalls")
    assert "litigation notice" in shown.stderr

    # Held: the request waits on the hold, which is no failure (contract §11): exit 0.
    purged = cli("purge", "sessions", "demo-0", "--output", "json")
    (item,) = json.loads(purged.stdout)
    assert item["status"] == "Held"
    assert item["errorMsg"] == f"held by legal hold {hold['holdId']}"
    assert purged.returncode == 0, purged.stderr

    released = cli("holds", "release", hold["holdId"], "--reason", "settled", "-o", "json")
    assert released.returncode == 0, released.stderr
    assert json.loads(released.stdout)[0]["state"] == "Released"
    twice = cli("holds", "release", hold["holdId"], "--reason", "again")
    assert twice.returncode == 1
    assert len(twice.stderr.strip().splitlines()) == 1
    assert "already released" in twice.stderr
    assert (
        json.loads(cli("holds", "list", "--state", "all", "-o", "json").stdout)[0]["state"]
        == "Released"
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["holds", "place", "--matter", "M", "--reason", "R"], 1, "scope"),
        (["holds", "place", "--reason", "R", "--session", "s"], 2, "--matter"),
        (["holds", "place", "--matter", "M", "--reason", "R", "--phone", "12"], 1, "phone"),
        (["holds", "show", "nope"], 1, "no legal hold"),
        (["holds", "release", "nope"], 2, "--reason"),
    ],
)
def test_bad_input_is_one_line(cli, args, code, says):
    result = cli(*args)
    assert result.returncode == code, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr
