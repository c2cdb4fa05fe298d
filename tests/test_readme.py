"""The README tells the truth a new user needs in their first hour (issue 11's findings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callvault.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _configuration_table() -> list[str]:
    section = README.split("## Configuration", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variable"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_configuration_table_is_one_table_naming_every_setting():
    # A blank line inside a Markdown table ends it: the rows after it render as text.
    rows = "\n".join(_configuration_table())
    missing = [
        f"CALLVAULT_{name.upper()}"
        for name in Settings.model_fields
        if f"`CALLVAULT_{name.upper()}`" not in rows
    ]
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_docs_stand_alone():
    # A clone has no ../shared folder: the project's docs must not send readers there.
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert "shared/docs" not in text, f"{doc.name} points outside the project"


def test_shell_examples_set_every_variable_they_use():
    known = {"HOME", "PWD"}
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL):
        assigned: set[str] = set()
        for line in block.splitlines():
            for name in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", line):
                if not name.startswith("CALLVAULT_"):
                    assert name in assigned | known, f"${name} is used before it is set:\n{block}"
            assigned.update(re.findall(r"(?:^|\s|export\s)([A-Z_][A-Z0-9_]*)=", line))


def _block_with(text: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    (block,) = [b for b in blocks if text in b]
    return block


@pytest.mark.slow
def test_the_quick_start_runs_as_written(tmp_path):
    """A new user's first hour, as the README writes it: the server on the embedded default in
    one terminal, then the recorder's block and the compliance engineer's block in another, in
    the same folder (where ``scripts/serve.sh`` made ``.venv``). Only the port differs, so the
    test can run beside others."""
    import os
    import subprocess

    from helpers import free_port, wait_healthy

    port = free_port()
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLVAULT_") and k != "HOME"}
    env |= {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    server = subprocess.Popen(
        [str(tmp_path / ".venv/bin/callvault"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, deadline=60, verify=True)

        def run(block: str) -> subprocess.CompletedProcess[str]:
            script = "set -euo pipefail\n" + block.replace("localhost:8000", f"localhost:{port}")
            return subprocess.run(
                ["bash", "-c", script],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        recorder = run(_block_with("users create recorder"))
        assert recorder.returncode == 0, recorder.stderr
        assert '"callId"' in recorder.stdout, recorder.stdout + recorder.stderr

        officer = run(_block_with("users create officer"))
        assert officer.returncode == 0, officer.stdout + officer.stderr
        assert "WhatIf" in officer.stdout  # the preview listed the call
        assert "Purged: 1" in officer.stderr  # and --wait saw it erased (progress: stderr)
    finally:
        server.terminate()
        server.wait(30)
