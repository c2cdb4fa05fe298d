"""The README tells the truth a new user needs in their first hour (issue 11's findings)."""

from __future__ import annotations

import re
from pathlib import Path

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
