#!/usr/bin/env python3
"""Copies a generated PostgreSQL bench database into a migrated plantrack SQLite file
(bench/BENCHMARKS.md, "SQLite"): every table but users, tokens and bookkeeping, ids kept,
values in the forms plantrack's SQLite schema stores (RFC 3339 text times, 0/1 booleans).

    python3 bench/pg_to_sqlite.py postgres://postgres@127.0.0.1:5544/db /tmp/x/bench.db
"""
import json
import sqlite3
import subprocess
import sys

SKIP = {"sqlite_sequence", "seaql_migrations", "app_user", "api_token", "service_heartbeat"}


def main(pg_url: str, path: str) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA foreign_keys = OFF")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        if table in SKIP or table.endswith("_fts") or table.startswith("sqlite_"):
            continue
        cols = list(db.execute(f'PRAGMA table_info("{table}")'))
        exprs = []
        for _, name, decl, *_ in cols:
            decl = (decl or "").lower()
            q = f'"{name}"'
            if "timestamp" in decl:
                exprs.append(f"""to_char({q} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS {q}""")
            elif "bool" in decl:
                exprs.append(f"{q}::int AS {q}")
            elif "date" in decl or "json" in decl:
                exprs.append(f"{q}::text AS {q}")
            else:
                exprs.append(q)
        sql = f'SELECT row_to_json(x)::text FROM (SELECT {", ".join(exprs)} FROM "{table}" ORDER BY 1) x'
        out = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", pg_url, "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        names = [c[1] for c in cols]
        rows = [tuple(json.loads(line)[n] for n in names) for line in out.splitlines() if line]
        db.execute(f'DELETE FROM "{table}"')
        marks = ", ".join("?" for _ in names)
        db.executemany(f'INSERT INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)}) VALUES ({marks})', rows)
        print(f"{table}: {len(rows)} rows")
    db.commit()
    db.execute("PRAGMA foreign_keys = ON")
    bad = list(db.execute("PRAGMA foreign_key_check"))
    if bad:
        sys.exit(f"foreign key check failed: {bad[:5]}")
    db.execute("ANALYZE")
    db.commit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
