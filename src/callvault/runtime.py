"""The open stores of one instance (database, key store, blobs, keys), built from ``Settings``."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from sqlalchemy import Engine

from callvault.blobs import BlobStore, open_blob_store
from callvault.crypto import KeyRing, decode_master_key, generate_master_key
from callvault.files import open_private, private_dir
from callvault.settings import Settings
from callvault.store.checkpointer import BackgroundCheckpointer
from callvault.store.engine import is_sqlite, make_engine
from callvault.store.holds import seal_clear_texts
from callvault.store.keystore import KeyStore
from callvault.store.migrate import upgrade
from callvault.store.reindex import reindex_marked


class ConfigurationError(RuntimeError):
    """The settings cannot work as given; the message says which setting to fix."""


def load_master_key(settings: Settings) -> bytes:
    """The master key from the setting, else from the data dir's 0600 key file (made on first run;
    refused when group or others may open it).

    A generated key is only acceptable for the embedded store: a server fleet needs one key shared
    by every node, so it must be configured explicitly.
    """
    if settings.master_key:
        try:
            return decode_master_key(settings.master_key)
        except ValueError as exc:
            raise ConfigurationError(f"CALLVAULT_MASTER_KEY: {exc}") from exc
    path = settings.master_key_path
    if not path.exists():
        if not settings.is_embedded:
            raise ConfigurationError(
                "CALLVAULT_MASTER_KEY is required when the database is not the embedded default"
            )
        private_dir(path.parent)
        try:
            fd = open_private(path, os.O_WRONLY | os.O_EXCL)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_master_key() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:  # a key others can read is a key others may have copied: say so, don't use it
        raise ConfigurationError(
            f"{path} is open to group or others (mode {mode:04o}); "
            f"the master key must be private: run chmod 600 {path}"
        )
    try:
        return decode_master_key(path.read_text())
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    keystore: KeyStore
    blobs: BlobStore
    keys: KeyRing
    # SQLite's WAL checkpoints, off the request path (store/checkpointer.py); none on PostgreSQL.
    checkpointers: list[BackgroundCheckpointer] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        private_dir(settings.data_dir)
        keys = KeyRing(load_master_key(settings))
        timeout = settings.db_statement_timeout_seconds
        engine = make_engine(settings.resolved_database_url, True, timeout)
        if migrate:
            upgrade(engine)
        keystore = KeyStore(settings.resolved_keystore_url, True, timeout)
        if migrate:
            # The half of migration 0018 that needs the key store: the calls it marked are
            # re-indexed under today's rules before anything is served (store/reindex.py).
            reindex_marked(engine, keystore, keys, settings.default_region)
            # The half of migration 0020 that needs the master key: holds' texts sealed.
            seal_clear_texts(engine, keys)
        runtime = cls(
            settings=settings,
            engine=engine,
            keystore=keystore,
            blobs=open_blob_store(
                settings.resolved_blob_url, settings.s3_endpoint_url, settings.s3_timeout_seconds
            ),
            keys=keys,
            checkpointers=[
                BackgroundCheckpointer(e) for e in (engine, keystore.engine) if is_sqlite(e)
            ],
        )
        for checkpointer in runtime.checkpointers:
            checkpointer.start()
        return runtime

    def close(self) -> None:
        for checkpointer in self.checkpointers:
            checkpointer.close()
        self.engine.dispose()
        self.keystore.dispose()
