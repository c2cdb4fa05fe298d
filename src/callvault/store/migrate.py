"""Schema migrations (Alembic): ``callvault db upgrade``, and on ``serve``/``worker`` start.

A store already at the newest revision (every start but the first after an upgrade) is told by
reading ``alembic_version`` and the scripts' ``revision``/``down_revision`` lines as text: Alembic
(with Mako and Pygments, which it loads) and the scripts themselves are imported only when there
is something to upgrade, which keeps them out of a worker's start (bench/README.md, "A worker's
first erasure").
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, column, inspect, select, table

from callvault.store.engine import unbounded, write_transaction

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py does not change it
_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])\s*$""", re.M)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@cache
def head_revision() -> str | None:
    """The newest migration's revision (the scripts are read once a process): the one revision
    no script names as its ``down_revision``. Alembic's own reading (which imports every script)
    when a script's lines are not that plain (a merge's tuple, a branch) or the heads are not one.
    """
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.search(source)
        if len(revision) != 1 or down is None:
            return _alembic_head()
        revisions.add(revision[0])
        if down.group(1):
            downs.add(down.group(1))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _current_revision(conn: Connection) -> str | None:
    """The store's revision, or None when it has none or more than one (Alembic decides)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    versions = table(VERSION_TABLE, column("version_num"))
    found = conn.execute(select(versions.c.version_num)).scalars().all()
    return str(found[0]) if len(found) == 1 else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    with write_transaction(engine) as conn:
        if revision == "head":
            current = _current_revision(conn)
            if current is not None and current == head_revision():
                # Every serve, worker and CLI command upgrades on open: at head, skip Alembic's
                # environment and scripts (a reopen 32-40 ms -> about 10 ms).
                return
        from alembic import command

        config = alembic_config()
        # A migration may rebuild an index over a million calls: no statement timeout.
        unbounded(conn, local=True)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
