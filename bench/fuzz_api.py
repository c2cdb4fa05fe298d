"""A longer schemathesis run against a real ``callvault serve``: every check, every phase.

    .venv/bin/python bench/fuzz_api.py [--examples 200] [--timeout 1800] [--workers 2]

Starts ``callvault serve`` on a free loopback port with a throwaway data dir, creates an admin
API user, captures one call and purges another (their IDs are offered to the path parameters, so
the reads get past 404), then runs ``st run --checks all`` (examples, coverage, fuzzing and
stateful phases, positive and negative data) with the configuration of the bounded run in
``tests/api/test_schemathesis.py`` (same exceptions, same reasons) and prints a summary. The
per-user and per-address rate limits are off for the run (the test suite keeps them; a fuzzer
spending its cases on 429s would test less). Only loopback traffic; bounded by ``--examples`` per
operation and by ``--timeout`` for the whole run. Exit status: st's (0 when nothing failed).

The fail-safe preview rules (contract §19) reach the fuzzer through the schema: ``whatIf``'s
``pattern`` names the accepted values, and the purge bodies' ``propertyNames`` refuses every key
that spells whatIf, so negative cases probe both and positive cases stay clear of them.

When ``st`` loads this file as its hooks module (``SCHEMATHESIS_HOOKS``) it only registers
``filter_failure`` (see ``keep_failure``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def keep_failure(_ctx: Any, _failure: Any, case: Any, _response: Any) -> bool:
    """Drop failures of a case with an empty path parameter: the schema says ``minLength: 1``,
    but stateful links copy response values as they are (``""`` is a valid session ID in a
    status request), and an empty segment addresses another resource."""
    return all(value not in ("", None) for value in (case.path_parameters or {}).values())


if __name__ != "__main__":  # loaded by `st run` as its hooks module
    import schemathesis

    schemathesis.hook("filter_failure")(keep_failure)


def _toml(value: Any) -> str:
    """An inline TOML value (JSON strings and numbers are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[ " + ", ".join(_toml(v) for v in value) + " ]"
    return json.dumps(value)


def _test_config() -> Any:
    """``schemathesis_config`` of the bounded run, so both runs configure the same exceptions."""
    path = ROOT / "tests" / "api" / "test_schemathesis.py"
    spec = importlib.util.spec_from_file_location("_callvault_st_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.schemathesis_config


def _seed(url: str, token: str) -> dict[str, str]:
    import httpx

    from helpers import call_info, post_call

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        kept = post_call(client, call_info("fuzz-kept"))
        kept.raise_for_status()
        post_call(client, call_info("fuzz-purged")).raise_for_status()
        purged = client.post("/purge/v1/calls/sessions", json={"ids": ["fuzz-purged"]})
        purged.raise_for_status()
    return {
        "callId": kept.json()["callId"],
        "sessionId": "fuzz-kept",
        "requestId": purged.json()["requestId"],
    }


def _token(url: str, client_id: str, secret: str) -> str:
    import httpx

    answer = httpx.post(
        f"{url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def _summarize(report_dir: Path, rc: int, elapsed: float) -> None:
    def newest(pattern: str) -> Path:
        return max(report_dir.glob(pattern), key=lambda path: path.stat().st_mtime)

    run = json.loads(newest("*.json").read_text())
    cases: set[str] = set()
    statuses: Counter[int] = Counter()
    checks: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for line in newest("*.ndjson").read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished or not finished.get("recorder"):
            continue
        recorder = finished["recorder"]
        for case_id, interaction in recorder.get("interactions", {}).items():
            if case_id not in cases and interaction.get("response"):
                cases.add(case_id)
                statuses[interaction["response"]["status_code"]] += 1
        for results in recorder.get("checks", {}).values():
            for result in results:
                checks[result["name"]] += 1
                if result["status"] == "failure":
                    failed[result["name"]] += 1
    operations = run["operations"]
    print("\n=== fuzz_api summary ===")
    print(f"operations: {operations['tested']} tested of {operations['total']}")
    phases = ", ".join(f"{name} {phase['status']}" for name, phase in run["phases"].items())
    print(f"phases: {phases}")
    print(
        f"cases: {run['test_cases']['generated']} generated, {len(cases)} sent and answered; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    print(
        f"checks: {sum(checks.values())} run ({len(checks)} kinds), "
        f"{sum(failed.values())} failed {dict(failed) or ''}".rstrip()
    )
    print(f"  {', '.join(sorted(checks))}")
    failures = run["failures"]
    print(f"failures: {run['test_cases']['unique_failures']} unique")
    for failure in failures:
        print(
            f"  {failure['code']} {failure['title']}: {failure['count']} in {failure['operations']}"
        )
    for error in run["errors"]:
        print(f"error: {json.dumps(error)[:500]}")
    print(f"dropped by filter_failure: {run['filtered']}")
    print(f"st exit code {rc}; {elapsed:.1f}s in all (st: {run['running_time']:.1f}s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="fuzzing cases per operation")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for the whole run")
    # One worker by default: with several, hypothesis (describing a lambda with `ast.parse` in
    # two threads at once) sometimes dies with CPython 3.11's "AST constructor recursion depth
    # mismatch", a tool error that says nothing about the API.
    parser.add_argument("--workers", type=int, default=1, help="st workers")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--report-dir", type=Path, help="keep st's reports here (default: dropped)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import free_port, wait_healthy

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="callvault-fuzz-") as tmp:
        work = Path(tmp)
        data = work / "data"
        created = subprocess.run(
            [
                BIN / "callvault",
                "users",
                "create",
                "fuzz",
                "--permission",
                "admin",
                "--json",
                "--data-dir",
                str(data),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        creds = json.loads(created.stdout)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CALLVAULT_RATE_LIMIT_PER_MINUTE": "0",
            "CALLVAULT_TOKEN_RATE_LIMIT_PER_MINUTE": "0",
        }
        log = (work / "server.log").open("wb")
        server = subprocess.Popen(
            [
                BIN / "callvault",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_healthy(url, server)
            token = _token(url, creds["client_id"], creds["client_secret"])
            config = _test_config()(token, _seed(url, token))
            config["seed"] = args.seed
            config["generation"] = {"max-examples": args.examples}
            config_file = work / "schemathesis.toml"
            config_file.write_text(
                "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in config.items())
            )
            report = args.report_dir.resolve() if args.report_dir else work / "report"
            # The OpenAPI document needs a token, as every endpoint but /healthz does.
            schema_file = work / "openapi.json"
            schema_file.write_text(
                httpx.get(f"{url}/openapi.json", headers={"Authorization": f"Bearer {token}"}).text
            )
            command = [
                str(BIN / "st"),
                "--config-file",
                str(config_file),
                "run",
                str(schema_file),
                "--url",
                url,
                "--max-examples",
                str(args.examples),
                "--workers",
                str(args.workers),
                "--request-timeout",
                "30",
                "--report",
                "json,ndjson",
                "--report-dir",
                str(report),
                "--no-color",
            ]
            # No `--checks all`: every built-in check is on by default (the report counts them),
            # and naming checks on the command line would override the per-operation settings.
            st_env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).resolve())}
            print("$ st " + " ".join(command[1:]).replace(str(work), "$TMP"), flush=True)
            try:
                rc = subprocess.run(command, env=st_env, timeout=args.timeout, cwd=work).returncode
            except subprocess.TimeoutExpired:
                print(f"st did not finish within {args.timeout:g}s")
                return 124
            _summarize(report, rc, time.monotonic() - started)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
            if server.returncode not in (0, -15):
                print(f"server exited with {server.returncode}; its log:")
                print((work / "server.log").read_text(errors="replace")[-4000:])
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
