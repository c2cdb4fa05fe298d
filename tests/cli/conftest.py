"""The client CLI run as a user would run it: a subprocess with credentials in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

CLI = [sys.executable, "-m", "callvault.cli.main"]


@pytest.fixture
def cli_as(live, tmp_path_factory) -> Callable[..., Any]:
    """``cli_as("hold", "purge")``: a runner for the CLI as a new API user with those
    permissions, pointed at the live server (``run.env`` is its environment)."""

    def make(*permissions: str) -> Callable[..., subprocess.CompletedProcess[str]]:
        client_id, secret = live.user(*permissions)
        env = {
            **os.environ,
            "CALLVAULT_URL": live.url,
            "CALLVAULT_CLIENT_ID": client_id,
            "CALLVAULT_CLIENT_SECRET": secret,
            "HOME": str(tmp_path_factory.mktemp("home")),  # no ~/.config/callvault of the machine
            "COLUMNS": "200",
        }
        for name in ("CALLVAULT_TOKEN", "CALLVAULT_PROFILE", "CALLVAULT_CONFIG"):
            env.pop(name, None)

        def run(
            *args: str, stdin: str | None = None, extra_env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*CLI, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=300,
                env={**env, **(extra_env or {})},
            )

        run.env = env  # type: ignore[attr-defined]  # for tests that start the command themselves
        return run

    return make
