"""Every audit action the code writes is one docs/api.md names: an auditor reading the trail
must find each ``action`` explained, and a new one must not slip in undocumented."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _written_actions() -> set[str]:
    """The first argument of every ``AuditEvent(...)`` in the source, where it is a literal."""
    actions = set()
    for path in (ROOT / "src" / "callvault").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "AuditEvent"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                actions.add(node.args[0].value)
    return actions


def test_the_source_writes_the_actions_this_test_knows_how_to_find():
    # Guards the finder itself: were it to find nothing, the test below would pass vacuously.
    assert {"purge.requested", "call.erased", "hold.placed"} <= _written_actions()


def test_every_action_written_is_named_in_the_api_docs():
    docs = (ROOT / "docs" / "api.md").read_text()
    missing = sorted(a for a in _written_actions() if f"`{a}`" not in docs)
    assert missing == [], f"audit actions not in docs/api.md: {missing}"
