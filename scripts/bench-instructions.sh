#!/usr/bin/env bash
# Server-side CPU instructions per request (BENCHMARKS.md), the load benchmark's apps counted
# under valgrind's callgrind instead of timed: the same four routes as scripts/bench-load.sh,
#   A  GET /me behind #[hf_login] (hf-auth, mock mode, a valid session cookie),
#   B  GET /me-open, the same handler without protection, in the same process as A,
#   C  GET /me behind axum-login + tower-sessions (MemoryStore), with a session made by one login,
#   D  GET /me-token, A's handler for an API client with a cached Hugging Face bearer token.
# Instruction counts do not depend on what else the machine is doing, so the ratios hold on a
# noisy virtual machine where requests/s drift by tens of percent from one run to the next.
#
#   scripts/bench-instructions.sh                 # about 2 minutes
#   CONNECTIONS=8 ROUNDS=3 SECONDS_PER_RUN=4 scripts/bench-instructions.sh   # the defaults
#
# Each run: zero the server's counters, send requests with wrk for a few seconds (CONNECTIONS
# connections, every answer checked to be 2xx), dump the counters, divide by the number of requests. The
# count covers everything the server process does per request: hyper, tokio, axum, the handler
# and, for A and C, the protection. Results go to target/bench-instructions/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
CONNECTIONS=${CONNECTIONS:-8}
OUT=${OUT:-$ROOT/target/bench-instructions}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

die() { echo "bench-instructions: $*" >&2; exit 1; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]] || die "ROUNDS must be 1..10"
[[ $CONNECTIONS =~ ^[0-9]+$ && $CONNECTIONS -ge 1 && $CONNECTIONS -le 1024 ]] || die "CONNECTIONS must be 1..1024"
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ && $SECONDS_PER_RUN -ge 1 && $SECONDS_PER_RUN -le 60 ]] \
  || die "SECONDS_PER_RUN must be 1..60"

source "$ROOT/scripts/bench-common.sh"
need_packages wrk=wrk callgrind_control=valgrind
for tool in wrk valgrind callgrind_control callgrind_annotate curl awk; do
  command -v $tool >/dev/null || die "$tool is missing"
done
build_servers
# valgrind runs the server in its own process: the dumps of server PID are cg.PID.N.
start_servers valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" --
declare -A SERVER=([A]=HF [B]=HF [C]=LOGIN [D]=HF [E]=HF [F]=HF)

# dumps PID: the callgrind dumps of server PID, newest first.
dumps() { ls -t "$OUT/cg.$1" "$OUT/cg.$1".* 2>/dev/null || true; }

# count X ROUND: one measured run against X; prints instructions per request.
count() {
  local x=$1 r=$2 server=${SERVER[$1]} pid file dump n ir
  pid=$(eval echo "\$${server}_PID")
  file="$OUT/wrk-$x-$r.txt"
  callgrind_control -z "$pid" >/dev/null 2>&1
  timeout $((SECONDS_PER_RUN + 60)) wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" \
    -H "${AUTH[$x]}" -H 'Accept: application/json' "${URL[$x]}" >"$file" 2>&1 \
    || die "wrk failed on $x: $(cat "$file")"
  grep -q 'Non-2xx or 3xx responses' "$file" && die "$x answered non-2xx (see $file)"
  n=$(awk '/requests in/ { print $1 }' "$file")
  (( n > 0 )) || die "no request reached $x"
  local before; before=$(dumps "$pid" | wc -l)
  callgrind_control -d "$pid" >/dev/null 2>&1
  for _ in $(seq 1 300); do
    (( $(dumps "$pid" | wc -l) > before )) && break
    sleep 0.1
  done
  dump=$(dumps "$pid" | head -n1)
  ir=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  [[ -n $ir ]] || die "no instruction count in $dump"
  awk -v i="$ir" -v n="$n" 'BEGIN { printf "%.0f\n", i / n }'
}

echo "warming up"
for x in "${APPS[@]}"; do count "$x" 0 >/dev/null; done
printf 'round\tapp\tinstructions_per_request\n' >"$OUT/results.tsv"
for r in $(seq 1 "$ROUNDS"); do
  for x in "${APPS[@]}"; do
    per=$(count "$x" "$r")
    printf '%s\t%s\t%s\n' "$r" "$x" "$per" >>"$OUT/results.tsv"
    printf '  round %s %s: %s instructions per request\n' "$r" "$x" "$per"
  done
done

med() { awk -F'\t' -v x="$1" 'NR > 1 && $2 == x { print $3 }' "$OUT/results.tsv" | median; }
A=$(med A); B=$(med B); C=$(med C); D=$(med D)
{
  echo "Server instructions per request (callgrind), $(date -u +%Y-%m-%d), medians of $ROUNDS runs of ${SECONDS_PER_RUN}s, $CONNECTIONS connections."
  echo
  echo "| app | instructions per request | added by the protection | rate relative to unprotected |"
  echo "|---|---:|---:|---:|"
  for x in "${APPS[@]}"; do
    v=$(med "$x")
    awk -v l="${LABEL[$x]}" -v v="$v" -v b="$B" \
      'BEGIN { printf "| %s | %.0f | %.0f | %.3f |\n", l, v, v - b, b / v }'
  done
  echo
  awk -v a="$A" -v c="$C" 'BEGIN { printf "hf-auth / axum-login (rate): %.2f\n", c / a }'
  awk -v a="$A" -v d="$D" 'BEGIN { printf "cached token / session cookie (rate): %.3f\n", a / d }'
} | tee "$OUT/summary.md"
