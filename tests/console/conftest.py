"""Console fixtures: API users with passwords, and an HTTP client logged in as one."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from callvault.auth.users import create_user
from console_helpers import PASSWORD, Browserless, log_in
from helpers import LiveServer

_names = itertools.count()


@pytest.fixture
def person(live: LiveServer) -> Callable[..., str]:
    """``person("purge", "audit")`` creates an API user with a console password; its name."""

    def make(*permissions: str) -> str:
        name = f"person-{next(_names)}"
        create_user(live.runtime.engine, name, list(permissions), password=PASSWORD)
        return name

    return make


@pytest.fixture
def console_as(
    live: LiveServer, person: Callable[..., str]
) -> Iterator[Callable[..., Browserless]]:
    opened: list[Browserless] = []

    def make(*permissions: str) -> Browserless:
        session = log_in(live.url, person(*permissions))
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.http.close()
