#!/usr/bin/env bash
# The project's single test command (`npm test`).
#
#   1. Redis: use the one at $REDIS_URL (default redis://127.0.0.1:6379), or
#      start a throwaway redis-server on a free loopback port for this run.
#   2. cargo fmt --check, 3. cargo clippy -D warnings, 4. cargo test,
#   5. the TypeScript type test (if __test__/types/tsconfig.json exists),
#   6. the JS suite (node:test, one file at a time),
#   7. the app tests (__test__/apps/*.e2e.js): example apps (Next.js, Express,
#      Jest, bull-board, NestJS, the seed systems) and the packed package, each
#      installed from the npm registry into a temporary directory with the
#      implementation under test as `bullmq`, built and run (bull-board's in
#      headless chromium: Debian's package, which the test installs with
#      apt-get when it is missing and we are root).
#
# Environment:
#   REDIS_URL            Redis to test against (default redis://127.0.0.1:6379)
#   BULLRUSH_TEST_IMPL   bullrush (default) or bullmq: which implementation the
#                        JS suite tests (bullmq = validate the tests themselves)
#   TEST_TIMEOUT         bound in seconds for the JS suite and, separately, for
#                        the app tests (default 900 each); a test process that
#                        never exits (a handle left open) fails the run instead
#                        of hanging it
#
# Extra arguments are passed to `node --test` (e.g. --test-name-pattern=...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() {
  if [ -t 1 ]; then
    printf '\n\033[1m==> %s\033[0m\n' "$*"
  else
    printf '\n==> %s\n' "$*"
  fi
}

die() {
  printf '\nscripts/test.sh: %s\n' "$*" >&2
  exit 1
}

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

# Succeeds if a Redis answers PING at the URL given as $1.
redis_answers() {
  local url="$1"
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -u "$url" ping 2>/dev/null || true)" = "PONG" ]
  else
    # No redis-cli: a tiny RESP probe with node (handles redis:// with
    # password and db; TLS URLs are not probed this way).
    node -e '
      const net = require("net");
      const u = new URL(process.argv[1]);
      const s = net.connect(Number(u.port || 6379), u.hostname || "127.0.0.1");
      const cmds = [];
      if (u.password) cmds.push(u.username ? ["AUTH", decodeURIComponent(u.username), decodeURIComponent(u.password)] : ["AUTH", decodeURIComponent(u.password)]);
      cmds.push(["PING"]);
      const resp = cmds.map(c => `*${c.length}\r\n` + c.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")).join("");
      let buf = "";
      s.setTimeout(2000, () => process.exit(1));
      s.on("error", () => process.exit(1));
      s.on("connect", () => s.write(resp));
      s.on("data", d => { buf += d; if (buf.includes("+PONG")) process.exit(0); if (buf.startsWith("-")) process.exit(1); });
    ' "$url" >/dev/null 2>&1
  fi
}

# The URL with any credentials masked, for logs.
redact() {
  printf '%s' "$1" | sed -E 's#//[^@/]*@#//***@#'
}

# Succeeds if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
}

REDIS_PID=""
REDIS_DIR=""
cleanup() {
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" >/dev/null 2>&1 || true
    wait "$REDIS_PID" >/dev/null 2>&1 || true
  fi
  if [ -n "$REDIS_DIR" ]; then
    rm -rf "$REDIS_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Redis"
if redis_answers "$REDIS_URL"; then
  echo "using the Redis at $(redact "$REDIS_URL")"
elif command -v redis-server >/dev/null 2>&1; then
  port=6390
  while port_in_use "$port"; do
    port=$((port + 1))
    [ "$port" -le 6490 ] || die "no free loopback port in 6390-6490 for a throwaway redis-server"
  done
  REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/bullrush-redis.XXXXXX")"
  echo "no Redis answers at $(redact "$REDIS_URL"); starting a throwaway redis-server on 127.0.0.1:$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" &
  REDIS_PID=$!
  REDIS_URL="redis://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if redis_answers "$REDIS_URL"; then break; fi
    if ! kill -0 "$REDIS_PID" 2>/dev/null; then
      cat "$REDIS_DIR/redis.log" >&2 || true
      die "redis-server exited during start-up"
    fi
    sleep 0.1
  done
  redis_answers "$REDIS_URL" || {
    cat "$REDIS_DIR/redis.log" >&2 || true
    die "the throwaway redis-server on port $port did not answer within 10 s"
  }
  echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') ready at $REDIS_URL (pid $REDIS_PID)"
else
  die "no Redis answers at $(redact "$REDIS_URL") and redis-server is not installed.
Start a Redis server (>= 6.2) and set REDIS_URL, or install redis-server."
fi
export REDIS_URL

command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
command -v node >/dev/null 2>&1 || die "node is not installed"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace (REDIS_URL=$(redact "$REDIS_URL"))"
cargo test --workspace

if [ -f __test__/types/tsconfig.json ]; then
  step "npx tsc -p __test__/types/tsconfig.json"
  npx --no-install tsc -p __test__/types/tsconfig.json
else
  step "type test: skipped (no __test__/types/tsconfig.json)"
fi

# node 20's --test takes files or directories, not globs (and a directory
# would also run fixtures named like tests), so list the files.
mapfile -t TEST_FILES < <(find __test__ -name '*.test.js' -not -path '*/node_modules/*' | LC_ALL=C sort)
[ "${#TEST_FILES[@]}" -gt 0 ] || die "no __test__/**/*.test.js files found"

step "node --test (${#TEST_FILES[@]} files, implementation: ${BULLRUSH_TEST_IMPL:-bullrush})"
TIMEOUT_CMD=()
if command -v timeout >/dev/null 2>&1; then
  TIMEOUT_CMD=(timeout --kill-after=10 "${TEST_TIMEOUT:-900}")
fi
set +e
"${TIMEOUT_CMD[@]}" node --test --test-concurrency=1 "$@" "${TEST_FILES[@]}"
status=$?
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  die "the JS suite did not finish within ${TEST_TIMEOUT:-900} s (a test process that never exits usually means an open handle: an unclosed Queue/Worker/QueueEvents/connection)"
fi
[ "$status" -eq 0 ] || exit "$status"

step "app tests: example apps and the packed package with ${BULLRUSH_TEST_IMPL:-bullrush} as bullmq (__test__/apps)"
set +e
"${TIMEOUT_CMD[@]}" node --test --test-concurrency=1 "$@" __test__/apps/*.e2e.js
status=$?
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  die "the app tests did not finish within ${TEST_TIMEOUT:-900} s"
fi
[ "$status" -eq 0 ] || exit "$status"

step "all tests passed"
