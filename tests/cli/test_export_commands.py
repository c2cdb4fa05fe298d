"""``callvault export create|download|list|revoke|verify`` (contract §20), run as a user runs
them: a subprocess pointed at a live server; verify offline with a saved JWKS and an age key."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import httpx
import pytest
from pyrage import x25519

from helpers import TLS, call_info, post_call, wav_bytes

PHONE = "+1 512 555 0143"


@pytest.mark.cli_process
def test_create_download_verify_list_revoke(live, cli_as, tmp_path):
    info = call_info("cli-x", contacts=[{"type": "Customer", "channel": 1, "phoneNumber": PHONE}])
    with live.client(live.token("capture")) as client:
        assert post_call(client, info, wav_bytes(0.5)).status_code == 200
    run = cli_as("export")
    preview = run("export", "create", "--phone", PHONE, "--what-if", "-o", "json")
    assert preview.returncode == 0, preview.stderr
    assert "would cover 1 call" in preview.stderr
    identity = x25519.Identity.generate()
    made = run(
        "export", "create", "--phone", PHONE, "--reference", "DSR-9",
        "--recipient", str(identity.to_public()), "-o", "json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # With -o json, stdout is one JSON document (found by review: the link came before it).
    (doc,) = json.loads(made.stdout)
    link, export_id = doc["downloadUrl"], doc["exportId"]
    assert link.startswith(live.url + "/exports/v1/")
    assert "token=" in link

    package = tmp_path / "p.zip.age"
    got = run("export", "download", export_id, "-o", str(package))
    assert got.returncode == 0, got.stderr
    jwks = tmp_path / "jwks.json"
    jwks.write_text(httpx.get(live.url + "/.well-known/jwks.json", verify=TLS).text)
    key = tmp_path / "key.txt"
    key.write_text(f"# created: now\n# public key: {identity.to_public()}\n{identity}\n")
    ok = run("export", "verify", str(package), "--jwks", str(jwks), "--identity", str(key))
    assert ok.returncode == 0, ok.stderr
    assert "valid export package" in ok.stdout
    assert "1 included, 0 erased" in ok.stdout
    no_key = run("export", "verify", str(package), "--jwks", str(jwks))
    assert no_key.returncode == 1
    assert "identity" in no_key.stderr

    plain_made = run("export", "create", "--phone", PHONE, "-o", "json")
    plain_id = json.loads(plain_made.stdout)[0]["exportId"]
    plain = tmp_path / "p.zip"
    assert run("export", "download", plain_id, "-o", str(plain)).returncode == 0
    assert run("export", "verify", str(plain), "--jwks", str(jwks)).returncode == 0
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(broken, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            out.writestr(name, data.replace(b"cli-x", b"cli-y") if name == "calls.csv" else data)
    bad = run("export", "verify", str(broken), "--jwks", str(jwks))
    assert bad.returncode == 1
    assert "calls.csv" in bad.stderr

    listed = run("export", "list", "--reference", "DSR-9", "-o", "json")
    assert [e["exportId"] for e in json.loads(listed.stdout)] == [export_id]
    revoked = run("export", "revoke", export_id, "-o", "json")
    assert revoked.returncode == 0
    assert json.loads(revoked.stdout)[0]["state"] == "Revoked"
    again = run("export", "download", export_id, "-o", str(tmp_path / "again.zip"))
    assert again.returncode == 1
    assert not Path(tmp_path / "again.zip").exists()
    nobody = run("export", "create", "--reference", "R")
    assert nobody.returncode == 2
    assert "--phone" in nobody.stderr
