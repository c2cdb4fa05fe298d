"""The SDK's retention methods (contract §15) against a live server, sync and async."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from callvault.client import (
    AsyncClient,
    BadRequestError,
    Client,
    ForecastDay,
    NotFoundError,
    PermissionDeniedError,
    RetentionForecast,
    RetentionPolicy,
    RetryPolicy,
)
from callvault.demo import seed_calls
from callvault.store.tables import calls

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def _client(live, *permissions: str) -> Client:
    client_id, secret = live.user(*permissions)
    return Client(live.url, client_id=client_id, client_secret=secret, retry=FAST)


def _age(runtime, call_id: str, days: int) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            update(calls)
            .where(calls.c.call_id == call_id)
            .values(start_time=datetime.now(UTC) - timedelta(days=days), direction="Inbound")
        )


def test_policy_lifecycle_and_forecast_with_the_sync_client(live) -> None:
    old, soon = seed_calls(live.runtime, 2, session_prefix="sdk-")
    _age(live.runtime, old, 40)
    _age(live.runtime, soon, 29)
    with _client(live, "retention") as cv:
        preview = cv.set_retention_policy("thirty", 30, what_if=True)
        assert isinstance(preview, RetentionPolicy)
        assert preview.expired_now == 1
        assert cv.list_retention_policies() == []
        saved = cv.set_retention_policy("thirty", 30)
        assert (saved.name, saved.max_age_days, saved.direction) == ("thirty", 30, None)
        assert saved.updated_by
        assert saved.updated_at.endswith("Z")
        inbound = cv.set_retention_policy("in", 60, direction="Inbound")
        assert inbound.direction == "Inbound"
        assert [p.name for p in cv.list_retention_policies()] == ["in", "thirty"]
        forecast = cv.retention_forecast(days=3)
        assert isinstance(forecast, RetentionForecast)
        today = datetime.now(UTC).date()
        assert forecast.days == (
            ForecastDay(today.isoformat(), 0),
            ForecastDay((today + timedelta(days=1)).isoformat(), 1),
            ForecastDay((today + timedelta(days=2)).isoformat(), 0),
        )
        assert (forecast.overdue, forecast.held) == (1, 0)
        cv.delete_retention_policy("in")
        assert [p.name for p in cv.list_retention_policies()] == ["thirty"]
        with pytest.raises(NotFoundError):
            cv.delete_retention_policy("in")
        with pytest.raises(BadRequestError):
            cv.set_retention_policy("thirty", 0)
    with _client(live, "audit") as cv, pytest.raises(PermissionDeniedError):
        cv.set_retention_policy("x", 30)


def test_the_async_client_has_the_same_methods(live) -> None:
    client_id, secret = live.user("retention")

    async def main() -> tuple[RetentionPolicy, list[RetentionPolicy], RetentionForecast]:
        async with AsyncClient(
            live.url, client_id=client_id, client_secret=secret, retry=FAST
        ) as cv:
            saved = await cv.set_retention_policy("a", 7, direction="Outbound")
            listed = await cv.list_retention_policies()
            forecast = await cv.retention_forecast()
            await cv.delete_retention_policy("a")
            return saved, listed, forecast

    saved, listed, forecast = asyncio.run(main())
    assert saved.direction == "Outbound"
    assert listed == [saved]
    assert len(forecast.days) == 30
