"""``callvault users create|update --confirm-above N|never`` and ``users update --region`` as an
operator runs them (contract §1, §10, §13): real processes, and for the effect on a token
already issued, a live server on the same store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cli_runner import run_in_process
from helpers import call_info, post_call

CLI = [sys.executable, "-m", "callvault.cli.main"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """The command through its entry point in this process (tests/cli_runner.py), or with
    ``process`` a real process: the two tests that read the setting at start-up and that reach a
    live server's token from another process keep real ones."""
    if not process:
        return run_in_process(list(args), None, env or os.environ.copy())
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=env or os.environ.copy()
    )


def listed(data: str) -> dict[str, dict]:
    answer = run_cli("users", "list", "--json", "--data-dir", data)
    assert answer.returncode == 0, answer.stderr
    return {u["name"]: u for u in json.loads(answer.stdout)}


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_create_with_a_threshold_and_list_it(tmp_path):
    data = str(tmp_path / "d")
    for name, extra in (
        ("robot", ["--confirm-above", "never"]),
        ("batch", ["--confirm-above", "200"]),
        ("strict", ["--confirm-above", "0"]),
        ("plain", []),
    ):
        made = run_cli("users", "create", name, "-p", "purge", *extra, "--data-dir", data)
        assert made.returncode == 0, made.stderr
    users = listed(data)
    assert {n: u["confirmAbove"] for n, u in users.items()} == {
        "robot": "never",
        "batch": 200,
        "strict": 0,
        "plain": None,
    }
    table = run_cli("users", "list", "--data-dir", data).stdout.splitlines()
    rows = {line.split("\t")[0]: line.split("\t") for line in table}
    assert "never" in rows["robot"]
    assert "200" in rows["batch"]
    assert "0" in rows["strict"]
    assert "default" in rows["plain"]


def test_update_sets_and_clears_the_threshold_and_the_region(tmp_path):
    data = str(tmp_path / "d")
    assert run_cli("users", "create", "robot", "-p", "purge", "--data-dir", data).returncode == 0

    done = run_cli("users", "update", "robot", "--confirm-above", "never", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert (listed(data)["robot"]["confirmAbove"], listed(data)["robot"]["region"]) == (
        "never",
        None,
    )
    done = run_cli(
        "users", "update", "robot", "--confirm-above", "500", "--region", "gb", "--data-dir", data
    )
    assert done.returncode == 0, done.stderr
    robot = listed(data)["robot"]
    assert (robot["confirmAbove"], robot["region"]) == (500, "GB")

    # One option changes only what it names.
    done = run_cli("users", "update", "robot", "--region", "default", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    robot = listed(data)["robot"]
    assert (robot["confirmAbove"], robot["region"]) == (500, None)
    done = run_cli("users", "update", "robot", "--confirm-above", "default", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert listed(data)["robot"]["confirmAbove"] is None

    # set-region still works.
    assert run_cli("users", "set-region", "robot", "MX", "--data-dir", data).returncode == 0
    assert listed(data)["robot"]["region"] == "MX"


def test_a_bad_threshold_is_a_one_line_usage_error(tmp_path):
    # One store for every bad value (a store each cost the suite a minute of process starts).
    data = str(tmp_path / "d")
    assert run_cli("users", "create", "y", "-p", "purge", "--data-dir", data).returncode == 0
    for value in ("-5", "abc", "1.5", "", "-1", "NEVERMORE"):
        bad = run_cli(
            "users", "create", "x", "-p", "purge", "--confirm-above", value, "--data-dir", data
        )
        one_line_error(bad, 2, "--confirm-above")
        bad = run_cli("users", "update", "y", "--confirm-above", value, "--data-dir", data)
        one_line_error(bad, 2, "--confirm-above")
    users = listed(data)
    assert list(users) == ["y"]
    assert users["y"]["confirmAbove"] is None


def test_update_refuses_a_bad_region_nothing_to_do_and_an_unknown_user(tmp_path):
    data = str(tmp_path / "d")
    assert run_cli("users", "create", "y", "-p", "purge", "--data-dir", data).returncode == 0
    bad = run_cli(
        "users", "update", "y", "--region", "ZZ", "--confirm-above", "7", "--data-dir", data
    )
    one_line_error(bad, 2, "ZZ")
    assert listed(data)["y"]["confirmAbove"] is None  # nothing of a refused update is written
    one_line_error(run_cli("users", "update", "y", "--data-dir", data), 2, "--confirm-above")
    ghost = run_cli("users", "update", "ghost", "--confirm-above", "never", "--data-dir", data)
    one_line_error(ghost, 1, "ghost")


def test_the_setting_accepts_never_and_refuses_anything_else_at_start(tmp_path):
    data = str(tmp_path / "d")
    env = {**os.environ, "CALLVAULT_PURGE_CONFIRM_ABOVE": "never"}
    assert run_cli("db", "upgrade", "--data-dir", data, env=env, process=True).returncode == 0
    for value in ("-5", "abc", "1e3"):
        env = {**os.environ, "CALLVAULT_PURGE_CONFIRM_ABOVE": value}
        refused = run_cli("db", "upgrade", "--data-dir", data, env=env, process=True)
        one_line_error(refused, 2, "CALLVAULT_PURGE_CONFIRM_ABOVE", "never")


@pytest.mark.settings(purge_confirm_above=2)
def test_an_update_reaches_a_token_already_issued(live, settings):
    data = str(settings.data_dir)
    made = run_cli(
        "users",
        "create",
        "robot",
        "-p",
        "purge",
        "-p",
        "capture",
        "--json",
        "--data-dir",
        data,
        process=True,
    )
    assert made.returncode == 0, made.stderr
    creds = json.loads(made.stdout)
    with live.client() as client:
        token = client.post("/Token", data={"grant_type": "client_credentials", **creds}).json()[
            "access_token"
        ]
    phone = "+1 512 555 0177"
    with live.client(token) as client:
        for i in range(3):
            contacts = [{"type": "Customer", "phoneNumber": phone}]
            assert post_call(client, call_info(f"t-{i}", contacts=contacts)).status_code == 200
        assert (
            client.post("/purge/v1/calls/customer", json={"phoneNumber": phone}).status_code == 409
        )
        done = run_cli(
            "users", "update", "robot", "--confirm-above", "never", "--data-dir", data, process=True
        )
        assert done.returncode == 0, done.stderr
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": phone})
        assert answer.status_code == 200, answer.text
        assert [i["status"] for i in answer.json()["items"]] == ["Purging"] * 3
