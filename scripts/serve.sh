#!/usr/bin/env bash
# First command of the README: set up and start callvault on the embedded default
# (SQLite + a local blob folder under ./callvault-data). Extra arguments go to `callvault serve`,
# which says on stderr where the store is, whether it made it and a master key, and what to do next.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh server
exec .venv/bin/callvault serve "$@"
