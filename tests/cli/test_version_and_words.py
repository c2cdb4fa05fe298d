"""``callvault --version``, and a server's complaint about a field said in the words the user
typed (``PHONE``, ``--email``), not the API's (issue 33, item 12)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import callvault

CLI = [sys.executable, "-m", "callvault.cli.main"]


@pytest.fixture
def cli(cli_as):
    return cli_as("purge", "hold")


def test_version():
    result = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"callvault {callvault.__version__}"


@pytest.mark.parametrize(
    ("args", "names", "not_named"),
    [
        (["purge", "customer", "12", "--yes"], "PHONE", "phoneNumber"),
        (["purge", "customer", "12", "--email", "a@example.com", "--yes"], "PHONE", "phoneNumbers"),
        (["purge", "customer", "--email", "not an address", "--yes"], "--email", "emails"),
        (
            ["holds", "place", "--matter", "M", "--reason", "R", "--phone", "12"],
            "--phone",
            "phoneNumbers",
        ),
    ],
)
def test_server_errors_name_what_the_user_typed(live, cli, args, names, not_named):
    result = cli(*args)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert names in line, line
    assert not_named not in line, line


def test_a_phone_that_is_no_number_is_not_told_to_add_an_area_code(live, cli):
    result = cli("purge", "customer", "abc", "--yes")
    assert result.returncode == 1
    assert "PHONE" in result.stderr
    assert "area code" not in result.stderr, result.stderr


def test_in_our_words():
    from callvault.cli.client import in_our_words

    hold = {
        "callIds": ("--call", []),
        "phoneNumbers": ("--phone", ["+15125550100", "12"]),
        "startedAfter": ("--started-after", ["x"]),
        "startedBefore": ("--started-before", [""]),
        "reason": ("--reason", ["R"]),
    }
    assert (
        in_our_words("phoneNumbers[1] is not a complete phone number", hold)
        == "--phone '12' is not a complete phone number"
    )
    assert (
        in_our_words("at least one of callIds, phoneNumbers, or a startedAfter/startedBefore", hold)
        == "at least one of --call, --phone, or a --started-after/--started-before"
    )
    # A plain word is a field only where it opens the detail.
    assert in_our_words("reason: too long", hold) == "--reason: too long"
    assert in_our_words("the reason is missing", hold) == "the reason is missing"
    ids = {"ids": ("ID", [f"id-{n}" for n in range(250)])}
    # The 2nd ID of the third request of 100: ID 201.
    assert in_our_words("ids.1: too long", ids, offset=200) == "ID 'id-201': too long"
    assert in_our_words("body.ids: empty", ids) == "ID: empty"
    assert in_our_words("phoneNumber is not", {"phoneNumber": ("PHONE", ["abc"])}) == (
        "PHONE is not"
    )
