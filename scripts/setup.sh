#!/usr/bin/env bash
# Creates .venv (if missing) and installs callvault into it with the given extra.
# Usage: scripts/setup.sh server|dev
# A second run with the same pyproject.toml, this script and Python installs nothing: it took
# 20-50 s of every scripts/test.sh to find everything already installed. The stamp is
# .venv/.setup-<extra>; CALLVAULT_SETUP_FORCE=1 (or deleting .venv) installs again.
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
extra="${1:-server}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.setup-$extra"
wanted="$(cat pyproject.toml "$script" | sha256sum | cut -d' ' -f1) $(.venv/bin/python -V 2>&1)"
if [ "${CALLVAULT_SETUP_FORCE:-0}" != "1" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
rm -f "$stamp"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$extra]"
if [ "$extra" = "dev" ]; then
  # The vcon package that checks an export's vCon in tests pins pytest<9 without needing it:
  # installed without its declared dependencies (its real imports are in the dev extra).
  .venv/bin/python -m pip install --quiet --no-deps vcon==0.3.10
fi
echo "$wanted" > "$stamp"
