#!/usr/bin/env bash
# Benchmark resumate-server with wrk against a static nginx answer (the ceiling), in one run.
#
#   bench/server/run.sh            # uses $RM_BUILD_DIR (default build) and 10 s per endpoint
#   DURATION=30s bench/server/run.sh
#   BENCH_DATABASE_URL=postgres://… bench/server/run.sh   # another (empty) database; see bench/pg/run.sh
#
# The server runs on a fresh SQLite database with the seeded models and examples and two users: a
# reader with 20 job applications (every GET applications phase reads exactly those 20 rows) and a
# writer that the POST application phase adds rows to. Endpoints: GET models, GET examples, GET
# applications (JWT, 20 rows), POST application, POST token (PBKDF2 at BENCH_ITERATIONS, default the
# production 720000), and GET applications again while 8 more connections keep logging in.
# Throttling is configured high enough never to refuse, so its code still runs. The access log is
# on (written to /dev/null). Everything listens on 127.0.0.1 only.
# Prints requests/s, p50 and p99 latency per endpoint, the ratio to nginx, and the server's RSS.
# The token figure is compared with (CPUs / one PBKDF2 verify), where one verify is the mean latency
# of logins over one connection on the idle server, measured in the same run (verify_1conn).
# Between phases the script waits for the server's hashing queue to be empty (its /metrics).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${RM_BUILD_DIR:-$REPO/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$REPO/$BUILD_DIR ;; esac
SERVER=$BUILD_DIR/server/resumate-server
DURATION=${DURATION:-10s}
THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNECTIONS:-32}
ITER=${BENCH_ITERATIONS:-720000}
PORT=${BENCH_PORT:-18700}
NGINX_PORT=${BENCH_NGINX_PORT:-18701}

for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done
[ -x "$SERVER" ] || { echo "run.sh: build resumate-server first ($SERVER)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/resumate-bench.XXXXXX)
SERVER_PID=""
NGINX_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- nginx: a fixed JSON body, as the ceiling ----
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"ok": true}'; }
  }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!

# ---- resumate-server ----
env -i PATH="$PATH" HOME="$WORK" \
  DATABASE_URL="${BENCH_DATABASE_URL:-sqlite:///$WORK/bench.sqlite3}" SECRET_KEY="bench-secret-key-$(date +%s%N)-not-for-production" \
  RESUMATE_PASSWORD_ITERATIONS="$ITER" \
  THROTTLE_ANON=100000000/s THROTTLE_USER=100000000/s THROTTLE_AUTH=100000000/s \
  "$SERVER" --bind 127.0.0.1 --port "$PORT" ${BENCH_SERVER_ARGS:-} 2>/dev/null &
SERVER_PID=$!

for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$NGINX_PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "run.sh: the server did not start" >&2; exit 1; }

BASE=http://127.0.0.1:$PORT
PASSWORD='Bench-password-9x'
# user_token NAME: register NAME, then print an access token of NAME
user_token() {
  curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"$PASSWORD\",\"password2\":\"$PASSWORD\"}" \
    "$BASE/api/auth/register/"
  curl -sf -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" \
    "$BASE/api/auth/token/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}
ACCESS=$(user_token bench)          # the reader: exactly 20 applications for the whole run
WRITER=$(user_token bench-writer)   # the POST application phase adds its rows here
for i in $(seq 20); do
  curl -sf -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $ACCESS" \
    -d "{\"job_title\":\"Engineer $i\",\"company_name\":\"ACME\",\"status\":\"Applied\",\"notes\":\"seed\"}" \
    "$BASE/api/job-applications/"
done
# Access tokens live 5 minutes; the run is shorter than that with the default duration.

cat >"$WORK/get_auth.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $ACCESS"
EOF
cat >"$WORK/post_app.lua" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $WRITER"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"job_title":"Benchmark","company_name":"Load Inc","status":"Applied"}'
EOF
cat >"$WORK/post_token.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"$PASSWORD"}'
EOF

# run NAME URL [LUA]: prints "NAME rps p50 p99 non2xx mean"  (WRK_T / WRK_C override -t / -c)
run() {
  local name=$1 url=$2 script=${3:-}
  # --timeout 10s: wrk's default of 2 s is shorter than a login's wait in the hashing queue at -c32
  # (32 ÷ ~12 logins/s ≈ 2.7 s); a timed-out request is dropped by wrk and its finished hash wasted.
  local args=(-t"${WRK_T:-$THREADS}" -c"${WRK_C:-$CONNS}" -d"$DURATION" --latency --timeout 10s)
  [ -n "$script" ] && args+=(-s "$script")
  local out
  out=$(wrk "${args[@]}" "$url")
  local rps p50 p99 bad mean
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  mean=$(awk '$1=="Latency" {print $2; exit}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  local timeouts
  timeouts=$(awk '/Socket errors:/ {print $NF}' <<<"$out")
  [ -n "$timeouts" ] && [ "$timeouts" != 0 ] && echo "run.sh: $name: $timeouts requests timed out (10 s)" >&2
  echo "$name ${rps:-0} ${p50:-?} ${p99:-?} ${bad:-0} ${mean:-?}"
}

# drain: wait (at most 120 s) until no hashing job is queued or running, so that one phase's
# leftovers do not load the next; says on stderr how long that took.
drain() {
  local t0=$SECONDS n=""
  for _ in $(seq 1200); do
    n=$(curl -sf "$BASE/metrics" | awk '$1=="resumate_worker_jobs_pending" {print $2}')
    [ "${n:-0}" = 0 ] && break
    sleep 0.1
  done
  echo "run.sh: hashing queue empty after $((SECONDS - t0)) s (pending ${n:-?})" >&2
}

RESULTS=$WORK/results
# BENCH_ENDPOINTS=applications limits the run to the nginx ceiling and the two application endpoints.
{
  run nginx_static "http://127.0.0.1:$NGINX_PORT/"
  if [ "${BENCH_ENDPOINTS:-all}" = all ]; then
    run get_models "$BASE/api/ai/models/"
    run get_examples "$BASE/api/example-job-applications/"
  fi
  run get_applications "$BASE/api/job-applications/" "$WORK/get_auth.lua"
  run post_application "$BASE/api/job-applications/" "$WORK/post_app.lua"
  # The POST phase leaves ~100 MB+ of dirty WAL and database pages; the kernel's writeback of them
  # would compete for the CPUs with the (SCHED_IDLE) hashing workers of the next phases.
  sync
  if [ "${BENCH_ENDPOINTS:-all}" = all ]; then
    WRK_T=1 WRK_C=1 run verify_1conn "$BASE/api/auth/token/" "$WORK/post_token.lua"
    drain
    run post_token "$BASE/api/auth/token/" "$WORK/post_token.lua"
    drain
    # Reads while logins saturate the hashing workers: the same GET applications load (the same 20
    # rows), with 8 more connections posting to /api/auth/token/ for the whole run.
    wrk -t1 -c8 -d"$DURATION" --timeout 10s -s "$WORK/post_token.lua" "$BASE/api/auth/token/" >/dev/null 2>&1 &
    LOGIN_WRK=$!
    sleep 1
    run get_apps_during_logins "$BASE/api/job-applications/" "$WORK/get_auth.lua"
    wait "$LOGIN_WRK" || true
    drain
  fi
} >"$RESULTS"

RSS=$(awk '/^VmRSS/ {print $2 " " $3}' "/proc/$SERVER_PID/status")
HWM=$(awk '/^VmHWM/ {print $2 " " $3}' "/proc/$SERVER_PID/status")
count() {
  curl -sf -H "Authorization: Bearer $1" "$BASE/api/job-applications/?limit=1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}
ROWS="$(count "$ACCESS") read by the GET phases, $(count "$WRITER") written by POST application"

echo "wrk -t$THREADS -c$CONNS -d$DURATION, loopback, $(nproc) CPUs; PBKDF2 iterations $ITER"
python3 - "$RESULTS" <<'EOF'
import sys
rows = [line.split() for line in open(sys.argv[1])]
ceiling = float(rows[0][1]) or 1.0
print(f"{'endpoint':<22} {'req/s':>10} {'p50':>10} {'p99':>10} {'vs nginx':>9} {'non-2xx':>8}")
for name, rps, p50, p99, bad, _mean in rows:
    print(f"{name:<22} {float(rps):>10.1f} {p50:>10} {p99:>10} {float(rps) / ceiling:>8.1%} {bad:>8}")
EOF
python3 - "$RESULTS" <<'EOF'
import sys
def ms(v):
    return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
rows = {line.split()[0]: line.split() for line in open(sys.argv[1])}
if "get_apps_during_logins" in rows:
    alone, during = ms(rows["get_applications"][3]), ms(rows["get_apps_during_logins"][3])
    print(f"GET applications p99 alone {alone:.2f} ms, while logins saturate hashing {during:.2f} ms: {during / alone:.2f}x")
if "verify_1conn" in rows and "post_token" in rows:
    import os
    one = ms(rows["verify_1conn"][5])
    cpus = os.cpu_count() or 1
    target = cpus * 1000.0 / one
    got = float(rows["post_token"][1])
    print(f"POST token {got:.2f}/s vs CPUs / one verify = {cpus} / {one:.1f} ms = {target:.2f}/s: {got / target:.1%}")
EOF
echo "server RSS after the run: $RSS (peak $HWM); job applications: $ROWS"
