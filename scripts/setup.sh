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
