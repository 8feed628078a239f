#!/usr/bin/env bash
# Build libresumate and run every test suite: `make test`.
#
#   1. dependencies (scripts/deps.sh)        6. ASan+UBSan build, ctest of the unit tests (and the examples)
#   2. services: PostgreSQL (scripts/pg.sh)   7. install to a temporary prefix; build examples/basic.c,
#   3. configure (-DRM_WERROR=ON) and build      examples/custom_*.c and both consumers from it (pkg-config,
#   4. ctest: the Criterion suites and the       find_package) and run them
#      C examples (label examples)            8. ctest: header and export tests (label abi)
#   5. pytest: tests/**/test_*.py             9. bindings: scripts/test-bindings.sh (Python and Go binding
#                                                tests, their examples, abidiff ABI check, Doxygen check)
# A suite that runs no test fails. The last line is "N passed, N failed" counting suites; the exit
# status is 0 only when nothing failed.
#
# Environment: RM_BUILD_DIR (default build), RM_ASAN_BUILD_DIR (default build-asan), RM_BINDINGS_BUILD_DIR
# (default <build dir>-bindings), RM_INSTALL_PREFIX
# (default: a new temporary directory), RM_JOBS (build jobs, default nproc), RM_CTEST_JOBS (default 2),
# RM_PG_DIR (default: a new cluster in the temporary directory, stopped at the end),
# RM_SKIP_ASAN=1 to leave out step 6 (local iterations only; CI runs everything).
# Exported for the tests: RM_SOURCE_DIR, RM_BUILD_DIR (absolute), RM_TEST_PG_URL when PostgreSQL runs.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
abspath() { case $1 in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }
BUILD=$(abspath "${RM_BUILD_DIR:-build}")
ASAN=$(abspath "${RM_ASAN_BUILD_DIR:-build-asan}")
BINDINGS_BUILD=$(abspath "${RM_BINDINGS_BUILD_DIR:-$BUILD-bindings}")
JOBS=${RM_JOBS:-$(nproc 2>/dev/null || echo 2)}
CTEST_JOBS=${RM_CTEST_JOBS:-2}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/resumate-test.XXXXXX")
PREFIX=${RM_INSTALL_PREFIX:-$TMP/prefix}
export RM_SOURCE_DIR=$ROOT RM_BUILD_DIR=$BUILD

passed=() failed=() skipped=()
pg_started=0
cleanup() {
    [ "$pg_started" = 1 ] && bash scripts/pg.sh stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

# suite <name> <command...>: run one suite, time it, and record the outcome.
suite() {
    local name=$1 start=$SECONDS rc; shift
    printf '\n==== %s\n' "$name"
    "$@"; rc=$?
    if [ $rc = 0 ]; then passed+=("$name"); printf -- '---- %s: passed (%ds)\n' "$name" $((SECONDS - start))
    else failed+=("$name"); printf -- '---- %s: FAILED (exit %d, %ds)\n' "$name" $rc $((SECONDS - start)); fi
    return $rc
}
skip() { skipped+=("$1 ($2)"); printf '\n==== %s: skipped: %s\n' "$1" "$2"; }

finish() {
    printf '\n==== summary\n'
    local s
    for s in "${passed[@]}"; do echo "passed:  $s"; done
    for s in "${skipped[@]}"; do echo "skipped: $s"; done
    for s in "${failed[@]}"; do echo "FAILED:  $s"; done
    echo "${#passed[@]} passed, ${#failed[@]} failed"
    [ ${#failed[@]} = 0 ]
    exit
}

configure_build() { # <build dir> <cmake options...>
    local dir=$1; shift
    cmake -S "$ROOT" -B "$dir" -DRM_WERROR=ON "$@" && cmake --build "$dir" -j"$JOBS"
}

# ctest_run <build dir> <label options...>: fail when no test ran.
ctest_run() {
    local dir=$1; shift
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$CTEST_JOBS" "$@"
}

# pytest_run <paths...>: exit 5 (nothing collected) is a failure like any other non-zero exit.
pytest_run() {
    python3 -m pytest -q -p no:cacheprovider "$@"; local rc=$?
    [ $rc = 5 ] && echo "pytest collected no tests"
    return $rc
}

install_copy() { rm -rf "$PREFIX" && cmake --install "$BUILD" --prefix "$PREFIX"; }

consumer_make() {
    local pc; pc=$(dirname "$(find "$PREFIX" -name resumate.pc -print -quit)")
    [ -f "$pc/resumate.pc" ] || { echo "no resumate.pc under $PREFIX"; return 1; }
    mkdir -p "$TMP/make" &&
    PKG_CONFIG_PATH=$pc make -C examples/consumers/make O="$TMP/make" check || return 1
    # The extension-point examples, built as their header comments say: cc + pkg-config.
    local ex cflags libs libdir
    cflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags resumate) && libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs resumate) &&
    libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir resumate) || return 1
    for ex in custom_storage custom_transport; do
        # shellcheck disable=SC2086 # word splitting of the pkg-config flags is intended
        ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pedantic -O2 -g -pthread $cflags -o "$TMP/make/$ex" "examples/$ex.c" $libs &&
        LD_LIBRARY_PATH=$libdir "$TMP/make/$ex" >"$TMP/make/$ex.log" 2>&1 &&
        echo "examples/$ex.c: $(tail -n 1 "$TMP/make/$ex.log")" ||
        { echo "examples/$ex.c failed:"; cat "$TMP/make/$ex.log"; return 1; }
    done
}

consumer_cmake() {
    cmake -S examples/consumers/cmake -B "$TMP/cmake" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
    cmake --build "$TMP/cmake" -j"$JOBS" &&
    "$TMP/cmake/consumer_shared" && "$TMP/cmake/consumer_static" &&
    ! grep -q libresumate < <(ldd "$TMP/cmake/consumer_static") &&
    "$TMP/cmake/basic"
}

# 1. dependencies: nothing else can run without them.
suite deps bash scripts/deps.sh || finish

# 2. services, before configuring: tests/CMakeLists.txt registers the PostgreSQL tests with the
# RM_TEST_PG_URL it sees then (without it they fail, by design).
if [ -f scripts/pg.sh ]; then
    # A private cluster per run unless RM_PG_DIR names one: concurrent runs do not share a database.
    if [ -z "${RM_PG_DIR:-}" ]; then
        export RM_PG_DIR=$TMP/pg
        chmod 0755 "$TMP"   # as root the server runs as the postgres user, which must reach its directory
    fi
    bash scripts/pg.sh url >/dev/null 2>&1 || pg_started=1
    if url=$(bash scripts/pg.sh | tail -n 1) && [ -n "$url" ]; then
        export RM_TEST_PG_URL=$url
        echo "PostgreSQL for the tests: $RM_TEST_PG_URL"
    else
        pg_started=0
        failed+=("postgresql")
        echo "scripts/pg.sh could not start PostgreSQL"
    fi
else
    skip postgresql "scripts/pg.sh does not exist yet"
fi

# 3. build
suite build configure_build "$BUILD"
built=$?

# 4. the Criterion suites
if [ $built = 0 ]; then suite ctest ctest_run "$BUILD" -LE abi; else skip ctest "the build failed"; fi

# 5. Python tests
mapfile -t pyfiles < <(find tests -name 'test_*.py' -not -path '*/__pycache__/*' | sort)
if [ ${#pyfiles[@]} -gt 0 ]; then
    if [ $built = 0 ]; then suite pytest pytest_run "${pyfiles[@]}"; else skip pytest "the build failed"; fi
fi

# 6. sanitizers
if [ "${RM_SKIP_ASAN:-0}" = 1 ]; then
    skip asan "RM_SKIP_ASAN=1"
elif [ $built != 0 ]; then
    skip asan "the build failed"
else
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    if suite asan-build configure_build "$ASAN" -DRM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug; then
        suite asan-ctest ctest_run "$ASAN" -L unit
    fi
fi

# 7. an installed copy, used the way other projects use it
if [ $built = 0 ] && suite install install_copy; then
    suite consumer-pkgconfig consumer_make
    suite consumer-cmake consumer_cmake
elif [ $built != 0 ]; then
    skip install "the build failed"
fi

# 8. header and export tests
if [ $built = 0 ]; then suite abi ctest_run "$BUILD" -L abi; else skip abi "the build failed"; fi

# 9. the bindings (Python and Go tests against an installed copy, their examples), the abidiff ABI
# check and the Doxygen check: one suite, scripts/test-bindings.sh, in a build directory of its own.
if [ $built = 0 ]; then
    suite bindings env RM_BINDINGS_BUILD_DIR="$BINDINGS_BUILD" RM_JOBS="$JOBS" bash scripts/test-bindings.sh
else
    skip bindings "the build failed"
fi

finish
