#!/usr/bin/env bash
# tuf.sh - performance benchmark of the TUF client (never a timed test; not
# run by CTest). One loopback repository (made with `gate tuf repo`,
# Sigstore-shaped: consistent snapshots, trusted_root.json among T targets),
# served by tests/tools/tuf_server.py on 127.0.0.1, which logs every
# request. Measured in the same run, whole processes, mean of N runs:
#
#  1. full first update: an empty metadata directory with the trusted
#     root.json, then `refresh` (root probe, timestamp, snapshot, targets);
#  2. no-change refresh: `refresh` again with nothing new on the server
#     (timestamp unchanged), and the requests it makes;
#
# for gate (`gate tuf`, the tuf-conformance client protocol) and for the
# reference client, python-tuf's ngclient through the suite's
# clients/python-tuf/python_tuf.py (same protocol). Goal: the no-change
# refresh makes one request and takes <= 1/10 of the reference client's
# time. Also `gate trust update` (no change) for the Sigstore cache path.
#
# Usage: bash tests/bench/tuf.sh
# Env: N (runs per case, default 20), T (targets, default 200),
#      TUF_CONFORMANCE_SRC (the suite, default /tmp/tuf-suite),
#      TUF_CONFORMANCE_DEPS (default ~/.cache/tuf-conformance/deps),
#      GATE_SHARED_DIR (default ../shared next to the source tree).
# Builds gate in Release into build-tuf2-bench if needed. Without the suite
# or its Python libraries the comparison is skipped with a message.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
src=$bench_src
build=$src/build-tuf2-bench
gate=$build/gate
shared=${GATE_SHARED_DIR:-$src/../shared}
suite=${TUF_CONFORMANCE_SRC:-/tmp/tuf-suite}
deps=${TUF_CONFORMANCE_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/tuf-conformance/deps}
compat=$shared/conformance/tuf/compat
py=/usr/bin/python3
N=${N:-20}
T=${T:-200}

# ---- build ----

bench_build "$build" gate

tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
export GATE_CACHE_DIR=$tmp/cache
unset GATE_TIME

# ---- the repository ----

mkdir -p "$tmp/keys" "$tmp/files"
for k in root ts sn tg; do
	"$gate" keygen --alg ed25519 --output-key-prefix "$tmp/keys/$k" >/dev/null 2>&1 || bench_die keygen
done
keys=(--key "root=$tmp/keys/root.key" --key "timestamp=$tmp/keys/ts.key"
	--key "snapshot=$tmp/keys/sn.key" --key "targets=$tmp/keys/tg.key")
"$gate" tuf repo init --repo "$tmp/repo" --consistent-snapshot "${keys[@]}" >/dev/null ||
	bench_die "repo init"
tr=$shared/tuf/sigstore-production/targets/trusted_root.json
[ -f "$tr" ] || tr=$src/verify/data/trusted_root.json
cp "$tr" "$tmp/files/trusted_root.json"
for i in $(seq 2 "$T"); do
	head -c $((1000 + i)) /dev/urandom >"$tmp/files/file-$i.bin"
done
"$gate" tuf repo add --repo "$tmp/repo" "${keys[@]}" --from "$tmp/files" >/dev/null || bench_die "repo add"
"$py" "$src/tests/tools/tuf_server.py" --root "$tmp/repo" --port-file "$tmp/port" \
	--log "$tmp/requests.log" &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || bench_die "server did not start"
base=http://127.0.0.1:$(cat "$tmp/port")
murl=$base/metadata/
root=$tmp/repo/metadata/1.root.json

# ---- clients ----

gate_init() { "$gate" tuf --metadata-dir "$1" init "$root" >/dev/null; }
gate_refresh() { "$gate" tuf --metadata-url "$murl" --metadata-dir "$1" refresh >/dev/null; }

have_ref=false
ref_client=$suite/clients/python-tuf/python_tuf.py
if [ ! -f "$ref_client" ]; then
	echo "note: no reference client at $ref_client: fetch theupdateframework/tuf-conformance" \
		"(see ../shared/conformance/tuf/README.md) to compare; skipping the comparison"
elif ! PYTHONPATH=$compat:$deps "$py" -c 'import tuf_conformance_compat, tuf.ngclient' 2>/dev/null; then
	echo "note: python-tuf not importable from $deps (run deps.sh); skipping the comparison"
else
	have_ref=true
fi
ref() {
	PYTHONPATH=$compat:$deps:$suite "$py" -c 'import sys, runpy, tuf_conformance_compat
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$ref_client" "$@" >/dev/null 2>&1
}
ref_init() { ref --metadata-dir "$1" init "$root"; }
ref_refresh() { ref --metadata-url "$murl" --metadata-dir "$1" refresh; }

now_ns() { date +%s%N; }

# time_case NAME SETUP RUN: mean ms of RUN over N fresh SETUPs (SETUP gets
# the directory, untimed); also the requests of the last RUN.
time_case() {
	local name=$1 setup=$2 runf=$3 i d t0 total=0
	for i in $(seq "$N"); do
		d=$tmp/md-$name-$i
		rm -rf "$d"
		mkdir -p "$d"
		$setup "$d" || bench_die "$name: setup failed"
		: >"$tmp/requests.log"
		t0=$(now_ns)
		$runf "$d" || bench_die "$name: run failed"
		total=$((total + $(now_ns) - t0))
		rm -rf "$d"
	done
	reqs=$(wc -l <"$tmp/requests.log" | tr -d ' ')
	ms=$(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.2f", t / n / 1e6 }')
}

full_setup_gate() { gate_init "$1"; }
full_setup_ref() { ref_init "$1"; }
same_setup_gate() { gate_init "$1" && gate_refresh "$1"; }
same_setup_ref() { ref_init "$1" && ref_refresh "$1"; }

time_case gfull full_setup_gate gate_refresh
g_full=$ms g_full_req=$reqs
time_case gsame same_setup_gate gate_refresh
g_same=$ms g_same_req=$reqs
log_same=$(cat "$tmp/requests.log")

# gate trust update with nothing new (the Sigstore cache path: also checks
# the cached trusted_root.json).
"$gate" trust update --url "$murl" --targets-url "$base/targets/" --root "$root" >/dev/null ||
	bench_die "trust update"
total=0
for i in $(seq "$N"); do
	: >"$tmp/requests.log"
	t0=$(now_ns)
	"$gate" trust update --url "$murl" --targets-url "$base/targets/" >/dev/null || bench_die "trust update"
	total=$((total + $(now_ns) - t0))
done
t_same=$(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.2f", t / n / 1e6 }')
t_same_req=$(wc -l <"$tmp/requests.log" | tr -d ' ')

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "repository: $T targets, consistent snapshots, Ed25519 keys; N=$N runs each"
echo "gate full first update:  $g_full ms, $g_full_req requests"
echo "gate no-change refresh:  $g_same ms, $g_same_req requests"
echo "  requests: $(echo "$log_same" | tr '\n' ';')"
echo "gate trust update (no change): $t_same ms, $t_same_req requests"
if $have_ref; then
	time_case rfull full_setup_ref ref_refresh
	r_full=$ms r_full_req=$reqs
	time_case rsame same_setup_ref ref_refresh
	r_same=$ms r_same_req=$reqs
	echo "python-tuf full first update: $r_full ms, $r_full_req requests"
	echo "python-tuf no-change refresh: $r_same ms, $r_same_req requests"
	ratio=$(awk -v g="$g_same" -v r="$r_same" 'BEGIN { printf "%.3f", g / r }')
	fratio=$(awk -v g="$g_full" -v r="$r_full" 'BEGIN { printf "%.3f", g / r }')
	met=$(awk -v x="$ratio" 'BEGIN { print (x <= 0.1 ? "met" : "MISSED") }')
	echo "no-change refresh: gate/python-tuf = $ratio (goal <= 0.1: $met)"
	echo "full first update: gate/python-tuf = $fratio"
	req_goal=$([ "$g_same_req" -le 1 ] && echo met || echo "MISSED: T2 requires the N+1 root probe")
	echo "no-change requests: gate $g_same_req, python-tuf $r_same_req (goal 1: $req_goal)"
fi
