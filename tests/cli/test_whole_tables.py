"""Tables are never cut short: off a terminal, columns take their full width, whatever COLUMNS
says (contract §11; issue 33, item 9)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from callvault.demo import seed_calls

CLI = [sys.executable, "-m", "callvault.cli.main"]


@pytest.fixture
def cli(cli_as):
    return cli_as("purge", "hold")


def _piped(cli, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI with stdout a pipe and no COLUMNS (rich would read 80 columns)."""
    environment = {k: v for k, v in cli.env.items() if k not in ("COLUMNS", "LINES")}
    environment.update(env or {})
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=environment
    )


@pytest.mark.cli_process
def test_tables_take_their_full_width_when_piped(live, cli):
    long_ids = [f"{n}-" + "x" * 120 for n in range(2)]
    for columns in (None, "80"):
        result = _piped(
            cli, "purge", "calls", *long_ids, env={"COLUMNS": columns} if columns else None
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        for asked in long_ids:
            (line,) = [line for line in lines if asked in line]  # whole, on one line
            assert "NotFound" in line
        assert "│ status" in result.stdout or "status" in lines[1]

    seed_calls(live.runtime, 1, seed=84)
    with live.client(live.token("hold")) as client:
        for n in range(2):
            client.post(
                "/holds/v1",
                json={"matter": f"matter {n} " + "m" * 90, "reason": "R", "sessionIds": ["demo-0"]},
            )
    holds = _piped(cli, "holds", "list")
    assert holds.returncode == 0, holds.stderr
    body = [line for line in holds.stdout.splitlines() if "matter" in line and "mmm" in line]
    assert len(body) == 2, holds.stdout
    assert all("Active" in line for line in body)  # not folded to 'Acti' / 've'
