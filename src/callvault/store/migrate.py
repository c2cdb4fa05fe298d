"""Schema migrations (Alembic): ``callvault db upgrade``, and on ``serve``/``worker`` start."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from callvault.store.engine import unbounded, write_transaction

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head_revision() -> str | None:
    """The newest migration's revision (the scripts are read once a process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with write_transaction(engine) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if revision == "head" and current == head_revision():
            # Every serve, worker and CLI command upgrades on open: at head, skip Alembic's
            # environment and scripts (a reopen 32-40 ms -> about 10 ms).
            return
        # A migration may rebuild an index over a million calls: no statement timeout.
        unbounded(conn, local=True)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
