"""Acting on a purge request from the CLI (issue 33, items 8 and 11): every purge names its
request, ``requests list``, ``certificate get``, and ``certificate verify`` through the same
connection as every client command, its summary's times in ISO 8601 and its count of erased
calls."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time

import pytest

from callvault.client import verify_certificate
from callvault.demo import seed_calls

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture
def cli(cli_as):
    return cli_as("purge", "hold")


def _settled(live, request_id: str) -> None:
    with live.client(live.token("purge")) as client:
        deadline = time.monotonic() + 60
        while client.get(f"/purge/v1/requests/{request_id}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)


# -- item 8: every purge prints its requestId ---------------------------------------------------


def test_every_purge_prints_its_request_id(live, cli):
    ids = seed_calls(live.runtime, 2, seed=81)
    table = cli("purge", "calls", ids[0], "ghost")
    assert table.returncode == 0, table.stderr
    found = re.search(r"request ([0-9a-f]{32})", table.stderr)
    assert found, table.stderr
    request_id = found.group(1)
    assert request_id not in table.stdout  # stderr in table mode
    with live.client(live.token("purge")) as client:
        assert client.get(f"/purge/v1/requests/{request_id}").status_code == 200

    as_json = cli("purge", "sessions", "demo-1", "--output", "json")
    rows = json.loads(as_json.stdout)
    assert rows[0]["requestId"] in as_json.stderr
    with live.client(live.token("purge")) as client:
        shown = client.get(f"/purge/v1/requests/{rows[0]['requestId']}").json()
    assert shown["items"][0]["callId"] == ids[1]

    as_csv = cli("purge", "calls", "ghost", "--output", "csv")
    assert next(csv.reader(io.StringIO(as_csv.stdout))) == [
        "id",
        "callId",
        "sessionId",
        "status",
        "errorMsg",
    ]
    assert re.search(r"request [0-9a-f]{32}", as_csv.stderr)


def test_a_purge_of_many_ids_names_each_request(live, cli):
    ids = "\n".join(f"ghost-{n}" for n in range(150))
    result = cli("purge", "calls", "--from-file", "-", "--output", "json", stdin=ids)
    assert result.returncode == 0, result.stderr
    made = list(dict.fromkeys(r["requestId"] for r in json.loads(result.stdout)))
    assert len(made) == 2
    assert all(request_id in result.stderr for request_id in made)


# -- item 8: requests list ----------------------------------------------------------------------


def test_requests_list(live, cli):
    ids = seed_calls(live.runtime, 1, seed=82)
    first = json.loads(cli("purge", "calls", "ghost", "-o", "json").stdout)[0]["requestId"]
    second = json.loads(cli("purge", "sessions", "demo-0", "-o", "json").stdout)[0]["requestId"]
    assert ids
    _settled(live, second)

    listed = cli("requests", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["requestId"] for r in rows] == [second, first]
    assert [r["kind"] for r in rows] == ["sessions", "calls"]
    assert [r["state"] for r in rows] == ["Complete", "Complete"]
    assert [r["itemCount"] for r in rows] == [1, 1]
    assert "2 requests" in listed.stderr

    only = cli("requests", "list", "--kind", "sessions", "--state", "Complete", "-o", "json")
    assert [r["requestId"] for r in json.loads(only.stdout)] == [second]
    table = cli("requests", "list")
    assert table.returncode == 0, table.stderr
    assert first in table.stdout
    assert second in table.stdout
    bad = cli("requests", "list", "--state", "Done")
    assert bad.returncode == 1, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "--state" in bad.stderr
    assert "Complete" in bad.stderr  # what it may be


def test_requests_list_follows_pages(live, cli):
    with live.client(live.token("purge")) as client:
        made = [
            client.post("/purge/v1/calls", json={"ids": [f"g{n}"]}).json()["requestId"]
            for n in range(120)
        ]
    every = cli("requests", "list", "--limit", "0", "-o", "json")
    assert every.returncode == 0, every.stderr
    assert [r["requestId"] for r in json.loads(every.stdout)] == made[::-1]
    newest = cli("requests", "list", "-o", "json")
    assert len(json.loads(newest.stdout)) == 50  # the newest 50 by default, and it says so
    assert "--limit" in newest.stderr


# -- item 8: certificate get; item 11: verify's summary and connection --------------------------


@pytest.fixture
def finished(live, cli) -> str:
    seed_calls(live.runtime, 2, seed=83)
    done = cli("purge", "sessions", "demo-0", "demo-1", "ghost", "--wait", "-o", "json")
    assert done.returncode == 0, done.stderr
    request_id: str = json.loads(done.stdout)[0]["requestId"]
    return request_id


@pytest.mark.cli_process
def test_certificate_get_to_a_file_and_stdout(live, cli, finished, tmp_path):
    target = tmp_path / "cert.jws"
    saved = cli("certificate", "get", finished, "-o", str(target))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout == ""
    jws = target.read_text()
    with live.client(live.token("purge")) as client:
        assert jws == client.get(f"/purge/v1/requests/{finished}/certificate").text  # same bytes
    assert str(target) in saved.stderr
    out = cli("certificate", "get", finished)
    assert out.stdout.strip() == jws
    dash = cli("certificate", "get", finished, "-o", "-")
    assert dash.stdout.strip() == jws
    with live.client() as client:
        claims = verify_certificate(jws, client.get("/.well-known/jwks.json").json())
    assert claims["requestId"] == finished
    missing = cli("certificate", "get", "no-such-request")
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1
    unwritable = cli("certificate", "get", finished, "-o", str(tmp_path / "no" / "cert.jws"))
    assert unwritable.returncode == 2, unwritable.stderr
    assert len(unwritable.stderr.strip().splitlines()) == 1


def test_verify_uses_the_client_connection_and_says_times_in_iso(live, cli, finished, tmp_path):
    target = tmp_path / "cert.jws"
    assert cli("certificate", "get", finished, "-o", str(target)).returncode == 0

    # CALLVAULT_URL, as every client command reads it.
    by_env = cli("certificate", "verify", str(target))
    assert by_env.returncode == 0, by_env.stderr
    summary = by_env.stdout
    assert finished in summary
    assert "2 calls erased" in summary
    assert re.search(rf"issued by \S+ at {ISO}\b", summary), summary
    assert re.search(rf"requested .*{ISO}", summary), summary
    assert re.search(rf"completed {ISO}", summary), summary
    assert not re.search(r"\b1\d{9}\b", summary), summary  # no epoch seconds
    assert "1 NotFound" in summary
    assert "2 Purged" in summary

    # The default profile of ~/.config/callvault/config.toml, with no URL in the environment.
    home = cli.env["HOME"]
    config = os.path.join(home, ".config", "callvault")
    os.makedirs(config, exist_ok=True)
    with open(os.path.join(config, "config.toml"), "w") as handle:
        handle.write(f'[profiles.default]\nurl = "{live.url}"\n')
    no_env = {"CALLVAULT_URL": "", "CALLVAULT_CLIENT_ID": "", "CALLVAULT_CLIENT_SECRET": ""}
    by_profile = cli("certificate", "verify", str(target), extra_env=no_env)
    assert by_profile.returncode == 0, by_profile.stderr
    assert by_profile.stdout == summary

    # A named profile of another file.
    other = tmp_path / "other.toml"
    other.write_text(f'[profiles.acme]\nurl = "{live.url}"\n')
    named = cli(
        "certificate",
        "verify",
        str(target),
        "--config",
        str(other),
        "--profile",
        "acme",
        extra_env=no_env,
    )
    assert named.returncode == 0, named.stderr

    os.remove(os.path.join(config, "config.toml"))
    nowhere = cli("certificate", "verify", str(target), extra_env=no_env)
    assert nowhere.returncode == 2
    assert "--jwks" in nowhere.stderr
    assert len(nowhere.stderr.strip().splitlines()) == 1


def test_verify_counts_purged_items_without_erased_count():
    """A certificate without ``erasedCount`` (issued before it existed) is counted by its items."""
    from callvault.cli.certificates import summary_lines

    claims = {
        "iss": "cv.example",
        "jti": "j1",
        "iat": 1796630400,  # 2026-12-07T08:00:00Z
        "requestId": "r1",
        "kind": "calls",
        "requestedBy": "ops",
        "requestedAt": "2026-12-07T07:59:58.123456Z",
        "completedAt": "2026-12-07T07:59:59.5Z",
        "state": "Complete",
        "method": "m",
        "items": [{"status": "Purged"}, {"status": "Purged"}, {"status": "NotFound"}],
        "audit": {"firstSeq": 1, "lastSeq": 3, "headHash": "ab"},
    }
    text = "\n".join(summary_lines(claims))
    assert "at 2026-12-07T08:00:00Z" in text
    assert "2026-12-07T07:59:58Z" in text
    assert "completed 2026-12-07T07:59:59Z" in text
    assert "2 calls erased" in text
    with_count = "\n".join(summary_lines({**claims, "erasedCount": 0, "method": None}))
    assert "0 calls erased" in with_count
    del claims["method"]
    assert "method" not in "\n".join(summary_lines({**claims, "erasedCount": 0}))


def test_references_from_the_cli(live, cli_as):
    """--reference on purges and holds, and on their lists (contract §23)."""
    cli = cli_as("purge", "hold", "audit")
    purged = cli("purge", "calls", "ghost-ref", "--reference", "DSR-7", "--output", "json")
    assert purged.returncode == 0, purged.stderr
    listed = cli("requests", "list", "--reference", "DSR-7", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["reference"] == "DSR-7"
    assert json.loads(cli("requests", "list", "--reference", "DSR-8", "-o", "json").stdout) == []
    placed = cli(
        "holds", "place", "--matter", "m", "--reason", "r", "--call", "x", "--reference", "DSR-9"
    )
    assert placed.returncode == 0, placed.stderr
    holds = json.loads(cli("holds", "list", "--reference", "DSR-9", "-o", "json").stdout)
    assert [h["reference"] for h in holds] == ["DSR-9"]
    bad = cli("purge", "calls", "ghost-ref", "--reference", "tab\there")
    assert bad.returncode == 1
    assert "--reference" in bad.stderr
