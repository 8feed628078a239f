#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL cluster for the tests and print its URL as the last line.
#
#   scripts/pg.sh          start it if needed; print postgres://postgres@127.0.0.1:<port>/resumate_test
#   scripts/pg.sh stop     stop it
#   scripts/pg.sh url      print the URL of the running cluster (fails if it is not running)
#
# Environment: RM_PG_DIR (default /tmp/resumate-pg), RM_PG_PORT (default 55432; the next free port is
# used when it is taken by something else), RM_PG_DB (default resumate_test), RM_PG_PROFILE (test or
# production, default test: see SETTINGS below; it applies when this script starts the server).
# The cluster listens on 127.0.0.1 only, with trust authentication for 127.0.0.1 only. The test profile
# is tuned for tests (fsync off): never put data you care about in it. Everything but the URL goes to
# stderr.
set -euo pipefail

DIR=${RM_PG_DIR:-/tmp/resumate-pg}
PORT=${RM_PG_PORT:-55432}
DB=${RM_PG_DB:-resumate_test}
DATA=$DIR/data
LOG=$DIR/postgres.log
PROFILE=${RM_PG_PROFILE:-test}

# Server settings. test: durability off (fsync, full-page writes, synchronous commit), for speed and
# tests only. production: settings a production server may use (what bench/pg/run.sh uses;
# docs/BENCHMARKS.md lists them): PostgreSQL's defaults (fsync and full-page writes on) except
# synchronous_commit=off, under which a commit returns before its WAL reaches the disk, so a crash of
# the machine may lose the last fraction of a second of commits but never corrupts anything: the
# durability of the SQLite backend's WAL with synchronous=NORMAL. Both: 127.0.0.1 only, 200 connections.
case "$PROFILE" in
test) SETTINGS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" ;;
production) SETTINGS="-c synchronous_commit=off -c max_connections=200" ;;
*) echo "pg.sh: RM_PG_PROFILE must be test or production, not $PROFILE" >&2; exit 1 ;;
esac

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

find_bin() {
    local d
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and I am not root; install the postgresql package"
    log "PostgreSQL not found; installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
}

BIN=$(find_bin) || { install_postgres; BIN=$(find_bin) || die "initdb still missing after installing postgresql"; }

# As root, the server must run as the postgres user; otherwise as ourselves.
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no postgres user (is the postgresql package installed?)"
    RUN=(runuser -u postgres --)
else
    RUN=()
fi
as_pg() { "${RUN[@]}" "$@"; }

url() { echo "postgres://postgres@127.0.0.1:$1/$DB"; }

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

psql_pg() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres "${@:2}"; }

ensure_db() {
    local port=$1
    if [ "$(psql_pg "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        psql_pg "$port" -c "CREATE DATABASE \"$DB\"" >&2 || \
            [ "$(psql_pg "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" = 1 ]
    fi
}

wait_ready() {
    local port=$1 i
    for i in $(seq 1 100); do
        if as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
            return 0
        fi
        sleep 0.1
    done
    die "the server on port $port did not become ready (see $LOG)"
}

cmd=${1:-start}
mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
chmod 0755 "$DIR"

# Serialise concurrent invocations (several test scripts may start at once).
exec 9>"$DIR/.lock"
flock -w 300 9 || die "another pg.sh has held $DIR/.lock for 5 minutes"

case "$cmd" in
stop)
    if running; then
        as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    else
        log "not running"
    fi
    exit 0
    ;;
url)
    running || die "not running (start it with scripts/pg.sh)"
    url "$(cat "$DIR/port")"
    exit 0
    ;;
start) ;;
*) die "usage: $0 [start|stop|url]" ;;
esac

if running; then
    port=$(cat "$DIR/port")
    wait_ready "$port"
    ensure_db "$port"
    url "$port"
    exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA"
    rm -rf "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2 2>"$DIR/initdb.log" || \
        as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >&2 || \
        { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    # Trust on 127.0.0.1 only: no socket or IPv6 entries.
    as_pg sh -c "printf '%s\n' 'host all all 127.0.0.1/32 trust' > '$DATA/pg_hba.conf'"
fi

while port_taken "$PORT"; do
    log "port $PORT is taken, trying $((PORT + 1))"
    PORT=$((PORT + 1))
done

# The server must inherit no descriptor but 0-2: not our lock (fd 9), and not a lock our caller holds
# (e.g. `flock /tmp/resumate-bench.lock bench/pg/run.sh` starting the cluster), or the long-lived
# postmaster would hold that lock until it stops.
start_server() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
    done
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='$DIR' $SETTINGS" \
        start >&2 </dev/null
}
# The port can be taken between the check above and the server's bind (it lies in the ephemeral range,
# so another test's listener on port 0 may land on it): then try the next free one, a few times.
started=0
for _ in $(seq 1 10); do
    seen=$(wc -l <"$LOG" 2>/dev/null || echo 0)
    if ( start_server ); then
        started=1
        break
    fi
    tail -n +"$((seen + 1))" "$LOG" 2>/dev/null | grep -q "could not bind" || break
    log "port $PORT was taken at bind time; trying the next one"
    PORT=$((PORT + 1))
    while port_taken "$PORT"; do PORT=$((PORT + 1)); done
done
[ "$started" = 1 ] || { tail -n 20 "$LOG" >&2 || true; die "the server did not start"; }
echo "$PORT" >"$DIR/port"
wait_ready "$PORT"
ensure_db "$PORT"
url "$PORT"
