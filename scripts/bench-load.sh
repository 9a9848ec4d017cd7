#!/usr/bin/env bash
# The load benchmark (BENCHMARKS.md): requests/s and latency of
#   A  GET /me behind #[hf_login] (hf-auth, mock mode, a valid session cookie),
#   B  GET /me-open, the same handler without protection, in the same process as A,
#   C  GET /me behind axum-login + tower-sessions (MemoryStore), with a session made by one login,
#   D  GET /me-token, A's handler behind #[hf_login] for an API client with a cached Hugging Face
#      token (`Authorization: Bearer`; a real-mode app at the test kit's provider, same process),
# with wrk on 127.0.0.1, the servers pinned to one CPU and wrk to another. The runs are rotated
# (A B C D, B C D A, ...) and repeated; the script reports medians, ratios to B (the median of the
# ratios within each round, whose three runs are adjacent in time, so that a machine whose speed
# drifts over minutes does not tilt them; and their spread), peak RSS, and the
# memory of A's server before and after 100k distinct sessions (and of C's after as many logins).
# It also reads each server's CPU time (user + kernel, /proc/PID/task/*/schedstat) around every
# run: CPU time per request, and requests per CPU-second relative to B, do not include the time
# a virtual machine's hypervisor steals, which moves requests/s by tens of percent between runs.
#
#   scripts/bench-load.sh                       # defaults below, about 6 minutes
#   DURATION=5 ROUNDS=6 CONNS="1 32 256" SESSIONS=100000 scripts/bench-load.sh
#   STORE=1 scripts/bench-load.sh               # also E and F: server-side sessions in a local Redis
#
# Every run is checked: any non-2xx answer (wrk's "Non-2xx or 3xx responses") fails the script.
# Requests carry `Accept: application/json`, so a session hf-auth refuses answers 401, not a
# redirect. Results go to target/bench-load/ (raw wrk output, results.tsv, summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-5}           # seconds per run
ROUNDS=${ROUNDS:-6}               # rotations of A B C per connection count
CONNS=${CONNS:-"1 32 256"}        # concurrent connections
SESSIONS=${SESSIONS:-100000}      # distinct sessions for the memory test
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT=${OUT:-$ROOT/target/bench-load}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

die() { echo "bench-load: $*" >&2; exit 1; }
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 && $DURATION -le 120 ]] || die "DURATION must be 1..120"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 30 ]] || die "ROUNDS must be 1..30"
[[ $SESSIONS =~ ^[0-9]+$ && $SESSIONS -ge 1 && $SESSIONS -le 1000000 ]] || die "SESSIONS must be 1..1000000"
for c in $CONNS; do [[ $c =~ ^[0-9]+$ && $c -ge 1 && $c -le 1024 ]] || die "CONNS: $c is not 1..1024"; done

# --- tools, build, servers ------------------------------------------------------------------
source "$ROOT/scripts/bench-common.sh"
need_packages wrk=wrk
for tool in wrk taskset curl awk; do command -v $tool >/dev/null || die "$tool is missing"; done
CPUS=$(nproc)
if (( CPUS < 2 )); then
  echo "warning: one CPU only; server and wrk share it" >&2
  SERVER_CPU=0; CLIENT_CPU=0
fi
build_servers
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
start_servers taskset -c "$SERVER_CPU" -- --mint "$SESSIONS" "$OUT/cookies.txt"
[[ $(wc -l <"$OUT/cookies.txt") -eq $SESSIONS ]] || die "expected $SESSIONS minted cookies"

# The checks wrk cannot make: right answers with the cookie, refusals without.
code() { curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: application/json' "$@"; }
for x in "${APPS[@]}"; do
  [[ $(code -H "${AUTH[$x]}" "${URL[$x]}") == 200 ]] || die "$x does not answer 200 with its credentials"
done
[[ $(code "${URL[A]}") == 401 ]] || die "A answers without a session"
[[ $(code "${URL[D]}") == 401 ]] || die "D answers without a token"
[[ $(code -H "Authorization: Bearer hf_not_a_token_it_minted" "${URL[D]}") == 401 ]] || die "D accepts an unknown token"
[[ $(code "${URL[C]}") == 401 ]] || die "C answers without a session"
[[ $(code -H "Cookie: ${COOKIE[C]}" "${URL[A]}") == 401 ]] || die "A accepts C's cookie"

# --- runs ----------------------------------------------------------------------------------
# to_us VALUE: wrk's "123.45us" / "1.23ms" / "1.00s" in microseconds.
to_us() { awk -v v="$1" 'BEGIN {
  n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = -1
  if (f < 0) { print "NaN"; exit 1 } printf "%.1f", n * f }'; }

# cpu_ns PID: CPU time the process has run so far, all its threads, in nanoseconds (schedstat:
# time on a CPU, user and kernel; time the hypervisor steals from the VM is not in it).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
declare -A SERVER_PID

# run X CONNS SECONDS FILE [wrk args...]: one wrk run against X, checked. Sets CPU_NS to the
# CPU time X's server used during the run.
run() {
  local x=$1 c=$2 secs=$3 file=$4; shift 4
  local before; before=$(cpu_ns "${SERVER_PID[$x]}")
  taskset -c "$CLIENT_CPU" timeout $((secs + 30)) wrk -t1 -c"$c" -d"${secs}s" --latency \
    -H "${AUTH[$x]}" -H 'Accept: application/json' "$@" "${URL[$x]}" >"$file" 2>&1 \
    || die "wrk failed on $x: $(cat "$file")"
  if grep -q 'Non-2xx or 3xx responses' "$file"; then
    die "$x answered non-2xx: $(grep 'Non-2xx' "$file") (see $file)"
  fi
  grep -q 'Requests/sec' "$file" || die "no result in $file"
  if grep -q 'Socket errors' "$file"; then echo "  warning: $(grep 'Socket errors' "$file")" >&2; fi
  CPU_NS=$(( $(cpu_ns "${SERVER_PID[$x]}") - before ))
}

SERVER_PID=([A]=$HF_PID [B]=$HF_PID [C]=$LOGIN_PID [D]=$HF_PID [E]=$HF_PID [F]=$HF_PID)
echo "warming up"
for x in "${APPS[@]}"; do run "$x" 32 2 "$OUT/warmup-$x.txt"; done

printf 'conns\tround\tapp\treq_s\tp50_us\tp99_us\tcpu_us_per_req\n' >"$OUT/results.tsv"
ORDER=("${APPS[@]}")
for c in $CONNS; do
  for r in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $(( ${#APPS[@]} - 1 ))); do
      x=${ORDER[$(( (r - 1 + k) % ${#APPS[@]} ))]}
      f="$OUT/run-c$c-r$r-$x.txt"
      run "$x" "$c" "$DURATION" "$f"
      rps=$(awk '/^Requests\/sec/ { print $2 }' "$f")
      p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$f")")
      p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$f")")
      n=$(awk '/requests in/ { print $1 }' "$f")
      cpu=$(awk -v ns="$CPU_NS" -v n="$n" 'BEGIN { printf "%.3f", ns / 1000 / n }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$r" "$x" "$rps" "$p50" "$p99" "$cpu" >>"$OUT/results.tsv"
      printf '  c=%-4s round %s %s: %10.0f req/s  p50 %8.1f us  p99 %8.1f us  server CPU %6.2f us/req\n' \
        "$c" "$r" "$x" "$rps" "$p50" "$p99" "$cpu"
    done
  done
done

HF_HWM=$(status_kb "$HF_PID" VmHWM)
LOGIN_HWM=$(status_kb "$LOGIN_PID" VmHWM)

# --- memory after many distinct sessions -----------------------------------------------------
# A: wrk sends each of the $SESSIONS minted cookies in turn (each a different user); the run
# lasts until every one has been sent at least once (at most 120 s). C: as many logins (POST
# /login, each a new session in the MemoryStore), for comparison.
cat >"$OUT/rotate.lua" <<'LUA'
local cookies, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
end
function request()
  i = i % #cookies + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[i], ["Accept"] = "application/json" })
end
LUA
cat >"$OUT/login.lua" <<'LUA'
wrk.method = "POST"
LUA

sessions_run() { # X SCRIPT ARG FILE: runs until SESSIONS requests were made (bounded)
  local x=$1 script=$2 arg=$3 file=$4 total=0 n=0
  while (( total < SESSIONS )); do
    n=$((n + 1)); (( n <= 12 )) || die "$x: fewer than $SESSIONS requests in 12 runs"
    taskset -c "$CLIENT_CPU" timeout 60 wrk -t1 -c32 -d10s -s "$script" "${URL[$x]}" -- "$arg" \
      >"$file.$n" 2>&1 || die "wrk failed: $(cat "$file.$n")"
    grep -q 'Non-2xx or 3xx responses' "$file.$n" && die "$x answered non-2xx in $file.$n"
    total=$(( total + $(awk '/requests in/ { print $1 }' "$file.$n") ))
  done
  echo "$total"
}

HF_BEFORE=$(status_kb "$HF_PID" VmRSS)
HF_REQS=$(sessions_run A "$OUT/rotate.lua" "$OUT/cookies.txt" "$OUT/sessions-A")
HF_AFTER=$(status_kb "$HF_PID" VmRSS)
LOGIN_BEFORE=$(status_kb "$LOGIN_PID" VmRSS)
URL[C]="$LOGIN_URL/login"
LOGIN_REQS=$(sessions_run C "$OUT/login.lua" "" "$OUT/sessions-C")
LOGIN_AFTER=$(status_kb "$LOGIN_PID" VmRSS)

# --- summary ---------------------------------------------------------------------------------
col() { awk -F'\t' -v c="$1" -v x="$2" -v k="$3" 'NR > 1 && $1 == c && $3 == x { print $k }' "$OUT/results.tsv" | median; }
# ratios C X Y [COLUMN]: X's req/s (or another column) over Y's in each round at C connections,
# one per line.
ratios() {
  awk -F'\t' -v c="$1" -v x="$2" -v y="$3" -v k="${4:-4}" 'NR > 1 && $1 == c { v[$2 "," $3] = $k; r[$2] = 1 }
    END { for (k in r) if (v[k "," y] > 0) print v[k "," x] / v[k "," y] }' "$OUT/results.tsv"
}
spread() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f–%.2f", v[1], v[NR] }'; }

{
  echo "Load benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),"
  echo "server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU, ${DURATION}s per run, $ROUNDS rotated rounds, medians."
  echo
  echo "| conns | app | req/s | ratio to unprotected | p50 µs | p99 µs |"
  echo "|---:|---|---:|---:|---:|---:|"
  for c in $CONNS; do
    b=$(col "$c" B 4)
    for x in "${APPS[@]}"; do
      rps=$(col "$c" "$x" 4)
      printf '| %s | %s | %.0f | %.3f | %.1f | %.1f |\n' "$c" "${LABEL[$x]}" "$rps" \
        "$(awk -v a="$rps" -v b="$b" 'BEGIN { print a / b }')" "$(col "$c" "$x" 5)" "$(col "$c" "$x" 6)"
    done
  done
  echo
  echo "Ratios of requests/s within each round (the four runs of a round are adjacent in time):"
  echo "median, and lowest–highest over the $ROUNDS rounds."
  echo
  echo "| conns | hf-auth / unprotected | spread | cached token / unprotected | spread | axum-login / unprotected | spread | hf-auth / axum-login | spread |"
  echo "|---:|---:|---|---:|---|---:|---|---:|---|"
  for c in $CONNS; do
    printf '| %s | %.3f | %s | %.3f | %s | %.3f | %s | %.2f | %s |\n' "$c" \
      "$(ratios "$c" A B | median)" "$(ratios "$c" A B | spread)" \
      "$(ratios "$c" D B | median)" "$(ratios "$c" D B | spread)" \
      "$(ratios "$c" C B | median)" "$(ratios "$c" C B | spread)" \
      "$(ratios "$c" A C | median)" "$(ratios "$c" A C | spread)"
  done
  if [[ ${STORE:-0} == 1 ]]; then
    echo
    echo "Server-side sessions (Redis on 127.0.0.1), requests/s over unprotected within each round:"
    echo
    echo "| conns | replica cache / unprotected | spread | Redis per request / unprotected | spread |"
    echo "|---:|---:|---|---:|---|"
    for c in $CONNS; do
      printf '| %s | %.3f | %s | %.3f | %s |\n' "$c" \
        "$(ratios "$c" E B | median)" "$(ratios "$c" E B | spread)" \
        "$(ratios "$c" F B | median)" "$(ratios "$c" F B | spread)"
    done
  fi
  echo
  echo "Server CPU time per request (user + kernel, all threads; what the hypervisor steals is not"
  echo "in it), and the requests one CPU-second serves relative to unprotected: the unprotected"
  echo "run's CPU per request over the other's, within each round; median and lowest–highest."
  echo
  echo "| conns | hf-auth µs | cached token µs | unprotected µs | axum-login µs | hf-auth / unprotected | spread | cached token / unprotected | spread | axum-login / unprotected | spread | hf-auth / axum-login | spread |"
  echo "|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|---:|---|"
  for c in $CONNS; do
    printf '| %s | %.2f | %.2f | %.2f | %.2f | %.3f | %s | %.3f | %s | %.3f | %s | %.2f | %s |\n' "$c" \
      "$(col "$c" A 7)" "$(col "$c" D 7)" "$(col "$c" B 7)" "$(col "$c" C 7)" \
      "$(ratios "$c" B A 7 | median)" "$(ratios "$c" B A 7 | spread)" \
      "$(ratios "$c" B D 7 | median)" "$(ratios "$c" B D 7 | spread)" \
      "$(ratios "$c" B C 7 | median)" "$(ratios "$c" B C 7 | spread)" \
      "$(ratios "$c" C A 7 | median)" "$(ratios "$c" C A 7 | spread)"
  done
  echo
  echo "Peak RSS (VmHWM) after the runs: hf-auth server (A and B) ${HF_HWM} kB, axum-login server ${LOGIN_HWM} kB."
  echo
  echo "| memory test | requests | distinct sessions | VmRSS before kB | after kB | growth kB |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "| hf-auth: $SESSIONS minted cookies, each sent | $HF_REQS | $SESSIONS | $HF_BEFORE | $HF_AFTER | $((HF_AFTER - HF_BEFORE)) |"
  echo "| axum-login: POST /login, each a new session | $LOGIN_REQS | $LOGIN_REQS | $LOGIN_BEFORE | $LOGIN_AFTER | $((LOGIN_AFTER - LOGIN_BEFORE)) |"
} | tee "$OUT/summary.md"
echo "raw results: $OUT"
