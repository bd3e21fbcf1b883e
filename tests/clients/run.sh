#!/usr/bin/env bash
# The standard JavaScript GraphQL clients, with their defaults, against a plantrack binary.
#
#   bash tests/clients/run.sh [BIN]      (BIN: target/debug/plantrack by default)
#
# Starts BIN on a fresh SQLite database in a temporary folder, on a free port of
# 127.0.0.1, with users made by `plantrack user add`; runs clients.mjs (urql, Apollo
# Client, graphql-request, Apollo's persisted queries, graphql-ws), the code generator
# over schema.graphql and over live introspection with a type check of its output, and
# schema.mjs (scalar specs and descriptions, schema.graphql = the served schema). Every
# stage runs even when an earlier one failed; the server is stopped in any case. Exits
# non-zero if any check failed. Needs node and `npm ci` in this folder (done here when
# node_modules is missing).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

die() {
  echo "tests/clients: $*" >&2
  exit 1
}

BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/plantrack}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || die "no plantrack binary at $BIN (cargo build, or pass its path)"
command -v node >/dev/null 2>&1 || die "node is not installed"

cd "$HERE" || die "cannot enter $HERE"
if [ ! -d node_modules ]; then
  echo "tests/clients: npm ci"
  npm ci --no-audit --no-fund >/dev/null || die "npm ci failed"
fi

started=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/plantrack-clients.XXXXXX")
SERVER=
stop_server() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$SERVER" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER" 2>/dev/null
    wait "$SERVER" 2>/dev/null
  fi
  SERVER=
}
# Each stage runs in the background and is waited for, so that a signal to this script
# is handled at once (bash runs traps only between foreground commands) and ends it too.
STAGE=
stage() {
  "$@" &
  STAGE=$!
  wait "$STAGE"
  local status=$?
  STAGE=
  return "$status"
}
cleanup() {
  if [ -n "$STAGE" ]; then
    kill -TERM "$STAGE" 2>/dev/null
    wait "$STAGE" 2>/dev/null
  fi
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DATABASE_URL="sqlite://$WORK/plantrack.db?mode=rwc"
export RUST_LOG=${RUST_LOG:-warn}

# The database: schema, the built-in plan, and the users the clients sign in as.
"$BIN" migrate >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log"; die "plantrack migrate failed"; }
"$BIN" seed >>"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log"; die "plantrack seed failed"; }
export PT_EDITOR=tayson PT_EDITOR_PASSWORD=tay-son-secret
export PT_COORDINATOR=dolisa PT_COORDINATOR_PASSWORD=dolisa-secret
export PT_ANALYST=analyst PT_ANALYST_PASSWORD=analyst-secret
add_user() { # USER PASSWORD AGENCY ROLE
  PLANTRACK_PASSWORD=$2 "$BIN" user add --username "$1" --agency "$3" --role "$4" \
    >>"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log"; die "plantrack user add $1 failed"; }
}
add_user "$PT_EDITOR" "$PT_EDITOR_PASSWORD" ubnd-tay-son EDITOR
add_user "$PT_COORDINATOR" "$PT_COORDINATOR_PASSWORD" so-ldtbxh COORDINATOR
add_user "$PT_ANALYST" "$PT_ANALYST_PASSWORD" so-ldtbxh ANALYST

# Port 0: the system picks a free port, and the server prints the address it got.
"$BIN" serve --bind 127.0.0.1:0 >"$WORK/server.log" 2>&1 &
SERVER=$!
URL=
for _ in $(seq 1 300); do
  URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/graphql' "$WORK/server.log" | head -n 1)
  [ -n "$URL" ] && break
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/server.log"; die "the server did not start (no address in its log)"; }
export PLANTRACK_URL=$URL
node -e '
  const url = process.argv[1].replace(/\/graphql$/, "/healthz");
  const deadline = Date.now() + 30000;
  (async () => {
    for (;;) {
      try { if ((await fetch(url)).status === 200) return; } catch {}
      if (Date.now() > deadline) { console.error(`no 200 from ${url} in 30 s`); process.exit(1); }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
' "$URL" || { cat "$WORK/server.log"; die "the server is not healthy"; }
echo "tests/clients: plantrack at $URL ($BIN)"

passed=0
failed=0
failures=()
tally() { # STAGE JSON-FILE EXIT-STATUS
  local p=0 f=0
  if [ -s "$2" ]; then
    p=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).passed)' "$2")
    f=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).failed)' "$2")
  fi
  if [ "$3" != 0 ] && [ "$f" = 0 ]; then f=1; fi # it died before its tally
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$f" = 0 ] || failures+=("$1")
}
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() {
  failed=$((failed + 1))
  failures+=("codegen: $1")
  echo "FAIL  $1"
  [ -z "${2:-}" ] || sed 's/^/      /' "$2" | tail -n 40
}

echo
echo "== clients.mjs: urql, Apollo Client, graphql-request, persisted queries, graphql-ws"
CHECKS_OUT=$WORK/clients.json stage timeout 300 node clients.mjs
tally clients.mjs "$WORK/clients.json" $?

echo
echo "== codegen: GraphQL Code Generator over schema.graphql and live introspection, then tsc"
rm -rf generated
if stage timeout 300 npx --no-install graphql-codegen --config codegen.ts >"$WORK/codegen.log" 2>&1; then
  ok "graphql-codegen generates from schema.graphql and from the live server (strictScalars)"
  for file in generated/file-schema.ts generated/live-schema.ts; do
    missing=$WORK/missing.txt
    : >"$missing"
    for line in 'Date: { input: string; output: string; }' \
                'DateTime: { input: string; output: string; }' \
                'JSON: { input: JsonValue; output: JsonValue; }'; do
      grep -qF "$line" "$file" || echo "not in $file: $line" >>"$missing"
    done
    if [ -s "$missing" ]; then bad "$file types the custom scalars" "$missing"; else
      ok "$file types Date and DateTime as string and JSON as JsonValue"; fi
  done
  if stage timeout 300 npx --no-install tsc -p tsconfig.json >"$WORK/tsc.log" 2>&1; then
    ok "tsc --noEmit over usage.ts and the generated types"
  else
    bad "tsc --noEmit over usage.ts and the generated types" "$WORK/tsc.log"
  fi
else
  bad "graphql-codegen generates from schema.graphql and from the live server" "$WORK/codegen.log"
fi

echo
echo "== schema.mjs: scalars' specs and descriptions, schema.graphql against the served schema"
CHECKS_OUT=$WORK/schema.json stage timeout 120 node schema.mjs
tally schema.mjs "$WORK/schema.json" $?

if ! kill -0 "$SERVER" 2>/dev/null; then
  failed=$((failed + 1))
  failures+=("the server died during the run")
fi
stop_server
if [ "$failed" != 0 ]; then
  echo
  echo "tests/clients: failed: ${failures[*]}"
  echo "---- the server's log (last 40 lines)"
  tail -n 40 "$WORK/server.log"
fi
echo
echo "tests/clients took $(($(date +%s) - started)) s"
echo "clients: $passed passed, $failed failed"
[ "$failed" = 0 ]
