#!/usr/bin/env bash
# The multi-replica test (issue 15), in both session modes at once: the test kit's provider
# (examples/test_provider); three examples/space_app replicas on 127.0.0.1 sharing one
# HF_AUTH_COOKIE_KEY with stateless cookie sessions, and three more with server-side sessions in
# one Redis (Debian's redis-server, persistence on: appendonly, fsync always; reached as a managed
# Redis over the internet is: TLS only, with a password, its certificate from a CA made here with
# Debian's openssl, given to the replicas as HF_AUTH_SESSION_STORE_CA); one nginx with a
# round-robin front for each set (no sticky sessions, listening on 127.0.0.1 only, its config,
# pid and logs in a temporary directory). The checks are the Rust driver tests/multi_replica.rs
# (it reuses the test browser of tests/common), run with HF_AUTH_REPLICAS_URL and
# HF_AUTH_STORE_REPLICAS_URL set to the two fronts; it kills and restarts Redis under load
# itself (HF_AUTH_REDIS_CONF, HF_AUTH_REDIS_PID) and revokes with `space_app revoke-user`.
#
# Installs Debian's nginx, redis-server and openssl with apt when missing, as root. Builds in the debug profile with the same flags as scripts/test.sh's
# `cargo test --workspace --all-features`, so after it nothing is compiled again.
# Every wait is bounded; every process started here is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
REPLICAS=3
# The handle the test kit's provider signs in (the driver checks /me for it).
TEST_USER=browser-user
# Short, so that the test sees a refresh; long enough for its checks between two refreshes.
ACCESS_TTL=4
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

log() { echo "multi-replica: $*" >&2; }

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v openssl >/dev/null || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "needs ${missing[*]} (apt-get install ${missing[*]}), and is not root to install them"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

started=$SECONDS
cargo build -q --workspace --all-features --examples
[ -x "$TARGET/examples/space_app" ] || { log "FAILED: no space_app binary in $TARGET/examples"; exit 1; }
cargo test -q --workspace --all-features --test multi_replica --no-run

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hf-auth-replicas.XXXXXX")"
PIDS=()
cleanup() {
  local pid
  # Redis daemonizes (the driver restarts it): stopped through its pid file.
  # Waited for (at most 5 s): it writes its append-only file while shutting down, and the
  # directory is removed below.
  local redis_pid i
  if [ -f "$WORK/redis.pid" ]; then
    redis_pid="$(cat "$WORK/redis.pid")"
    kill "$redis_pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  exec 7>&- 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  log "FAILED: $*"
  for f in "$WORK"/*.log; do
    [ -f "$f" ] && { echo "--- ${f##*/}:" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
}

# A port nothing listens on (checked by connecting; at most 100 tries).
used_ports=" "
free_port() {
  local p i
  for i in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    case "$used_ports" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      used_ports+="$p "
      echo "$p"
      return 0
    fi
  done
  fail "no free port found"
}

# Waits at most $2 seconds for a line starting with $3 in file $1; prints the rest of the line.
wait_line() {
  local file=$1 secs=$2 prefix=$3 i line
  for i in $(seq 1 $((secs * 10))); do
    line="$(grep -m1 "^$prefix" "$file" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      echo "${line#"$prefix"}"
      return 0
    fi
    sleep 0.1
  done
  fail "no line \"$prefix\" in ${file##*/} within ${secs}s"
}

NGINX_PORT="$(free_port)"
PUBLIC="http://127.0.0.1:$NGINX_PORT"
KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# The provider stops when its standard input closes: it reads a fifo that only this script
# holds open (fd 7), so it cannot outlive the script.
mkfifo "$WORK/provider-stdin"
TEST_PROVIDER_INTERACTIVE=0 TEST_PROVIDER_REFRESH_TOKENS=1 TEST_PROVIDER_ACCESS_TOKEN_TTL=$ACCESS_TTL \
  "$TARGET/examples/test_provider" <"$WORK/provider-stdin" >"$WORK/provider.log" 2>&1 &
PIDS+=($!)
exec 7>"$WORK/provider-stdin"
ISSUER="$(wait_line "$WORK/provider.log" 30 "READY ")"

REDIS_PORT="$(free_port)"
mkdir -p "$WORK/redis" "$WORK/tls"
# A CA of this run, and the server certificate it signs for 127.0.0.1 (P-256 keys).
(
  cd "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout ca.key -out ca.pem -subj "/CN=hf-auth multi-replica CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
) >"$WORK/openssl.log" 2>&1 || fail "openssl could not make the test certificates"
REDIS_PASSWORD="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CA="$WORK/tls/ca.pem"
cat >"$WORK/redis.conf" <<CONF
bind 127.0.0.1
port 0
tls-port $REDIS_PORT
tls-cert-file $WORK/tls/server.pem
tls-key-file $WORK/tls/server.key
tls-ca-cert-file $CA
tls-auth-clients no
requirepass $REDIS_PASSWORD
protected-mode yes
daemonize yes
pidfile $WORK/redis.pid
logfile $WORK/redis.log
dir $WORK/redis
save ""
appendonly yes
appendfsync always
CONF
redis-server "$WORK/redis.conf" || fail "redis-server did not start"
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
  sleep 0.1
done
STORE="rediss://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
# Redis as the replicas reach it: TLS with the password answers, plain TCP does not.
# Every redis-cli call is bounded (5 s), a probe of the TLS port over plain TCP included.
redis_cli() { REDISCLI_AUTH="$REDIS_PASSWORD" timeout 5 redis-cli --tls --cacert "$CA" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
[ "$(redis_cli PING)" = PONG ] || fail "redis-server does not answer over TLS with its password"
if timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING >/dev/null 2>&1; then fail "redis-server answers plain TCP"; fi

# Starts $REPLICAS replicas; $1 names the set (its upstream list goes to $WORK/replicas-$1),
# the rest are extra variables for them. Prints the nginx upstream lines.
start_replicas() {
  local set=$1 i port public=$PUBLIC
  shift
  [ "$set" = store ] && public=$STORE_PUBLIC
  for i in $(seq 1 "$REPLICAS"); do
    port="$(free_port)"
    env -i PATH="$PATH" HOST=127.0.0.1 PORT="$port" RUST_LOG=info \
      OAUTH_CLIENT_ID=hf-auth-test-client \
      OAUTH_CLIENT_SECRET=hf-auth-test-client-secret-0123456789 \
      OPENID_PROVIDER_URL="$ISSUER" \
      OAUTH_SCOPES="openid profile read-repos write-repos" \
      HF_AUTH_COOKIE_KEY="$KEY" HF_AUTH_PUBLIC_URL="$public" "$@" \
      "$TARGET/examples/space_app" </dev/null >"$WORK/replica-$set-$i.log" 2>&1 &
    PIDS+=($!)
    echo "127.0.0.1:$port" >>"$WORK/replicas-$set"
  done
}
upstreams() { sed 's/^/    server /; s/$/;/' "$WORK/replicas-$1"; }

STORE_PORT="$(free_port)"
STORE_PUBLIC="http://127.0.0.1:$STORE_PORT"
start_replicas stateless
start_replicas store HF_AUTH_SESSION_STORE="$STORE" HF_AUTH_SESSION_STORE_CA="$CA"
for set in stateless store; do
  for i in $(seq 1 "$REPLICAS"); do
    wait_line "$WORK/replica-$set-$i.log" 60 "listening on " >/dev/null
  done
done

# One nginx server block: a round-robin front on port $1 for the replica set $2.
front() {
  cat <<BLOCK
  server {
    listen 127.0.0.1:$1;
    # Sessions split over several cookies make large headers both ways.
    large_client_header_buffers 4 32k;
    location / {
      proxy_pass http://$2;
      proxy_set_header Host \$http_host;
      proxy_buffer_size 32k;
      proxy_buffers 8 32k;
      # An answer is one replica's: never retried on another.
      proxy_next_upstream off;
      add_header X-Upstream \$upstream_addr always;
    }
  }
BLOCK
}

mkdir -p "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 64; }
http {
  log_format upstream '\$upstream_addr \$status \$request';
  access_log $WORK/nginx-access.log upstream;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  # Round-robin, no stickiness: consecutive requests of one client go to the next replica.
  upstream stateless {
$(upstreams stateless)
  }
  upstream store {
$(upstreams store)
  }
$(front "$NGINX_PORT" stateless)
$(front "$STORE_PORT" store)
}
CONF
# As root, nginx's worker would switch to another user that cannot write the temporary dir.
if [ "$(id -u)" -eq 0 ]; then sed -i '1i user root;' "$WORK/nginx.conf"; fi
"$NGINX" -t -q -p "$WORK" -c "$WORK/nginx.conf" 2>"$WORK/nginx-check.log" || fail "nginx rejects its config"
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/nginx-error.log" &
PIDS+=($!)
ready=""
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "nginx did not listen on $PUBLIC within 10s"
log "provider $ISSUER; $REPLICAS stateless replicas behind $PUBLIC; $REPLICAS with sessions in rediss://:<password>@127.0.0.1:$REDIS_PORT/0 behind $STORE_PUBLIC"

HF_AUTH_REPLICAS_URL="$PUBLIC" HF_AUTH_STORE_REPLICAS_URL="$STORE_PUBLIC" HF_AUTH_REPLICAS="$REPLICAS" \
  HF_AUTH_SESSION_STORE="$STORE" HF_AUTH_SESSION_STORE_CA="$CA" HF_AUTH_REDIS_CONF="$WORK/redis.conf" HF_AUTH_REDIS_PID="$WORK/redis.pid" \
  HF_AUTH_SPACE_APP="$TARGET/examples/space_app" \
  TEST_PROVIDER_ACCESS_TOKEN_TTL=$ACCESS_TTL TEST_PROVIDER_USER="$TEST_USER" \
  timeout 300 cargo test -q --workspace --all-features --test multi_replica -- --nocapture \
  || fail "the driver tests/multi_replica.rs failed"

# nginx's own log agrees that every replica of both sets answered.
for set in stateless store; do
  while read -r upstream; do
    grep -q "^$upstream 200 GET /me" "$WORK/nginx-access.log" || fail "replica $upstream ($set) never answered /me"
  done <"$WORK/replicas-$set"
done
# What a Redis reader sees: sessions, none of them showing the user's handle or a token.
sessions=0
while read -r key; do
  [ -n "$key" ] || continue
  sessions=$((sessions + 1))
  if redis_cli --raw GET "$key" | grep -a -q -e "$TEST_USER" -e hf_oauth; then
    fail "$key shows the handle or a token in plain text"
  fi
done < <(redis_cli --scan --pattern 'hf-auth:s:*')
[ "$sessions" -gt 0 ] || fail "no session in Redis to look at"
log "a Redis reader sees $sessions sealed session(s), no handle, no token"
# No replica answered 500 (the driver checks its own answers; this covers every one).
if grep -q '^[0-9.:]* 500 ' "$WORK/nginx-access.log"; then fail "a replica answered 500"; fi
log "passed in $((SECONDS - started)) s (build included)"
