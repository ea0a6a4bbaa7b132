#!/usr/bin/env bash
# import.sh - performance benchmark of `gate ledger import dpkg` over this
# machine's installed packages (never a timed test; not run by CTest),
# against `sha256sum` over the same list of files in the same run (the
# baseline: what a script would do). Both read the files from the page
# cache (a first import warms it and gives the file list). Best of R runs
# each (default 3): files/s and MB/s of each, and gate's speed-up
# (goal: faster than the baseline, by hashing in parallel). gate also
# computes MD5 of every file to compare with dpkg's md5sums and writes the
# ledger; sha256sum does neither.
# Usage: bash tests/bench/import.sh      Env: R, JOBS (default: CPUs)
# Builds gate in Release into build-bench-import if needed.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=$bench_src/build-bench-import
gate=$build/gate
R=${R:-3}
JOBS=${JOBS:-$(nproc)}
[ -s /var/lib/dpkg/status ] || bench_die "no dpkg database on this machine"
command -v sqlite3 >/dev/null || command -v python3 >/dev/null || bench_die "needs python3"
bench_build "$build" gate

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
printf 'version: 1\nrules:\n  - name: nothing\n    decision: deny\n' >"$work/policy.yaml"
imp() { # LEDGER [args]
	local db=$1
	shift
	rm -f "$db" "$db-wal" "$db-shm"
	"$gate" ledger --db "$db" import dpkg --policy "$work/policy.yaml" "$@"
}
imp "$work/warm.db" --format json >"$work/warm.json"
python3 - "$work/warm.db" "$work/files" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "wb") as f:
    for (p,) in c.execute("SELECT DISTINCT path FROM files ORDER BY path"):
        f.write(p.encode("utf-8", "surrogateescape") + b"\0")
PY
nfiles=$(tr -cd '\0' <"$work/files" | wc -c)
bytes=$(xargs -0 stat -c %s <"$work/files" | awk '{ s += $1 } END { printf "%.0f", s }')
npkgs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"])' "$work/warm.json")
xargs -0 cat <"$work/files" >/dev/null 2>&1 # page cache

sha() { xargs -0 sha256sum <"$work/files" >/dev/null; }
gj() { imp "$work/b.db" --jobs "$JOBS"; }
g1() { imp "$work/b.db" --jobs 1; }
b=$(best_ms "$R" sha)
g=$(best_ms "$R" gj)
one=$(best_ms "$R" g1)
rate() { # MS: files/s and MB/s
	awk -v ms="$1" -v n="$nfiles" -v b="$bytes" \
		'BEGIN { printf "%.0f files/s, %.0f MB/s", n / (ms / 1000), b / 1e6 / (ms / 1000) }'
}
speed=$(ratio "$b" "$g")
ok=$(awk -v r="$speed" 'BEGIN { print (r > 1) ? "met" : "MISSED" }')
echo "this machine: $npkgs packages, $nfiles files, $bytes bytes; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sha256sum (baseline)         ${b} ms  $(rate "$b")"
echo "gate import --jobs $JOBS         ${g} ms  $(rate "$g")"
echo "gate import --jobs 1         ${one} ms  $(rate "$one")"
echo "gate is ${speed}x the baseline's speed (goal > 1x: $ok); --jobs $JOBS vs 1: $(ratio "$one" "$g")x"
