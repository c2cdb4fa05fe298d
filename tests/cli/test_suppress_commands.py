"""``callvault suppress add|list|lookup|lift`` and ``purge customer P --suppress`` against a live
server (contract §22)."""

from __future__ import annotations

import json

import pytest

from callvault.demo import seed_calls


@pytest.mark.cli_process
def test_add_list_lookup_lift(live, cli_as):
    cli = cli_as("suppress")
    added = cli(
        "suppress",
        "add",
        "--phone",
        "(512) 555-0166",
        "--email",
        "river@example.net",
        "--reason",
        "objected",
        "--reference",
        "DSR-7",
        "-o",
        "json",
    )
    assert added.returncode == 0, added.stderr
    (made,) = json.loads(added.stdout)
    assert made["identifiers"] == 2
    assert made["state"] == "Active"
    assert "names 2 identifiers" in added.stderr

    listed = cli("suppress", "list")
    assert listed.returncode == 0, listed.stderr
    assert made["suppressionId"] in listed.stdout
    assert "DSR-7" in listed.stdout

    found = cli("suppress", "lookup", "+1 512 555 0166", "-o", "json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == [
        {"suppressed": True, "suppressionIds": made["suppressionId"]}
    ]

    lifted = cli("suppress", "lift", made["suppressionId"], "--reason", "consented", "-o", "json")
    assert lifted.returncode == 0, lifted.stderr
    assert json.loads(lifted.stdout)[0]["state"] == "Lifted"

    assert cli("suppress", "add", "--reason", "r").returncode == 2
    bad = cli("suppress", "add", "--phone", "12", "--reason", "r")
    assert bad.returncode == 1
    assert "--phone" in bad.stderr or "phoneNumbers" in bad.stderr


def test_purge_customer_with_suppress(live, cli_as):
    seed_calls(live.runtime, 2, seed=7, phones=["+15125550167"])
    cli = cli_as("purge", "suppress")
    purged = cli("purge", "customer", "(512) 555-0167", "--suppress", "--yes", "--wait")
    assert purged.returncode == 0, purged.stderr
    assert "suppression " in purged.stderr
    suppressed = cli("suppress", "lookup", "+15125550167", "-o", "json")
    assert json.loads(suppressed.stdout)[0]["suppressed"] is True

    # Without the permission: refused, nothing purged.
    seed_calls(live.runtime, 1, seed=8, phones=["+15125550168"], session_prefix="other-")
    plain = cli_as("purge")
    refused = plain("purge", "customer", "+15125550168", "--suppress", "--yes")
    assert refused.returncode == 1
    assert "suppress" in refused.stderr
