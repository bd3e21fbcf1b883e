#!/usr/bin/env bash
# GraphiQL in headless Chromium, with nothing but loopback reachable (browser.mjs says
# what it checks). Starts the server binary on a fresh SQLite database on a free
# 127.0.0.1 port, adds two users with `plantrack user add`, waits for /healthz, runs
# browser.mjs, and stops the server whatever happens.
#
#   bash tests/browser/run.sh [BIN]     # BIN: the server binary, target/debug/plantrack
#
# Installs nothing. Needs: /usr/bin/chromium (Debian's chromium package), Node.js >= 20,
# and `npm ci` run in tests/browser (playwright-core, pinned in package-lock.json).
# Screenshots go to tests/browser/artifacts/ (and the server's log, on a failure).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-$ROOT/target/debug/plantrack}
ARTIFACTS=$HERE/artifacts

die() { echo "browser test: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no server binary at $BIN (build it, or pass its path)"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing (apt-get install chromium)"
command -v node >/dev/null 2>&1 || die "node is missing"
[ -f "$HERE/node_modules/playwright-core/package.json" ] || die "run 'npm ci' in $HERE first"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

rm -f "$ARTIFACTS/server.log"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/plantrack-browser.XXXXXX")
SERVER_PID=
STATUS=1
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "$STATUS" != 0 ] && [ -f "$WORK/server.log" ]; then
        mkdir -p "$ARTIFACTS"
        cp "$WORK/server.log" "$ARTIFACTS/server.log"
        echo "browser test: the server's log is in $ARTIFACTS/server.log" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DB="sqlite://$WORK/plantrack.db?mode=rwc"
PORT=$(node -e '
  const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
URL=http://127.0.0.1:$PORT
password() { echo "pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }

# A district editor signs in through the page; the coordinator opens the reporting
# window over HTTP so that the editor's save raises an event. Passwords through the
# environment, as the README says.
export PT_USER=tayson PT_PASSWORD=$(password)
export PT_COORDINATOR=dolisa PT_COORDINATOR_PASSWORD=$(password)
PLANTRACK_PASSWORD=$PT_PASSWORD "$BIN" --database-url "$DB" user add --username "$PT_USER" --agency ubnd-tay-son --role EDITOR
PLANTRACK_PASSWORD=$PT_COORDINATOR_PASSWORD "$BIN" --database-url "$DB" user add --username "$PT_COORDINATOR" --agency so-ldtbxh --role COORDINATOR

"$BIN" --database-url "$DB" --bind "127.0.0.1:$PORT" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
echo "browser test: plantrack (pid $SERVER_PID) on $URL, database in $WORK"

# /healthz answers 200 once the server is up (at most 60 s).
if ! node -e '
  const [url, pid] = process.argv.slice(1);
  const end = Date.now() + 60000;
  const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
  (async () => {
    while (Date.now() < end && alive()) {
      try { if ((await fetch(url)).status === 200) process.exit(0); } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    process.exit(1);
  })();' "$URL/healthz" "$SERVER_PID"; then
    echo "browser test: the server did not answer $URL/healthz; its log:" >&2
    tail -n 40 "$WORK/server.log" >&2
    exit 1
fi

set +e
node "$HERE/browser.mjs" "$URL"
STATUS=$?
set -e
exit "$STATUS"
