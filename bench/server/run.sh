#!/usr/bin/env bash
# Benchmark resumate-server with wrk against a static nginx answer (the ceiling), in one run.
#
#   bench/server/run.sh            # uses $RM_BUILD_DIR (default build) and 10 s per endpoint
#   DURATION=30s bench/server/run.sh
#   BENCH_DATABASE_URL=postgres://… bench/server/run.sh   # another (empty) database; see bench/pg/run.sh
#
# The server runs on a fresh SQLite database with the seeded models and examples, one user and 20
# job applications. Endpoints: GET models, GET examples, GET applications (JWT, 20 rows),
# POST application, POST token (PBKDF2 at BENCH_ITERATIONS, default the production 720000).
# Throttling is configured high enough never to refuse, so its code still runs. The access log is
# on (written to /dev/null). Everything listens on 127.0.0.1 only.
# Prints requests/s, p50 and p99 latency per endpoint, the ratio to nginx, and the server's RSS.
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
curl -sf -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"username\":\"bench\",\"email\":\"bench@example.com\",\"password\":\"$PASSWORD\",\"password2\":\"$PASSWORD\"}" \
  "$BASE/api/auth/register/"
ACCESS=$(curl -sf -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" \
  "$BASE/api/auth/token/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
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
wrk.headers["Authorization"] = "Bearer $ACCESS"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"job_title":"Benchmark","company_name":"Load Inc","status":"Applied"}'
EOF
cat >"$WORK/post_token.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"$PASSWORD"}'
EOF

# run NAME URL [LUA]: prints "NAME rps p50 p99 non2xx"
run() {
  local name=$1 url=$2 script=${3:-}
  local out
  if [ -n "$script" ]; then
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$script" "$url")
  else
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url")
  fi
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  echo "$name ${rps:-0} ${p50:-?} ${p99:-?} ${bad:-0}"
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
  if [ "${BENCH_ENDPOINTS:-all}" = all ]; then
    run post_token "$BASE/api/auth/token/" "$WORK/post_token.lua"
    # Reads while logins saturate the hashing workers: the same GET applications load, with 8 more
    # connections posting to /api/auth/token/ for the whole run.
    wrk -t1 -c8 -d"$DURATION" -s "$WORK/post_token.lua" "$BASE/api/auth/token/" >/dev/null 2>&1 &
    LOGIN_WRK=$!
    sleep 1
    run get_apps_during_logins "$BASE/api/job-applications/" "$WORK/get_auth.lua"
    wait "$LOGIN_WRK" || true
  fi
} >"$RESULTS"

RSS=$(awk '/^VmRSS/ {print $2 " " $3}' "/proc/$SERVER_PID/status")
HWM=$(awk '/^VmHWM/ {print $2 " " $3}' "/proc/$SERVER_PID/status")
ROWS=$(curl -sf -H "Authorization: Bearer $ACCESS" "$BASE/api/job-applications/?limit=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')

echo "wrk -t$THREADS -c$CONNS -d$DURATION, loopback, $(nproc) CPUs; PBKDF2 iterations $ITER"
python3 - "$RESULTS" <<'EOF'
import sys
rows = [line.split() for line in open(sys.argv[1])]
ceiling = float(rows[0][1]) or 1.0
print(f"{'endpoint':<18} {'req/s':>10} {'p50':>10} {'p99':>10} {'vs nginx':>9} {'non-2xx':>8}")
for name, rps, p50, p99, bad in rows:
    print(f"{name:<18} {float(rps):>10.0f} {p50:>10} {p99:>10} {float(rps) / ceiling:>8.1%} {bad:>8}")
EOF
python3 - "$RESULTS" <<'EOF'
import sys
def ms(v):
    return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
rows = {line.split()[0]: line.split() for line in open(sys.argv[1])}
if "get_apps_during_logins" in rows:
    alone, during = ms(rows["get_applications"][3]), ms(rows["get_apps_during_logins"][3])
    print(f"GET applications p99 alone {alone:.2f} ms, while logins saturate hashing {during:.2f} ms: {during / alone:.2f}x")
EOF
echo "server RSS after the run: $RSS (peak $HWM); job applications in the database: $ROWS"
