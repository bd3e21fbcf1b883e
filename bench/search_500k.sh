#!/bin/sh
# Report-search benchmark at 500,000 reports on PostgreSQL (issue 8 part 4); results in
# bench/SEARCH.md. End to end: a throwaway PostgreSQL cluster, migrate + seed, synthetic
# reports (bench/search_500k.sql), two users, the server, curl timings and EXPLAINs in
# three set-ups (trigram index as shipped; index dropped; index + textlike LEAKPROOF, an
# experiment that shows what the index gives once row-level security lets it be used),
# then everything stopped.
#
#   BIN=target/release/plantrack bench/search_500k.sh          # full run (~15 min, 2 cores)
#   REUSE=1 bench/search_500k.sh                               # keep an already loaded DB
#
# Needs initdb/pg_ctl/psql (PostgreSQL 15 here) on the PATH, curl and jq. Run as root (the
# cluster is made as the `postgres` user) or as a non-root user that can run initdb.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-/tmp/plantrack-bin}      # copy the binary first: a rebuild must not swap it mid-run
ROWS=${ROWS:-500000}
RUNS=${RUNS:-10}
PORT=${PORT:-5511}
HTTP=${HTTP:-127.0.0.1:8123}
DIR=${DIR:-/tmp/pgsearch}
DB=plantrack_search
OWNER_URL=postgres://postgres@127.0.0.1:$PORT/$DB
SERVER_URL=postgres://plantrack_server@127.0.0.1:$PORT/$DB
OUT=${OUT:-$DIR/results}
PASS=bench-pass-123

as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
sql() { psql -X -q -v ON_ERROR_STOP=1 "$OWNER_URL" "$@"; }

mkdir -p "$DIR" "$OUT"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"

# 1. Cluster (127.0.0.1 only).
if [ ! -d "$DIR/data" ]; then
    as_pg "initdb -D $DIR/data --auth=trust >$DIR/initdb.log 2>&1"
fi
if ! as_pg "pg_ctl -D $DIR/data status" >/dev/null 2>&1; then
    as_pg "pg_ctl -D $DIR/data -o \"-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c work_mem=16MB\" -l $DIR/log -w start"
fi

# 2. Data.
if [ -z "${REUSE:-}" ]; then
    psql -X -q "postgres://postgres@127.0.0.1:$PORT/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    "$BIN" --database-url "$OWNER_URL" migrate
    "$BIN" --database-url "$OWNER_URL" seed
    sql -v rows="$ROWS" -f "$HERE/search_500k.sql" | tee "$OUT/generate.txt"
    sql -c "DO \$\$ BEGIN CREATE ROLE plantrack_server LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
    PLANTRACK_PASSWORD=$PASS "$BIN" --database-url "$OWNER_URL" user add --username bench_analyst --agency ubnd-tinh --role ANALYST
    PLANTRACK_PASSWORD=$PASS "$BIN" --database-url "$OWNER_URL" user add --username bench_editor --agency ubnd-tay-son --role EDITOR
fi

# 3. Server: serves as a non-owner role, like production (README, "roles and row-level security").
"$BIN" --migration-database-url "$OWNER_URL" --database-url "$SERVER_URL" serve --bind "$HTTP" >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -s -o /dev/null "http://$HTTP/graphql" && break; sleep 1; done

gql() { # token query -> time_total on stdout, body in $DIR/last.json
    curl -s -o "$DIR/last.json" -w '%{time_total}\n' -H 'Content-Type: application/json' \
        ${1:+-H "Authorization: Bearer $1"} --data "$(jq -nc --arg q "$2" '{query: $q}')" "http://$HTTP/graphql"
}
login() {
    gql "" "mutation { login(username: \"$1\", password: \"$PASS\") { token } }" >/dev/null
    jq -r .data.login.token "$DIR/last.json"
}
ANALYST=$(login bench_analyst)
EDITOR=$(login bench_editor)

QUERIES='rare_count|submissions(first: 20, filter: { search: "kinh phi" }) { totalCount edges { node { id } } }
rare_page|submissions(first: 20, filter: { search: "kinh phi" }) { edges { node { id } } }
two_words_count|submissions(first: 20, filter: { search: "dan toc" }) { totalCount edges { node { id } } }
common_count|submissions(first: 20, filter: { search: "ngheo" }) { totalCount edges { node { id } } }
common_page|submissions(first: 20, filter: { search: "ngheo" }) { edges { node { id } } }
rare_aggregate|submissionsAggregate(filter: { search: "kinh phi" }, groupBy: [AGENCY]) { count }'

# median and p95 (nearest rank) of the RUNS timings, in ms, after one warm-up request.
time_all() { # label
    printf '%-10s %-8s %-16s %9s %9s %s\n' setup user query median_ms p95_ms answer | tee -a "$OUT/timings.txt"
    for user in analyst editor; do
        if [ $user = analyst ]; then token=$ANALYST; else token=$EDITOR; fi
        echo "$QUERIES" | while IFS='|' read -r name q; do
            gql "$token" "query { $q }" >/dev/null
            answer=$(jq -c '(.errors // empty), (.data.submissions.totalCount // empty), (.data.submissionsAggregate // empty | map(.count) | add // 0)' "$DIR/last.json" | tr '\n' ' ')
            for _ in $(seq 1 "$RUNS"); do gql "$token" "query { $q }"; done | sort -n >"$DIR/t"
            med=$(awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m*1000}' "$DIR/t")
            p95=$(awk '{a[NR]=$1} END {i=int(NR*0.95); if (i<NR*0.95) i++; printf "%.0f", a[i]*1000}' "$DIR/t")
            printf '%-10s %-8s %-16s %9s %9s %s\n' "$1" $user "$name" "$med" "$p95" "$answer" | tee -a "$OUT/timings.txt"
        done
    done
}

# EXPLAIN (ANALYZE, BUFFERS) of what the service runs, as plantrack_app with the tenancy
# settings (tenancy.rs `begin`). Literals instead of binds; the list query selects only
# the sort keys (the service selects every column; the plan is the same).
explain_all() { # label
    for who in "1 ANALYST" "27 EDITOR"; do
        set -- "$1" $who
        sql -v agency="$2" -v role="'$3'" <<EOF >>"$OUT/explain-$1.txt"
\\echo ==== $1 $3 (agency $2)
BEGIN;
SELECT set_config('app.agency_id', :'agency', true), set_config('app.role', :role, true), set_config('app.plan_ids', '', true) \\g /dev/null
SET LOCAL ROLE plantrack_app;
\\set scope '(agency_id = ' :agency ' OR status <> ''DRAFT'')'
\\if $( [ "$3" = EDITOR ] && echo true || echo false )
\\set scope '(agency_id = ' :agency ')'
\\endif
\\echo -- totalCount, "kinh phi"
EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM submission WHERE :scope
  AND search_text LIKE '%kinh%' ESCAPE '\\' AND search_text LIKE '%phi%' ESCAPE '\\';
\\echo -- page, "kinh phi"
EXPLAIN (ANALYZE, BUFFERS) SELECT id, created_at FROM submission WHERE :scope
  AND search_text LIKE '%kinh%' ESCAPE '\\' AND search_text LIKE '%phi%' ESCAPE '\\'
  ORDER BY created_at DESC NULLS FIRST, id DESC NULLS FIRST LIMIT 21;
\\echo -- page, "ngheo"
EXPLAIN (ANALYZE, BUFFERS) SELECT id, created_at FROM submission WHERE :scope
  AND search_text LIKE '%ngheo%' ESCAPE '\\'
  ORDER BY created_at DESC NULLS FIRST, id DESC NULLS FIRST LIMIT 21;
\\echo -- aggregate by agency, "kinh phi" (measures trimmed to count)
EXPLAIN (ANALYZE, BUFFERS) SELECT s.agency_id, count(*) FROM submission s
  JOIN task ON task.id = s.task_id JOIN agency ON agency.id = s.agency_id
  WHERE (s.agency_id = :agency OR (:role NOT IN ('VIEWER', 'EDITOR') AND s.status <> 'DRAFT'))
  AND s.search_text LIKE '%kinh%' ESCAPE '\\' AND s.search_text LIKE '%phi%' ESCAPE '\\'
  GROUP BY s.agency_id ORDER BY s.agency_id LIMIT 1000;
ROLLBACK;
EOF
    done
}

: >"$OUT/timings.txt"
rm -f "$OUT"/explain-*.txt

# A. As shipped: trigram index present.
sql -c "ALTER FUNCTION textlike(text, text) NOT LEAKPROOF" -c "CREATE INDEX IF NOT EXISTS submission_search_text_trgm ON submission USING gin (search_text gin_trgm_ops)"
explain_all indexed
time_all indexed

# B. Index dropped.
sql -c "DROP INDEX submission_search_text_trgm"
explain_all no_index
time_all no_index

# C. Experiment: index back, and textlike marked LEAKPROOF (superuser only) so that row-level
#    security lets the planner use the index for LIKE. Reverted below.
sql -c "SET maintenance_work_mem = '512MB'" -c "CREATE INDEX submission_search_text_trgm ON submission USING gin (search_text gin_trgm_ops)"
sql -c "ALTER FUNCTION textlike(text, text) LEAKPROOF"
explain_all leakproof
time_all leakproof
sql -c "ALTER FUNCTION textlike(text, text) NOT LEAKPROOF"

kill $SERVER; wait $SERVER 2>/dev/null || true
trap - EXIT
if [ -z "${KEEP:-}" ]; then as_pg "pg_ctl -D $DIR/data -m fast stop"; fi
echo "results in $OUT"
