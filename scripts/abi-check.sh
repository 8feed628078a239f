#!/usr/bin/env bash
# ABI check: build libresumate.so.1 (RelWithDebInfo, -g) and compare it with the committed baseline
# abi/libresumate.so.1.abi using abidiff. Additions (new functions, new version nodes) are printed
# and allowed; an incompatible change (removed or changed function, changed type layout) fails.
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible ABI change.
# Environment: RM_ABI_BUILD_DIR (default build-abi).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${RM_ABI_BUILD_DIR:-build-abi}
base=abi/libresumate.so.1.abi
command -v abidiff >/dev/null || { echo "abi-check.sh: abidiff missing (apt-get install abigail-tools)"; exit 1; }
[ -f "$base" ] || { echo "abi-check.sh: no baseline $base (scripts/abi-baseline.sh makes it)"; exit 1; }
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" \
      -DRM_BUILD_TESTS=OFF -DRM_BUILD_SERVER=OFF >/dev/null || exit 1
cmake --build "$BUILD" -j"${RM_JOBS:-2}" --target resumate >/dev/null || { echo "abi-check.sh: build failed"; exit 1; }
so=$(readlink -f "$BUILD/libresumate.so.1")
abidiff --headers-dir2 include/resumate "$base" "$so"
rc=$?
if [ $((rc & 1)) != 0 ] || [ $((rc & 2)) != 0 ]; then
    echo "abi-check.sh: abidiff failed (exit $rc)"; exit 1
fi
if [ $((rc & 8)) != 0 ]; then
    echo "abi-check.sh: FAIL: incompatible ABI change against $base."
    echo "  Restore compatibility, or bump the SONAME (major version) with a CHANGELOG entry and regenerate the baseline."
    exit 1
fi
if [ $((rc & 4)) != 0 ]; then
    echo "abi-check.sh: compatible ABI changes (additions) against $base: allowed; see above."
else
    echo "abi-check.sh: ABI identical to $base."
fi
echo "1 passed, 0 failed"
exit 0
