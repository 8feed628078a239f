#!/usr/bin/env bash
# Header test: resumate.h, and every public header on its own, compile with no warnings
#   - as C99 and C11:  -std=c99/-std=c11 -pedantic -Werror -Wall -Wextra -Wstrict-prototypes
#   - as C++11:        -std=c++11 -pedantic -Werror -Wall -Wextra
# each included twice (include guards), and in C++ with C linkage for the functions.
# Usage: check_headers.sh <include dir> <C compiler> <C++ compiler>
set -euo pipefail
inc=$1 cc=$2 cxx=$3
command -v "$cc" >/dev/null || { echo "no C compiler: $cc"; exit 1; }
command -v "$cxx" >/dev/null || { echo "no C++ compiler: $cxx"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

shopt -s nullglob
headers=("$inc"/resumate/*.h)
[ ${#headers[@]} -gt 0 ] || { echo "no headers in $inc/resumate"; exit 1; }
[ -f "$inc/resumate/resumate.h" ] || { echo "no $inc/resumate/resumate.h"; exit 1; }

fail=0 checked=0
try() { # label, source file, compiler and flags...
    local label=$1 src=$2; shift 2
    if ! out=$("$@" -I"$inc" -c "$src" -o "$work/out.o" 2>&1); then
        echo "FAIL: $label"; echo "$out" | sed 's/^/    /'; fail=1
    fi
    checked=$((checked + 1))
}

for h in "${headers[@]}"; do
    name=resumate/$(basename "$h")
    printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" > "$work/c.c"
    printf '#include <%s>\n#include <%s>\nint main() { return 0; }\n' "$name" "$name" > "$work/cxx.cpp"
    for std in c99 c11; do
        try "$name as $std" "$work/c.c" "$cc" -std=$std -pedantic -Werror -Wall -Wextra -Wstrict-prototypes
    done
    try "$name as c++11" "$work/cxx.cpp" "$cxx" -std=c++11 -pedantic -Werror -Wall -Wextra
done

# C linkage: redeclaring functions extern "C" after the header is an error if the header gave them
# C++ linkage (RM_BEGIN_DECLS missing).
cat > "$work/linkage.cpp" <<'CPP'
#include <resumate/resumate.h>
extern "C" const char *rm_version(void);
extern "C" const char *rm_status_name(int status);
extern "C" const rm_error *rm_error_last(void);
extern "C" void rm_ctx_free(rm_ctx *ctx);
int main() { return 0; }
CPP
try "C linkage in C++" "$work/linkage.cpp" "$cxx" -std=c++11 -pedantic -Werror -Wall -Wextra

# The version macros agree with each other.
cat > "$work/version.c" <<'C'
#include <resumate/resumate.h>
#define S2(x) #x
#define S(x) S2(x)
_Static_assert(RM_VERSION_NUMBER == RM_VERSION_MAJOR * 10000 + RM_VERSION_MINOR * 100 + RM_VERSION_PATCH, "number");
static const char expected[] = S(RM_VERSION_MAJOR) "." S(RM_VERSION_MINOR) "." S(RM_VERSION_PATCH);
_Static_assert(sizeof expected == sizeof RM_VERSION_STRING, "string length");
int main(void) { return 0; }
C
try "version macros" "$work/version.c" "$cc" -std=c11 -pedantic -Werror -Wall -Wextra

echo "$checked header compilations, $([ $fail = 0 ] && echo all passed || echo some FAILED)"
exit $fail
