#!/usr/bin/env bash
# Export test: the shared library's dynamic symbols are exactly the rm_ API.
#   - the SONAME is libresumate.so.<major>;
#   - every defined dynamic symbol is an rm_ function declared RM_EXTERN in include/resumate/*.h,
#     apart from the linker's own (_init, _fini, _edata, _end, __bss_start) and version nodes;
#   - every RM_EXTERN function of the headers is exported.
# Usage: check_exports.sh <libresumate.so.N> <include/resumate dir> [nm] [readelf]
set -euo pipefail
so=$1 hdrdir=$2 nm=${3:-nm} readelf=${4:-readelf}
[ -e "$so" ] || { echo "no shared library at $so (build the 'resumate' target first)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

# SONAME = libresumate.so.<major>, and the file we test is that name.
soname=$("$readelf" -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
case "$soname" in
    libresumate.so.[0-9]*) ;;
    *) echo "FAIL: SONAME is '$soname', expected libresumate.so.<major>"; fail=1 ;;
esac
[ "$(basename "$so")" = "$soname" ] || { echo "FAIL: tested file $(basename "$so") is not the SONAME $soname"; fail=1; }

# Declared API: the function name in every RM_EXTERN declaration (which may span lines).
shopt -s nullglob
headers=("$hdrdir"/*.h)
[ ${#headers[@]} -gt 0 ] || { echo "no headers in $hdrdir"; exit 1; }
awk '/^[[:space:]]*RM_EXTERN[[:space:]]/ { d = $0; while (d !~ /;/ && (getline l) > 0) d = d " " l; print d }' \
    "${headers[@]}" > "$work/decls"
ndecl=$(wc -l < "$work/decls")
[ "$ndecl" -gt 0 ] || { echo "FAIL: no RM_EXTERN declarations found in $hdrdir"; exit 1; }
sed -E 's/^([^(]*[^A-Za-z0-9_])?(rm_[A-Za-z0-9_]+)[[:space:]]*\(.*/\2/' "$work/decls" > "$work/names"
if grep -vqE '^rm_[A-Za-z0-9_]+$' "$work/names"; then
    echo "FAIL: RM_EXTERN declarations whose name could not be read (every export must be an rm_ function):"
    paste -d'\n' "$work/names" "$work/decls" | paste - - | awk -F'\t' '$1 !~ /^rm_[A-Za-z0-9_]+$/ { print "    " $2 }'
    fail=1
fi
grep -E '^rm_[A-Za-z0-9_]+$' "$work/names" | sort -u > "$work/declared"
if [ "$(sort "$work/names" | uniq -d | wc -l)" -gt 0 ]; then
    echo "FAIL: functions declared RM_EXTERN more than once:"; sort "$work/names" | uniq -d | sed 's/^/    /'; fail=1
fi

# Exported: defined dynamic symbols, without @VERSION suffixes; version nodes are absolute symbols.
"$nm" -D --defined-only "$so" | awk 'NF >= 3 { print $2, $3 }' > "$work/nm"
[ -s "$work/nm" ] || { echo "FAIL: nm found no dynamic symbols in $so"; exit 1; }
awk '{ sub(/@.*/, "", $2) } !($1 == "A" && $2 ~ /^RESUMATE_[0-9]+$/) { print $2 }' "$work/nm" \
    | grep -vxE '_init|_fini|_edata|_end|__bss_start' | sort -u > "$work/exported"

extra=$(comm -13 "$work/declared" "$work/exported")
missing=$(comm -23 "$work/declared" "$work/exported")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not declared RM_EXTERN in include/resumate/ ($(echo "$extra" | wc -l)):"
    echo "$extra" | sed 's/^/    /'; fail=1
fi
if [ -n "$missing" ]; then
    echo "FAIL: declared RM_EXTERN but not exported (not implemented, or hidden) ($(echo "$missing" | wc -l)):"
    echo "$missing" | sed 's/^/    /'; fail=1
fi
# Every export carries the version node.
unversioned=$(awk '$1 != "A" && $2 ~ /^rm_/ && $2 !~ /@@?RESUMATE_[0-9]+$/ { print $2 }' "$work/nm")
if [ -n "$unversioned" ] && grep -q '@' "$work/nm"; then
    echo "FAIL: rm_ symbols without the RESUMATE_<major> version node:"; echo "$unversioned" | sed 's/^/    /'; fail=1
fi

echo "$(wc -l < "$work/declared") functions declared, $(wc -l < "$work/exported") symbols exported, SONAME $soname: $([ $fail = 0 ] && echo OK || echo FAILED)"
exit $fail
