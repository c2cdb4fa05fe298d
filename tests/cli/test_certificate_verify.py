"""``callvault certificate verify`` as contract §14 has it since issue 32 item 8: a key set over
plain ``http://`` from anything but this machine is refused (before it is fetched) unless
``--insecure-jwks``; ``--expect-request`` and ``--expect-issuer`` make a valid certificate of
another request or instance fail (exit 1 and why).

The attacker's key set is served by a recording server on 127.0.0.1. To stand for a host
elsewhere (``203.0.113.7``, a documentation address) that server is the CLI's HTTP proxy: were
the CLI to fetch the key set, the request would reach it and be counted."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from callvault.demo import seed_calls

CLI = [sys.executable, "-m", "callvault.cli.main"]
ELSEWHERE = "203.0.113.7"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged(request_id: str = "r-forged") -> tuple[str, dict]:
    """A certificate in due form, signed by an attacker's own key, and the attacker's JWKS."""
    key = Ed25519PrivateKey.generate()
    x = b64url(key.public_key().public_bytes_raw())
    kid = b64url(hashlib.sha256(x.encode()).digest())
    claims = {
        "iss": "callvault.example",
        "jti": "forged",
        "iat": 1796630400,
        "requestId": request_id,
        "kind": "customer",
        "requestedBy": "dpo",
        "requestedAt": "2026-12-07T07:59:58Z",
        "completedAt": "2026-12-07T07:59:59Z",
        "state": "Complete",
        "erasedCount": 3,
        "method": "cryptographic erase (NIST SP 800-88 Purge), then deletion",
        "items": [{"callId": f"c{n}", "status": "Purged"} for n in range(3)],
        "audit": {"firstSeq": 1, "lastSeq": 4, "headHash": "00"},
    }
    headers = {"kid": kid, "typ": "erasure-certificate+jwt"}
    jws = jwt.encode(claims, key, algorithm="EdDSA", headers=headers)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}
    return jws, {"keys": [jwk]}


class KeySetServer:
    def __init__(self, jwks: dict) -> None:
        self.seen: list[str] = []
        body = json.dumps(jwks).encode()
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker(tmp_path) -> Iterator[tuple[Path, KeySetServer]]:
    jws, jwks = forged()
    certificate = tmp_path / "forged.jws"
    certificate.write_text(jws)
    server = KeySetServer(jwks)
    yield certificate, server
    server.close()


def run(*args: str, home: Path, proxy: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CALLVAULT_")}
    for name in PROXY_VARIABLES:
        env.pop(name, None)
        env.pop(name.lower(), None)
    env["HOME"] = str(home)
    env["COLUMNS"] = "200"
    if proxy is not None:
        env["HTTP_PROXY"] = f"http://127.0.0.1:{proxy}"
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_a_forged_certificate_with_a_key_set_over_http_from_elsewhere_is_refused(
    attacker, tmp_path
):
    certificate, server = attacker
    url = f"http://{ELSEWHERE}/.well-known/jwks.json"
    refused = run(
        "certificate", "verify", str(certificate), "--jwks", url, home=tmp_path, proxy=server.port
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert server.seen == []  # refused before any fetch
    assert refused.stdout == ""
    assert refused.stderr.startswith("callvault: error: ")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "http://" in refused.stderr
    assert "--insecure-jwks" in refused.stderr

    # Where the client commands connect, over plain http:// to another host: the same rule.
    by_url = run(
        "certificate",
        "verify",
        str(certificate),
        "--url",
        f"http://{ELSEWHERE}",
        home=tmp_path,
        proxy=server.port,
    )
    assert by_url.returncode == 1, by_url.stdout + by_url.stderr
    assert server.seen == []
    assert "--insecure-jwks" in by_url.stderr

    # Said so: fetched (through the proxy here), and the forgery verifies against its own keys.
    insecure = run(
        "certificate",
        "verify",
        str(certificate),
        "--jwks",
        url,
        "--insecure-jwks",
        home=tmp_path,
        proxy=server.port,
    )
    assert insecure.returncode == 0, insecure.stderr
    assert server.seen == [url]
    assert "r-forged" in insecure.stdout


def test_a_key_set_over_http_from_this_machine_is_fetched(attacker, tmp_path):
    certificate, server = attacker
    for host in ("127.0.0.1", "localhost"):
        url = f"http://{host}:{server.port}/.well-known/jwks.json"
        ok = run("certificate", "verify", str(certificate), "--jwks", url, home=tmp_path)
        assert ok.returncode == 0, ok.stderr
        assert "r-forged" in ok.stdout
    assert server.seen == ["/.well-known/jwks.json"] * 2


@pytest.fixture
def genuine(live, cli_as, tmp_path) -> tuple[Path, str]:
    cli = cli_as("purge")
    seed_calls(live.runtime, 2, seed=32)
    done = cli("purge", "sessions", "demo-0", "demo-1", "--wait", "-o", "json")
    assert done.returncode == 0, done.stderr
    request_id: str = json.loads(done.stdout)[0]["requestId"]
    target = tmp_path / "cert.jws"
    got = cli("certificate", "get", request_id, "-o", str(target))
    assert got.returncode == 0, got.stderr
    return target, request_id


def test_expect_request_and_issuer(live, genuine, tmp_path):
    certificate, request_id = genuine
    issuer = socket.gethostname()  # CALLVAULT_INSTANCE_NAME's default
    where = ["--url", live.url]

    ok = run(
        "certificate",
        "verify",
        str(certificate),
        *where,
        "--expect-request",
        request_id,
        "--expect-issuer",
        issuer,
        home=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert request_id in ok.stdout
    assert "2 calls erased" in ok.stdout

    other_request = run(
        "certificate",
        "verify",
        str(certificate),
        *where,
        "--expect-request",
        "0" * 32,
        home=tmp_path,
    )
    assert other_request.returncode == 1
    assert other_request.stdout == ""
    assert request_id in other_request.stderr  # what it certifies
    assert "0" * 32 in other_request.stderr  # and what was expected
    assert len(other_request.stderr.strip().splitlines()) == 1

    other_issuer = run(
        "certificate",
        "verify",
        str(certificate),
        *where,
        "--expect-issuer",
        "callvault.elsewhere",
        home=tmp_path,
    )
    assert other_issuer.returncode == 1
    assert issuer in other_issuer.stderr
    assert "callvault.elsewhere" in other_issuer.stderr
    assert "Traceback" not in other_issuer.stderr


def test_the_help_names_the_new_flags(tmp_path):
    shown = run("certificate", "verify", "--help", home=tmp_path)
    assert shown.returncode == 0
    for flag in ("--expect-request", "--expect-issuer", "--insecure-jwks"):
        assert flag in shown.stdout
