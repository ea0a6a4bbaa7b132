# tuf_lib.sh - shared by test_trust.sh, test_tuf_faults.sh and
# test_tuf_policy.sh (sourced, not run by CTest): result counting, a
# loopback TUF server (tests/tools/tuf_server.py) per test, repositories
# made with `gate tuf repo`, and cleanup.
#
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_SHARED_DIR, GATE_BUILD_DIR.
# Every file lives under one mktemp -d; the EXIT trap stops every server
# this test started (by pid) and removes it. Nothing outside $tmp is
# written: GATE_CACHE_DIR points into it.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
shared=${GATE_SHARED_DIR:-$src/../shared}
gate=${GATE:-${GATE_BUILD_DIR:-$src/build}/gate}
py=/usr/bin/python3
server_py=$src/tests/tools/tuf_server.py

if [ ! -x "$gate" ]; then
	echo "gate binary not found at $gate (set GATE)" >&2
	exit 1
fi
if [ ! -x "$py" ]; then
	echo "SKIP: no $py (the loopback server needs Python 3)"
	exit 0
fi
gate=$(cd "$(dirname "$gate")" && pwd)/$(basename "$gate")

tmp=$(mktemp -d)
server_pids=()
cleanup() {
	local p
	for p in "${server_pids[@]+"${server_pids[@]}"}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# python-tuf from tuf-conformance's deps.sh, for optional interop checks
# (not a Debian 12 package: absent on CI, those checks then skip).
tuf_deps=${TUF_CONFORMANCE_DEPS:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/tuf-conformance/deps}
tuf_compat=$shared/conformance/tuf/compat
have_python_tuf() {
	[ -d "$tuf_deps/tuf" ] &&
		PYTHONPATH=$tuf_compat:$tuf_deps "$py" -c 'import tuf_conformance_compat, tuf.ngclient' 2>/dev/null
}
# pytuf CODE ARGS...: run Python code with python-tuf importable.
pytuf() {
	local code=$1
	shift
	PYTHONPATH=$tuf_compat:$tuf_deps "$py" -c "import tuf_conformance_compat
$code" "$@"
}

export GATE_CACHE_DIR=$tmp/cache
unset GATE_TIME GATE_POLICY XDG_CACHE_HOME
# Transfers in tests: small limits, so slow-retrieval cases stay short.
export GATE_TUF_CONNECT_TIMEOUT=5 GATE_TUF_LOW_SPEED_TIME=2 GATE_TUF_TIMEOUT=10

passed=0
failed=0
code=0
started=$(date +%s)

pass() {
	passed=$((passed + 1))
	echo "ok - $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL - $1 (last exit $code)"
	sed 's/^/    out: /' "$tmp/out" 2>/dev/null | head -20
	sed 's/^/    err: /' "$tmp/err" 2>/dev/null | head -20
}

assert() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# run COMMAND...: stdout in $tmp/out, stderr in $tmp/err, status in $code.
run() {
	"$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	code=$?
}

# fixture COMMAND...: a step that makes what later checks need: its output
# is kept in $tmp/fixture.log, and when it fails the test stops there with a
# FAIL line, the tool's own output and the tally.
fixture() {
	"$@" </dev/null >"$tmp/fixture.log" 2>&1 && return 0
	local rc=$?
	failed=$((failed + 1))
	echo "FAIL - fixture step (exit $rc): $*"
	tail -n 40 "$tmp/fixture.log" | sed 's/^/    /'
	finish
}

is() { [ "$1" = "$2" ]; }
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }
same() { cmp -s "$1" "$2"; }
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# A digest of every file under a directory (names and bytes): the trusted
# state, to show that a failed update left it exactly as it was.
state_of() {
	(cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum) 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# j EXPR [FILE]: a Python expression over the JSON document d.
j() {
	"$py" -c 'import json, sys
d = json.load(open(sys.argv[2]))
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict, bool)) or r is None else r)' "$1" "${2:-$tmp/out}" 2>&1
}

# start_server NAME DIR: serve DIR on 127.0.0.1; sets url_NAME (base URL,
# trailing slash), and the files $tmp/NAME.log (requests) and
# $tmp/NAME.faults (read on every request).
start_server() {
	local name=$1 dir=$2 i
	rm -f "$tmp/$name.port"
	: >"$tmp/$name.log"
	"$py" "$server_py" --root "$dir" --port-file "$tmp/$name.port" --log "$tmp/$name.log" \
		--faults "$tmp/$name.faults" 2>"$tmp/$name.server.err" &
	server_pids+=($!)
	for i in $(seq 100); do
		[ -s "$tmp/$name.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$tmp/$name.port" ]; then
		echo "cannot start the loopback server" >&2
		cat "$tmp/$name.server.err" >&2
		exit 1
	fi
	printf -v "url_$name" 'http://127.0.0.1:%s/' "$(cat "$tmp/$name.port")"
}

# fault NAME JSON: the server NAME's faults from now on ({} = none).
fault() { printf '%s\n' "$2" >"$tmp/$1.faults"; }

# requests NAME: the request log so far, one "GET /path STATUS" a line.
requests() { cat "$tmp/$1.log"; }
nrequests() { wc -l <"$tmp/$1.log" | tr -d ' '; }
clear_log() { : >"$tmp/$1.log"; }

# keys: $tmp/keys/{root1,root2,ts,sn,tg}.key (root2 and sn ECDSA P-256,
# the others Ed25519; made with gate keygen), plus spare keys on demand.
mkkey() { # mkkey NAME ALG
	[ -e "$tmp/keys/$1.key" ] ||
		fixture "$gate" keygen --alg "$2" --output-key-prefix "$tmp/keys/$1"
}
make_keys() {
	mkdir -p "$tmp/keys"
	mkkey root1 ed25519
	mkkey root2 ecdsa-p256
	mkkey ts ed25519
	mkkey sn ecdsa-p256
	mkkey tg ed25519
}
sign_keys=()
set_sign_keys() {
	sign_keys=(--key "timestamp=$tmp/keys/ts.key" --key "snapshot=$tmp/keys/sn.key"
		--key "targets=$tmp/keys/tg.key")
}

# make_repo DIR [--consistent-snapshot]: a repository, root threshold 2 of
# two keys, one key for each other role.
make_repo() {
	local dir=$1
	shift
	make_keys
	set_sign_keys
	"$gate" tuf repo init --repo "$dir" --key "root=$tmp/keys/root1.key" \
		--key "root=$tmp/keys/root2.key" --threshold root=2 "${sign_keys[@]}" "$@" \
		>"$tmp/out" 2>"$tmp/err"
}

finish() {
	local took=$(($(date +%s) - started))
	echo "($took s)"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
