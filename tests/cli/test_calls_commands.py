"""``callvault calls unindexed|reindex`` and ``callvault users set-region`` as an operator runs
them, beside a live server, on both backends (contract §19: a number that cannot be indexed is
never silent, and never printed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cli_runner import run_in_process
from helpers import call_info, post_call

pytestmark = pytest.mark.both_backends

CLI = [sys.executable, "-m", "callvault.cli.main"]
LONDON = "020 7946 0958"


def _store_options(settings) -> list[str]:
    options = ["--data-dir", str(settings.data_dir)]
    for flag, value in (
        ("--database-url", settings.database_url),
        ("--keystore-url", settings.keystore_url),
        ("--blob-url", settings.blob_url),
        ("--s3-endpoint-url", settings.s3_endpoint_url),
    ):
        if value:
            options += [flag, value]
    return options


def _run(settings, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """The command through its entry point in this process (tests/cli_runner.py), or with
    ``process`` a real process, as the first test runs every one of them."""
    env = {**os.environ}
    env.pop("CALLVAULT_DEFAULT_REGION", None)
    if settings.master_key:
        env["CALLVAULT_MASTER_KEY"] = settings.master_key
    if not process:
        return run_in_process([*args, *_store_options(settings)], None, env)
    return subprocess.run(
        [*CLI, *args, *_store_options(settings)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _real(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(settings, *args, process=True)


def _capture(live, token: str, phones: dict[str, str]) -> dict[str, str]:
    ids = {}
    with live.client(token) as client:
        for session, phone in phones.items():
            contacts = [{"type": "Customer", "phoneNumber": phone}]
            answer = post_call(client, call_info(session, contacts=contacts))
            assert answer.status_code == 200, answer.text
            ids[session] = answer.json()["callId"]
    return ids


def _no_number(result: subprocess.CompletedProcess[str]) -> None:
    for digits in ("7946", "0958", "555"):
        assert digits not in result.stdout + result.stderr


def test_unindexed_lists_and_reindex_fixes_after_the_default_region(live, settings):
    ids = _capture(
        live,
        live.token("capture"),
        {"london": LONDON, "austin": "(512) 555-0120", "hidden": "anonymous"},
    )

    listed = _real(settings, "calls", "unindexed")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [f"{ids['london']}\tlondon\t2024-01-01T04:23:00Z"]
    _no_number(listed)
    as_json = _real(settings, "calls", "unindexed", "--json")
    assert json.loads(as_json.stdout) == [
        {"callId": ids["london"], "sessionId": "london", "startTime": "2024-01-01T04:23:00Z"}
    ]

    same = _real(settings, "calls", "reindex")
    assert same.returncode == 0, same.stderr
    assert same.stdout.strip() == "read 3 calls: 0 newly indexed, 1 still unindexed"

    fixed = _real(settings, "calls", "reindex", "--default-region", "gb", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout) == {
        "read": 3,
        "newlyIndexed": 1,
        "stillUnindexed": 0,
        "skipped": 0,
    }
    _no_number(fixed)
    empty = _real(settings, "calls", "unindexed")
    assert (empty.returncode, empty.stdout) == (0, "")
    assert json.loads(_real(settings, "calls", "unindexed", "--json").stdout) == []

    again = _real(settings, "calls", "reindex", "--default-region", "GB")
    assert again.stdout.strip() == "read 3 calls: 0 newly indexed, 0 still unindexed"


def test_a_users_region_set_right_then_reindex(live, settings):
    made = _run(settings, "users", "create", "uk-recorder", "--permission", "capture", "--json")
    assert made.returncode == 0, made.stderr
    creds = json.loads(made.stdout)
    token = (
        live.client()
        .post("/Token", data={"grant_type": "client_credentials", **creds})
        .json()["access_token"]
    )
    ids = _capture(live, token, {"uk": LONDON})

    for bad, code in ((("uk-recorder", "ZZ"), 2), (("nobody", "GB"), 1)):
        refused = _run(settings, "users", "set-region", *bad)
        assert refused.returncode == code, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    refused = _run(settings, "calls", "reindex", "--default-region", "ZZ")
    assert refused.returncode == 2
    assert "ZZ" in refused.stderr
    assert (
        json.loads(_run(settings, "calls", "unindexed", "--json").stdout)[0]["callId"]
        == (ids["uk"])
    )

    assert _run(settings, "users", "set-region", "uk-recorder", "gb").returncode == 0
    users = json.loads(_run(settings, "users", "list", "--json").stdout)
    assert [u["region"] for u in users if u["name"] == "uk-recorder"] == ["GB"]
    done = _run(settings, "calls", "reindex")
    assert done.stdout.strip() == "read 1 call: 1 newly indexed, 0 still unindexed"
    with live.client(live.token("purge")) as client:
        preview = client.post(
            "/purge/v1/calls/customer?whatIf=true", json={"phoneNumber": "+44 20 7946 0958"}
        ).json()
    assert [item["callId"] for item in preview["items"]] == [ids["uk"]]
