#!/usr/bin/env bash
# test_exports.sh - libgate.so exports exactly the functions that the
# installed headers (verify/verify.h, policy/policy.h, gate/gate.h) declare
# GATE_API: an internal function that leaks into the dynamic symbol table
# (extra) fails, and so does an API function the library does not export
# (missing). Each one is named.
# Env (set by CTest): GATE_SOURCE_DIR, GATE_BUILD_DIR. LIBGATE, when set,
# names another libgate.so to check against these headers.
set -u
src=${GATE_SOURCE_DIR:?}
lib=${LIBGATE:-${GATE_BUILD_DIR:?}/libgate.so}
headers=(verify/verify.h policy/policy.h gate/gate.h)

if [ ! -f "$lib" ]; then
    echo "FAIL: no $lib" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declared: the name before the first '(' of every GATE_API declaration,
# comments and preprocessor lines left out.
for h in "${headers[@]}"; do
    perl -0777 -pe 's{/\*.*?\*/}{ }gs' "$src/$h" | grep -v '^[[:space:]]*#' | tr '\n' ' ' |
        grep -oE 'GATE_API[^;(]*\(' | grep -oE '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\($' |
        tr -d '( ' | sed "s|\$| $h|"
done | sort -u >"$tmp/declared.map"
cut -d' ' -f1 "$tmp/declared.map" | sort -u >"$tmp/declared"

# Exported: defined dynamic symbols, without the version node (type A), a
# version suffix, or the section bounds the linker adds for coverage
# instrumentation in a -DGATE_FUZZ=ON build (__start___sancov_pcs, ...).
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    grep -vE '^__(start|stop)___sancov_' | sort -u >"$tmp/exported"

fail=0
if [ ! -s "$tmp/declared" ]; then
    echo "FAIL: no GATE_API declaration in ${headers[*]}"
    fail=1
fi
while read -r sym; do
    echo "FAIL: extra: $lib exports $sym, which no installed header declares GATE_API"
    fail=1
done < <(comm -13 "$tmp/declared" "$tmp/exported")
while read -r sym; do
    h=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$tmp/declared.map")
    echo "FAIL: missing: $sym is declared GATE_API in $h, but $lib does not export it"
    fail=1
done < <(comm -23 "$tmp/declared" "$tmp/exported")

echo "$(wc -l <"$tmp/exported") exported, $(wc -l <"$tmp/declared") declared GATE_API"
exit $fail
