#!/usr/bin/env bash
# Fuzzes the cookie codec, the return-path check and the callback parser with cargo-fuzz
# (libFuzzer). Bounded: FUZZ_SECONDS per target (default 20; use 600 or more for a real run).
# The machine's toolchain is stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build -O
for target in session_cookie return_path callback_query; do
  echo "fuzz: $target for ${seconds}s"
  log="$(mktemp)"
  status=0
  cargo fuzz run -O "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_units)|ERROR|panicked|SUMMARY" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz: $target FAILED (exit $status); the input is in fuzz/artifacts/$target/"
    exit "$status"
  fi
  rm -f "$log"
done
