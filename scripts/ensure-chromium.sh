#!/usr/bin/env bash
# The console's browser tests (tests/console/test_browser.py) drive Debian's chromium through
# its chromedriver, both from apt: nothing is downloaded by Selenium itself.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium and chromedriver are missing: install the chromium and chromium-driver packages" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
