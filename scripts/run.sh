#!/usr/bin/env bash
# `make run`: install what is missing, build, and run the main program: resumate-server, the reference
# REST server (listening on 127.0.0.1:8000 with a SQLite database in ./var/ unless configured otherwise:
# see `resumate-server --help`; arguments after `make run ARGS=...` are passed on). Where the server is
# not built (RM_BUILD_SERVER=OFF, or a tree without server/), it runs examples/basic instead: a tour of
# the library on a temporary SQLite database.
# Environment: RM_BUILD_DIR (default build), RM_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${RM_BUILD_DIR:-build}
JOBS=${RM_JOBS:-$(nproc 2>/dev/null || echo 2)}
bash scripts/deps.sh
# Same options as scripts/test.sh, so the two share one build directory.
cmake -S . -B "$BUILD" -DRM_WERROR=ON
targets=$(cmake --build "$BUILD" --target help)
if grep -qw resumate-server <<<"$targets"; then
    cmake --build "$BUILD" -j"$JOBS" --target resumate-server
    server=$(find "$BUILD" -type f -name resumate-server -perm -u+x -print -quit)
    echo "run.sh: starting $server $* (Ctrl-C stops it)"
    exec "$server" "$@"
fi
cmake --build "$BUILD" -j"$JOBS" --target basic
exec "$BUILD/examples/basic"
