"""Rate limits (429 + Retry-After) and read timeouts, configurable (§8)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from callvault.api.app import create_app
from callvault.ratelimit import RateLimiter
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import LiveServer, call_info, serve_in_thread


@pytest.fixture
def strict_live(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        rate_limit_per_minute=12,
        token_rate_limit_per_minute=18,
        read_timeout_seconds=0.5,
    )
    runtime = Runtime.open(settings)
    server, thread, port = serve_in_thread(create_app(settings, runtime))
    yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime, port=port)
    server.should_exit = True
    thread.join(timeout=20)
    runtime.close()


def test_a_user_over_the_limit_gets_429_with_retry_after(strict_live):
    token = strict_live.token("capture")
    other = strict_live.token("capture")
    with strict_live.client(token) as client:
        codes = [client.get("/callCapture/v1/status/x").status_code for _ in range(2)]
        answer = client.get("/callCapture/v1/status/x")
    assert codes == [200, 200]  # a burst of a sixth of the minute's 12
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    # A Tethr endpoint, and httpx names no problem+json in its Accept: Tethr JSON (§8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert "12 requests a minute" in answer.json()["detail"]
    with strict_live.client(other) as client:  # limits are per user
        assert client.get("/callCapture/v1/status/x").status_code == 200


def test_token_requests_are_limited_per_address(strict_live):
    client_id, _ = strict_live.user("capture")
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "bad"}
    codes = [httpx.post(f"{strict_live.url}/Token", data=form).status_code for _ in range(6)]
    assert codes[:3] == [400, 400, 400]
    assert 429 in codes
    answer = httpx.post(f"{strict_live.url}/Token", data=form)
    assert answer.status_code == 429
    assert answer.json()["error"] == "temporarily_unavailable"
    assert "retry-after" in answer.headers


def test_a_silent_upload_is_cut_off_with_408(strict_live):
    token = strict_live.token("capture")
    head = (
        "POST /callCapture/v1/archive HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
        "--b\r\nContent-Disposition: form-data; name=data\r\n\r\nsome audio"
    ).encode()
    with socket.create_connection(("127.0.0.1", strict_live.port), timeout=10) as sock:
        sock.sendall(head)
        started = time.monotonic()
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 408")
    assert time.monotonic() - started < 8
    assert list(strict_live.runtime.blobs.iter_keys()) == []


def test_the_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # 1 a second, bursts of 10
    assert all(limiter.acquire("u") is None for _ in range(10))
    wait = limiter.acquire("u")
    assert wait == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.acquire("u") is None
    assert RateLimiter(0).acquire("u") is None  # 0 disables


def test_default_limits_leave_normal_use_alone(live, capture):
    with live.client(live.token("capture")) as client:
        for n in range(30):
            assert capture(client, call_info(f"n{n}")).status_code == 200
