#!/usr/bin/env bash
# Instructions the server runs per request, counted by valgrind (callgrind): unlike a
# rate, the count does not move with what else the machine is doing.
#
#   bench/instructions.sh QUERY_FILE USER [N] [CONCURRENCY]
#
# Runs BIN (/tmp/bench-bin) under callgrind twice against the national database that
# `KEEP=1 bench/run.sh` leaves running (PGPORT 5544), serving N/5 and then N requests of
# the query in QUERY_FILE (variables: the plan 768/QĐ-UBND, the period 2025) as USER
# (bench_district, bench_coordinator or bench_analyst), CONCURRENCY at a time (4), and
# prints the difference per request: start-up and the sign-in's password hash drop out.
# Needs valgrind and curl.
set -euo pipefail
QUERY=$1; USER_NAME=$2; N=${3:-250}; CONCURRENCY=${4:-4}
BIN=${BIN:-/tmp/bench-bin}; PGPORT=${PGPORT:-5544}; PORT=${PORT:-8301}
DB=${DB:-plantrack_bench_national}; PASS=bench-pass-123
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 -c 'import sys, json; print(json.dumps({"query": open(sys.argv[1]).read(),
  "variables": {"plan": "768/QĐ-UBND", "period": "2025"}}))' "$QUERY" >"$WORK/body.json"

# The instructions of one server life that serves $1 requests.
life() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" "$BIN" \
        --migration-database-url "postgres://postgres@127.0.0.1:$PGPORT/$DB" \
        --database-url "postgres://plantrack_server@127.0.0.1:$PGPORT/$DB" \
        serve --bind "127.0.0.1:$PORT" --login-user-burst 1000 --login-address-burst 1000 \
        >"$WORK/server.log" 2>&1 &
    local pid=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
    local token
    token=$(curl -s "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
        -d "{\"query\":\"mutation { login(username: \\\"$USER_NAME\\\", password: \\\"$PASS\\\") { token } }\"}" |
        python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["login"]["token"])')
    seq "$1" | xargs -P "$CONCURRENCY" -n 1 sh -c "curl -sf -o /dev/null -H 'content-type: application/json' \
        -H 'authorization: Bearer $token' --data-binary @$WORK/body.json http://127.0.0.1:$PORT/graphql" _
    kill "$pid"; wait "$pid" 2>/dev/null || true
    awk '/Collected/ { print $4 }' "$WORK/server.log"
}
few=$((N / 5))
a=$(life "$few"); b=$(life "$N")
echo "$(basename "$QUERY") as $USER_NAME: $(((b - a) / (N - few))) instructions per request ($BIN)"
