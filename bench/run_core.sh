#!/usr/bin/env bash
# Build bench_core (Release unless BUILD_DIR already exists) and run it: resume create/get/list-20 ops/s
# with 1 and 2 threads on a SQLite file, then PBKDF2 verification at 720000 iterations in libresumate and
# in Python's hashlib (bench/pbkdf2_python.py), with their ratio.
#   BUILD_DIR=build-bench SECONDS_PER_FIGURE=2 ITERATIONS=720000 bench/run_core.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRM_BUILD_SERVER=OFF >/dev/null
fi
cmake --build "$build" -j2 --target bench_core >/dev/null
exec "$build/bench/bench_core" --seconds "${SECONDS_PER_FIGURE:-2}" --iterations "${ITERATIONS:-720000}" \
  --python "$root/bench/pbkdf2_python.py"
