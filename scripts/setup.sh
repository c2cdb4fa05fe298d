#!/usr/bin/env bash
# Creates .venv (if missing) and installs callvault into it with the given extra.
# Usage: scripts/setup.sh server|dev
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-server}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$extra]"
if [ "$extra" = "dev" ]; then
  # The vcon package that checks an export's vCon in tests pins pytest<9 without needing it:
  # installed without its declared dependencies (its real imports are in the dev extra).
  .venv/bin/python -m pip install --quiet --no-deps vcon==0.3.10
fi
