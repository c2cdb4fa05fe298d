"""One store, wherever the commands run: `serve` says where it is and remembers it; the admin
commands find it from another folder and never create a store of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from helpers import free_port, wait_healthy

CLI = [sys.executable, "-m", "callvault.cli.main"]


def _env() -> dict[str, str]:
    env = os.environ.copy()
    for name in ("CALLVAULT_DATA_DIR", "CALLVAULT_DATABASE_URL", "CALLVAULT_MASTER_KEY"):
        env.pop(name, None)
    return env


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=_env()
    )


def _serve(cwd: Path, log: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_users_create_from_another_folder_reaches_the_served_store(tmp_path, state_home):
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    folder_a.mkdir()
    folder_b.mkdir()
    log = tmp_path / "serve.log"
    proc, url = _serve(folder_a, log)
    try:
        store = folder_a / "callvault-data"
        said = log.read_text().splitlines()
        ours = [line for line in said if line.startswith("callvault: ")]
        assert any(str(store) in line for line in ours), said
        assert any("master key" in line and "every call" in line for line in ours), said
        assert any("users create" in line for line in ours), said
        assert (state_home / "callvault" / "data-dir").read_text().strip() == str(store)

        made = _run("users", "create", "rec", "-p", "capture", "--json", cwd=folder_b)
        assert made.returncode == 0, made.stderr
        assert str(store) in made.stderr  # says which store it used
        assert not (folder_b / "callvault-data").exists()
        creds = json.loads(made.stdout)
        answer = httpx.post(f"{url}/Token", data={"grant_type": "client_credentials", **creds})
        assert answer.status_code == 200, answer.text
    finally:
        _stop(proc)

    again = tmp_path / "again.log"
    proc, _ = _serve(folder_a, again)  # a second start: the store exists, a user too
    _stop(proc)
    text = again.read_text()
    assert str(folder_a / "callvault-data") in text
    assert "master key" not in text
    assert "users create" not in text


def test_next_step_names_the_data_dir_when_it_is_not_the_default(tmp_path):
    log = tmp_path / "serve.log"
    store = tmp_path / "elsewhere" / "store"
    proc, _ = _serve(tmp_path, log, "--data-dir", str(store))
    _stop(proc)
    steps = [line for line in log.read_text().splitlines() if "users create" in line]
    assert len(steps) == 1
    assert f"--data-dir {store}" in steps[0]


@pytest.mark.parametrize(
    "args", [["users", "list"], ["users", "create", "x", "-p", "capture"], ["audit", "verify"]]
)
def test_admin_commands_never_create_a_store(tmp_path, args):
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(tmp_path / "callvault-data") in lines[0]
    assert "--data-dir" in lines[0]
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_serve_script_says_where_the_store_is_and_what_to_do_next(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    store, log, port = tmp_path / "store", tmp_path / "serve.log", free_port()
    proc = subprocess.Popen(
        ["bash", str(repo / "scripts" / "serve.sh"), "--port", str(port), "--data-dir", str(store)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, deadline=180)  # setup.sh runs pip first
    finally:
        _stop(proc)
    said = [line for line in log.read_text().splitlines() if line.startswith("callvault: ")]
    assert f"callvault: store: {store} (new, created now)" in said, said
    assert any(f"master key, {store / 'master.key'}" in line for line in said), said
    assert any(
        ".venv/bin/callvault users create NAME" in line and f"--data-dir {store}" in line
        for line in said
    ), said
