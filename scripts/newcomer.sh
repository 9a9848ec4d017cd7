#!/usr/bin/env bash
# The newcomer test: what a new user gets by following the README word for word.
#
# It creates a fresh crate in a temporary directory outside the workspace. Its Cargo.toml holds
# the README's dependency lines (the blocks marked `<!-- quickstart-toml -->` and
# `<!-- testing-toml -->`) in their "from a checkout" form, the path pointing at this checkout;
# its src/main.rs is the README's Quick start (`<!-- quickstart -->`) and its
# tests/dashboard.rs the testing guide (`<!-- testing -->`), both copied from README.md itself
# so that the README and this test cannot drift apart.
#
# Then it builds the app, starts it with no variables (only PATH and HOME), and checks with
# curl: the mock start-up prints the URL to open, signed out (the `/` page's sign-in link, 401
# JSON for an API client, a redirect to the login for a browser), signed in through the mock
# login (cookie jar), 200 on the protected route, the printed URL back to `/`, logout, signed
# out again.
# Last it runs the testing guide's test with `cargo test`. Every wait is bounded; the app is
# stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
README="$ROOT/README.md"
PORT=7860 # the port the Quick start binds
# The workspace's target dir, so dependencies already compiled there are reused.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

command -v curl >/dev/null || { echo "newcomer: curl is needed (apt-get install curl)" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hf-auth-newcomer.XXXXXX")"
APP="$WORK/app"
APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ]; then
    kill "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "newcomer: FAILED: $*" >&2
  for f in "$WORK/stdout" "$WORK/stderr"; do
    [ -f "$f" ] && { echo "--- app ${f##*/}:" >&2; cat "$f" >&2; }
  done
  exit 1
}

# Prints the fenced block that follows the line `<!-- NAME -->` (or `<!-- NAME: … -->`).
block() {
  local out
  out="$(awk -v name="$1" '
    state == 0 && $0 ~ ("^<!-- " name "( |:)") { state = 1; next }
    state == 1 && /^```/ { state = 2; next }
    state == 2 && /^```/ { exit }
    state == 2 { print }
  ' "$README")"
  [ -n "$out" ] || fail "README.md has no code block marked <!-- $1 -->"
  printf '%s\n' "$out"
}

# The README's dependency lines in their "from a checkout" form, as a user with a checkout
# writes them: the crates.io line on hf-auth-runtime dropped, the commented path line taken
# instead, with this checkout's path. Both sections use it, so this checks that the two path
# lines work together.
local_deps() {
  local path="$ROOT/hf-auth-runtime"
  block "$1" | sed \
    -e '/^hf-auth-runtime = /d' \
    -e "s|^# hf-auth-runtime = { path = \"\.\./hf-auth/hf-auth-runtime\"|hf-auth-runtime = { path = \"$path\"|"
}

mkdir -p "$APP/src" "$APP/tests"
{
  printf '[package]\nname = "newcomer"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n'
  printf '# A crate of its own, whatever surrounds the temporary directory.\n[workspace]\n\n'
  local_deps quickstart-toml
  echo
  local_deps testing-toml
  printf '\n# The workspace'"'"'s profile, so that the dependencies built there are reused.\n'
  printf '[profile.dev.package."*"]\nopt-level = 1\n'
} >"$APP/Cargo.toml"
[ "$(grep -c "^hf-auth-runtime = { path = \"$ROOT/hf-auth-runtime\"" "$APP/Cargo.toml")" = 2 ] ||
  fail "the README does not give the checkout's path form in both [dependencies] and [dev-dependencies]: $(cat "$APP/Cargo.toml")"
block quickstart >"$APP/src/main.rs"
block testing >"$APP/tests/dashboard.rs"
# The same dependency versions as the workspace (cargo drops what this crate does not use).
cp "$ROOT/Cargo.lock" "$APP/Cargo.lock"

echo "newcomer: building the Quick start in $APP"
cargo build --manifest-path "$APP/Cargo.toml" --bins
BIN="$CARGO_TARGET_DIR/debug/newcomer"
[ -x "$BIN" ] || fail "no binary at $BIN"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  fail "port $PORT is in use already; the Quick start binds it"
fi
(cd "$APP" && exec env -i PATH="$PATH" HOME="$HOME" "$BIN" >"$WORK/stdout" 2>"$WORK/stderr") &
APP_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  grep -q "listening on" "$WORK/stdout" 2>/dev/null && break
  kill -0 "$APP_PID" 2>/dev/null || fail "the Quick start exited at start-up"
  sleep 0.2
done
grep -q "listening on http://127.0.0.1:$PORT" "$WORK/stdout" || fail "the Quick start did not listen on 127.0.0.1:$PORT within 20 s"
grep -q "^hf-auth: MOCK MODE IS ON" "$WORK/stderr" || fail "the mock-mode warning did not reach stderr"
grep -q "^hf-auth: mock mode: open http://localhost:$PORT/oauth/huggingface/login to sign in" "$WORK/stderr" ||
  fail "the mock mode does not print the URL to open"

JAR="$WORK/cookies"
BODY="$WORK/body"
# request EXPECTED_STATUS PATH [curl options…]: fails unless the answer has that status.
request() {
  local want="$1" path="$2" got
  shift 2
  got="$(curl -sS --max-time 10 -o "$BODY" -D "$WORK/headers" -w '%{http_code}' \
    -b "$JAR" -c "$JAR" "$@" "$BASE$path")" || fail "GET $path: curl failed"
  [[ "$got" =~ ^($want)$ ]] || fail "GET $path answered $got, expected $want: $(cat "$BODY")"
}
header() { grep -i "^$1:" "$WORK/headers" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }

request 200 / -H 'accept: text/html'
grep -q "Sign in with Hugging Face" "$BODY" || fail "signed out, / has no sign-in link: $(cat "$BODY")"
request 401 /repos -H 'accept: application/json'
grep -q '"error"' "$BODY" || fail "the 401 has no JSON error: $(cat "$BODY")"
request '302|303' /repos -H 'accept: text/html'
[[ "$(header location)" == /oauth/huggingface/login* ]] || fail "signed out, a browser is not sent to the login"
request '302|303' '/oauth/huggingface/login?_target_url=/repos' -H 'accept: text/html'
[ "$(header location)" = /repos ] || fail "the mock login does not come back to /repos"
request 200 /repos -H 'accept: text/html'
grep -q "dev-user granted" "$BODY" || fail "/repos does not greet the mock user: $(cat "$BODY")"
grep -q "read-repos" "$BODY" || fail "the mock user did not grant read-repos: $(cat "$BODY")"
request 403 /acme -H 'accept: application/json'
# The URL the start-up printed: signs in and comes back to /, which greets the user.
request '302|303' /oauth/huggingface/login -H 'accept: text/html'
[ "$(header location)" = / ] || fail "the mock login without a target does not come back to /"
request 200 / -H 'accept: text/html'
grep -q "Hello dev-user" "$BODY" || fail "signed in, / does not greet the mock user: $(cat "$BODY")"
request '302|303' /oauth/huggingface/logout -H 'accept: text/html'
request 401 /repos -H 'accept: application/json'
echo "newcomer: the Quick start runs as the README says"

kill "$APP_PID" 2>/dev/null || true
wait "$APP_PID" 2>/dev/null || true
APP_PID=""

echo "newcomer: running the testing guide's test"
cargo test --manifest-path "$APP/Cargo.toml" --test dashboard 2>&1 | tee "$WORK/test.log"
grep -q "test dashboard_needs_acme_write ... ok" "$WORK/test.log" || fail "the testing guide's test did not pass"
echo "newcomer: OK"
