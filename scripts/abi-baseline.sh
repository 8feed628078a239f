#!/usr/bin/env bash
# Regenerate the ABI baseline abi/libresumate.so.1.abi from a fresh RelWithDebInfo (-g) build.
# Run it as the very last step before a release, and commit the result.
# Environment: RM_ABI_BUILD_DIR (default build-abi).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${RM_ABI_BUILD_DIR:-build-abi}
command -v abidw >/dev/null || { echo "abi-baseline.sh: abidw missing (apt-get install abigail-tools)"; exit 1; }
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" \
      -DRM_BUILD_TESTS=OFF -DRM_BUILD_SERVER=OFF >/dev/null
cmake --build "$BUILD" -j"${RM_JOBS:-2}" --target resumate
so=$(readlink -f "$BUILD/libresumate.so.1")
mkdir -p abi
abidw --no-corpus-path --headers-dir include/resumate --out-file abi/libresumate.so.1.abi "$so"
echo "abi-baseline.sh: wrote abi/libresumate.so.1.abi ($(grep -c '<elf-symbol ' abi/libresumate.so.1.abi) symbols)"
