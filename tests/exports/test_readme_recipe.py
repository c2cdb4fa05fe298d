"""The README's "Verify an export with age, unzip, sha256sum and openssl alone", exactly as
written, on a real age-encrypted package: it passes, and fails for any changed file."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import httpx
import pyrage
from pyrage import x25519

from helpers import TLS, call_info, post_call, wav_bytes

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+1 512 555 0144"


def recipe() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Verify an export with age, unzip, sha256sum and openssl", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return block.group(1)


def run_recipe(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", recipe()], cwd=folder, capture_output=True, text=True, timeout=60
    )


def test_the_readme_recipe_verifies_a_package_and_catches_a_change(live, tmp_path):
    info = call_info("rc-1", contacts=[{"type": "Customer", "channel": 1, "phoneNumber": PHONE}])
    with live.client(live.token("capture")) as client:
        assert post_call(client, info, wav_bytes(0.5)).status_code == 200
    identity = x25519.Identity.generate()
    with live.client(live.token("export")) as client:
        made = client.post(
            "/exports/v1",
            json={"phoneNumbers": [PHONE], "recipients": [str(identity.to_public())]},
        ).json()
        package = client.get(made["downloadUrl"]).content
    good = tmp_path / "good"
    good.mkdir()
    (good / "export.zip.age").write_bytes(package)
    (good / "key.txt").write_text(f"{identity}\n")
    jwks = httpx.get(live.url + "/.well-known/jwks.json", verify=TLS).text
    (good / "jwks.json").write_text(jwks)
    assert shutil.which("age"), "scripts/ensure-age.sh installs age"
    passed = run_recipe(good)
    assert passed.returncode == 0, passed.stderr
    assert "Signature Verified Successfully" in passed.stdout

    # One byte of call.json changed, re-encrypted to the same key: the recipe must fail.
    plain = zipfile.ZipFile(io.BytesIO(pyrage.decrypt(package, [identity])))
    bad = tmp_path / "bad"
    bad.mkdir()
    altered = bad / "altered.zip"
    with zipfile.ZipFile(altered, "w") as out:
        for name in plain.namelist():
            data = plain.read(name)
            if name.endswith("call.json"):
                data = json.dumps({**json.loads(data), "direction": "Outbound"}).encode()
            out.writestr(name, data)
    (bad / "export.zip.age").write_bytes(
        pyrage.encrypt(altered.read_bytes(), [identity.to_public()])
    )
    (bad / "key.txt").write_text(f"{identity}\n")
    (bad / "jwks.json").write_text(jwks)
    failed = run_recipe(bad)
    assert failed.returncode != 0
    assert "Signature Verified Successfully" not in failed.stdout
