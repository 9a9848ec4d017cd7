#!/usr/bin/env bash
# The project's test command (README "Running the tests"): formatting, lints, packaging of the
# crates, the docs without warnings, and every test (unit and property tests, end-to-end flows
# against the test kit's provider and npm's oauth2-mock-server, the reference app as a black box,
# the macros' UI tests, doctests), the README's Quick start and testing guide in a fresh crate
# (scripts/newcomer.sh), the multi-replica test (scripts/multi-replica.sh: three replicas of the
# reference app behind nginx), then
# the browser end-to-end tests (Debian's Chromium driven by playwright-core, installed by the
# script when missing), then a short bounded fuzzing run (FUZZ_SECONDS per target, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The crates as crates.io would get them: packaged in dependency order and each built from its
# .crate file, against the others packaged alongside. The root package (publish = false) holds
# the examples and tests; packaging it would only add time, and fail on any untracked scratch
# file in the checkout.
cargo package --workspace --exclude hf-auth-examples
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps
# The Redis session store's tests start their own redis-server (Debian's), on 127.0.0.1.
if ! command -v redis-server >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
cargo test --workspace --all-features
# The README's Quick start and testing guide, built and run in a fresh crate outside the workspace.
bash scripts/newcomer.sh
bash scripts/multi-replica.sh
bash scripts/browser-test.sh
bash scripts/fuzz.sh
