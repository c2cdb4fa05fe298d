"""Shared fixtures: a fresh instance per test, served by real uvicorn over a socket.

Test modules marked ``both_backends`` run every test twice: on the embedded store (SQLite + a
folder) and on PostgreSQL + S3 (a throwaway cluster and a SeaweedFS server, started once per
session; each test gets its own databases, copied from a migrated template and dropped after it,
and its own bucket).
"""

from __future__ import annotations

import itertools
import os
import shutil
import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from callvault.api.app import create_app
from callvault.crypto import generate_master_key
from callvault.files import ensure_private_file
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.engine import make_engine
from callvault.store.keystore import KeyStore
from callvault.store.migrate import upgrade
from helpers import LiveServer, post_call, serve_in_thread
from servers import Postgres, SeaweedS3, start_postgres, start_seaweedfs

BACKENDS = ("embedded", "pg-s3")
BUCKET = "callvault-test"


def _one_default_tls_context() -> None:
    """Every httpx client made in a test's process with the default ``verify=True`` (the SDK's,
    the CLI's run in process, the webhook sender's, ``httpx.get``) shares one TLS context, as
    helpers.TLS does for the helpers' clients: httpx otherwise parses certifi's CA bundle into a
    new context for each client, 0.05 s each on an idle machine and 0.2 s on a loaded one, and
    the suite made thousands (test_security's route sweep alone ~200). The context is the one
    httpx would make, built once; a client given its own context, a CA file or ``verify=False``,
    or an environment naming SSL_CERT_FILE or SSL_CERT_DIR, still gets its own."""
    from httpx._transports import default as transports

    make = transports.create_ssl_context
    shared: list[ssl.SSLContext] = []

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        named = trust_env and (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"))
        if verify is not True or cert is not None or named:
            return make(verify=verify, cert=cert, trust_env=trust_env)
        if not shared:
            shared.append(make(verify=True, cert=None, trust_env=trust_env))
        return shared[0]

    transports.create_ssl_context = create_ssl_context  # type: ignore[assignment]


_one_default_tls_context()


def _patient_default_timeout() -> None:
    """A test's bare ``httpx.get``/``post`` (no ``timeout=``) waits 30 s, as every client the
    helpers make does, not httpx's 5 s: two whole runs failed on the first request to a fresh
    live server answering in over 5 s while the other pytest worker was busy. httpx binds its
    default object into its functions' signatures, so it is changed in place. callvault's own
    clients (SDK, CLI, webhook sender) all pass their own timeouts and are not affected."""
    from httpx._config import DEFAULT_TIMEOUT_CONFIG as default

    default.connect = default.read = default.write = default.pool = 30.0


_patient_default_timeout()


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where `callvault serve` remembers its store: a folder of each test's own (inherited by the
    processes it starts), never the real ~/.local/state."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest work first, so that the pytest-xdist workers (``--dist loadfile``, one file at a
    time) finish together: the files of ``slow`` tests, then the others by their number of tests.

    In collection order the slow files came last, and xdist hands a worker the next file while
    two tests of its current one are still to run, so one worker ran the crash and fault tests
    alone for two minutes after the other had finished. ``scripts/test.sh`` passes
    ``--no-loadscope-reorder`` so that xdist keeps this order rather than sorting by count."""
    counts = Counter(item.path for item in items)
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.path not in slow, -counts[item.path]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "embedded"))


@dataclass
class ScaleOut:
    """One PostgreSQL cluster and one SeaweedFS server for the whole session."""

    pg: Postgres
    s3: SeaweedS3
    master_key: str
    counter: Iterator[int]

    def settings(self, data_dir: Path, **overrides: object) -> Settings:
        n = next(self.counter)
        self.pg.execute(f"CREATE DATABASE cv_{n} TEMPLATE cv_template")
        self.pg.execute(f"CREATE DATABASE ks_{n}")
        # One versioned bucket, a prefix per test: SeaweedFS gives every bucket its own volumes.
        fields: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": self.pg.url(f"cv_{n}"),
            "keystore_url": self.pg.url(f"ks_{n}"),
            "blob_url": f"s3://{BUCKET}/test-{n}",
            "s3_endpoint_url": self.s3.endpoint,
            "master_key": self.master_key,
        }
        return Settings(**{**fields, **overrides})  # type: ignore[arg-type]

    def drop(self, settings: Settings) -> None:
        """Drop a test's two databases, so that the cluster (in memory: servers.MEMORY_FOLDER)
        holds a few at a time rather than a session's 600. FORCE ends connections left open."""
        for url in (settings.database_url, settings.keystore_url):
            name = make_url(str(url)).database
            self.pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "callvault-test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    pg = start_postgres(tmp_path_factory.mktemp("postgres"), in_memory=True)
    try:
        s3 = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    except BaseException:
        pg.stop()
        raise
    try:
        s3.new_bucket(BUCKET)
        pg.execute("CREATE DATABASE cv_template")
        engine = make_engine(pg.url("cv_template"))
        upgrade(engine)  # migrate once; every test database is a copy of this template
        engine.dispose()
        yield ScaleOut(pg=pg, s3=s3, master_key=generate_master_key(), counter=itertools.count())
    finally:
        s3.stop()
        pg.stop()


@pytest.fixture(scope="session")
def embedded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated calls database: an embedded test's store starts as a copy (as a PostgreSQL
    test's database is a copy of cv_template), so the migrations run once a worker rather than
    once a test (about 70 ms of a fresh Runtime.open's 100). tests/store tests them on their own."""
    path = tmp_path_factory.mktemp("embedded-template") / "callvault.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def embedded_keystore_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty key store (its table, no keys): an embedded test's keystore.db starts as a copy,
    as its calls database does, rather than each Runtime.open creating the table and flushing
    it (~0.05-0.09 s a test). KeyStore makes it, so it is what a first open makes."""
    path = tmp_path_factory.mktemp("keystore-template") / "keystore.db"
    KeyStore(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The instance's settings; ``@pytest.mark.settings(name=value)`` overrides some."""
    marker = request.node.get_closest_marker("settings")
    overrides = dict(marker.kwargs) if marker is not None else {}
    if backend == "embedded":
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        if settings.database_url is None:
            database = settings.data_dir / "callvault.db"
            ensure_private_file(database)  # 0600, as the server makes it
            shutil.copyfile(request.getfixturevalue("embedded_template"), database)
        if settings.keystore_url is None:
            keystore = settings.data_dir / "keystore.db"
            ensure_private_file(keystore)
            shutil.copyfile(request.getfixturevalue("embedded_keystore_template"), keystore)
        yield settings
        return
    servers: ScaleOut = request.getfixturevalue("scale_out")
    settings = servers.settings(tmp_path / "data", **overrides)
    yield settings
    servers.drop(settings)  # after the test's runtime and servers, which depend on this fixture


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(settings)
    yield rt
    rt.close()


@pytest.fixture
def live(settings: Settings, runtime: Runtime) -> Iterator[LiveServer]:
    app = create_app(settings, runtime)
    server, thread, port = serve_in_thread(app, settings)
    yield LiveServer(
        url=f"http://127.0.0.1:{port}", runtime=runtime, port=port, app_state=app.state
    )
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def capture() -> Callable[..., httpx.Response]:
    """POST a call to a live server: ``capture(client, info_dict, audio_bytes)``."""
    return post_call
