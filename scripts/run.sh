#!/usr/bin/env bash
# `make run`: install what is missing, build, and run the main program.
# Until resumate-server exists this is examples/basic (a tour of the library on a temporary SQLite
# database); then it will start the server.
# Environment: RM_BUILD_DIR (default build), RM_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${RM_BUILD_DIR:-build}
bash scripts/deps.sh
# Same options as scripts/test.sh, so the two share one build directory.
cmake -S . -B "$BUILD" -DRM_WERROR=ON
cmake --build "$BUILD" -j"${RM_JOBS:-$(nproc 2>/dev/null || echo 2)}" --target basic
exec "$BUILD/examples/basic"
