#!/usr/bin/env bash
# Issue 5's benchmark: AI generations through resumate-server against a fake provider with a fixed latency.
#
#   bench/ai/run.sh                     # uses $RM_BUILD_DIR (default build)
#   RM_BUILD_DIR=build-aibench BENCH_AUTH=jwt bench/ai/run.sh
#
# Knobs (environment): BENCH_N (1000 concurrent generations), BENCH_DELAY (2.0 s provider latency),
# BENCH_CLIENTS (50) and BENCH_DURATION (20 s) for the closed-loop run, BENCH_AUTH (anon | jwt),
# BENCH_PORT (18720, the server), BENCH_FAKE_PORT (0 = any free port, the fake provider),
# MODELS_DURATION (5s, GET models alone), DURING_DURATION (3s, GET models during
# the burst), SERVER_THREADS (the server's --threads, default its own default: CPUs),
# MODELS_TARGET (self | idle: idle sends both GET models phases to a second resumate-server on
# BENCH_PORT+1 that takes no generation; its ratio is the machine's floor — what the burst costs a
# server that does none of its work — printed for information, not checked).
#
# 1. bench/ai/fake_provider.py (asyncio, keep-alive) answers chat completions after BENCH_DELAY s;
#    the server's seeded "Deepseek" model (open_router, public) points at it through
#    RESUMATE_OPENROUTER_BASE_URL with a dummy OPENROUTER_API_KEY. Fresh SQLite database, throttling
#    configured high enough never to refuse (its code still runs), access log on (to /dev/null).
# 2. wrk -t1 -c8 against GET /api/ai/models/ alone: p99.
# 3. The burst: bench/ai/load.py opens BENCH_N connections, then (with wrk -t1 -c8 running against
#    GET models) writes one POST /api/ai/generate/ on each at once. Successes, wall time,
#    throughput, p50/p99, the server's peak RSS (VmHWM), models p99 during the burst and the ratio.
# 4. The closed loop: BENCH_CLIENTS clients for BENCH_DURATION s, one generation at a time each:
#    generations/s and the share of the bound BENCH_CLIENTS / BENCH_DELAY.
# Everything listens on and connects to 127.0.0.1 only. Exit status 0 when every target is met.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${RM_BUILD_DIR:-$REPO/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$REPO/$BUILD_DIR ;; esac
SERVER=$BUILD_DIR/server/resumate-server
N=${BENCH_N:-1000}
DELAY=${BENCH_DELAY:-2.0}
CLIENTS=${BENCH_CLIENTS:-50}
DURATION=${BENCH_DURATION:-20}
AUTH=${BENCH_AUTH:-anon}
MODELS_TARGET=${MODELS_TARGET:-self}
PORT=${BENCH_PORT:-18720}
FAKE_PORT_WANTED=${BENCH_FAKE_PORT:-0}
MODELS_DURATION=${MODELS_DURATION:-5s}
DURING_DURATION=${DURING_DURATION:-3s}
HERE=$REPO/bench/ai

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done
[ -x "$SERVER" ] || { echo "run.sh: build resumate-server first ($SERVER)" >&2; exit 1; }
case "$AUTH" in anon | jwt) ;; *) echo "run.sh: BENCH_AUTH is anon or jwt" >&2; exit 2 ;; esac
case "$MODELS_TARGET" in self | idle) ;; *) echo "run.sh: MODELS_TARGET is self or idle" >&2; exit 2 ;; esac

# Every generation holds a client socket, a provider socket and the fake's socket: raise the fd limit.
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] && NOFILE=65536
[ "$NOFILE" -gt 65536 ] && NOFILE=65536
ulimit -n "$NOFILE"
[ "$NOFILE" -ge $((3 * N + 256)) ] || echo "run.sh: warning: fd limit $NOFILE is low for $N generations" >&2

WORK=$(mktemp -d /tmp/resumate-aibench.XXXXXX)
SERVER_PID="" FAKE_PID="" WRK_PID="" LOAD_PID="" IDLE_PID=""
cleanup() {
  for pid in $LOAD_PID $WRK_PID $SERVER_PID $IDLE_PID $FAKE_PID; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the fake provider ----
python3 "$HERE/fake_provider.py" --port "$FAKE_PORT_WANTED" --delay "$DELAY" >"$WORK/fake.out" 2>"$WORK/fake.err" &
FAKE_PID=$!
for _ in $(seq 100); do
  grep -q '^PORT ' "$WORK/fake.out" 2>/dev/null && break
  sleep 0.05
done
FAKE_PORT=$(awk '/^PORT / {print $2}' "$WORK/fake.out")
[ -n "$FAKE_PORT" ] || { echo "run.sh: the fake provider did not start" >&2; cat "$WORK/fake.err" >&2; exit 1; }

# ---- resumate-server ----
THREAD_ARGS=()
[ -n "${SERVER_THREADS:-}" ] && THREAD_ARGS=(--threads "$SERVER_THREADS")
env -i PATH="$PATH" HOME="$WORK" \
  DATABASE_URL="sqlite:///$WORK/bench.sqlite3" SECRET_KEY="bench-secret-key-$(date +%s%N)-not-for-production" \
  RESUMATE_PASSWORD_ITERATIONS=1000 \
  THROTTLE_ANON=100000000/s THROTTLE_USER=100000000/s THROTTLE_AUTH=100000000/s \
  MAX_CONNECTIONS=$((N + CLIENTS + 512)) \
  RESUMATE_OPENROUTER_BASE_URL="http://127.0.0.1:$FAKE_PORT/api/v1" OPENROUTER_API_KEY=bench-dummy-key \
  "$SERVER" --bind 127.0.0.1 --port "$PORT" "${THREAD_ARGS[@]}" 2>/dev/null &
SERVER_PID=$!
BASE=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$BASE/healthz" >/dev/null || { echo "run.sh: the server did not start" >&2; exit 1; }
MODELS_URL=$BASE/api/ai/models/
if [ "$MODELS_TARGET" = idle ]; then
  env -i PATH="$PATH" HOME="$WORK" \
    DATABASE_URL="sqlite:///$WORK/idle.sqlite3" SECRET_KEY="bench-secret-key-idle-$(date +%s%N)-not-for-production" \
    THROTTLE_ANON=100000000/s THROTTLE_USER=100000000/s THROTTLE_AUTH=100000000/s \
    "$SERVER" --bind 127.0.0.1 --port $((PORT + 1)) "${THREAD_ARGS[@]}" 2>/dev/null &
  IDLE_PID=$!
  MODELS_URL=http://127.0.0.1:$((PORT + 1))/api/ai/models/
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null || { echo "run.sh: the idle server did not start" >&2; exit 1; }
fi

TOKEN=""
if [ "$AUTH" = jwt ]; then
  PASSWORD='Bench-password-9x'
  curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench\",\"email\":\"bench@example.com\",\"password\":\"$PASSWORD\",\"password2\":\"$PASSWORD\"}" \
    "$BASE/api/auth/register/"
  TOKEN=$(curl -sf -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" \
    "$BASE/api/auth/token/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
fi
TOKEN_ARGS=()
[ -n "$TOKEN" ] && TOKEN_ARGS=(--token "$TOKEN")

# One generation first: the first-use paths (the anonymous_user account, the connection to the
# fake) are not what this measures. It must succeed.
python3 "$HERE/load.py" burst --port "$PORT" --n 1 "${TOKEN_ARGS[@]}" >"$WORK/warmup" ||
  { echo "run.sh: the warm-up generation failed:" >&2; cat "$WORK/warmup" >&2; exit 1; }

wrk_p99() { awk '$1=="99%" {print $2}' "$1"; }
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
to_ms() { # wrk's "812.00us" / "1.23ms" / "1.02s" -> milliseconds
  python3 -c 'import sys; v=sys.argv[1]; u=v.lstrip("0123456789."); n=float(v[:len(v)-len(u)]);
print("%.3f" % (n * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]))' "$1"
}

# ---- GET models alone ----
wrk -t1 -c8 -d"$MODELS_DURATION" --latency "$MODELS_URL" >"$WORK/models_alone"

# ---- the burst, with GET models alongside ----
mkfifo "$WORK/go"
python3 "$HERE/load.py" burst --port "$PORT" --n "$N" "${TOKEN_ARGS[@]}" --go-fifo "$WORK/go" \
  >"$WORK/burst" 2>"$WORK/burst.err" &
LOAD_PID=$!
for _ in $(seq 600); do
  grep -q '^connected' "$WORK/burst.err" 2>/dev/null && break
  kill -0 "$LOAD_PID" 2>/dev/null || break
  sleep 0.05
done
grep -q '^connected' "$WORK/burst.err" || { echo "run.sh: the load client did not connect" >&2; cat "$WORK/burst.err" >&2; exit 1; }
wrk -t1 -c8 -d"$DURING_DURATION" --latency "$MODELS_URL" >"$WORK/models_during" &
WRK_PID=$!
sleep 0.2
echo go >"$WORK/go"
BURST_RC=0
wait "$LOAD_PID" || BURST_RC=$?
LOAD_PID=""
wait "$WRK_PID"
WRK_PID=""
HWM_BURST=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
STATS=$(curl -sf "http://127.0.0.1:$FAKE_PORT/_stats" || echo '{}')

# ---- the closed loop ----
CLOSED_RC=0
python3 "$HERE/load.py" closed --port "$PORT" --clients "$CLIENTS" --duration "$DURATION" --delay "$DELAY" \
  "${TOKEN_ARGS[@]}" >"$WORK/closed" 2>"$WORK/closed.err" || CLOSED_RC=$?
HWM_ALL=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
RSS_END=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")

get() { awk -v k="$2" '$1==k {print $2}' "$1"; }
ALONE_MS=$(to_ms "$(wrk_p99 "$WORK/models_alone")")
DURING_MS=$(to_ms "$(wrk_p99 "$WORK/models_during")")

echo "bench/ai/run.sh: $N concurrent generations ($AUTH, model Deepseek -> fake provider, ${DELAY} s latency), then $CLIENTS clients x ${DURATION} s; $(nproc) CPUs, loopback"
python3 - "$N" "$DELAY" "$CLIENTS" "$HWM_BURST" "$HWM_ALL" "$RSS_END" "$ALONE_MS" "$DURING_MS" \
  "$(wrk_rps "$WORK/models_alone")" "$(wrk_rps "$WORK/models_during")" "$WORK/burst" "$WORK/closed" "$STATS" \
  "$MODELS_TARGET" <<'EOF'
import json, sys
n, delay, clients = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
hwm_burst, hwm_all, rss_end = (int(x) / 1024.0 for x in sys.argv[4:7])
alone, during = float(sys.argv[7]), float(sys.argv[8])
rps_alone, rps_during = sys.argv[9], sys.argv[10]
read = lambda p: dict(line.split(None, 1) for line in open(p) if line.strip())
b, c = read(sys.argv[11]), read(sys.argv[12])
stats = json.loads(sys.argv[13] or "{}")
ratio = during / alone if alone else float("inf")
checks = [
    ("all succeed", f"{b['successes'].strip()}/{n}", int(b["successes"]) == n),
    ("throughput >= 450/s", f"{float(b['throughput']):.1f}/s (wall {float(b['wall_s']):.3f} s)", float(b["throughput"]) >= 450),
    ("p50 <= 2.2 s", f"{float(b['p50_s']):.3f} s (p99 {float(b['p99_s']):.3f} s, max {float(b['max_s']):.3f} s)", float(b["p50_s"]) <= 2.2),
    ("server RSS <= 64 MB", f"peak {hwm_burst:.1f} MB after the burst", hwm_burst <= 64),
    ("models p99 during <= 2x alone", f"{alone:.3f} ms alone ({rps_alone} req/s), {during:.3f} ms during ({rps_during} req/s): {ratio:.2f}x", ratio <= 2),
    (f"closed loop >= 95% of {clients / delay:g}/s", f"{float(c['rate']):.2f}/s = {float(c['percent_of_bound']):.1f}% "
     f"({c['successes'].strip()} ok, {c['failures'].strip()} failed, p50 {float(c['p50_s']):.3f} s)", float(c["percent_of_bound"]) >= 95 and int(c["failures"]) == 0),
]
info = None
if sys.argv[14] == "idle":  # the GETs went to a second server that took no generation: information, not a check
    info = checks.pop(4)[1]
print(f"burst: statuses {b['statuses'].strip()}; connect {float(b['connect_s']):.3f} s (not timed), requests written in "
      f"{float(b['write_s']):.3f} s; the provider received them over {stats.get('burst_spread_ms', '?')} ms "
      f"on at most {stats.get('max_open', '?')} connections; client loop: {b.get('loop', '?').strip()}")
for name, value, ok in checks:
    print(f"  {'PASS' if ok else 'FAIL'}  {name:<34} {value}")
if info:
    print(f"  info  models p99 on an idle second server (MODELS_TARGET=idle: the machine's floor, not checked): {info}")
print(f"server peak RSS over the whole run {hwm_all:.1f} MB, {rss_end:.1f} MB at the end")
sys.exit(0 if all(ok for _, _, ok in checks) else 1)
EOF
