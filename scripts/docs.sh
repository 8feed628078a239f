#!/usr/bin/env bash
# Build the API reference from include/resumate/ with Doxygen (docs/Doxyfile). Fails, listing the
# gaps, when a public function, parameter or return value is undocumented.
# Output: $RM_DOCS_OUT (default build-docs)/html/index.html.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || { echo "docs.sh: doxygen missing (apt-get install doxygen)"; exit 1; }
export RM_DOCS_OUT=${RM_DOCS_OUT:-$PWD/build-docs}
rm -rf "$RM_DOCS_OUT" && mkdir -p "$RM_DOCS_OUT"
doxygen docs/Doxyfile
rc=$?
if [ $rc != 0 ] || [ -s "$RM_DOCS_OUT/warnings.log" ]; then
    # WARN_AS_ERROR=YES stops at the first gap: run again, going on, to list them all.
    (cat docs/Doxyfile; echo "WARN_AS_ERROR = FAIL_ON_WARNINGS") | doxygen - >/dev/null 2>&1
    echo "docs.sh: documentation gaps:"; sed 's/^/  /' "$RM_DOCS_OUT/warnings.log"
    rc=1
fi
[ $rc = 0 ] && [ -f "$RM_DOCS_OUT/html/index.html" ] || { echo "0 passed, 1 failed"; exit 1; }
echo "docs.sh: reference in $RM_DOCS_OUT/html/index.html"
echo "1 passed, 0 failed"
