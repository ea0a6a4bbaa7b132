#!/usr/bin/env bash
# gated_lib.sh - what every gated test shares (sourced, after set -u):
# re-running the test inside a private mount and pid namespace (as root,
# with unshare; skips otherwise), a tmpfs at $mnt that the test marks and
# one at $tmp/run for status files, cleanup of every daemon and mount on
# exit, a test key ($tmp/keys/test.*) with mkbin/sign, the policy()
# generator, and the helpers to start, stop and query gated and to assert
# on its audit log.
# Env: GATE (the gate binary), GATE_BUILD_DIR (gated is $GATE_BUILD_DIR/gated),
# GATED_TEST_TIMEOUT (seconds for the whole test inside the namespace,
# default 840).

GATE=${GATE:?GATE must name the gate binary}
GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")
GATE_BUILD_DIR=${GATE_BUILD_DIR:-$(dirname "$GATE")}
GATED=$GATE_BUILD_DIR/gated

skip() {
    echo "SKIP: $*"
    exit 0
}

# ---- outside: check, then re-run inside a private namespace ----
if [ -z "${GATED_TEST_INNER:-}" ]; then
    [ "$(id -u)" -eq 0 ] || skip "not root: fanotify permission events need CAP_SYS_ADMIN"
    [ -x "$GATED" ] || { echo "FAIL: $GATED is not built"; exit 1; }
    command -v unshare >/dev/null || skip "unshare is missing"
    command -v python3 >/dev/null || skip "python3 is missing"
    ns=(unshare -m -p -f --mount-proc --propagation private)
    if ! "${ns[@]}" true 2>/dev/null; then
        ns=(unshare -m --propagation private) # no pid namespace: pdeathsig only
        "${ns[@]}" true 2>/dev/null || skip "cannot make a private mount namespace (unshare -m)"
    fi
    export GATE GATE_BUILD_DIR GATED_TEST_INNER=1
    exec timeout --kill-after=10 "${GATED_TEST_TIMEOUT:-840}" "${ns[@]}" bash "$0" "$@"
fi

# ---- inside the namespace ----
tmp=$(mktemp -d /tmp/gate-gated.XXXXXX) || exit 1
case $tmp in
/tmp/gate-gated.?*) ;;
*) echo "unexpected temporary directory '$tmp'" >&2; exit 1 ;;
esac
mnt=$tmp/mnt
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    exec 7>&- 2>/dev/null
    umount -l "$mnt" "$tmp/run" 2>/dev/null
    [ -n "${KEEP_TMP:-}" ] || rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$mnt" "$tmp/run" && mount -t tmpfs -o size=256m,mode=0755 gate-gated-test "$mnt" ||
    skip "cannot mount a tmpfs in the private namespace"
# Status files on a tmpfs of their own (not marked): a busy disk must not
# make them look stale.
mount -t tmpfs -o size=16m gate-gated-run "$tmp/run" || skip "cannot mount a second tmpfs"
probe=$("$GATED" --probe --mount "$mnt" 2>&1) || skip "fanotify is unavailable: $probe"

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh" # fixture; check is this test's own
passed=0
failed=0
log=$tmp/.log
check() {
    local name=$1
    shift
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        echo "  last output: $(tail -c 1500 "$log" 2>/dev/null)"
        [ -n "${cur:-}" ] && echo "  gated stderr: $(tail -c 1500 "$tmp/$cur.err" 2>/dev/null)"
    fi
}
eventually() { # CMD...: polled until it succeeds, for up to 30 s (a loaded machine)
    local end=$((SECONDS + 30))
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# ---- fixtures ----
export GATE_CACHE_DIR=$tmp/cache # gate's URL evidence cache: never /var/cache
mkdir -p "$mnt/bin" "$mnt/scripts" "$tmp/keys" "$tmp/store/sha256" "$tmp/cache"
fixture "$GATE" keygen --output-key-prefix "$tmp/keys/test"
mkbin() { # NAME: a copy of /bin/true with a unique tail (another digest)
    fixture cp /bin/true "$mnt/bin/$1" && printf 'gate-gated-test %s\n' "$1" >>"$mnt/bin/$1"
}
sign() { fixture "$GATE" sign --key "$tmp/keys/test.key" "$1"; }
policy() { # MODE [extra YAML lines]
    printf 'version: 1\nmode: %s\ntrust:\n  keys:\n    test: { file: %s }\n' "$1" "$tmp/keys/test.pub"
    printf 'signers:\n  testers:\n    - key: test\n'
    printf 'rules:\n  - name: signed programs\n    match: { path: ["%s/**"] }\n' "$mnt"
    printf '    require: { signers: testers, threshold: 1 }\n'
    printf '  - name: everything else\n    decision: deny\n'
    [ $# -gt 1 ] && printf '%s\n' "$2"
    return 0
}
# Answers are cached only for files unchanged for 2 s (vcache.h): wait
# until everything made before now is that old, so cache tests see hits.
age_fixtures() {
    local made=$(date +%s%N)
    while [ $((($(date +%s%N) - made) / 1000000)) -lt 2200 ]; do sleep 0.1; done
}

# ---- helpers ----
cur=
dpid=
sfile=
start_gated() { # NAME gated-args...: waits for the first status file ($SFILE or $tmp/NAME.status)
    cur=$1
    shift
    sfile=${SFILE:-$tmp/run/$cur.status}
    rm -f "$sfile"
    local pre=()
    command -v setpriv >/dev/null && pre=(setpriv --pdeathsig KILL)
    # gated reads no environment: its cache folder is a flag.
    "${pre[@]}" "$GATED" --status "$sfile" --cache-dir "$tmp/cache" "$@" >"$tmp/$cur.out" \
        2>"$tmp/$cur.err" &
    dpid=$!
    pids+=("$dpid")
    eventually started && [ -s "$sfile" ] && return 0
    echo "FAIL $cur: gated did not start: $(cat "$tmp/$cur.err")"
    failed=$((failed + 1))
    return 1
}
stop_gated() { # SIGTERM, then SIGKILL after 30 s; the exit status must be 0
    [ -n "$dpid" ] || return 0
    local rc
    kill -TERM "$dpid" 2>/dev/null
    eventually not kill -0 "$dpid" 2>/dev/null
    kill -KILL "$dpid" 2>/dev/null
    wait "$dpid" 2>/dev/null
    rc=$?
    dpid=
    # Under ASan/LSan a leak or a memory error at exit is a non-zero status.
    check "$cur: gated stopped cleanly on SIGTERM" test "$rc" -eq 0
}
started() { [ -s "$sfile" ] || ! kill -0 "$dpid" 2>/dev/null; }
st() { # dotted field of the running daemon's status, as of its next write
    python3 - "$sfile" "$1" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    o = o[k]
print(o if not isinstance(o, bool) else str(o).lower())
EOF
}
fresh_status() { # wait for the daemon to rewrite its status file
    local before
    before=$(stat -c %y "$sfile" 2>/dev/null)
    local end=$((SECONDS + 3))
    while [ "$SECONDS" -lt "$end" ]; do
        sleep 0.1
        [ "$(stat -c %y "$sfile" 2>/dev/null)" != "$before" ] && return 0
    done
    return 0
}
runs() { timeout 30 "$@"; }
denied() { # exits 126 with EPERM, quickly
    local out rc
    out=$(timeout 30 "$@" 2>&1)
    rc=$?
    [ "$rc" -eq 126 ] && case $out in *"Operation not permitted"*) return 0 ;; esac
    echo "rc=$rc out=$out"
    return 1
}
# The status file is rewritten every second: wait (up to 30 s, a loaded
# machine) for it to say so.
stat_ge() {
    eventually stat_ge_now "$1" "$2" && return 0
    echo "$1=$(st "$1"), want >= $2 (status: $(cat "$sfile"))"
    return 1
}
stat_ge_now() { local v; v=$(st "$1" 2>/dev/null) && [ "$v" -ge "$2" ]; }
stat_is_now() { [ "$(st "$1" 2>/dev/null)" = "$2" ]; }
stat_eq() { fresh_status; wait_stat "$1" "$2"; }
audit_has() { # FILE PATH ALLOWED
    python3 - "$@" <<'EOF'
import json, sys
f, path, allowed = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
for line in open(f):
    e = json.loads(line)
    if e.get("event") == "decision" and e.get("path") == path and e.get("allowed") == allowed:
        sys.exit(0)
sys.exit(1)
EOF
}
signer_kinds_are() { # FILE PATH KIND: every signer of PATH's allow is of KIND
    python3 - "$@" <<'EOF'
import json, sys
f, path, kind = sys.argv[1:4]
for line in open(f):
    e = json.loads(line)
    if e.get("event") == "decision" and e.get("path") == path and e.get("allowed"):
        kinds = {s.get("kind") for s in e.get("signers", [])}
        sys.exit(0 if kinds == {kind} else 1)
sys.exit(1)
EOF
}
wait_stat() { # FIELD VALUE: up to 30 s for the status to say so
    eventually stat_is_now "$1" "$2" && return 0
    echo "$1=$(st "$1"), want $2"
    return 1
}
elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

