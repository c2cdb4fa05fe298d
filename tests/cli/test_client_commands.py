"""The client commands as a compliance engineer runs them: a real process, a real server."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from callvault.demo import seed_calls
from callvault.store.tables import calls, purge_jobs
from helpers import call_info, free_port, post_v2_call, v2_customer_info, wav_bytes

CLI = [sys.executable, "-m", "callvault.cli.main"]


@pytest.fixture
def cli(cli_as):
    return cli_as("purge", "capture")


def _one_line_error(result, code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _jobs(live) -> int:
    with live.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one()


@pytest.mark.slow
def test_ten_thousand_session_ids_from_a_csv_with_wait(live, cli, tmp_path):
    existing = seed_calls(live.runtime, 6000, seed=21)
    bystanders = seed_calls(live.runtime, 50, session_prefix="keep-", seed=22)
    sessions = [f"demo-{n}" for n in range(6000)] + [f"unknown-{n}" for n in range(4000)]
    sheet = tmp_path / "erasure-requests.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "session", "note"])
        for n, sid in enumerate(sessions):
            writer.writerow([f"T{n}", sid, "gdpr art. 17"])
        writer.writerow(["T-dup", sessions[0], "duplicate"])
    result = cli(
        "purge",
        "sessions",
        "--from-file",
        str(sheet),
        "--column",
        "session",
        "--wait",
        "--output",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "callId", "sessionId", "status", "errorMsg"]
    assert [r["id"] for r in rows] == sessions  # every ID once, in order
    status = {r["id"]: r["status"] for r in rows}
    assert {status[f"demo-{n}"] for n in range(6000)} == {"Purged"}
    assert {status[f"unknown-{n}"] for n in range(4000)} == {"NotFound"}
    assert "Purged: 6000" in result.stderr
    assert "NotFound: 4000" in result.stderr
    with live.runtime.engine.connect() as conn:
        left = set(conn.execute(select(calls.c.call_id)).scalars())
    assert left == set(bystanders)
    assert not left & set(existing)


def test_text_file_with_blanks_and_duplicates_and_stdin(live, cli):
    seed_calls(live.runtime, 3, seed=23)
    result = cli(
        "purge",
        "sessions",
        "--from-file",
        "-",
        "--output",
        "json",
        stdin="demo-0\n\n  demo-1  \ndemo-0\n\nnope\n",
    )
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert [i["id"] for i in items] == ["demo-0", "demo-1", "nope"]
    assert [i["status"] for i in items] == ["Purging", "Purging", "NotFound"]


def test_ids_from_arguments_what_if_changes_nothing(live, cli):
    ids = seed_calls(live.runtime, 2, seed=24)
    result = cli("purge", "calls", *ids, "--what-if", "--output", "csv")
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["WhatIf"] * 2
    assert _jobs(live) == 0


def test_table_output_and_summary(live, cli):
    seed_calls(live.runtime, 1, seed=25)
    result = cli("purge", "sessions", "demo-0", "ghost")
    assert result.returncode == 0
    assert "demo-0" in result.stdout
    assert "Purging" in result.stdout
    assert "2 IDs: NotFound: 1, Purging: 1" in result.stderr


def test_table_never_cuts_ids_short(live, cli):
    ids = seed_calls(live.runtime, 2, seed=27)
    narrow = cli("purge", "calls", *ids, "--what-if", extra_env={"COLUMNS": "40"})
    assert narrow.returncode == 0, narrow.stderr
    for call_id in ids:
        assert call_id in narrow.stdout, narrow.stdout  # whole, on one line
    assert "…" not in narrow.stdout


def test_missing_csv_column_is_a_usage_error(live, cli, tmp_path):
    seed_calls(live.runtime, 1, seed=26)
    sheet = tmp_path / "ids.csv"
    sheet.write_text("ticket,session\nT1,demo-0\n")
    _one_line_error(cli("purge", "sessions", "--from-file", str(sheet), "--column", "call"), 2)
    _one_line_error(cli("purge", "sessions", "--from-file", str(sheet)), 2)  # which column?
    assert _jobs(live) == 0


@pytest.mark.parametrize(
    "args",
    [
        ["purge", "calls"],
        ["purge", "sessions", "--from-file", "/no/such/file"],
        ["purge", "calls", "x", "--no-such-flag"],
        ["purge", "calls", "x", "--output", "xml"],
    ],
)
def test_usage_errors_exit_2(cli, args):
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_phone_number_is_one_line_exit_1(live, cli):
    _one_line_error(cli("purge", "customer", "not-a-phone", "--yes"), 1)
    assert _jobs(live) == 0


def test_bad_credentials_are_one_line_exit_1(cli):
    _one_line_error(cli("purge", "calls", "x", extra_env={"CALLVAULT_CLIENT_SECRET": "wrong"}), 1)


def test_unreachable_server_says_it_is_retrying(cli):
    closed = f"http://127.0.0.1:{free_port()}"
    result = cli("purge", "calls", "x", extra_env={"CALLVAULT_URL": closed})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    *retries, error = result.stderr.strip().splitlines()
    assert error.startswith("callvault: error: "), error
    assert [line.split(": retrying")[0] for line in retries] == [
        f"callvault: cannot reach {closed}"
    ] * 4, retries
    assert [line.rsplit("(", 1)[1] for line in retries] == [
        f"attempt {n} of 5)" for n in (2, 3, 4, 5)
    ]


def test_url_without_a_scheme(live, cli):
    bare = live.url.removeprefix("http://")  # 127.0.0.1:PORT: loopback, so http://
    result = cli("purge", "calls", "x", "--url", bare, "--output", "json")
    assert result.returncode == 0, result.stderr
    localhost = cli("purge", "calls", "x", "--url", f"localhost:{live.port}", "-o", "json")
    assert localhost.returncode == 0, localhost.stderr
    for unusable in ("ftp://example.com", "http://", "localhost:eighty", "https://exa mple.com"):
        _one_line_error(cli("purge", "calls", "x", "--url", unusable), 2)


def test_no_credentials_or_url_is_a_usage_error(cli):
    _one_line_error(cli("purge", "calls", "x", extra_env={"CALLVAULT_URL": ""}), 2)
    _one_line_error(
        cli(
            "purge",
            "calls",
            "x",
            extra_env={"CALLVAULT_CLIENT_ID": "", "CALLVAULT_CLIENT_SECRET": ""},
        ),
        2,
    )


def _customer_calls(live, capture, phone: str, count: int) -> list[str]:
    ids = []
    with live.client(live.token("capture")) as client:
        for n in range(count):
            info = call_info(
                f"cust-{n}",
                startTime=f"2024-01-01T0{n}:00:00Z",  # items come back in start-time order
                endTime=None,
                contacts=[{"type": "Customer", "phoneNumber": phone}],
            )
            ids.append(capture(client, info, wav_bytes(0.2)).json()["callId"])
    return ids


def test_customer_what_if_lists_calls_and_purges_nothing(live, cli, capture):
    ids = _customer_calls(live, capture, "(512) 555-3333", 2)
    result = cli("purge", "customer", "+15125553333", "--what-if", "--output", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["callId"] for r in rows] == ids
    assert [r["sessionId"] for r in rows] == ["cust-0", "cust-1"]
    assert _jobs(live) == 0


def test_counts_are_pluralized(live, cli, capture):
    _customer_calls(live, capture, "+15125556666", 1)
    preview = cli("purge", "customer", "+15125556666", "--what-if")
    assert preview.returncode == 0, preview.stderr
    assert "1 call would be erased" in preview.stderr
    refused = cli("purge", "customer", "+15125556666")
    assert "1 call of this customer will be erased" in refused.stderr
    one = cli("purge", "sessions", "ghost")
    assert "1 ID: NotFound: 1" in one.stderr


def test_customer_without_a_terminal_or_yes_purges_nothing(live, cli, capture):
    _customer_calls(live, capture, "+15125554444", 2)
    result = cli("purge", "customer", "512-555-4444", stdin="y\n")
    _one_line_error_lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert "2 calls" in result.stderr
    assert "nothing purged" in _one_line_error_lines[-1]
    assert _jobs(live) == 0


@pytest.mark.cli_process
def test_customer_with_yes_and_wait_erases(live, cli, capture):
    _customer_calls(live, capture, "+15125555555", 3)
    result = cli("purge", "customer", "5125555555", "--yes", "--wait", "--output", "json")
    assert result.returncode == 0, result.stderr
    assert [i["status"] for i in json.loads(result.stdout)] == ["Purged"] * 3


def test_customer_by_email_with_the_phone_in_one_request(live, cli):
    with live.client(live.token("capture")) as client:
        for sid, phone, email in (
            ("m-0", "+15125558888", None),
            ("m-1", None, "Ann@Example.com"),
            ("m-2", None, "bo@example.com"),
        ):
            assert post_v2_call(client, v2_customer_info(sid, phone, email)).status_code == 200
    preview = cli(
        "purge",
        "customer",
        "5125558888",
        "--email",
        "ann@example.com",
        "--what-if",
        "--output",
        "csv",
    )
    assert preview.returncode == 0, preview.stderr
    rows = list(csv.DictReader(io.StringIO(preview.stdout)))
    assert sorted(r["sessionId"] for r in rows) == ["m-0", "m-1"]
    assert _jobs(live) == 0
    done = cli(
        "purge",
        "customer",
        "--email",
        "bo@example.com",
        "--email",
        "ANN@example.com",
        "--yes",
        "--wait",
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert sorted(i["sessionId"] for i in json.loads(done.stdout)) == ["m-1", "m-2"]
    assert {i["status"] for i in json.loads(done.stdout)} == {"Purged"}
    _one_line_error(cli("purge", "customer", "--email", "not an address", "--yes"), 1)
    _one_line_error(cli("purge", "customer", "--yes"), 2)


@pytest.mark.cli_process
def test_requests_show_status_and_capture(live, cli, tmp_path):
    audio = tmp_path / "call.wav"
    audio.write_bytes(wav_bytes(1))
    info = tmp_path / "info.json"
    info.write_text(json.dumps(call_info("cli-cap")))
    captured = cli("capture", str(audio), "--info", str(info))
    assert captured.returncode == 0, captured.stderr
    call_id = captured.stdout.strip()
    assert len(call_id) == 32
    shown = cli("status", "cli-cap", "nope", "--output", "json")
    doc = json.loads(shown.stdout)
    assert [d["status"] for d in doc][1] == "NotFound"
    assert doc[0]["callId"] == call_id
    purged = cli("purge", "calls", call_id, "--output", "json")
    request_id = json.loads(purged.stdout)[0]
    assert request_id["status"] == "Purging"
    with live.client(live.token("purge")) as client:
        rid = client.post("/purge/v1/calls", json={"ids": ["x"]}).json()["requestId"]
    waited = cli("requests", "show", rid, "--wait", "--output", "json")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)[0]["status"] == "NotFound"
    assert "Complete" in waited.stderr
    _one_line_error(cli("requests", "show", "no-such-request"), 1)
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    _one_line_error(cli("capture", str(audio), "--info", str(bad)), 2)


def test_named_profile_in_a_config_file(live, cli, tmp_path):
    client_id, secret = live.user("purge")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.acme]\nurl = "{live.url}"\nclient_id = "{client_id}"\n'
        f'client_secret = "{secret}"\n'
    )
    env = {"CALLVAULT_URL": "", "CALLVAULT_CLIENT_ID": "", "CALLVAULT_CLIENT_SECRET": ""}
    ok = cli("purge", "calls", "x", "--config", str(config), "--profile", "acme", extra_env=env)
    assert ok.returncode == 0, ok.stderr
    _one_line_error(
        cli("purge", "calls", "x", "--config", str(config), "--profile", "nope", extra_env=env), 2
    )


def test_static_token_from_environment(live, cli):
    token = live.token("purge")
    result = cli(
        "purge",
        "calls",
        "x",
        "--output",
        "json",
        extra_env={
            "CALLVAULT_CLIENT_ID": "",
            "CALLVAULT_CLIENT_SECRET": "",
            "CALLVAULT_TOKEN": token,
        },
    )
    assert result.returncode == 0, result.stderr


def test_customer_purge_never_erases_a_call_it_did_not_show(live, cli, capture):
    """A call captured while the user reads the question is not erased: the purge is confirmed
    with the preview's token, so the server refuses it whole (issue 12, item 10)."""
    import pty
    import select

    ids = _customer_calls(live, capture, "+15125557777", 2)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, "purge", "customer", "+15125557777"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=cli.env,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Erase them?" not in seen:
        assert time.monotonic() < deadline, seen
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            seen += os.read(master, 4096)
    with live.client(live.token("capture")) as client:
        info = call_info(
            "cust-late", endTime=None, contacts=[{"type": "Customer", "phoneNumber": "5125557777"}]
        )
        late = capture(client, info, wav_bytes(0.2)).json()["callId"]
    os.write(master, b"y\n")
    proc.wait(timeout=60)
    rest = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    os.close(master)
    assert proc.returncode == 1, seen + rest
    assert b"changed since the preview" in seen + rest
    assert b"nothing purged" in seen + rest
    assert _jobs(live) == 0
    with live.client(live.token("admin")) as client:
        for call_id in [*ids, late]:
            assert client.get(f"/calls/v1/{call_id}").status_code == 200


@pytest.mark.settings(purge_grace_seconds=3600)
def test_requests_cancel_within_the_window(live, cli):
    seed_calls(live.runtime, 1, seed=31)
    accepted = cli("purge", "sessions", "demo-0", "--output", "json")
    assert accepted.returncode == 0, accepted.stderr
    request_id = (
        json.loads(accepted.stdout)[0]["requestId"] if "requestId" in accepted.stdout else None
    )
    if request_id is None:
        shown = live.runtime.engine.connect()
        from callvault.store.tables import purge_requests

        request_id = shown.execute(select(purge_requests.c.request_id)).scalar_one()
        shown.close()
    cancelled = cli("requests", "cancel", request_id, "--output", "json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert [i["status"] for i in json.loads(cancelled.stdout)] == ["Cancelled"]
    assert "Cancelled" in cancelled.stderr
    again = cli("requests", "cancel", request_id)
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.settings(purge_quota_per_hour=150)
def test_a_quota_stop_part_way_says_what_was_accepted(live, cli):
    seed_calls(live.runtime, 250, seed=32)
    ids = "\n".join(f"demo-{i}" for i in range(250))
    result = cli("purge", "sessions", "--from-file", "-", stdin=ids)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "quota" in last
    assert "100 IDs before it were accepted" in last
    assert _jobs(live) <= 100
