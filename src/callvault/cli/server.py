"""Server-side commands: ``serve``, ``db upgrade``, ``users``. Server modules load lazily, so a
client-only install can still run the client commands. The output helpers (rich, the client
SDK) load in the commands that print with them, so ``worker`` and ``serve`` start without them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from callvault.cli.errors import fail
from callvault.cli.options import (
    DefaultRegion,
    LogLevel,
    PurgeLease,
    Store,
    next_step,
    server_command,
)

# Every setting, for --help. Written out (not generated from Settings) so that --help works on a
# client-only install; a test keeps it complete.
SETTINGS_EPILOG = """\b
Every setting is an environment variable (flags above override them):
  CALLVAULT_DATA_DIR             folder of the embedded store (default ./callvault-data)
  CALLVAULT_DATABASE_URL         SQLAlchemy URL of the calls database (sqlite:/// or postgresql+psycopg://)
  CALLVAULT_KEYSTORE_URL         SQLAlchemy URL of the key store, apart from the calls database
  CALLVAULT_BLOB_URL             file:///path or s3://bucket/prefix
  CALLVAULT_S3_ENDPOINT_URL      S3-compatible endpoint (credentials: the usual AWS variables)
  CALLVAULT_MASTER_KEY           base64 of 32 bytes wraps every data key (embedded: made if unset)
  CALLVAULT_DEFAULT_REGION       region for phone numbers without a country code (default US)
  CALLVAULT_TOKEN_TTL_SECONDS    access token lifetime (default 1799)
  CALLVAULT_MAX_UPLOAD_BYTES     largest capture body (default 2 GiB)
  CALLVAULT_MAX_INFO_BYTES       largest capture `info` part (default 1 MiB)
  CALLVAULT_MAX_JSON_BODY_BYTES  largest JSON body (default 1 MiB)
  CALLVAULT_RATE_LIMIT_PER_MINUTE        requests/minute per API user and node (6000; 0 off)
  CALLVAULT_TOKEN_RATE_LIMIT_PER_MINUTE  failed /Token attempts/minute per address (600; 0 off)
  CALLVAULT_TOKEN_ISSUE_RATE_LIMIT_PER_MINUTE  tokens issued/minute per client_id (6000; 0 off)
  CALLVAULT_READ_TIMEOUT_SECONDS  a capture body silent this long is dropped, 408 (default 60)
  CALLVAULT_HEADER_TIMEOUT_SECONDS  request headers must arrive within this, else 408 (default 10)
  CALLVAULT_MAX_CONNECTIONS      open connections per process; above it 503 (default 512)
  CALLVAULT_KEEP_ALIVE_SECONDS   idle kept-alive connections close after this (default 130)
  CALLVAULT_RUN_WORKER           run the purge worker inside serve (default true; --no-worker)
  CALLVAULT_WORKER_CONCURRENCY   purge worker threads (default 1)
  CALLVAULT_PURGE_BATCH_SIZE     calls erased per batch (default 1000)
  CALLVAULT_PURGE_LEASE_SECONDS  lease of a claimed job (default 30)
  CALLVAULT_PURGE_MAX_ATTEMPTS   attempts before an erasure gives up (default 8)
  CALLVAULT_REDACTION_LEASE_SECONDS  a redaction a dead worker held is taken over after (600)
  CALLVAULT_PURGE_CONFIRM_ABOVE  customer purges over this many calls need a preview's token
                                 (100; never: none; a user's own: users update --confirm-above)
  CALLVAULT_PURGE_QUOTA_PER_HOUR calls one API user may queue for erasure an hour (100000; 0 off)
  CALLVAULT_PURGE_GRACE_SECONDS  erase this long after acceptance; cancel until then (default 0)
  CALLVAULT_RETENTION_INTERVAL_SECONDS  how often each worker sweeps for expired calls (60)
  CALLVAULT_INSTANCE_NAME        issuer (iss) of certificates of erasure (default: the host name)
  CALLVAULT_CONSOLE_IDLE_MINUTES a console session ends after this many idle minutes (default 15)
  CALLVAULT_FORWARDED_ALLOW_IPS  reverse proxies whose X-Forwarded-For names the client, for
                                 console login limits: addresses/CIDRs, comma-separated (none)
  CALLVAULT_MAX_ACTIVE_HOLDS     legal holds active at once; one more is a 409 (default 1000)
  CALLVAULT_HOLD_RATE_PER_HOUR   holds one API user may place an hour, per node (600; 0 off)
  CALLVAULT_DB_STATEMENT_TIMEOUT_SECONDS  PostgreSQL: statements, lock waits, idle transactions
                                 are cut after this long (20; 0 never)
  CALLVAULT_S3_TIMEOUT_SECONDS   S3: one attempt of a request waits this long (20; 3 attempts)
  CALLVAULT_EXPORT_LINK_HOURS    an export's download link works this long (72, at most 168)
  CALLVAULT_EXPORT_MAX_DOWNLOADS downloads of one export, by link or token (default 3)
  CALLVAULT_AUDIT_CHECKPOINT_SECONDS  a signed checkpoint of the audit chain at most this
                                 often while events arrive (default 10, at most 60)
  CALLVAULT_WEBHOOK_RETRY_SECONDS  first retry of a webhook delivery; doubled after (default 5)
  CALLVAULT_WEBHOOK_LEASE_SECONDS  a delivery a dead worker held is sent by another after (30)
  CALLVAULT_WEBHOOK_ALLOW_HTTP   allow plain http:// webhook URLs beyond loopback (default false)
"""

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
users_app = typer.Typer(help="API users (machine credentials).", no_args_is_help=True)


@server_command
def serve(
    host: Annotated[str, typer.Option(envvar="CALLVAULT_HOST", help="Address to bind.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(envvar="CALLVAULT_PORT", help="Port to bind.")] = 8000,
    default_region: DefaultRegion = None,
    max_upload_bytes: Annotated[
        int | None,
        typer.Option(envvar="CALLVAULT_MAX_UPLOAD_BYTES", help="Largest capture body accepted."),
    ] = None,
    token_ttl_seconds: Annotated[
        int | None, typer.Option(envvar="CALLVAULT_TOKEN_TTL_SECONDS", help="Token lifetime.")
    ] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(envvar="CALLVAULT_SSL_CERTFILE", help="Serve HTTPS: cert.")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(envvar="CALLVAULT_SSL_KEYFILE", help="Serve HTTPS: key.")
    ] = None,
    log_level: LogLevel = "info",
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API without the purge worker.")
    ] = False,
    worker_concurrency: Annotated[
        int | None,
        typer.Option(envvar="CALLVAULT_WORKER_CONCURRENCY", help="Purge worker threads."),
    ] = None,
    purge_lease_seconds: PurgeLease = None,
    *,
    store: Store,
) -> None:
    """Serve the HTTP API and, in the same process, the purge worker."""
    import logging

    import uvicorn

    from callvault.api.app import create_app
    from callvault.api.protocol import http_protocol

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if (ssl_certfile is None) != (ssl_keyfile is None):
        fail("give both --ssl-certfile and --ssl-keyfile to serve HTTPS", code=2)
    runtime = store.start(  # migrate before binding, so failures show at once
        default_region=default_region,
        max_upload_bytes=max_upload_bytes,
        token_ttl_seconds=token_ttl_seconds,
        run_worker=False if no_worker else None,
        worker_concurrency=worker_concurrency,
        purge_lease_seconds=purge_lease_seconds,
    )
    next_step(runtime)
    settings = runtime.settings
    # h11, not httptools: Tethr's C++ SDK sends Transfer-Encoding: chunked together with
    # Content-Length, which httptools rejects and h11 resolves as RFC 9112 says (chunked wins).
    uvicorn.run(
        create_app(settings, runtime),
        host=host,
        port=port,
        http=http_protocol(settings),  # h11, hardened (callvault.api.protocol)
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        # Request line plus headers may not exceed this (h11 answers 431 above it).
        h11_max_incomplete_event_size=64 * 1024,
    )


@server_command
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", envvar="CALLVAULT_WORKER_CONCURRENCY", help="Worker threads."
        ),
    ] = None,
    purge_lease_seconds: PurgeLease = None,
    log_level: LogLevel = "info",
    *,
    store: Store,
) -> None:
    """Run purge workers without the HTTP API (several may run at once)."""
    import logging
    import signal
    import threading

    from callvault.worker.process import WorkerThreads, worker_options

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    runtime = store.start(
        worker_concurrency=concurrency,
        purge_lease_seconds=purge_lease_seconds,
    )
    settings = runtime.settings
    threads = WorkerThreads(runtime, worker_options(settings), settings.worker_concurrency, None)
    stopped = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threads.start()
    stopped.wait()
    threads.close()
    runtime.close()


@server_command
def sweep(
    grace_seconds: Annotated[
        float, typer.Option(help="Only what has had no call row for this long is removed.")
    ] = 600.0,
    confirm_seconds: Annotated[
        float, typer.Option(help="A blob must still be an orphan this much later.")
    ] = 5.0,
    *,
    store: Store,
) -> None:
    """Remove keys, blobs and temporaries a crash left without a call (workers also do this)."""
    import time

    from callvault.capture.orphans import OrphanSweeper
    from callvault.cli.output import count

    runtime = store.open()
    try:
        sweeper = OrphanSweeper(runtime, grace_seconds)
        first = sweeper.sweep()
        time.sleep(confirm_seconds)
        second = sweeper.sweep()
    finally:
        runtime.close()
    keys = count(first.keys_destroyed + second.keys_destroyed, "key")
    temporaries = count(
        first.temporaries_removed + second.temporaries_removed, "temporary", "temporaries"
    )
    typer.echo(f"destroyed {keys}, deleted {count(second.blobs_deleted, 'blob')} and {temporaries}")


@server_command
def demo_data(
    calls: Annotated[int, typer.Option("--calls", min=1, help="How many calls to add.")] = 1000,
    audio_bytes: Annotated[
        int, typer.Option(min=0, help="Audio bytes per call (random, encrypted as captured).")
    ] = 2048,
    session_prefix: Annotated[str, typer.Option(help="Session IDs are PREFIX0, PREFIX1, …")] = (
        "demo-"
    ),
    seed: Annotated[int | None, typer.Option(help="Seed for names, numbers and metadata.")] = None,
    *,
    store: Store,
) -> None:
    """Fill a store with synthetic calls, stored exactly as captured (bulk inserts)."""
    import time

    from sqlalchemy.exc import IntegrityError

    from callvault.cli.output import count
    from callvault.demo import seed_calls

    runtime = store.open()
    started = time.perf_counter()
    try:
        seed_calls(
            runtime,
            calls,
            audio_bytes=audio_bytes,
            session_prefix=session_prefix,
            seed=seed,
            batch=5000,
        )
    except IntegrityError:
        fail(f"session IDs {session_prefix}… already exist here: choose another --session-prefix")
    except Exception as exc:  # a store that is down
        fail(f"demo data not stored: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        runtime.close()
    elapsed = time.perf_counter() - started
    typer.echo(
        f"stored {count(calls, 'call')} in {elapsed:.1f} s ({calls / elapsed:.0f} calls/s)",
        err=True,
    )


@db_app.command("upgrade")
@server_command
def db_upgrade(*, store: Store) -> None:
    """Apply schema migrations to the calls database."""
    store.open().close()
    typer.echo("database schema is up to date", err=True)


ConfirmAboveHelp = (
    "Its own threshold for customer purges: above N calls one needs a preview's confirmToken "
    "(409 otherwise); never: none needs one (automation that cannot confirm, such as Tethr's "
    "SDKs); default: the instance's CALLVAULT_PURGE_CONFIRM_ABOVE. The erasure quota still "
    "applies."
)


def _confirm_above(text: str) -> int | None:
    """``--confirm-above``'s value: N >= 0, ``never`` (settings.NEVER) or ``default`` (None:
    the instance's setting); anything else is a one-line usage error naming the flag."""
    from callvault.settings import parse_confirm_above

    if text.strip().lower() == "default":
        return None
    try:
        return parse_confirm_above(text)
    except ValueError:
        fail(
            f"--confirm-above takes a whole number of calls >= 0, never or default, not {text!r}",
            code=2,
        )


def _shown_confirm_above(value: int | None) -> int | str | None:
    """A user's threshold as `users list --json` shows it: N, "never" or null (the instance's)."""
    from callvault.settings import NEVER

    return "never" if value == NEVER else value


PasswordPrompt = Annotated[
    bool,
    typer.Option(
        "--password", help="Set a console password, typed twice at a prompt (never echoed)."
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the console password from standard input (one line)."
    ),
]


@users_app.command("create")
@server_command
def users_create(
    name: Annotated[str, typer.Argument(help="A name for the API user.")],
    permission: Annotated[
        list[str],
        typer.Option(
            "--permission",
            "-p",
            help="capture, read, purge, hold, retention, suppress, export, audit or admin; "
            "repeatable.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    region: Annotated[
        str | None, typer.Option(help="Region of its national phone numbers, e.g. MX.")
    ] = None,
    password: PasswordPrompt = False,
    password_stdin: PasswordStdin = False,
    confirm_above: Annotated[
        str | None, typer.Option("--confirm-above", metavar="N|never", help=ConfirmAboveHelp)
    ] = None,
    *,
    store: Store,
) -> None:
    """Create an API user; its client_secret is printed once and stored only as a hash.
    With --password or --password-stdin a person can also log in to the console (/console/)."""
    from callvault.auth.users import create_user
    from callvault.errors import CallvaultError

    threshold = None if confirm_above is None else _confirm_above(confirm_above)
    secret = _read_password(password, password_stdin)
    runtime = store.open()
    try:
        creds = create_user(
            runtime.engine, name, permission, region, password=secret, confirm_above=threshold
        )
    except (ValueError, CallvaultError) as exc:
        fail(str(exc), code=2 if isinstance(exc, ValueError) else 1)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps({"client_id": creds.client_id, "client_secret": creds.client_secret}))
    else:
        typer.echo(f"client_id:     {creds.client_id}")
        typer.echo(f"client_secret: {creds.client_secret}")
        typer.echo("The secret is shown only this once; store it safely.", err=True)


def _read_password(prompt: bool, stdin: bool) -> str | None:
    """The console password asked for (None: none), checked against the password rules."""
    import sys

    from callvault.auth.passwords import check_password_rules

    if prompt and stdin:
        fail("give --password or --password-stdin, not both", code=2)
    if not (prompt or stdin):
        return None
    if stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = typer.prompt("Console password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password_rules(secret)
    except ValueError as exc:
        fail(str(exc), code=2)


@users_app.command("set-password")
@server_command
def users_set_password(
    name: Annotated[str, typer.Argument(help="The API user a person logs in to the console as.")],
    password: PasswordPrompt = False,
    password_stdin: PasswordStdin = False,
    *,
    store: Store,
) -> None:
    """Set (or change) an API user's console password; its open console sessions end.
    Without an option the password is prompted for, twice."""
    from callvault.auth.passwords import set_password
    from callvault.errors import CallvaultError

    secret = _read_password(password or not password_stdin, password_stdin)
    assert secret is not None
    runtime = store.open()
    try:
        set_password(runtime.engine, name, secret)
    except CallvaultError as exc:
        fail(exc.detail)
    finally:
        runtime.close()
    typer.echo(f"console password of {name} set", err=True)


@users_app.command("list")
@server_command
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    *,
    store: Store,
) -> None:
    """List API users (never their secrets)."""
    from callvault.auth.users import list_users

    runtime = store.open()
    try:
        users = list_users(runtime.engine)
    finally:
        runtime.close()
    rows = [
        {
            "name": u.name,
            "client_id": u.client_id,
            "permissions": sorted(p.value for p in u.permissions),
            "disabled": u.disabled,
            "created_at": u.created_at.isoformat(),
            "region": u.region,
            "console": u.has_password,
            "confirmAbove": _shown_confirm_above(u.confirm_above),
        }
        for u in users
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        perms = ",".join(row["permissions"])  # type: ignore[arg-type]
        region = row["region"] or "-"
        # The threshold in the words `users update --confirm-above` takes: N, never, default.
        above = "default" if row["confirmAbove"] is None else row["confirmAbove"]
        typer.echo(f"{row['name']}\t{row['client_id']}\t{perms}\t{region}\t{above}\t{state}")


@users_app.command("update")
@server_command
def users_update(
    name: Annotated[str, typer.Argument(help="The API user.")],
    confirm_above: Annotated[
        str | None,
        typer.Option("--confirm-above", metavar="N|never|default", help=ConfirmAboveHelp),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            metavar="CC|default",
            help="Region of its national phone numbers, e.g. GB; default: the instance's "
            "CALLVAULT_DEFAULT_REGION. Its calls captured before keep their index until "
            "`callvault calls reindex`.",
        ),
    ] = None,
    *,
    store: Store,
) -> None:
    """Change an API user's own settings: only those given, in one step. Its next request uses
    them, with a token or console session already open too."""
    from callvault.auth.users import KEEP, Keep, update_user
    from callvault.errors import CallvaultError

    if confirm_above is None and region is None:
        fail("nothing to update: give --confirm-above N|never|default or --region CC|default", 2)
    threshold: int | Keep | None = KEEP if confirm_above is None else _confirm_above(confirm_above)
    new_region: str | Keep | None = KEEP
    if region is not None:
        new_region = None if region.strip().lower() == "default" else region
    runtime = store.open()
    try:
        update_user(runtime.engine, name, region=new_region, confirm_above=threshold)
    except ValueError as exc:
        fail(str(exc), code=2)
    except CallvaultError as exc:
        fail(exc.detail)
    finally:
        runtime.close()
    changed = []
    if not isinstance(threshold, Keep):
        above = "default" if threshold is None else _shown_confirm_above(threshold)
        changed.append(f"confirm-above {above}")
    if not isinstance(new_region, Keep):
        shown = new_region.strip().upper() if new_region else "default"
        changed.append(f"region {shown} (`callvault calls reindex` re-reads its calls)")
    typer.echo(f"updated {name}: {', '.join(changed)}", err=True)


@users_app.command("set-region")
@server_command
def users_set_region(
    name: Annotated[str, typer.Argument(help="The API user.")],
    region: Annotated[str, typer.Argument(help="Region of its national phone numbers, e.g. GB.")],
    *,
    store: Store,
) -> None:
    """Set the region an API user's captures and customer purges read national phone numbers in.
    Its calls captured before keep their index until `callvault calls reindex`."""
    from callvault.auth.users import set_user_region
    from callvault.errors import CallvaultError

    runtime = store.open()
    try:
        set_user_region(runtime.engine, name, region)
    except ValueError as exc:
        fail(str(exc), code=2)
    except CallvaultError as exc:
        fail(exc.detail)
    finally:
        runtime.close()
    typer.echo(f"region of {name} set; `callvault calls reindex` re-reads its calls", err=True)


@users_app.command("disable")
@server_command
def users_disable(
    name: Annotated[str, typer.Argument(help="The API user to disable.")],
    *,
    store: Store,
) -> None:
    """Disable an API user; its tokens stop working at once."""
    from callvault.auth.users import disable_user
    from callvault.errors import CallvaultError

    runtime = store.open()
    try:
        disable_user(runtime.engine, name)
    except CallvaultError as exc:
        fail(exc.detail)
    finally:
        runtime.close()
    typer.echo(f"disabled {name}", err=True)
