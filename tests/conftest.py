"""Shared fixtures: a fresh embedded instance per test, served by real uvicorn over a socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from callvault.api.app import create_app
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import LiveServer, post_call, serve_in_thread


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(settings)
    yield rt
    rt.close()


@pytest.fixture
def live(settings: Settings, runtime: Runtime) -> Iterator[LiveServer]:
    app = create_app(settings, runtime)
    server, thread, port = serve_in_thread(app)
    yield LiveServer(
        url=f"http://127.0.0.1:{port}", runtime=runtime, port=port, app_state=app.state
    )
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def capture() -> Callable[..., httpx.Response]:
    """POST a call to a live server: ``capture(client, info_dict, audio_bytes)``."""
    return post_call
