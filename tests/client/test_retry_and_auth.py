"""The SDK's retry, token and splitting logic, against a scripted ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from callvault.client import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    Progress,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from helpers import call_info, wav_bytes

BASE = "http://cv.test"
PURGE_PATH = "/purge/v1/calls/sessions"
CAPTURE_PATH = "/callCapture/v1/archive"
FAST = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=5.0)

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def purge_answer(request: httpx.Request, request_id: str = "req-1") -> httpx.Response:
    """What a server answers a purge: one item per asked ID, in order."""
    ids = json.loads(request.content)["ids"]
    items = [
        {
            "callId": None,
            "sessionId": i,
            "status": "NotFound" if i.endswith("7") else "Purging",
            "errorMsg": None,
        }
        for i in ids
    ]
    return httpx.Response(200, json={"items": items, "requestId": request_id})


def problem(status: int, detail: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": "about:blank", "title": "Error", "status": status, "detail": detail},
        headers={"content-type": "application/problem+json", **headers},
    )


class FakeServer:
    """Answers /Token itself; every other request takes the next scripted step."""

    def __init__(
        self,
        *script: Step,
        default: Callable[[httpx.Request], httpx.Response] = purge_answer,
        expires_in: float = 1799,
        token_answer: httpx.Response | None = None,
    ) -> None:
        self.script = list(script)
        self.default = default
        self.expires_in = expires_in
        self.token_answer = token_answer
        self.token_calls = 0
        self.calls: list[httpx.Request] = []  # every non-/Token request, in order

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Token"):
            self.token_calls += 1
            if self.token_answer is not None:
                return self.token_answer
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            assert form["grant_type"] == "client_credentials"
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.token_calls}",
                    "token_type": "bearer",
                    "expires_in": self.expires_in,
                },
            )
        self.calls.append(request)
        step: Step = self.script.pop(0) if self.script else self.default
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def client(self, **kwargs: Any) -> Client:
        kwargs.setdefault("retry", FAST)
        if "token" not in kwargs:
            kwargs.setdefault("client_id", "cv_id")
            kwargs.setdefault("client_secret", "s3cret")
        return Client(BASE, transport=self.transport, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("client_id", "cv_id")
        kwargs.setdefault("client_secret", "s3cret")
        return AsyncClient(BASE, transport=self.transport, **kwargs)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.calls]


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the delays the sync client sleeps, without sleeping."""
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    return delays


@pytest.fixture
def async_slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []

    async def fake_sleep(seconds: float, result: Any = None) -> Any:
        delays.append(seconds)
        return result

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return delays


def bearer(request: httpx.Request) -> str | None:
    return request.headers.get("authorization")


# -- status codes ------------------------------------------------------------------------------


def test_429_then_200_succeeds_with_two_requests(slept: list[float]) -> None:
    fake = FakeServer(problem(429, "slow down", **{"Retry-After": "0"}))
    with fake.client() as cv:
        result = cv.purge_sessions(["a", "b"])
    assert [i.id for i in result.items] == ["a", "b"]
    assert fake.paths() == [PURGE_PATH, PURGE_PATH]
    assert slept == [0.0]


def test_retry_after_value_is_what_is_slept(slept: list[float]) -> None:
    fake = FakeServer(problem(429, "slow down", **{"Retry-After": "2"}))
    with fake.client(retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=30.0)) as cv:
        cv.purge_sessions(["a"])
    assert slept == [2.0]
    assert len(fake.calls) == 2


def test_a_retry_after_beyond_max_delay_is_raised_at_once(slept: list[float]) -> None:
    """An hourly erasure quota answers Retry-After in minutes: retrying sooner would only be
    refused again, and waiting silently would hang a script, so the SDK says it at once."""
    fake = FakeServer(problem(429, "slow down", **{"Retry-After": "120"}))
    with (
        fake.client(retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=5.0)) as cv,
        pytest.raises(RateLimitError) as info,
    ):
        cv.purge_sessions(["a"])
    assert info.value.retry_after == 120.0
    assert len(fake.calls) == 1
    assert slept == []


def test_a_retry_after_within_max_delay_is_waited_out(slept: list[float]) -> None:
    fake = FakeServer(problem(429, "slow down", **{"Retry-After": "4"}))
    with fake.client(retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=5.0)) as cv:
        cv.purge_sessions(["a"])
    assert slept == [4.0]


def test_429_every_time_raises_rate_limit_after_max_attempts(slept: list[float]) -> None:
    answers = [problem(429, "slow down", **{"Retry-After": "1"}) for _ in range(3)]
    fake = FakeServer(*answers)
    with (
        fake.client(retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=5.0)) as cv,
        pytest.raises(RateLimitError) as info,
    ):
        cv.purge_sessions(["a"])
    assert info.value.status_code == 429
    assert info.value.retry_after == 1.0
    assert len(fake.calls) == 3
    assert slept == [1.0, 1.0]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(status: int, slept: list[float]) -> None:
    fake = FakeServer(problem(status, "try later"))
    with fake.client() as cv:
        result = cv.purge_sessions(["x1"])
    assert result.items[0].status == "Purging"
    assert len(fake.calls) == 2


def test_503_every_time_raises_server_error_after_max_attempts(slept: list[float]) -> None:
    fake = FakeServer(*(problem(503, "down") for _ in range(4)))
    with fake.client() as cv, pytest.raises(ServerError) as info:
        cv.purge_sessions(["x1"])
    assert info.value.status_code == 503
    assert len(fake.calls) == FAST.max_attempts


def test_500_is_not_retried(slept: list[float]) -> None:
    fake = FakeServer(problem(500, "boom"))
    with fake.client() as cv, pytest.raises(ServerError) as info:
        cv.purge_sessions(["x1"])
    assert info.value.status_code == 500
    assert info.value.detail == "boom"
    assert len(fake.calls) == 1
    assert slept == []


def test_400_is_not_retried_and_carries_problem_details(slept: list[float]) -> None:
    answer = problem(400, "ids must hold 1 to 100 strings", **{"X-Request-Id": "rid-9"})
    fake = FakeServer(answer)
    with fake.client() as cv, pytest.raises(BadRequestError) as info:
        cv.purge_sessions(["x1"])
    err = info.value
    assert err.status_code == 400
    assert err.detail == "ids must hold 1 to 100 strings"
    assert err.body == {
        "type": "about:blank",
        "title": "Error",
        "status": 400,
        "detail": "ids must hold 1 to 100 strings",
    }
    assert err.request_id == "rid-9"
    assert "ids must hold 1 to 100 strings" in str(err)
    assert len(fake.calls) == 1
    assert slept == []


def test_retry_after_as_http_date(slept: list[float]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    fake = FakeServer(problem(503, "maintenance", **{"Retry-After": when}))
    with fake.client(retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=30.0)) as cv:
        cv.purge_sessions(["a"])
    assert len(slept) == 1
    assert 7.0 <= slept[0] <= 10.0


def test_error_with_a_non_json_body(slept: list[float]) -> None:
    fake = FakeServer(httpx.Response(500, text="<html>proxy error</html>"))
    with fake.client() as cv, pytest.raises(ServerError) as info:
        cv.purge_sessions(["a"])
    assert info.value.status_code == 500
    assert info.value.detail is None
    assert info.value.body == "<html>proxy error</html>"


# -- tokens ------------------------------------------------------------------------------------


def test_401_fetches_a_fresh_token_and_retries_once(slept: list[float]) -> None:
    fake = FakeServer(problem(401, "token expired", **{"WWW-Authenticate": "Bearer"}))
    with fake.client() as cv:
        result = cv.purge_sessions(["a"])
    assert result.items[0].id == "a"
    assert fake.token_calls == 2
    assert [bearer(r) for r in fake.calls] == ["Bearer tok-1", "Bearer tok-2"]


def test_second_consecutive_401_raises(slept: list[float]) -> None:
    fake = FakeServer(problem(401, "no"), problem(401, "still no"))
    with fake.client() as cv, pytest.raises(AuthenticationError) as info:
        cv.purge_sessions(["a"])
    assert info.value.status_code == 401
    assert fake.token_calls == 2
    assert len(fake.calls) == 2


def test_static_token_never_calls_token_endpoint(slept: list[float]) -> None:
    fake = FakeServer()
    with fake.client(token="static-tok") as cv:
        cv.purge_sessions(["a"])
        cv.purge_sessions(["b"])
    assert fake.token_calls == 0
    assert [bearer(r) for r in fake.calls] == ["Bearer static-tok"] * 2


def test_static_token_401_raises_at_once(slept: list[float]) -> None:
    fake = FakeServer(problem(401, "revoked"))
    with fake.client(token="static-tok") as cv, pytest.raises(AuthenticationError):
        cv.purge_sessions(["a"])
    assert fake.token_calls == 0
    assert len(fake.calls) == 1


def test_token_is_cached_across_calls(slept: list[float]) -> None:
    fake = FakeServer()
    with fake.client() as cv:
        for n in range(4):
            cv.purge_sessions([f"id-{n}"])
    assert fake.token_calls == 1
    assert {bearer(r) for r in fake.calls} == {"Bearer tok-1"}


def test_token_refreshed_within_45_seconds_of_expiry(slept: list[float]) -> None:
    fake = FakeServer(expires_in=100)
    now = [1000.0]
    with fake.client() as cv:
        cv.session.clock = lambda: now[0]
        cv.purge_sessions(["a"])
        assert fake.token_calls == 1
        now[0] = 1000.0 + 54.9  # 45.1 s left: still good
        cv.purge_sessions(["b"])
        assert fake.token_calls == 1
        now[0] = 1000.0 + 55.0  # 45 s left: refresh
        cv.purge_sessions(["c"])
        assert fake.token_calls == 2
        now[0] = 1000.0 + 55.0 + 54.9  # the new token is good for 100 s from its fetch
        cv.purge_sessions(["d"])
        assert fake.token_calls == 2
    assert [bearer(r) for r in fake.calls] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
        "Bearer tok-2",
    ]


def test_token_endpoint_refusal_raises_authentication_error(slept: list[float]) -> None:
    fake = FakeServer(token_answer=httpx.Response(400, json={"error": "invalid_client"}))
    with fake.client() as cv, pytest.raises(AuthenticationError) as info:
        cv.purge_sessions(["a"])
    assert info.value.status_code == 400
    assert info.value.detail == "invalid_client"
    assert info.value.body == {"error": "invalid_client"}
    assert fake.calls == []
    assert fake.token_calls == 1


def test_token_refusal_under_a_path_prefix_raises_authentication_error(
    slept: list[float],
) -> None:
    fake = FakeServer(token_answer=httpx.Response(400, json={"error": "invalid_client"}))
    with (
        Client(
            BASE + "/api",
            client_id="cv_id",
            client_secret="s3cret",
            transport=fake.transport,
            retry=FAST,
        ) as cv,
        pytest.raises(AuthenticationError),
    ):
        cv.purge_sessions(["a"])


# -- connection failures -----------------------------------------------------------------------


def test_connect_error_once_then_success(slept: list[float]) -> None:
    fake = FakeServer(httpx.ConnectError("connection refused"))
    with fake.client() as cv:
        result = cv.purge_sessions(["a"])
    assert result.items[0].status == "Purging"
    assert len(fake.calls) == 2


def test_read_error_on_purge_is_retried(slept: list[float]) -> None:
    fake = FakeServer(httpx.ReadError("connection reset by peer"))
    with fake.client() as cv:
        result = cv.purge_sessions(["a"])
    assert result.items[0].id == "a"
    assert len(fake.calls) == 2


def capture_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"callId": "call-1"})


@pytest.mark.parametrize(
    "error",
    [httpx.ReadError, httpx.ReadTimeout, httpx.WriteError, httpx.RemoteProtocolError],
)
def test_mid_exchange_failure_on_capture_is_not_retried(
    error: type[httpx.TransportError], slept: list[float]
) -> None:
    fake = FakeServer(error("connection reset by peer"), default=capture_ok)
    with fake.client() as cv, pytest.raises(TransportError) as info:
        cv.capture_call(wav_bytes(0.1), call_info("s-1"))
    assert isinstance(info.value.__cause__, error)
    assert fake.paths() == [CAPTURE_PATH]


def test_connect_timeout_on_capture_is_retried(slept: list[float]) -> None:
    fake = FakeServer(httpx.ConnectTimeout("timed out"), default=capture_ok)
    with fake.client() as cv:
        assert cv.capture_call(wav_bytes(0.1), call_info("s-1")) == "call-1"
    assert fake.paths() == [CAPTURE_PATH, CAPTURE_PATH]


@pytest.mark.parametrize("as_stream", [False, True], ids=["bytes", "stream"])
def test_connect_error_on_capture_is_retried_with_the_whole_body(
    as_stream: bool, slept: list[float]
) -> None:
    audio = wav_bytes(0.1, marker=b"MARK")
    fake = FakeServer(httpx.ConnectError("connection refused"), default=capture_ok)
    with fake.client() as cv:
        source: Any = io.BytesIO(audio) if as_stream else audio
        assert cv.capture_call(source, call_info("s-1")) == "call-1"
    assert fake.paths() == [CAPTURE_PATH, CAPTURE_PATH]
    for request in fake.calls:
        assert audio in request.content
        assert b'"sessionId": "s-1"' in request.content


def test_connect_error_every_time_raises_transport_error(slept: list[float]) -> None:
    fake = FakeServer(*(httpx.ConnectError("refused") for _ in range(3)))
    with (
        fake.client(retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=1.0)) as cv,
        pytest.raises(TransportError) as info,
    ):
        cv.purge_sessions(["a"])
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(fake.calls) == 3


# -- splitting ---------------------------------------------------------------------------------


def numbered_answers() -> Callable[[httpx.Request], httpx.Response]:
    """Purge answers whose request IDs count up: req-1, req-2, …"""
    counter = itertools.count(1)

    def answer(request: httpx.Request) -> httpx.Response:
        return purge_answer(request, request_id=f"req-{next(counter)}")

    return answer


def ids_with_duplicates() -> tuple[list[str], list[str]]:
    unique = [f"sess-{n:03d}" for n in range(230)]
    asked = list(unique)
    for k in range(20):  # repeats mixed in, each after its first occurrence
        asked.insert(10 * k + 5, unique[7 * k])
    assert len(asked) == 250
    return asked, list(dict.fromkeys(asked))


def check_split(fake: FakeServer, result: Any, progress: list[Progress], unique: list[str]) -> None:
    assert len(fake.calls) == math.ceil(len(unique) / 100) == 3
    sent = [json.loads(r.content)["ids"] for r in fake.calls]
    assert all(1 <= len(chunk) <= 100 for chunk in sent)
    assert [i for chunk in sent for i in chunk] == unique
    assert [item.id for item in result.items] == unique
    assert all(item.session_id == item.id for item in result.items)
    assert [item.status for item in result.items] == [
        "NotFound" if i.endswith("7") else "Purging" for i in unique
    ]
    assert result.request_ids == ["req-1", "req-2", "req-3"]
    assert [item.request_id for item in result.items] == (
        ["req-1"] * 100 + ["req-2"] * 100 + ["req-3"] * 30
    )
    assert [(p.done, p.total) for p in progress] == [(100, 230), (200, 230), (230, 230)]
    assert {p.stage for p in progress} == {"submit"}


def test_purge_sessions_splits_into_chunks_in_order(slept: list[float]) -> None:
    asked, unique = ids_with_duplicates()
    fake = FakeServer(default=numbered_answers())
    progress: list[Progress] = []
    with fake.client() as cv:
        result = cv.purge_sessions(iter(asked), progress=progress.append)
    check_split(fake, result, progress, unique)
    assert all(r.url.params.get("whatIf") is None for r in fake.calls)


def test_what_if_is_sent_as_query_parameter(slept: list[float]) -> None:
    fake = FakeServer()
    with fake.client() as cv:
        cv.purge_calls(["c1"], what_if=True)
    assert fake.calls[0].url.path == "/purge/v1/calls"
    assert fake.calls[0].url.params["whatIf"] == "true"


def test_purge_with_no_ids_raises_value_error() -> None:
    fake = FakeServer()
    with fake.client() as cv, pytest.raises(ValueError, match="at least one"):
        cv.purge_sessions([])
    assert fake.calls == []


# -- construction ------------------------------------------------------------------------------


def test_instance_gives_tethr_host() -> None:
    fake = FakeServer()
    with Client(instance="acme", token="t", transport=fake.transport, retry=FAST) as cv:
        assert cv.base_url == "https://acme.audio.tethr.io"
        cv.purge_sessions(["a"])
    assert str(fake.calls[0].url) == "https://acme.audio.tethr.io/purge/v1/calls/sessions"


NO_CREDENTIALS = "client_id and client_secret, or a token"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": BASE, "instance": "acme", "token": "t"}, "either base_url or instance"),
        ({"token": "t"}, "give base_url"),
        ({"base_url": BASE}, NO_CREDENTIALS),
        ({"base_url": BASE, "client_id": "cv_id"}, NO_CREDENTIALS),
        ({"base_url": BASE, "client_secret": "s"}, NO_CREDENTIALS),
    ],
    ids=["both-places", "no-place", "no-credentials", "no-secret", "no-id"],
)
def test_bad_construction_raises_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Client(**kwargs)
    with pytest.raises(ValueError, match=message):
        AsyncClient(**kwargs)


# -- the async twin ----------------------------------------------------------------------------


def test_async_429_retry_honours_retry_after(async_slept: list[float]) -> None:
    fake = FakeServer(problem(429, "slow down", **{"Retry-After": "2"}))

    async def main() -> Any:
        async with fake.async_client() as cv:
            return await cv.purge_sessions(["a", "b"])

    result = asyncio.run(main())
    assert [i.id for i in result.items] == ["a", "b"]
    assert len(fake.calls) == 2
    assert async_slept == [2.0]


def test_async_401_refreshes_token(async_slept: list[float]) -> None:
    fake = FakeServer(problem(401, "expired"))

    async def main() -> Any:
        async with fake.async_client() as cv:
            return await cv.purge_sessions(["a"])

    result = asyncio.run(main())
    assert result.items[0].id == "a"
    assert fake.token_calls == 2
    assert [bearer(r) for r in fake.calls] == ["Bearer tok-1", "Bearer tok-2"]


def test_async_second_401_raises(async_slept: list[float]) -> None:
    fake = FakeServer(problem(401, "no"), problem(401, "no"))

    async def main() -> None:
        async with fake.async_client() as cv:
            await cv.purge_sessions(["a"])

    with pytest.raises(AuthenticationError):
        asyncio.run(main())
    assert fake.token_calls == 2


def test_async_read_error_on_capture_is_not_retried(async_slept: list[float]) -> None:
    fake = FakeServer(httpx.ReadError("reset"), default=capture_ok)

    async def main() -> None:
        async with fake.async_client() as cv:
            await cv.capture_call(wav_bytes(0.1), call_info("s-1"))

    with pytest.raises(TransportError):
        asyncio.run(main())
    assert fake.paths() == [CAPTURE_PATH]


def test_async_purge_splits_into_chunks_in_order(async_slept: list[float]) -> None:
    asked, unique = ids_with_duplicates()
    fake = FakeServer(default=numbered_answers())
    progress: list[Progress] = []

    async def main() -> Any:
        async with fake.async_client(progress=progress.append) as cv:
            return await cv.purge_sessions(asked)

    result = asyncio.run(main())
    check_split(fake, result, progress, unique)
