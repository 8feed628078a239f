#!/usr/bin/env bash
# A streaming-replication hot standby of the scripts/pg.sh cluster, for the read-replica tests.
#
#   scripts/pg-standby.sh          start it (a fresh pg_basebackup each time); print its URL as the last line
#   scripts/pg-standby.sh stop     stop it and remove its data directory
#
# Environment: RM_PG_DIR as for scripts/pg.sh (the primary must be running); RM_PG_STANDBY_PORT (default:
# the primary's port + 1, or the next free one). The standby listens on 127.0.0.1 only and lives in
# $RM_PG_DIR/standby. The primary gets one more pg_hba.conf line (replication connections, trust, from
# 127.0.0.1 only) and a configuration reload when it lacks it. Everything but the URL goes to stderr.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${RM_PG_DIR:-/tmp/resumate-pg}
SDIR=$DIR/standby
SDATA=$SDIR/data
LOG=$SDIR/postgres.log

log() { printf 'pg-standby.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

BIN=
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$d/pg_basebackup" ] && [ -x "$d/pg_ctl" ]; then BIN=$d; break; fi
done
[ -n "$BIN" ] || die "pg_basebackup not found (run scripts/pg.sh first: it installs PostgreSQL)"

if [ "$(id -u)" = 0 ]; then RUN=(runuser -u postgres --); else RUN=(); fi
as_pg() { "${RUN[@]}" "$@"; }

primary_url=$(bash "$REPO/scripts/pg.sh" url) || die "the primary is not running (start it with scripts/pg.sh)"
pport=$(cat "$DIR/port")
DB=${primary_url##*/}

running() { [ -f "$SDATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$SDATA" status >/dev/null 2>&1; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
    if running; then as_pg "$BIN/pg_ctl" -D "$SDATA" -m immediate -w stop >&2 || true; fi
    rm -rf "$SDIR"
}

case "${1:-start}" in
stop) stop; exit 0 ;;
start) ;;
*) die "usage: $0 [start|stop]" ;;
esac

stop
mkdir -p "$SDIR"
[ "$(id -u)" = 0 ] && chown postgres: "$SDIR"

hba=$DIR/data/pg_hba.conf
if ! as_pg grep -q '^host replication all 127.0.0.1/32 trust' "$hba"; then
    log "allowing replication connections from 127.0.0.1 on the primary"
    as_pg sh -c "printf '%s\n' 'host replication all 127.0.0.1/32 trust' >> '$hba'"
    as_pg "$BIN/pg_ctl" -D "$DIR/data" reload >&2
    sleep 0.5
fi

log "copying the primary (port $pport) with pg_basebackup"
as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$SDATA" -R -X stream -c fast >&2 || \
    die "pg_basebackup failed"
chmod 0700 "$SDATA"

port=${RM_PG_STANDBY_PORT:-$((pport + 1))}
# The port can be taken between the check and the bind (these ports lie in the ephemeral range, so a
# client socket may hold one): try the next one then, a few times.
started=0
for _ in $(seq 1 10); do
    while port_taken "$port"; do port=$((port + 1)); done
    rm -f "$LOG"
    # max_connections must not be below the primary's (200, scripts/pg.sh) for a hot standby.
    if as_pg "$BIN/pg_ctl" -D "$SDATA" -l "$LOG" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$SDIR' -c hot_standby=on -c fsync=off -c max_connections=200" \
        start >&2 </dev/null; then
        started=1
        break
    fi
    grep -q "could not bind" "$LOG" 2>/dev/null || break
    log "port $port was taken at bind time; trying the next one"
    port=$((port + 1))
done
[ "$started" = 1 ] || { tail -n 20 "$LOG" >&2 || true; die "the standby did not start"; }
for _ in $(seq 1 100); do
    if [ "$(as_pg "$BIN/psql" -X -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; then
        echo "postgres://postgres@127.0.0.1:$port/$DB"
        exit 0
    fi
    sleep 0.1
done
die "the standby did not accept read-only connections (see $LOG)"
