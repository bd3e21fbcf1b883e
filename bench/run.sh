#!/bin/sh
# plantrack vs PostGraphile v4 on the same PostgreSQL database, plus plantrack on SQLite
# (issue 9, part 1). See bench/BENCHMARKS.md for what it measures and the last results.
#
#   bench/run.sh            # national data (>= 500,000 reports), 16 and 64 clients, A/B/A/B
#   bench/run.sh --smoke    # small data, 1 s runs: CI smoke (asserts no errors, no ratios)
#
# Steps: a throwaway PostgreSQL cluster (pg_stat_statements preloaded) on 127.0.0.1; migrate
# and seed with the plantrack binary; bench/generate.sql; bench/postgraphile.sql; three
# users (district, coordinator, analyst) added with `user add`; plantrack's startup time and
# idle RSS; PostGraphile (npm install into bench/node_modules on demand); the load driver
# (bench/driver.mjs: verify, then load); EXPLAIN (ANALYZE, BUFFERS) of every statement of
# each scenario through auto_explain; then plantrack alone on SQLite with small data.
# Everything started is stopped at the end. Results go to $OUT (bench/results by default).
#
# Variables: BIN (/tmp/bench-bin; copy the binary there first so a rebuild cannot swap it),
# SIZE (national|small), DURATION (s per run, 10), ROUNDS (A/B rounds, 4), WARMUP (s, 1),
# CONCURRENCY (16,64), SCENARIOS (name prefixes, all), PGPORT (5544), PT_PORT (8124),
# PG_HTTP_PORT (8125), SQLITE_PORT (8126), DIR (/tmp/plantrack-bench), OUT,
# REUSE=1 (keep the loaded database), KEEP=1 (leave the cluster running),
# SKIP_POSTGRAPHILE=1, SKIP_LOAD=1, SKIP_EXPLAIN=1, SKIP_SQLITE=1, ASSERT_NO_ERRORS=1 (a
# failed request fails the run; always so with --smoke).
# Needs initdb/pg_ctl/psql (on the PATH or under /usr/lib/postgresql), node >= 18, python3
# (SQLite import); npm for PostGraphile (without it plantrack runs alone, and says so).
# Run as root (the cluster is made as `postgres`) or as a user that can run initdb.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SMOKE=
for arg in "$@"; do
    case $arg in
        --smoke) SMOKE=1 ;;
        *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
    esac
done
if [ -n "$SMOKE" ]; then
    SIZE=${SIZE:-small}; DURATION=${DURATION:-0.5}; ROUNDS=${ROUNDS:-1}; WARMUP=${WARMUP:-0}
    CONCURRENCY=${CONCURRENCY:-8}; DIR=${DIR:-/tmp/plantrack-bench-smoke}
fi
BIN=${BIN:-/tmp/bench-bin}
SIZE=${SIZE:-national}
export DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-4} WARMUP=${WARMUP:-1} CONCURRENCY=${CONCURRENCY:-16,64}
export SCENARIOS=${SCENARIOS:-}
PGPORT=${PGPORT:-5544}
PT_PORT=${PT_PORT:-8124}
PG_HTTP_PORT=${PG_HTTP_PORT:-8125}
SQLITE_PORT=${SQLITE_PORT:-8126}
DIR=${DIR:-/tmp/plantrack-bench}
OUT=${OUT:-$HERE/results/$SIZE}
DB=plantrack_bench_$SIZE
OWNER_URL=postgres://postgres@127.0.0.1:$PGPORT/$DB
SERVER_URL=postgres://plantrack_server@127.0.0.1:$PGPORT/$DB
PG_GRAPHILE_URL=postgres://bench_postgraphile@127.0.0.1:$PGPORT/$DB
PASS=bench-pass-123
PLAN_CODE='768/QĐ-UBND'
PERIOD_CODE=2025

if ! command -v initdb >/dev/null 2>&1; then
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PATH=$PATH:$d; done
fi
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
sql() { psql -X -q -v ON_ERROR_STOP=1 "$OWNER_URL" "$@"; }
val() { psql -X -qAt -v ON_ERROR_STOP=1 "$OWNER_URL" -c "$1"; }
now_ms() { date +%s%3N; }
wait_healthz() { # port, max seconds -> 0 once /healthz answers 200. Polled from bash itself every
    # 2 ms, for the startup time: a `node` poller takes ~50 ms to start, more than the server.
    local port=$1 end=$((SECONDS + $2)) line
    while [ $SECONDS -lt $end ]; do
        if exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
            printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
            read -r line <&3 || line=
            exec 3>&-
            case $line in *" 200 "*) return 0 ;; esac
        fi
        sleep 0.002
    done
    return 1
}
wait_http() { # url, max seconds[, POST body] -> 0 once it answers 200 (polls every 20 ms)
    node -e '
      const [url, secs, body] = process.argv.slice(1);
      const http = require("http");
      const end = Date.now() + secs * 1000;
      const once = () => {
        const req = http.request(url, { method: body ? "POST" : "GET", headers: { "content-type": "application/json" } }, (r) => {
          r.resume();
          if (r.statusCode === 200) process.exit(0);
          retry();
        });
        req.on("error", retry);
        req.end(body || undefined);
      };
      const retry = () => (Date.now() > end ? process.exit(1) : setTimeout(once, 20));
      once();' "$@"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Failed requests fail the smoke (and ASSERT_NO_ERRORS=1 runs); a full run reports them.
check_errors() {
    grep -qx ok "$1/load.status" && return 0
    echo "load: some requests failed ($(cat "$1/load.status" 2>/dev/null || echo 'no status')), see $1/load.txt"
    if [ -n "$SMOKE" ] || [ -n "${ASSERT_NO_ERRORS:-}" ]; then exit 1; fi
}

PT=; PGL=; SQ=
cleanup() {
    for p in $PT $PGL $SQ; do kill "$p" 2>/dev/null || true; done
    for p in $PT $PGL $SQ; do wait "$p" 2>/dev/null || true; done
    if [ -z "${KEEP:-}" ] && [ -d "$DIR/data" ]; then as_pg "pg_ctl -D $DIR/data -m fast stop" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$DIR" "$OUT"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
START=$(now_ms)
echo "== plantrack bench: SIZE=$SIZE DURATION=$DURATION ROUNDS=$ROUNDS CONCURRENCY=$CONCURRENCY, results in $OUT"

# ---------- 1. PostgreSQL cluster (127.0.0.1 only) ----------
if [ ! -d "$DIR/data" ]; then as_pg "initdb -D $DIR/data --auth=trust >$DIR/initdb.log 2>&1"; fi
if ! as_pg "pg_ctl -D $DIR/data status" >/dev/null 2>&1; then
    as_pg "pg_ctl -D $DIR/data -o \"-p $PGPORT -k $DIR -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c work_mem=16MB -c max_connections=100 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top\" -l $DIR/log -w start" >/dev/null
fi
POSTMASTER=$(head -1 "$DIR/data/postmaster.pid")

# ---------- 2. Data ----------
if [ -z "${REUSE:-}" ] || ! val "SELECT 1" >/dev/null 2>&1; then
    psql -X -q "postgres://postgres@127.0.0.1:$PGPORT/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    "$BIN" --database-url "$OWNER_URL" migrate >/dev/null
    "$BIN" --database-url "$OWNER_URL" seed >/dev/null
    t0=$(now_ms)
    sql -v size="$SIZE" -f "$HERE/generate.sql" >"$OUT/generate.txt" 2>&1 || { cat "$OUT/generate.txt"; exit 1; }
    echo "generated $SIZE data in $((($(now_ms) - t0) / 1000)) s"
    sql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    sql -c "DO \$\$ BEGIN CREATE ROLE plantrack_server LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" \
        -c "GRANT CONNECT ON DATABASE $DB TO plantrack_server"
    sql -v DBNAME="$DB" -f "$HERE/postgraphile.sql" >/dev/null 2>&1
    for u in "bench_district ubnd-tay-son EDITOR" "bench_coordinator so-ldtbxh COORDINATOR" "bench_analyst ubnd-tinh ANALYST"; do
        set -- $u
        PLANTRACK_PASSWORD=$PASS "$BIN" --database-url "$OWNER_URL" user add --username "$1" --agency "$2" --role "$3" >/dev/null
    done
fi
sql -c "ALTER DATABASE $DB RESET ALL"   # an interrupted EXPLAIN step may have left auto_explain on
val "SELECT 'plans ' || (SELECT count(*) FROM plan) || ', tasks ' || (SELECT count(*) FROM task) || ', agencies ' || (SELECT count(*) FROM agency) || ' (' || (SELECT count(*) FROM agency WHERE is_tenant) || ' tenants), periods ' || (SELECT count(*) FROM period) || ', windows ' || (SELECT count(*) FROM reporting_window) || ', submissions ' || (SELECT count(*) FROM submission) || ', evidence ' || (SELECT count(*) FROM submission_deliverable) || ', audit rows ' || (SELECT count(*) FROM audit_log) || ', database ' || pg_size_pretty(pg_database_size(current_database()))" | tee "$OUT/dataset.txt"
val "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM (SELECT status, count(*) n FROM submission GROUP BY status) x" | tee -a "$OUT/dataset.txt"

# ---------- 3. plantrack: startup (migrated database) and idle RSS ----------
start_plantrack() {
    "$BIN" --migration-database-url "$OWNER_URL" --database-url "$SERVER_URL" serve --bind "127.0.0.1:$PT_PORT" \
        --login-user-burst 1000 --login-address-burst 1000 >>"$DIR/plantrack.log" 2>&1 &
    PT=$!
}
t0=$(now_ms); start_plantrack
wait_healthz "$PT_PORT" 120 || { tail "$DIR/plantrack.log"; exit 1; }
PT_STARTUP=$(($(now_ms) - t0)); sleep 2; PT_IDLE=$(rss_kb $PT)
echo "plantrack: startup ${PT_STARTUP} ms (migrated, $SIZE), idle RSS $((PT_IDLE / 1024)) MB" | tee "$OUT/startup.txt"

# ---------- 4. PostGraphile ----------
HAVE_PG=
if [ -z "${SKIP_POSTGRAPHILE:-}" ]; then
    if [ ! -d "$HERE/node_modules/postgraphile" ]; then
        if command -v npm >/dev/null 2>&1; then
            (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >"$DIR/npm.log" 2>&1) || echo "npm ci failed (see $DIR/npm.log)"
        fi
    fi
    if [ -d "$HERE/node_modules/postgraphile" ]; then HAVE_PG=1; else echo "PostGraphile not installed (no npm?): plantrack runs alone" | tee -a "$OUT/startup.txt"; fi
fi
start_postgraphile() {
    PG_URL=$PG_GRAPHILE_URL PORT=$PG_HTTP_PORT node "$HERE/postgraphile-server.js" >>"$DIR/postgraphile.log" 2>&1 &
    PGL=$!
}
if [ -n "$HAVE_PG" ]; then
    t0=$(now_ms); start_postgraphile
    wait_http "http://127.0.0.1:$PG_HTTP_PORT/graphql" 120 '{"query":"{__typename}"}' || { tail "$DIR/postgraphile.log"; exit 1; }
    PGL_STARTUP=$(($(now_ms) - t0)); sleep 2; PGL_IDLE=$(rss_kb $PGL)
    echo "PostGraphile: startup ${PGL_STARTUP} ms (introspection included), idle RSS $((PGL_IDLE / 1024)) MB" | tee -a "$OUT/startup.txt"
fi

# ---------- 5. driver config ----------
agency() { val "SELECT id FROM agency WHERE code = '$1'"; }
COORD_PLANS=$(val "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM plan WHERE coordinator_id = (SELECT id FROM agency WHERE code = 'so-ldtbxh')")
# The writer's drafts: on tasks that assign it and run in the draft's period.
DRAFTS=$(val "SELECT coalesce(json_agg(json_build_object('submissionId', s.id, 'taskId', s.task_id, 'periodCode', p.code, 'version', s.version,
    'deliverables', (SELECT coalesce(json_agg(d.id ORDER BY d.position), '[]') FROM deliverable d WHERE d.task_id = s.task_id)) ORDER BY s.id), '[]')
  FROM submission s JOIN period p ON p.id = s.period_id
  JOIN reporting_window w ON w.plan_id = s.plan_id AND w.period_id = s.period_id AND now() >= w.opens_at AND now() < w.closes_at
  WHERE s.agency_id = (SELECT id FROM agency WHERE code = 'ubnd-tay-son') AND s.status IN ('DRAFT', 'RETURNED')
    AND EXISTS (SELECT 1 FROM assignment x WHERE x.task_id = s.task_id AND x.agency_id = s.agency_id
                UNION ALL SELECT 1 FROM assignment x JOIN agency_group_member m ON m.group_id = x.group_id
                WHERE x.task_id = s.task_id AND m.agency_id = s.agency_id)
    AND EXISTS (SELECT 1 FROM task t JOIN task_period tp ON tp.task_id = t.id JOIN period ph ON ph.id = tp.period_id
                WHERE t.id = s.task_id AND p.starts_on >= ph.starts_on AND p.ends_on <= ph.ends_on
                  AND (t.schedule <> 'ONCE' OR p.id = ph.id))")
write_config() { # file, with postgraphile (1 or empty), plantrack url, pgUrl or null, postmaster pid or null
    {
        printf '{"out": "%s", "size": "%s", "planCode": "%s", "periodCode": "%s",\n' "$OUT" "$SIZE" "$PLAN_CODE" "$PERIOD_CODE"
        printf ' "pgUrl": %s, "postmasterPid": %s,\n' "$4" "$5"
        printf ' "targets": {"plantrack": {"url": "%s", "pid": %s}' "$3" "$6"
        [ -n "$2" ] && printf ', "postgraphile": {"url": "http://127.0.0.1:%s/graphql", "pid": %s}' "$PG_HTTP_PORT" "$PGL"
        printf '},\n "users": {\n'
        printf '  "district": {"username": "bench_district", "password": "%s", "agencyId": %s, "role": "EDITOR"},\n' "$PASS" "$(agency ubnd-tay-son)"
        printf '  "coordinator": {"username": "bench_coordinator", "password": "%s", "agencyId": %s, "role": "COORDINATOR", "planIds": "%s"},\n' "$PASS" "$(agency so-ldtbxh)" "$COORD_PLANS"
        printf '  "analyst": {"username": "bench_analyst", "password": "%s", "agencyId": %s, "role": "ANALYST"}},\n' "$PASS" "$(agency ubnd-tinh)"
        printf ' "drafts": %s}\n' "$DRAFTS"
    } >"$1"
}
write_config "$DIR/config.json" "$HAVE_PG" "http://127.0.0.1:$PT_PORT/graphql" "\"$OWNER_URL\"" "$POSTMASTER" "$PT"

# ---------- 6. verify, then load ----------
node "$HERE/driver.mjs" "$DIR/config.json" verify
if [ -z "${SKIP_LOAD:-}" ]; then
    rm -f "$OUT/load.status"
    node "$HERE/driver.mjs" "$DIR/config.json" load | tee "$OUT/load.txt"
    check_errors "$OUT"
fi

# ---------- 7. EXPLAIN (ANALYZE, BUFFERS) of what each scenario runs, via auto_explain ----------
if [ -z "${SKIP_EXPLAIN:-}" ]; then
    kill $PT $PGL 2>/dev/null || true; wait $PT $PGL 2>/dev/null || true; PT=; PGL=
    sql -c "ALTER DATABASE $DB SET session_preload_libraries = 'auto_explain'" \
        -c "ALTER DATABASE $DB SET auto_explain.log_min_duration = 0" \
        -c "ALTER DATABASE $DB SET auto_explain.log_analyze = on" \
        -c "ALTER DATABASE $DB SET auto_explain.log_buffers = on" \
        -c "ALTER DATABASE $DB SET auto_explain.log_nested_statements = on"
    LOGSTART=$(wc -l <"$DIR/log")
    start_plantrack; wait_http "http://127.0.0.1:$PT_PORT/healthz" 120
    if [ -n "$HAVE_PG" ]; then start_postgraphile; wait_http "http://127.0.0.1:$PG_HTTP_PORT/graphql" 120 '{"query":"{__typename}"}'; fi
    write_config "$DIR/config-explain.json" "$HAVE_PG" "http://127.0.0.1:$PT_PORT/graphql" "\"$OWNER_URL\"" "$POSTMASTER" "$PT"
    # One request per scenario, user and target; the driver logs markers around each.
    node "$HERE/driver.mjs" "$DIR/config-explain.json" explain
    sql -c "ALTER DATABASE $DB RESET ALL"
    tail -n +"$((LOGSTART + 1))" "$DIR/log" | awk '
        /LOG:  BENCH-MARK begin/ { sub(/.*BENCH-MARK begin /, ""); print "\n==================== " $0; on = 1; next }
        /LOG:  BENCH-MARK end/ { on = 0; next }
        /BENCH-MARK/ { next }
        on && !/CONTEXT|STATEMENT|PL\/pgSQL function inline_code_block/ { print }' >"$OUT/explain.txt"
    python3 "$HERE/explain_summary.py" "$OUT/explain.txt" >"$OUT/explain-summary.md"
    echo "EXPLAIN output: $OUT/explain.txt ($(grep -c 'Query Text' "$OUT/explain.txt" || true) statements)"
    kill $PT $PGL 2>/dev/null || true; wait $PT $PGL 2>/dev/null || true; PT=; PGL=
fi

# ---------- 8. SQLite: plantrack alone, small data ----------
if [ -z "${SKIP_SQLITE:-}" ]; then
    kill $PT $PGL 2>/dev/null || true; wait $PT $PGL 2>/dev/null || true; PT=; PGL=
    SMALL_DB=plantrack_bench_small
    SMALL_URL=postgres://postgres@127.0.0.1:$PGPORT/$SMALL_DB
    if [ "$SIZE" != small ]; then
        psql -X -q "postgres://postgres@127.0.0.1:$PGPORT/postgres" -c "DROP DATABASE IF EXISTS $SMALL_DB" -c "CREATE DATABASE $SMALL_DB"
        "$BIN" --database-url "$SMALL_URL" migrate >/dev/null
        "$BIN" --database-url "$SMALL_URL" seed >/dev/null
        psql -X -q -v ON_ERROR_STOP=1 "$SMALL_URL" -v size=small -f "$HERE/generate.sql" >/dev/null 2>&1
    fi
    SQ_FILE=$DIR/sqlite/bench.db
    rm -rf "$DIR/sqlite"; mkdir -p "$DIR/sqlite"
    SQ_URL="sqlite://$SQ_FILE?mode=rwc"
    "$BIN" --database-url "$SQ_URL" migrate >/dev/null
    python3 "$HERE/pg_to_sqlite.py" "$SMALL_URL" "$SQ_FILE" >"$DIR/sqlite/import.txt"
    for u in "bench_district ubnd-tay-son EDITOR" "bench_coordinator so-ldtbxh COORDINATOR" "bench_analyst ubnd-tinh ANALYST"; do
        set -- $u
        PLANTRACK_PASSWORD=$PASS "$BIN" --database-url "$SQ_URL" user add --username "$1" --agency "$2" --role "$3" >/dev/null
    done
    t0=$(now_ms)
    "$BIN" --database-url "$SQ_URL" serve --bind "127.0.0.1:$SQLITE_PORT" --login-user-burst 1000 --login-address-burst 1000 >"$DIR/sqlite/server.log" 2>&1 &
    SQ=$!
    wait_healthz "$SQLITE_PORT" 60 || { tail "$DIR/sqlite/server.log"; exit 1; }
    SQ_STARTUP=$(($(now_ms) - t0)); sleep 1
    echo "plantrack on SQLite: startup ${SQ_STARTUP} ms (small), idle RSS $(($(rss_kb $SQ) / 1024)) MB" | tee -a "$OUT/startup.txt"
    SQ_OUT=$OUT/sqlite
    # Same scenarios, plantrack only; drafts and ids come from the small PostgreSQL copy (same ids).
    OWNER_URL_SAVE=$OWNER_URL; OWNER_URL=$SMALL_URL
    COORD_PLANS=$(val "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM plan WHERE coordinator_id = (SELECT id FROM agency WHERE code = 'so-ldtbxh')")
    DRAFTS=$(python3 -c "
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute('''SELECT s.id, s.task_id, p.code, s.version FROM submission s JOIN period p ON p.id = s.period_id
  JOIN reporting_window w ON w.plan_id = s.plan_id AND w.period_id = s.period_id
  WHERE s.agency_id = (SELECT id FROM agency WHERE code = 'ubnd-tay-son') AND s.status IN ('DRAFT', 'RETURNED')
    AND w.closes_at > strftime('%Y-%m-%dT%H:%M:%S', 'now') AND w.opens_at <= strftime('%Y-%m-%dT%H:%M:%S', 'now')
    AND EXISTS (SELECT 1 FROM assignment x WHERE x.task_id = s.task_id AND x.agency_id = s.agency_id
                UNION ALL SELECT 1 FROM assignment x JOIN agency_group_member m ON m.group_id = x.group_id
                WHERE x.task_id = s.task_id AND m.agency_id = s.agency_id)
    AND EXISTS (SELECT 1 FROM task t JOIN task_period tp ON tp.task_id = t.id JOIN period ph ON ph.id = tp.period_id
                WHERE t.id = s.task_id AND p.starts_on >= ph.starts_on AND p.ends_on <= ph.ends_on
                  AND (t.schedule <> 'ONCE' OR p.id = ph.id)) ORDER BY s.id''').fetchall()
print(json.dumps([{'submissionId': r[0], 'taskId': r[1], 'periodCode': r[2], 'version': r[3],
  'deliverables': [d for (d,) in db.execute('SELECT id FROM deliverable WHERE task_id = ? ORDER BY position', (r[1],))]} for r in rows]))
" "$SQ_FILE")
    OUT_SAVE=$OUT; OUT=$SQ_OUT
    write_config "$DIR/config-sqlite.json" "" "http://127.0.0.1:$SQLITE_PORT/graphql" null null "$SQ"
    OUT=$OUT_SAVE; OWNER_URL=$OWNER_URL_SAVE
    SQLITE_DURATION=${SQLITE_DURATION:-$DURATION} SQLITE_ROUNDS=${SQLITE_ROUNDS:-$ROUNDS}
    DURATION=$SQLITE_DURATION ROUNDS=$SQLITE_ROUNDS node "$HERE/driver.mjs" "$DIR/config-sqlite.json" verify >/dev/null
    rm -f "$SQ_OUT/load.status"
    DURATION=$SQLITE_DURATION ROUNDS=$SQLITE_ROUNDS node "$HERE/driver.mjs" "$DIR/config-sqlite.json" load | tee "$SQ_OUT/load.txt"
    check_errors "$SQ_OUT"
fi

{
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(psql --version | head -1), server $(val 'SHOW server_version'), node $(node --version), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "binary: $BIN ($(stat -c '%y' "$BIN" | cut -d. -f1), sha256 $(sha256sum "$BIN" | cut -c1-12))"
    echo "total time: $((($(now_ms) - START) / 1000)) s"
} | tee "$OUT/machine.txt"
echo "== done: $OUT/table.md${SKIP_SQLITE:+}"
