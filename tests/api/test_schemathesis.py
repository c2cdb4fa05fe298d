"""Schemathesis against the served OpenAPI document, over real HTTP, with every check on.

A bounded run (the longer one is ``bench/fuzz_api.py``): each operation through schemathesis'
examples, coverage and fuzzing phases in positive and negative generation mode (one test, a
subtest per operation), then stateful sequences along the links schemathesis infers. Requests
carry an admin token through the ``HTTPBearer`` security scheme, so negative cases may drop it and
``ignored_auth`` re-sends them without. A call and a purge request are seeded first, and their
IDs are offered to the path parameters, so the reads get past 404 and their 200 answers are
checked too.

Configured rather than fixed, because the behaviour is the contract's:

- ``positive_data_acceptance`` also accepts 400 on ``POST /Token`` (unknown client credentials
  are OAuth ``invalid_client``, 400: contract §2), ``POST /purge/v1/calls/customer`` (a number
  that is no possible phone number is 400, §5; JSON Schema cannot say "possible phone number")
  and ``POST /callCapture/v1/archive`` (``info`` is a JSON document carried as a multipart
  string; its rules, §3, are beyond the part's schema, so generated uploads mostly get 400),
  ``POST /holds/v1`` (possible phone numbers and valid times, §12, are beyond JSON Schema too)
  ``POST /holds/v1/{holdId}/release`` (a hold released once is 409 the next time) and
  ``POST /purge/v1/requests/{requestId}/cancel`` (409 outside a grace window),
  ``GET /holds/v1`` (a cursor is opaque: one no page gave is 400, §12) and
  ``GET /purge/v1/requests/{requestId}/certificate`` (409 while the request is Purging), and
  the suppressions' (§22: possible numbers, addresses and times beyond JSON Schema; exactly one
  of ``phoneNumber`` and ``email``; a lifted suppression's second lift is 409; opaque cursors),
  ``GET /purge/v1/requests/{requestId}/evidence`` (as the certificate), ``GET
  /audit/v1/events`` (``since`` before ``until``, §23, and ISO 8601 times, beyond JSON Schema),
  the webhooks' (§23: a URL that is https://, or http:// to loopback, with a host, and known
  event names, beyond JSON Schema; opaque cursors), the exports' (§20: possible numbers,
  addresses and times; at least one identifier; a revoked export's second revoke is 409; a
  link's token that is not the link's is 410) and the redactions' (§21: a range's start before
  its end and within the call's duration, and the audio's format, 422, are beyond JSON Schema;
  opaque cursors; a certificate or evidence is 409 while Redacting).
- ``allow_header_conformance`` is off for ``POST /callCapture/v1/status/exclude``,
  ``POST /capture/v2/status/exclude`` and ``POST /capture/v2/status/monitor``: their 405 rightly
  lists GET too, because ``GET /callCapture/v1/status/{sessionId}``
  (``/capture/v2/status/{sessionId}``) serves the session "exclude" (or "monitor"); so for
  ``POST /suppressions/v1/lookup`` and ``/check``, whose paths ``GET
  /suppressions/v1/{suppressionId}`` serves as IDs.
- Failures of a case with an empty path parameter are dropped: every path parameter has
  ``minLength: 1``, but stateful links copy response values as they are (``""`` is a valid
  session ID in a status request), and an empty segment addresses another resource.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.auths import AuthContext, set_on_generated_case
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.schemas import OpenApiSchema

from helpers import LiveServer, call_info, post_call

# Fuzzing cases per operation and generation mode (coverage and examples add their own). Ten keep
# the suite inside its budget as the operations grow; bench/fuzz_api.py runs 50 and more.
MAX_EXAMPLES = 10
STATEFUL_EXAMPLES = 20
STATEFUL_STEPS = 6

POSITIVE_ALSO_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "429", "5xx"]


def schemathesis_config(token: str, ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The run's configuration (``bench/fuzz_api.py`` writes the same as TOML)."""
    config: dict[str, Any] = {
        "seed": 20240101,  # the same cases every run
        "generation": {"max-examples": MAX_EXAMPLES},
        "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
        "operations": [
            {
                "include-operation-id": [
                    "issue_token",
                    "purge_customer",
                    "purge_customer_v2",
                    "capture_call",
                    "capture_call_v2",
                    "place_hold",
                    "release_hold",
                    "cancel_purge_request",
                    "get_purge_certificate",
                    "list_holds",
                    "create_suppression",
                    "list_suppressions",
                    "lift_suppression",
                    "lookup_suppression",
                    "check_suppression",
                    "get_purge_evidence",
                    "audit_events",
                    "create_webhook",
                    "list_webhooks",
                    "list_webhook_deliveries",
                    "create_export",
                    "list_exports",
                    "revoke_export",
                    "download_export",
                    "list_call_redactions",
                    "list_redactions",
                    "get_redaction_certificate",
                    "get_redaction_evidence",
                ],
                "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_ALSO_400}},
            },
            {
                "include-operation-id": ["redact_call"],
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*POSITIVE_ALSO_400, "422"]}
                },
            },
            {
                "include-operation-id": [
                    "exclude_calls",
                    "exclude_sessions_v2",
                    "record_heartbeat_v2",
                    "lookup_suppression",
                    "check_suppression",
                ],
                "checks": {"allow_header_conformance": {"enabled": False}},
            },
        ],
    }
    if ids:
        config["dictionaries"] = {name: {"values": [value]} for name, value in ids.items()}
        config["parameters"] = {
            f"path.{name}": {"dictionary": name, "probability": 0.5} for name in ids
        }
    return config


class Tally:
    """Cases and checks seen through schemathesis' hooks."""

    def __init__(self, ids: dict[str, str]) -> None:
        self.ids = ids
        self.cases = 0
        self.statuses: Counter[int] = Counter()
        self.checks: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.dropped = 0
        self.started = time.monotonic()

    def after_validate(self, _ctx: Any, _case: Any, response: Any, results: list[Any]) -> None:
        self.cases += 1
        self.statuses[response.status_code] += 1
        self.checks.update(r.name for r in results)
        self.failed.update(r.name for r in results if r.failure is not None)

    def keep_failure(self, _ctx: Any, _failure: Any, case: Any, _response: Any) -> bool:
        """``filter_failure``: drop the failures of a case with an empty path parameter."""
        keep = all(value not in ("", None) for value in (case.path_parameters or {}).values())
        self.dropped += not keep
        return keep

    def summary(self) -> str:
        return (
            f"{self.cases} cases, {sum(self.checks.values())} checks "
            f"({len(self.checks)} kinds, {sum(self.failed.values())} failed), "
            f"{self.dropped} failures of empty path parameters dropped, "
            f"statuses {dict(sorted(self.statuses.items()))}, "
            f"{time.monotonic() - self.started:.1f}s"
        )


def _seed(live: LiveServer, token: str) -> dict[str, str]:
    """A captured call and a purge request, for the operations that read them back."""
    with live.client(token) as client:
        kept = post_call(client, call_info("st-kept"))
        assert kept.status_code == 200, kept.text
        assert post_call(client, call_info("st-purged")).status_code == 200
        purged = client.post("/purge/v1/calls/sessions", json={"ids": ["st-purged"]})
        assert purged.status_code == 200, purged.text
    return {
        "callId": kept.json()["callId"],
        "sessionId": "st-kept",
        "requestId": purged.json()["requestId"],
    }


def _load(live: LiveServer) -> tuple[OpenApiSchema, Tally]:
    token = live.token("admin")
    ids = _seed(live, token)
    config = schemathesis.Config.from_dict(schemathesis_config(token, ids))
    schema = schemathesis.openapi.from_url(
        f"{live.url}/openapi.json", config=config, headers={"Authorization": f"Bearer {token}"}
    )
    tally = Tally(ids)
    schema.hooks.register_hook_with_name(tally.after_validate, "after_validate")
    schema.hooks.register_hook_with_name(tally.keep_failure, "filter_failure")
    return schema, tally


def _bounded(max_examples: int, **extra: Any) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time; failures still shown
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def _coverage(schema: OpenApiSchema, operation: Any) -> Iterator[str]:
    """Schemathesis' coverage phase: boundary values, each constraint broken one at a time,
    missing required parts, undocumented methods (OPTIONS and the like)."""
    cases = schema.iter_coverage_cases(
        operation,
        generation_modes=list(GenerationMode),
        generation_config=schema.config.generation_for(operation=operation),
    )
    for case in cases:
        # As the engine does: the configured token, unless the case negates it on purpose.
        set_on_generated_case(case, AuthContext(operation=operation, app=None), None)
        try:
            case.call_and_validate(timeout=30)
        except FailureGroup as exc:
            yield f"{operation.label} [coverage]: {exc}"


def _fuzz(operation: Any, mode: GenerationMode, max_examples: int, **fixed: Any) -> Iterator[str]:
    """Schemathesis' fuzzing phase for one operation in one generation mode."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @_bounded(max_examples, derandomize=True)
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(timeout=30)

    try:
        fuzz()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to negate: GET /healthz takes no input
    except Exception as exc:  # a FailureGroup, or hypothesis' group of several
        yield f"{operation.label} [{mode.value}]: {exc}"


@pytest.mark.slow
def test_every_operation_conforms(live: LiveServer) -> None:
    schema, tally = _load(live)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:
        failures.extend(_coverage(schema, operation))
        for mode in GenerationMode:
            failures.extend(_fuzz(operation, mode, MAX_EXAMPLES))
        params = operation.path_parameters  # the seeded IDs, so the reads get past 404
        if params and all(p.name in tally.ids for p in params):
            fixed = {p.name: tally.ids[p.name] for p in params}
            failures.extend(_fuzz(operation, GenerationMode.POSITIVE, 5, path_parameters=fixed))
    print(f"\nschemathesis, per operation: {tally.summary()}")
    assert not failures, tally.summary() + "\n\n" + "\n\n".join(failures)
    for check in (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "allow_header_conformance",
    ):
        assert tally.checks[check], (check, tally.summary())
    # The token was used: every answer but a 401 comes after authentication (authenticate-first).
    authenticated = sum(n for status, n in tally.statuses.items() if status != 401)
    assert authenticated > 2 * tally.statuses[401], tally.summary()


def test_stateful_sequences_conform(live: LiveServer) -> None:
    schema, tally = _load(live)

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"timeout": 30}

    settings = _bounded(STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, derandomize=True)
    Sequences.run(settings=settings)
    print(f"\nschemathesis, stateful: {tally.summary()}")
    assert tally.cases > STATEFUL_EXAMPLES  # sequences, not single calls


@pytest.mark.parametrize("method", ["OPTIONS", "PATCH"])
def test_405_allow_lists_every_method_of_the_path(live: LiveServer, method: str) -> None:
    with live.client() as client:
        answer = client.request(method, "/callCapture/v1/monitor")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
