#!/usr/bin/env bash
# Bindings, examples, ABI and documentation checks:
#   1. build libresumate and install it to a prefix (RM_BINDINGS_PREFIX, default a temporary one)
#   2. pip install ./bindings/python against that prefix (pkg-config), pytest bindings/python/tests
#   3. go vet + go test ./... in bindings/go, and the Go and Python basic examples
#   4. scripts/abi-check.sh (abidiff against abi/libresumate.so.1.abi)
#   5. scripts/docs.sh (Doxygen, warnings are errors)
# Exits non-zero if any step fails or if pytest or go test ran no test. Last line: "N passed, N failed".
# Environment: RM_BINDINGS_BUILD_DIR (default build-bindings), RM_BINDINGS_PREFIX, RM_JOBS (default 2),
# GO (default: go on PATH, else /usr/local/go/bin/go).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${RM_BINDINGS_BUILD_DIR:-$ROOT/build-bindings}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
JOBS=${RM_JOBS:-2}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/resumate-bindings.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PREFIX=${RM_BINDINGS_PREFIX:-$TMP/prefix}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
passed=() failed=()

step() {
    local name=$1; shift
    printf '\n==== %s\n' "$name"
    if "$@"; then passed+=("$name"); echo "---- $name: passed"
    else failed+=("$name"); echo "---- $name: FAILED"; fi
}

build_install() {
    cmake -S "$ROOT" -B "$BUILD" -DRM_WERROR=ON -DRM_BUILD_TESTS=OFF -DRM_BUILD_SERVER=OFF >/dev/null &&
    cmake --build "$BUILD" -j"$JOBS" --target resumate resumate_static &&
    cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
}

pcdir() { dirname "$(find "$PREFIX" -name resumate.pc -print -quit)"; }

python_binding() {
    local pc; pc=$(pcdir)
    PKG_CONFIG_PATH=$pc PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1 \
        python3 -m pip install -q --force-reinstall --no-deps ./bindings/python || return 1
    # Run from a directory without the source package, so the installed one is tested.
    (cd "$TMP" && RESUMATE_INCLUDE_DIR=$ROOT/include python3 -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests"
     rc=$?; [ $rc = 5 ] && echo "pytest collected no tests"; exit $rc) || return 1
    (cd "$TMP" && python3 "$ROOT/examples/python/basic.py" >/dev/null)
}

go_binding() {
    local pc out; pc=$(pcdir)
    export PKG_CONFIG_PATH=$pc LD_LIBRARY_PATH=$(dirname "$pc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    # A private build cache: cgo caches the pkg-config flags of an earlier run, whose prefix is gone.
    export GOCACHE=$TMP/gocache
    export RESUMATE_INCLUDE_DIR=$ROOT/include GOFLAGS=${GOFLAGS:--mod=mod}
    (cd bindings/go && "$GO" vet ./...) || return 1
    out=$(cd bindings/go && "$GO" test -count=1 -v ./... 2>&1); local rc=$?
    echo "$out" | grep -E '^(--- |ok|FAIL|PASS)'
    [ $rc = 0 ] || { echo "$out" | tail -30; return 1; }
    echo "$out" | grep -q '^--- PASS' || { echo "go test ran no test"; return 1; }
    (cd examples/go/basic && "$GO" run . >/dev/null)
}

step build-install build_install
if [ ${#failed[@]} = 0 ]; then
    step python-binding python_binding
    if [ -x "$GO" ]; then step go-binding go_binding
    else failed+=("go-binding (no Go toolchain at $GO)"); fi
fi
step abi-check env RM_ABI_BUILD_DIR="$BUILD-abi" bash scripts/abi-check.sh
step docs env RM_DOCS_OUT="$TMP/docs" bash scripts/docs.sh

printf '\n==== summary\n'
for s in "${passed[@]}"; do echo "passed:  $s"; done
for s in "${failed[@]}"; do echo "FAILED:  $s"; done
echo "${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} = 0 ]
