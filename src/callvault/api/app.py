"""The FastAPI application factory: ``create_app(settings)`` builds one independent instance."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from callvault import __version__
from callvault.api import problems
from callvault.api.authfirst import AuthenticateFirst
from callvault.api.deps import AnyUser
from callvault.api.downloads import Downloads
from callvault.api.limits import BodyLimitMiddleware
from callvault.api.responses import TethrJSONResponse
from callvault.api.routes import (
    audit,
    calls,
    capture,
    certificates,
    exports,
    health,
    holds,
    purge,
    redactions,
    requests,
    retention,
    status,
    suppressions,
    token,
    v2_capture,
    v2_purge,
    webhooks,
)
from callvault.auth.sessions import ConsoleSessions
from callvault.capture.reads import CallReader
from callvault.certificates.evidence import EvidenceService
from callvault.certificates.service import CertificateService
from callvault.console import exports as console_exports
from callvault.console import redactions as console_redactions
from callvault.console import retention as console_retention
from callvault.console import routes as console
from callvault.console import suppressions as console_suppressions
from callvault.console.web import PREFIX as CONSOLE_PREFIX
from callvault.exports.service import ExportService
from callvault.holds.service import HoldService
from callvault.metrics import Metrics
from callvault.purge.service import PurgeService
from callvault.ratelimit import RateLimiter
from callvault.redactions.service import RedactionService
from callvault.retention.service import RetentionService
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.suppressions.service import SuppressionService
from callvault.webhooks.service import WebhookService
from callvault.worker.process import WorkerThreads, worker_options

log = logging.getLogger(__name__)

CAPTURE_PATH = "/callCapture/v1/archive"
# The only paths that answer without a token (contract §2; the JWKS, §14: anyone may verify).
OPEN_PATHS = frozenset({"/Token", "/healthz", certificates.JWKS_PATH})
# Paths opened by a link's own token instead (an export's package, contract §20).
LINK_PATHS = re.compile(r"/exports/v1/[^/]+/package")
PROCESS_INTERVAL_SECONDS = 5.0


async def _process_backlog(runtime: Runtime) -> None:
    """Finish the processing a restart interrupted (Concluded calls), then keep an eye out."""
    reader = CallReader(runtime)
    while True:
        try:
            await run_in_threadpool(reader.process_pending)
        except Exception:
            log.warning("processing of captured calls failed; will retry", exc_info=True)
        await asyncio.sleep(PROCESS_INTERVAL_SECONDS)


_LINK_TOKEN = re.compile(r"([?&]token=)[^&\s\"]*", re.IGNORECASE)
_PACKAGE_PATH = re.compile(r"/exports/v1/[^/?]+/package", re.IGNORECASE)


def _hide(text: str) -> str:
    """A request line with an export link's token taken out. On a package's path the whole
    query goes (``?%74oken=`` is the same parameter to the server); elsewhere any ``token=``."""
    path, sep, query = text.partition("?")
    if sep and _PACKAGE_PATH.search(unquote(path)):
        end = re.search(r"[\s\"]", query)
        return f"{path}?[hidden]{query[end.start() :] if end else ''}"
    return _LINK_TOKEN.sub(r"\1[hidden]", text)


class HideLinkTokens(logging.Filter):
    """Takes an export link's token out of uvicorn's access log lines (its request path keeps
    the query): the token never appears in a log line (contract §20)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_hide(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _hide(record.msg)
        return True


_HIDE_LINK_TOKENS = HideLinkTokens()


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    logging.getLogger("uvicorn.access").addFilter(_HIDE_LINK_TOKENS)  # once: the same filter

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt: Runtime = (
            runtime if runtime is not None else await run_in_threadpool(Runtime.open, settings)
        )
        app.state.runtime = rt
        metrics = Metrics(rt.engine)
        app.state.metrics = metrics
        workers = None
        if settings.run_worker:
            workers = WorkerThreads(
                rt, worker_options(settings), settings.worker_concurrency, metrics
            )
            workers.start()
        app.state.workers = workers
        downloads = Downloads()
        app.state.downloads = downloads

        def queued() -> None:
            # The downloads a purge revoked are reset before any worker is woken (§19).
            downloads.cut_revoked()
            if workers is not None:
                workers.notify()

        app.state.purge_service = PurgeService(rt, on_queued=queued)
        app.state.hold_service = HoldService(rt, on_queued=queued)
        app.state.certificate_service = CertificateService(rt)
        app.state.evidence_service = EvidenceService(rt, app.state.certificate_service)
        app.state.retention_service = RetentionService(rt)
        app.state.suppression_service = SuppressionService(rt)
        app.state.webhook_service = WebhookService(rt)
        # Signed with the certificate keys (one JWKS verifies both), handed in: a neighbour on
        # floor 6 is never imported.
        app.state.export_service = ExportService(rt, app.state.certificate_service.sign)
        # A redaction hides the call's audio: its downloads in flight are cut as a purge's are.
        app.state.redaction_service = RedactionService(rt, on_queued=queued)
        app.state.console_sessions = ConsoleSessions(rt.engine, settings.console_idle_minutes)
        backlog = asyncio.create_task(_process_backlog(rt))
        try:
            yield
        finally:
            if workers is not None:
                await run_in_threadpool(workers.close)
            backlog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await backlog
            if runtime is None:
                rt.close()

    app = FastAPI(
        title="callvault",
        version=__version__,
        description="Tethr-compatible call capture and provable call purge.",
        default_response_class=TethrJSONResponse,
        lifespan=lifespan,
        # Only /healthz answers without a token (contract §2): the OpenAPI document is served by
        # an authenticated route below, and the interactive docs pages are off.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # Some recorders send JSON without a Content-Type; a wrong one is refused by
        # deps.require_json (415), a missing one is read as JSON.
        strict_content_type=False,
        # A trailing-slash redirect builds its Location from the Host header, which the client
        # chooses (`http://evil.example/...`): a wrong path is a 404 problem instead (§19).
        redirect_slashes=False,
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.state.user_limiter = RateLimiter(settings.rate_limit_per_minute)
    # /Token: failed attempts per client address, tokens issued per client_id (routes/token.py).
    app.state.token_failures = RateLimiter(settings.token_rate_limit_per_minute)
    app.state.token_issues = RateLimiter(settings.token_issue_rate_limit_per_minute)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document(_user: AnyUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    problems.install(app)
    for module in (
        token,
        capture,
        status,
        purge,
        requests,
        v2_capture,
        v2_purge,
        certificates,
        holds,
        retention,
        suppressions,
        webhooks,
        exports,
        redactions,
        calls,
        audit,
        health,
    ):
        app.include_router(module.router)
    app.include_router(console.router)  # not in the OpenAPI document: it is no API
    app.include_router(console_retention.router)
    app.include_router(console_suppressions.router)
    app.include_router(console_exports.router)
    app.include_router(console_redactions.router)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_json_body_bytes,
        exempt=frozenset({CAPTURE_PATH, v2_capture.CAPTURE_V2_PATH}),
    )
    # Outermost, so a request without a valid token meets neither body limit nor body parsing.
    app.add_middleware(
        AuthenticateFirst,
        open_paths=OPEN_PATHS,
        session_prefix=CONSOLE_PREFIX,
        link_paths=LINK_PATHS,
    )
    return app
