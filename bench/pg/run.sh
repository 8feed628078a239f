#!/usr/bin/env bash
# The server benchmark's application endpoints on SQLite and on PostgreSQL, in one run:
# rps and p99 of GET /api/job-applications/ (JWT, 20 rows) and POST /api/job-applications/ for each,
# and the ratios. PostgreSQL is a cluster of its own on 127.0.0.1 (scripts/pg.sh with
# RM_PG_PROFILE=production: PostgreSQL's defaults, fsync and full-page writes on, except
# synchronous_commit=off — not the test cluster's fsync=off), started for the run and stopped after
# it, with a fresh database.
#
#   RM_BUILD_DIR=build bench/pg/run.sh          # DURATION (default 10s) as in bench/server/run.sh
#   BENCH_PORTBASE=19200 bench/pg/run.sh        # ports used: BENCH_PORTBASE..+4 (default 18710..18714)
#   BENCH_PG_DIR=/tmp/x bench/pg/run.sh         # where the cluster lives (default /tmp/resumate-pg-bench)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export BENCH_ENDPOINTS=applications
PB=${BENCH_PORTBASE:-18710}
export RM_PG_DIR=${BENCH_PG_DIR:-/tmp/resumate-pg-bench} RM_PG_PORT=$((PB + 4)) RM_PG_PROFILE=production

PG_LOG=$(mktemp /tmp/rm-bench-pg.XXXXXX)
url=$(bash "$REPO/scripts/pg.sh" 2>"$PG_LOG" | tail -n 1) || { cat "$PG_LOG" >&2; rm -f "$PG_LOG"; exit 1; }
rm -f "$PG_LOG"
db="bench_$(date +%s)_$$"
psql "$url" -qc "CREATE DATABASE $db" >/dev/null
pg_url="${url%/*}/$db"
trap 'psql "$url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; bash "$REPO/scripts/pg.sh" stop >/dev/null 2>&1 || true' EXIT
# A cluster left running with other settings would be reused: say what it runs with.
echo "PostgreSQL $(psql "$url" -XAtc "SHOW server_version"), fsync=$(psql "$url" -XAtc "SHOW fsync")," \
  "synchronous_commit=$(psql "$url" -XAtc "SHOW synchronous_commit"), full_page_writes=$(psql "$url" -XAtc "SHOW full_page_writes")"

echo "== SQLite"
BENCH_PORT=$PB BENCH_NGINX_PORT=$((PB + 1)) bash "$REPO/bench/server/run.sh" | tee /tmp/rm-bench-sqlite.$$
echo "== PostgreSQL"
BENCH_PORT=$((PB + 2)) BENCH_NGINX_PORT=$((PB + 3)) BENCH_DATABASE_URL="$pg_url" bash "$REPO/bench/server/run.sh" | tee /tmp/rm-bench-pg.$$

python3 - /tmp/rm-bench-sqlite.$$ /tmp/rm-bench-pg.$$ <<'PY'
import sys
def rows(path):
    out = {}
    for line in open(path):
        f = line.split()
        if f and f[0] in ("get_applications", "post_application"):
            out[f[0]] = (float(f[1]), f[3])
    return out
s, p = rows(sys.argv[1]), rows(sys.argv[2])
DJANGO_LIST_RPS = 149.0  # the Django server's authenticated list on this machine kind (README of the project)
print(f"{'endpoint':<18} {'SQLite rps':>11} {'p99':>9} {'PG rps':>9} {'p99':>9} {'SQLite/PG':>10}")
for k in ("get_applications", "post_application"):
    print(f"{k:<18} {s[k][0]:>11.0f} {s[k][1]:>9} {p[k][0]:>9.0f} {p[k][1]:>9} {s[k][0] / max(p[k][0], 1):>9.2f}x")
print(f"PostgreSQL GET applications vs Django's {DJANGO_LIST_RPS:.0f}/s: {p['get_applications'][0] / DJANGO_LIST_RPS:.0f}x")
PY
rm -f /tmp/rm-bench-sqlite.$$ /tmp/rm-bench-pg.$$
