"""``callvault serve``, ``users`` and ``db`` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers import free_port, wait_healthy

CLI = [sys.executable, "-m", "callvault.cli.main"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=env or os.environ.copy()
    )


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, str]]:
    data = str(tmp_path / "data")
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", data],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, data
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _token(url: str, creds: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/Token", data={"grant_type": "client_credentials", **creds})


def test_users_create_json_while_server_runs(served):
    url, data = served
    made = run_cli(
        "users", "create", "recorder", "--permission", "capture", "--json", "--data-dir", data
    )
    assert made.returncode == 0, made.stderr
    creds = json.loads(made.stdout)  # exactly one JSON object on stdout
    assert set(creds) == {"client_id", "client_secret"}
    answer = _token(url, creds)
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/callCapture/v1/status/x", headers=headers).status_code == 200

    listed = run_cli("users", "list", "--json", "--data-dir", data)
    users = json.loads(listed.stdout)
    assert [(u["name"], u["permissions"], u["disabled"]) for u in users] == [
        ("recorder", ["capture"], False)
    ]
    assert creds["client_secret"] not in listed.stdout

    disabled = run_cli("users", "disable", "recorder", "--data-dir", data)
    assert disabled.returncode == 0, disabled.stderr
    assert httpx.get(f"{url}/callCapture/v1/status/x", headers=headers).status_code == 401


def test_tokens_survive_a_restart(tmp_path):
    data = str(tmp_path / "data")
    creds = json.loads(
        run_cli("users", "create", "u", "-p", "capture", "--json", "--data-dir", data).stdout
    )
    token = None
    for _ in range(2):
        port = free_port()
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", data],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            token = token or _token(url, creds).json()["access_token"]
            answer = httpx.get(
                f"{url}/callCapture/v1/status/x", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200
        finally:
            proc.kill()
            proc.wait()


def test_master_key_file_is_private(tmp_path):
    data = tmp_path / "data"
    assert run_cli("db", "upgrade", "--data-dir", str(data)).returncode == 0
    mode = (data / "master.key").stat().st_mode & 0o777
    assert mode == 0o600


def test_usage_errors_are_one_line_and_exit_2(tmp_path):
    bad = run_cli("users", "create", "x", "-p", "superuser", "--data-dir", str(tmp_path / "d"))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "superuser" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run_cli("users", "create", "x", "--data-dir", str(tmp_path / "d"))
    assert missing.returncode == 2


def test_duplicate_user_name_is_refused(tmp_path):
    data = str(tmp_path / "d")
    assert run_cli("users", "create", "a", "-p", "purge", "--data-dir", data).returncode == 0
    again = run_cli("users", "create", "a", "-p", "purge", "--data-dir", data)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_disable_unknown_user_fails_cleanly(tmp_path):
    gone = run_cli("users", "disable", "ghost", "--data-dir", str(tmp_path / "d"))
    assert gone.returncode == 1
    assert "ghost" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_help_names_every_environment_variable():
    text = run_cli("serve", "--help", env={**os.environ, "COLUMNS": "200"}).stdout
    for name in (
        "CALLVAULT_DATA_DIR",
        "CALLVAULT_DATABASE_URL",
        "CALLVAULT_BLOB_URL",
        "CALLVAULT_KEYSTORE_URL",
        "CALLVAULT_DEFAULT_REGION",
        "CALLVAULT_S3_ENDPOINT_URL",
    ):
        assert name in text, name


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_serve_https_and_its_console_cookie_is_secure(tmp_path):
    from console_helpers import PASSWORD, hidden

    cert, key = _self_signed(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
            "--ssl-certfile",
            str(cert),
            "--ssl-keyfile",
            str(key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    trusted = ssl.create_default_context(cafile=str(cert))
    data = str(tmp_path / "d")
    try:
        wait_healthy(f"https://localhost:{port}", proc, verify=trusted)
        made = subprocess.run(
            [
                *CLI,
                "users",
                "create",
                "dana",
                "-p",
                "audit",
                "--password-stdin",
                "--data-dir",
                data,
            ],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        with httpx.Client(base_url=f"https://localhost:{port}", verify=trusted) as http:
            token = hidden(http.get("/console/login").text, "login_token")
            fields = {"login_token": token, "username": "dana", "password": PASSWORD}
            answer = http.post("/console/login", data=fields)
        assert answer.status_code == 303
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("callvault_session=")
        )
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert "secure" in attributes  # over HTTPS the session cookie never travels in clear
        assert "httponly" in attributes
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_console_script_is_installed():
    assert shutil.which("callvault") or os.path.exists(
        os.path.join(os.path.dirname(sys.executable), "callvault")
    )


def test_help_names_every_setting():
    from callvault.settings import Settings

    text = run_cli("serve", "--help", env={**os.environ, "COLUMNS": "200"}).stdout
    for name in Settings.model_fields:
        assert f"CALLVAULT_{name.upper()}" in text, name


def test_unreadable_local_files_are_one_line_usage_errors(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    env = {**os.environ, "CALLVAULT_URL": "http://127.0.0.1:9", "CALLVAULT_TOKEN": "t"}
    result = run_cli("capture", str(audio), "--info", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_trusts_a_self_signed_server_given_its_ca_file(tmp_path):
    cert, key = _self_signed(tmp_path)
    data, port = str(tmp_path / "d"), free_port()
    creds = json.loads(
        run_cli("users", "create", "u", "-p", "capture", "--json", "--data-dir", data).stdout
    )
    https = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", data, *https],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://localhost:{port}"
    env = {
        **os.environ,
        "CALLVAULT_CLIENT_ID": creds["client_id"],
        "CALLVAULT_CLIENT_SECRET": creds["client_secret"],
        "HOME": str(tmp_path),
    }
    env.pop("SSL_CERT_FILE", None)
    try:
        wait_healthy(url, proc, verify=ssl.create_default_context(cafile=str(cert)))
        flag = run_cli("status", "s1", "--url", url, "--ca-file", str(cert), "-o", "json", env=env)
        assert flag.returncode == 0, flag.stderr
        assert json.loads(flag.stdout)[0]["status"] == "NotFound"
        by_env = run_cli(
            "status", "s1", "--url", url, "-o", "json", env={**env, "CALLVAULT_CA_FILE": str(cert)}
        )
        assert by_env.returncode == 0, by_env.stderr
        untrusted = run_cli("status", "s1", "--url", url, env=env)
        assert untrusted.returncode == 1
        assert "certificate" in untrusted.stderr.strip().splitlines()[-1]
        missing = run_cli("status", "s1", "--url", url, "--ca-file", str(tmp_path / "no"), env=env)
        assert missing.returncode == 2
        assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_loose_master_key_file_stops_the_server_with_one_line(tmp_path):
    data = tmp_path / "data"
    assert run_cli("db", "upgrade", "--data-dir", str(data)).returncode == 0
    (data / "master.key").chmod(0o644)
    refused = run_cli("serve", "--port", str(free_port()), "--data-dir", str(data))
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "chmod 600" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_users_create_with_a_region(tmp_path):
    data = str(tmp_path / "d")
    made = run_cli(
        "users", "create", "mx-rec", "-p", "capture", "--region", "mx", "--data-dir", data
    )
    assert made.returncode == 0, made.stderr
    bad = run_cli(
        "users", "create", "zz-rec", "-p", "capture", "--region", "ZZ", "--data-dir", data
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "ZZ" in bad.stderr


def test_users_list_shows_each_users_region(tmp_path):
    data = str(tmp_path / "d")
    for name, extra in (("mx-rec", ["--region", "MX"]), ("plain", [])):
        made = run_cli("users", "create", name, "-p", "capture", *extra, "--data-dir", data)
        assert made.returncode == 0, made.stderr
    listed = json.loads(run_cli("users", "list", "--json", "--data-dir", data).stdout)
    assert {u["name"]: u["region"] for u in listed} == {"mx-rec": "MX", "plain": None}
    table = run_cli("users", "list", "--data-dir", data).stdout.splitlines()
    assert "\tMX\t" in next(line for line in table if line.startswith("mx-rec"))


def test_console_passwords_from_stdin_and_set_password(served):
    from console_helpers import log_in

    url, data = served
    made = subprocess.run(
        [
            *CLI,
            "users",
            "create",
            "officer",
            "-p",
            "purge",
            "--password-stdin",
            "--json",
            "--data-dir",
            data,
        ],
        input="first long passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert set(json.loads(made.stdout)) == {"client_id", "client_secret"}
    assert "first long passphrase" not in made.stdout + made.stderr
    log_in(url, "officer", "first long passphrase").http.close()
    listed = json.loads(run_cli("users", "list", "--json", "--data-dir", data).stdout)
    assert [u["console"] for u in listed] == [True]

    changed = subprocess.run(
        [*CLI, "users", "set-password", "officer", "--password", "--data-dir", data],
        input="second long passphrase\nsecond long passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert changed.returncode == 0, changed.stderr
    log_in(url, "officer", "second long passphrase").http.close()
    with pytest.raises(AssertionError):
        log_in(url, "officer", "first long passphrase")

    short = subprocess.run(
        [*CLI, "users", "create", "weak", "-p", "audit", "--password-stdin", "--data-dir", data],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 2
    assert "at least 12" in short.stderr
    unknown = subprocess.run(
        [*CLI, "users", "set-password", "nobody", "--password-stdin", "--data-dir", data],
        input="third long passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 1
    assert "no API user named 'nobody'" in unknown.stderr
    names = [
        u["name"] for u in json.loads(run_cli("users", "list", "--json", "--data-dir", data).stdout)
    ]
    assert names == ["officer"]
