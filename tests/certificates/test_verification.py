"""Verifying a certificate offline: with the README's openssl commands alone, with the SDK's
``verify_certificate``, and with ``callvault certificate verify`` (embedded store)."""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from callvault.client import verify_certificate
from callvault.client._exceptions import CallvaultError
from helpers import finished_purge

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "callvault.cli.main"]
ALPHABET = string.ascii_letters + string.digits + "-_"


def readme_commands() -> str:
    """The shell block of the README's "Verify with openssl alone", exactly as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Verify with openssl alone", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return block.group(1)


@pytest.fixture
def issued(live) -> tuple[str, dict]:
    request_id = finished_purge(live, "v1")
    with live.client(live.token("purge")) as client:
        jws = client.get(f"/purge/v1/requests/{request_id}/certificate").text
    return jws, httpx.get(f"{live.url}/.well-known/jwks.json").json()


def changed(jws: str, position: int) -> str:
    """``jws`` with one character replaced by another that base64url (or the dot) allows."""
    old = jws[position]
    new = ALPHABET[(ALPHABET.index(old) + 1) % len(ALPHABET)] if old != "." else "A"
    return jws[:position] + new + jws[position + 1 :]


def openssl_verifies(folder: Path, jws: str, keys: dict) -> subprocess.CompletedProcess[str]:
    (folder / "certificate.jws").write_text(jws)
    (folder / "jwks.json").write_text(json.dumps(keys))
    return subprocess.run(
        ["bash", "-c", readme_commands()], cwd=folder, capture_output=True, text=True, timeout=60
    )


def test_openssl_alone_verifies_a_real_certificate_and_rejects_changed_bytes(issued, tmp_path):
    jws, keys = issued
    good = openssl_verifies(tmp_path, jws, keys)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Signature Verified Successfully" in good.stdout
    header, payload, signature = jws.split(".")
    positions = {
        "header": 5,
        "first dot": len(header),
        "payload": len(header) + 1 + len(payload) // 2,
        "last payload byte": len(header) + len(payload),
        "second dot": len(header) + 1 + len(payload),
        "signature": len(jws) - len(signature) // 2,
        "last byte (spare bits)": len(jws) - 1,
    }
    for name, position in positions.items():
        bad = openssl_verifies(tmp_path, changed(jws, position), keys)
        assert bad.returncode != 0, f"openssl accepted a changed {name}"


def test_a_changed_byte_anywhere_fails_verification(issued):
    jws, keys = issued
    assert verify_certificate(jws, keys)["state"] == "Complete"
    for position in range(len(jws)):
        with pytest.raises(CallvaultError):
            verify_certificate(changed(jws, position), keys)
    for bad in (jws + "A", jws[:-1], "", "a.b", jws.replace(".", "..", 1)):
        with pytest.raises(CallvaultError):
            verify_certificate(bad, keys)
    with pytest.raises(CallvaultError, match="kid"):
        verify_certificate(jws, {"keys": []})


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    unset = ("CALLVAULT_URL", "CALLVAULT_TOKEN", "CALLVAULT_PROFILE", "CALLVAULT_CONFIG")
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment.update(env or {})
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=environment
    )


def test_certificate_verify_command(live, issued, tmp_path):
    jws, keys = issued
    claims = verify_certificate(jws, keys)
    certificate, jwks_file = tmp_path / "cert.jws", tmp_path / "jwks.json"
    certificate.write_text(jws + "\n")  # a trailing newline, as editors save it
    jwks_file.write_text(json.dumps(keys))
    home = {"HOME": str(tmp_path)}

    for where in (
        ["--jwks", str(jwks_file)],
        ["--jwks", f"{live.url}/.well-known/jwks.json"],
        ["--url", live.url],  # fetches the instance's /.well-known/jwks.json, no credentials
    ):
        ok = _cli("certificate", "verify", str(certificate), *where, env=home)
        assert ok.returncode == 0, ok.stderr
        assert claims["requestId"] in ok.stdout
        assert "Complete" in ok.stdout
        assert "1 Purged" in ok.stdout

    certificate.write_text(changed(jws, len(jws) // 2))
    bad = _cli("certificate", "verify", str(certificate), "--jwks", str(jwks_file), env=home)
    assert bad.returncode == 1
    assert bad.stderr.startswith("callvault: error: ")
    assert "Traceback" not in bad.stderr
    missing = _cli("certificate", "verify", str(tmp_path / "none.jws"), "--jwks", str(jwks_file))
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
