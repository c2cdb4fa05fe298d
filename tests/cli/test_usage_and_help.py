"""Usage errors are one line on stderr (as the README promises), and every --help reads as
plain text: no ``<bool>`` / ``{name}`` placeholders."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.core import TyperGroup

from callvault.cli.main import command_tree

CLI = [sys.executable, "-m", "callvault.cli.main"]


@pytest.mark.parametrize(
    "args",
    [
        ["purge", "calls", "x", "--no-such-flag"],
        ["purge", "calls", "x", "--output", "xml"],
        ["users", "create", "x"],  # --permission is required
        ["serve", "--port", "eighty"],
        ["no-such-command"],
        ["status"],  # a session ID is required
    ],
)
def test_usage_errors_are_one_line_exit_2(args, tmp_path):
    env = {**os.environ, "COLUMNS": "60", "CALLVAULT_URL": "http://127.0.0.1:9"}
    result = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("callvault: error: "), lines[0]
    assert "--help" in lines[0]  # where to look next
    assert not list(tmp_path.iterdir())  # nothing was created


def _commands(command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def _help(path: tuple[str, ...], capsys) -> str:
    code = command_tree().main([*path, "--help"], prog_name="callvault", standalone_mode=False)
    assert code == 0, path
    return str(capsys.readouterr().out)


def test_help_has_no_placeholders(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    paths = list(_commands(command_tree()))
    assert ("users", "create") in paths
    for path in paths:
        text = _help(path, capsys)
        assert "Usage: callvault" in text, path
        assert not re.search(r"<[\w\[\]|,. ]+>", text), (path, text)
        assert not re.search(r"\{\w+\}", text), (path, text)
    create = _help(("users", "create"), capsys)
    assert "Usage: callvault users create [OPTIONS] NAME" in create
    assert re.search(r"--data-dir\s+DIR", create), create
    purge = _help(("purge", "calls"), capsys)
    assert "[OPTIONS] [IDS]..." in purge
    assert re.search(r"--output\s+-o\s+\[table\|json\|csv\]", purge), purge
