# Shared by scripts/bench-load.sh and scripts/bench-instructions.sh (sourced, not run): tools,
# building the bench servers of bench/, starting them, and the sessions A, B and C use.
# Expects ROOT, OUT, TARGET_DIR and a `die` function; sets BIN, PIDS and, through
# `start_servers`, HF_URL, HF_PID, HF_COOKIE, HF_TOKEN, LOGIN_URL, LOGIN_PID, LOGIN_COOKIE, URL,
# COOKIE, AUTH (the credentials header of each route), LABEL, and APPS (the routes measured:
# A B C D, plus E and F with STORE=1, which starts a redis-server on 127.0.0.1 for them).

# need_packages PROGRAM=PACKAGE...: installs the Debian packages of the missing programs.
need_packages() {
  local missing=() pair
  for pair in "$@"; do command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}"); done
  (( ${#missing[@]} )) || return 0
  echo "installing ${missing[*]} (Debian packages)"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build_servers() {
  echo "building the bench servers (release)"
  cargo build --release --quiet --manifest-path "$ROOT/bench/Cargo.toml" --target-dir "$TARGET_DIR"
  BIN=$TARGET_DIR/release/load-bench
  rm -rf "$OUT"; mkdir -p "$OUT"
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
}

# start NAME -- COMMAND...: starts a server (COMMAND is the wrapper and the server's own
# arguments, e.g. `taskset -c 0 "$BIN" hf`), waits at most 120 s for its address line, and sets
# NAME_PID and NAME_URL.
start() {
  local name=$1; shift 2
  "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 1200); do
    grep -q '^listening on ' "$OUT/$name.stdout" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "server $name exited: $(tail -5 "$OUT/$name.stderr")"
    sleep 0.1
  done
  grep -q '^listening on ' "$OUT/$name.stdout" || die "server $name did not start in 120 s"
  eval "${name}_PID=$pid"
  eval "${name}_URL=$(sed -n 's/^listening on //p' "$OUT/$name.stdout" | head -n1)"
}

# start_servers WRAPPER... -- HF_ARGS...: both servers under WRAPPER (may be empty), with the
# credentials routes A (hf-auth, a session cookie), B (unprotected), C (axum-login) and D
# (hf-auth, a cached bearer token) are called with.
start_servers() {
  local wrapper=()
  while [[ $1 != -- ]]; do wrapper+=("$1"); shift; done
  shift
  APPS=(A B C D)
  if [[ ${STORE:-0} == 1 ]]; then
    need_packages redis-server=redis-server
    local port=$((20000 + RANDOM % 40000))
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
      --pidfile "$OUT/redis.pid" --logfile "$OUT/redis.log" >/dev/null || die "redis-server did not start"
    trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -f $OUT/redis.pid ]] && kill "$(cat "$OUT/redis.pid")" 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    export BENCH_REDIS_URL="redis://127.0.0.1:$port/0"
    APPS+=(E F)
  fi
  start HF -- "${wrapper[@]}" "$BIN" hf "$@"
  for _ in $(seq 1 100); do grep -q '^cookie: ' "$OUT/HF.stdout" && break; sleep 0.1; done
  HF_COOKIE=$(sed -n 's/^cookie: //p' "$OUT/HF.stdout" | head -n1)
  [[ -n $HF_COOKIE ]] || die "the hf server printed no cookie"
  # The token comes once the server has checked it with whoami (under valgrind, slowly).
  for _ in $(seq 1 1200); do grep -q '^token: ' "$OUT/HF.stdout" && break; sleep 0.1; done
  HF_TOKEN=$(sed -n 's/^token: //p' "$OUT/HF.stdout" | head -n1)
  [[ -n $HF_TOKEN ]] || die "the hf server printed no token: $(tail -5 "$OUT/HF.stderr")"
  start LOGIN -- "${wrapper[@]}" "$BIN" login
  LOGIN_COOKIE=$(curl -sS -o /dev/null -D - -X POST "$LOGIN_URL/login" \
    | awk 'tolower($1) == "set-cookie:" { sub(/;.*/, "", $2); print $2 }' | tr -d '\r' | head -n1)
  [[ -n $LOGIN_COOKIE ]] || die "axum-login's /login set no cookie"
  declare -gA URL=([A]="$HF_URL/me" [B]="$HF_URL/me-open" [C]="$LOGIN_URL/me" [D]="$HF_URL/me-token")
  declare -gA COOKIE=([A]="$HF_COOKIE" [B]="$HF_COOKIE" [C]="$LOGIN_COOKIE")
  declare -gA AUTH=([A]="Cookie: $HF_COOKIE" [B]="Cookie: $HF_COOKIE" [C]="Cookie: $LOGIN_COOKIE"
    [D]="Authorization: Bearer $HF_TOKEN")
  declare -gA LABEL=([A]="hf-auth #[hf_login]" [B]="unprotected" [C]="axum-login"
    [D]="hf-auth #[hf_login], cached bearer token")
  if [[ ${STORE:-0} == 1 ]]; then
    local e f
    for _ in $(seq 1 100); do grep -q '^stored-cookie /me-stored-nocache: ' "$OUT/HF.stdout" && break; sleep 0.1; done
    e=$(sed -n 's|^stored-cookie /me-stored: ||p' "$OUT/HF.stdout" | head -n1)
    f=$(sed -n 's|^stored-cookie /me-stored-nocache: ||p' "$OUT/HF.stdout" | head -n1)
    [[ -n $e && -n $f ]] || die "the hf server printed no stored-session cookies"
    URL[E]="$HF_URL/me-stored"; URL[F]="$HF_URL/me-stored-nocache"
    COOKIE[E]="$e"; COOKIE[F]="$f"
    AUTH[E]="Cookie: $e"; AUTH[F]="Cookie: $f"
    LABEL[E]="hf-auth, server-side session (replica cache)"
    LABEL[F]="hf-auth, server-side session (Redis per request)"
  fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
