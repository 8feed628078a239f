#!/usr/bin/env bash
# The server benchmark's application endpoints on SQLite and on PostgreSQL, in one run:
# rps and p99 of GET /api/job-applications/ (JWT, 20 rows) and POST /api/job-applications/ for each,
# and the ratios. PostgreSQL is the throwaway cluster of scripts/pg.sh (127.0.0.1), with a fresh
# database per run.
#
#   RM_BUILD_DIR=build bench/pg/run.sh          # DURATION (default 10s) as in bench/server/run.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export BENCH_ENDPOINTS=applications

url=$(bash "$REPO/scripts/pg.sh" | tail -n 1)
db="bench_$(date +%s)_$$"
psql "$url" -qc "CREATE DATABASE $db" >/dev/null
pg_url="${url%/*}/$db"
trap 'psql "$url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT

echo "== SQLite"
BENCH_PORT=18710 BENCH_NGINX_PORT=18711 bash "$REPO/bench/server/run.sh" | tee /tmp/rm-bench-sqlite.$$
echo "== PostgreSQL"
BENCH_PORT=18712 BENCH_NGINX_PORT=18713 BENCH_DATABASE_URL="$pg_url" bash "$REPO/bench/server/run.sh" | tee /tmp/rm-bench-pg.$$

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
