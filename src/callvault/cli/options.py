"""Options shared by the server-side commands; each is also a ``CALLVAULT_<NAME>`` variable.

Every server command takes the same store options (``@server_command``): where the calls
database, the key store and the blobs are. The options of a few commands each (log level, purge
lease) are aliases here, written once.

One store, wherever a command runs: ``serve`` and ``worker`` use ``--data-dir`` (default
``./callvault-data``, created with a master key on first start) and remember its absolute path in
``$XDG_STATE_HOME/callvault/data-dir`` (default ``~/.local/state/callvault/data-dir``). The
other server commands administer an existing store and never create one where none is: given no
``--data-dir``, ``CALLVAULT_DATA_DIR`` or database URL, and no ``./callvault-data`` here, they
use the remembered store (and say so), or fail naming the path they looked at.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from callvault.cli.depends import uses

if TYPE_CHECKING:
    from callvault.runtime import Runtime
    from callvault.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="CALLVAULT_DATA_DIR", help="Data folder of the embedded store."
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="CALLVAULT_DATABASE_URL", help="SQLAlchemy URL of the calls DB."
    ),
]
KeystoreUrl = Annotated[
    str | None,
    typer.Option(
        "--keystore-url", envvar="CALLVAULT_KEYSTORE_URL", help="SQLAlchemy URL of the key store."
    ),
]
BlobUrl = Annotated[
    str | None,
    typer.Option(
        "--blob-url", envvar="CALLVAULT_BLOB_URL", help="file:///path or s3://bucket/prefix."
    ),
]
S3Endpoint = Annotated[
    str | None,
    typer.Option(
        "--s3-endpoint-url", envvar="CALLVAULT_S3_ENDPOINT_URL", help="S3-compatible endpoint."
    ),
]
DefaultRegion = Annotated[
    str | None,
    typer.Option(
        "--default-region",
        envvar="CALLVAULT_DEFAULT_REGION",
        help="Region for phone numbers without a country code (default US).",
    ),
]


LogLevel = Annotated[
    str, typer.Option("--log-level", envvar="CALLVAULT_LOG_LEVEL", help="Python log level.")
]
PurgeLease = Annotated[
    float | None,
    typer.Option(
        "--purge-lease-seconds",
        envvar="CALLVAULT_PURGE_LEASE_SECONDS",
        help="Lease of a claimed job.",
    ),
]


def build_settings(**given: Any) -> Settings:
    """Settings from flags (given) over environment over defaults. A value that is not
    allowed is a one-line usage error (exit 2) naming its variable, never a traceback."""
    from pydantic import ValidationError

    from callvault.cli.errors import fail
    from callvault.settings import Settings

    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CALLVAULT_" + "_".join(str(part) for part in first["loc"]).upper()
        reason = first.get("ctx", {}).get("error") or first["msg"]
        fail(f"{name}: {reason}", code=2)


DEFAULT_DATA_DIR = Path("callvault-data")


def remembered_store_file() -> Path:
    """Where `serve` and `worker` remember their store (XDG base directories: state)."""
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "callvault" / "data-dir"


def remember_store(data_dir: Path) -> None:
    pointer = remembered_store_file()
    try:
        pointer.parent.mkdir(parents=True, exist_ok=True)
        partial = pointer.with_name(f".{pointer.name}.{os.getpid()}")
        partial.write_text(f"{data_dir}\n")
        partial.replace(pointer)
    except OSError as exc:
        say(f"cannot remember the store in {pointer}: {exc.strerror or exc}")


def remembered_store() -> Path | None:
    try:
        text = remembered_store_file().read_text().strip()
    except OSError:
        return None
    return Path(text) if text and os.path.isabs(text) else None


def say(line: str) -> None:
    """One line on stderr, as every command writes what is not its result."""
    print(f"callvault: {line}", file=sys.stderr, flush=True)


def program() -> str:
    """How the user runs this command: ``callvault`` on PATH, else the script's path (for
    ``scripts/serve.sh``: ``.venv/bin/callvault``)."""
    script = Path(sys.executable).parent / "callvault"
    found = shutil.which("callvault")
    if not script.exists() or (found and Path(found).resolve() == script.resolve()):
        return "callvault"
    try:
        return str(script.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _existing_store() -> Path:
    """The store an admin command means when none was named: ./callvault-data, else the one
    `serve` remembered; never a new one."""
    from callvault.cli.errors import fail

    here = DEFAULT_DATA_DIR.absolute()
    if here.is_dir():
        return here
    remembered = remembered_store()
    if remembered is not None and remembered.is_dir():
        say(f"using the store {remembered} (the one `callvault serve` last used)")
        return remembered
    gone = f" nor at {remembered}, which `callvault serve` last used" if remembered else ""
    fail(
        f"no store at {here}{gone} (none created): run this where `callvault serve` runs, or "
        "give --data-dir DIR or CALLVAULT_DATA_DIR",
        code=2,
    )


@dataclass(frozen=True)
class Store:
    """Where one instance keeps its calls, keys and blobs, as the store options said."""

    data_dir: Path | None
    database_url: str | None
    keystore_url: str | None
    blob_url: str | None
    s3_endpoint_url: str | None

    def settings(self, *, create: bool, **overrides: Any) -> Settings:
        """Settings from flags over environment over defaults; with ``create`` False, an
        unnamed embedded store must exist already (see the module's docstring)."""
        data_dir = self.data_dir
        if data_dir is None and self.database_url is None:
            data_dir = DEFAULT_DATA_DIR.absolute() if create else _existing_store()
        return build_settings(
            data_dir=data_dir.absolute() if data_dir is not None else None,
            database_url=self.database_url,
            keystore_url=self.keystore_url,
            blob_url=self.blob_url,
            s3_endpoint_url=self.s3_endpoint_url,
            **overrides,
        )

    def open(self, **overrides: Any) -> Runtime:
        """An existing store, opened (and migrated): for commands that administer one."""
        return _open(self.settings(create=False, **overrides))

    def start(self, **overrides: Any) -> Runtime:
        """The store of ``serve`` and ``worker``: created with a master key if new, remembered
        for the admin commands, and said where it is (one stderr line each)."""
        settings = self.settings(create=True, **overrides)
        fresh = settings.is_embedded and not (settings.data_dir / "callvault.db").exists()
        new_key = not settings.master_key and not settings.master_key_path.exists()
        runtime = _open(settings)
        if not settings.is_embedded:
            say(f"store: {_where(settings)}")
            return runtime
        remember_store(settings.data_dir)
        say(f"store: {settings.data_dir}{' (new, created now)' if fresh else ''}")
        if new_key:
            say(
                f"made a new master key, {settings.master_key_path}: losing it loses every "
                "call, so back it up apart from the store"
            )
        return runtime


def _open(settings: Settings) -> Runtime:
    """A setting that cannot work is one line on stderr and exit 1."""
    from callvault.cli.errors import fail
    from callvault.runtime import ConfigurationError, Runtime

    try:
        return Runtime.open(settings)
    except ConfigurationError as exc:
        fail(str(exc))


def _where(settings: Settings) -> str:
    from sqlalchemy import make_url

    def hidden(url: str) -> str:
        return make_url(url).render_as_string(hide_password=True)

    return (
        f"calls {hidden(settings.resolved_database_url)}, keys "
        f"{hidden(settings.resolved_keystore_url)}, blobs {settings.resolved_blob_url}"
    )


def next_step(runtime: Runtime) -> None:
    """What `serve` says to do next while the store has no API user: create one."""
    from callvault.auth.users import list_users

    if list_users(runtime.engine):
        return
    settings = runtime.settings
    command = f"{program()} users create NAME --permission capture --permission purge"
    if not settings.is_embedded:
        command += " (with the same CALLVAULT_* settings as serve)"
    elif settings.data_dir != DEFAULT_DATA_DIR.absolute():
        command += f" --data-dir {shlex.quote(str(settings.data_dir))}"
    say(f"next: create an API user (works while the server runs): {command}")


def store_options(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    keystore_url: KeystoreUrl = None,
    blob_url: BlobUrl = None,
    s3_endpoint_url: S3Endpoint = None,
) -> Store:
    """The store options of every server command (``@server_command``)."""
    return Store(data_dir, database_url, keystore_url, blob_url, s3_endpoint_url)


server_command = uses(store_options)
