#!/usr/bin/env bash
# Browser end-to-end tests: Debian's Chromium, driven by playwright-core (tests/browser/), clicks
# through the reference app (examples/space_app) and the test kit's provider with its consent
# page (examples/test_provider). Installs what is missing: the `chromium` package (as root, with
# apt; never a browser downloaded by a test tool) and the pinned playwright-core (`npm ci`).
# `openssl` makes the certificate of the TLS front in iframe.test.mjs.
# Screenshots: ci-artifacts/screenshots/. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${missing[*]}; install them with apt-get (Debian's packages)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

npm ci --prefix tests/browser --no-audit --no-fund
cargo build --examples --all-features
export CHROMIUM
exec node --test tests/browser/
