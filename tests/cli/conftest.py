"""The client CLI run as a user runs it, against a live server over real HTTP, with credentials in
its environment.

A run is the CLI's own entry point called in the test's process (tests/cli_runner.py): that
proves what a process proves of a client command but the process itself, and saves the ~0.5-1 s
of interpreter start and imports each invocation cost (a file of CLI tests started 10-30 of
them a test). A test marked ``cli_process`` runs every invocation as a real ``python -m
callvault.cli.main`` process instead: each command group keeps at least one such test, so the
entry point, the environment read at start-up and the exit status of a real process stay
proven.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from cli_runner import CLI, run_in_process


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cli_process: cli_as runs the CLI as a real process (each command group keeps one)",
    )


@pytest.fixture
def cli_as(live, tmp_path_factory, request) -> Callable[..., Any]:
    """``cli_as("hold", "purge")``: a runner for the CLI as a new API user with those
    permissions, pointed at the live server (``run.env`` is its environment)."""
    process = request.node.get_closest_marker("cli_process") is not None

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
            if not process:
                return run_in_process(list(args), stdin, {**env, **(extra_env or {})})
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
