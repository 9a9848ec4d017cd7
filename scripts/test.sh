#!/usr/bin/env bash
# The project's test command (README "Running the tests"): formatting, lints, and every test
# (unit and property tests, end-to-end flows against the test kit's provider and npm's
# oauth2-mock-server, the reference app as a black box, the macros' UI tests, doctests), then
# the browser end-to-end tests (Debian's Chromium driven by playwright-core, installed by the
# script when missing), then a short bounded fuzzing run (FUZZ_SECONDS per target, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features
bash scripts/browser-test.sh
bash scripts/fuzz.sh
