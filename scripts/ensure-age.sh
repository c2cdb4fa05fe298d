#!/usr/bin/env bash
# The README's recipe that verifies an access export with age, unzip, sha256sum and openssl
# alone (tests/exports/test_readme_recipe.py) runs Debian's age; jq and xxd as the certificate
# recipe does.
set -euo pipefail
if command -v age >/dev/null && command -v unzip >/dev/null && command -v jq >/dev/null \
  && command -v xxd >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "age, unzip, jq or xxd is missing: install the age, unzip, jq and xxd packages" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age unzip jq xxd >/dev/null
