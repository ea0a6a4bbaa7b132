#!/usr/bin/env bash
# test_gated_race.sh - gated against attack classes 1, 7 and 8 of
# docs/EXEC.md, each a real attack on the real kernel interface, in the
# private namespace of gated_lib.sh:
#   1. write after the decision: an allowed binary is exec'd while another
#      thread opens it for writing, pwrites other bytes (/bin/false's, the
#      same size) and closes it, 0-5 ms after the exec started or while it
#      waits for gated's answer; 1,000 times through the signature path, the
#      ledger path and the cache path: bytes written inside the decision
#      never run (race_harness.py: ran_modified 0; writes after execve
#      returned are counted apart, see there);
#      a file held open for writing is denied at exec and logged;
#   7. bounded work: a 16 GiB sparse binary is denied at once (--max-size),
#      unhashed; while huge files hold the big-file workers past their
#      deadline (hashing cancelled there), a ledger-vouched, a cached and a
#      small unknown exec are still decided by their own workers;
#   8. the ledger followed by identity: replaced by rename with a ledger that
#      no longer lists a package, its binary is denied; deleted, denied;
#      restored, allowed again; SIGHUP reopens it.
# No assertion on how long anything took; waits are `eventually`.
# Env: GATE (the gate binary), GATE_BUILD_DIR (gated is $GATE_BUILD_DIR/gated),
#      RACE_N (iterations per path, default 1000).
set -u
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gated_lib.sh"
harness=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/race_harness.py
RACE_N=${RACE_N:-1000}
command -v dpkg-deb >/dev/null || skip "dpkg-deb is missing (ledger fixtures)"

audit_src() { # FILE PATH ALLOWED SOURCE [REASON-SUBSTRING]
    python3 - "$@" <<'PY'
import json, sys
f, path, allowed, src = sys.argv[1], sys.argv[2], sys.argv[3] == "true", sys.argv[4]
why = sys.argv[5] if len(sys.argv) > 5 else ""
for line in open(f):
    e = json.loads(line)
    if (e.get("event") == "decision" and e.get("path") == path and e.get("allowed") == allowed
            and e.get("source") == src and why in e.get("reason", "")):
        sys.exit(0)
sys.exit(1)
PY
}
audit_src_not() { ! audit_src "$@"; }
race() { # LABEL FILE...: runs the harness, checks 0 modified runs
    local label=$1 out
    shift
    out=$(timeout 300 python3 "$harness" "$RACE_N" "$tmp/good" "$tmp/evil" "$@") || {
        echo "harness failed: $out"
        return 1
    }
    echo "$label: $out" >>"$tmp/race.counts"
    python3 -c 'import json,sys; c=json.loads(sys.argv[1]); sys.exit(0 if c["ran_modified"]==0 and c["ran_good"]>0 and c["iterations"]>=int(sys.argv[2]) and c["wrote"]>0 else 1)' "$out" "$RACE_N"
}

# ---- fixtures ----
# good: /bin/true; evil: /bin/false, the same size (a tail pads the
# shorter), so a pwrite at 0 replaces every byte.
python3 - "$tmp/good" "$tmp/evil" <<'PY'
import sys
t, f = open("/bin/true", "rb").read(), open("/bin/false", "rb").read()
n = max(len(t), len(f)) + 64
pad = lambda b, tag: b + tag + b"\0" * (n - len(b) - len(tag))
open(sys.argv[1], "wb").write(pad(t, b"gate-race good"))
open(sys.argv[2], "wb").write(pad(f, b"gate-race evil"))
PY
chmod 755 "$tmp/good" "$tmp/evil"
mkdir -p "$mnt/sig" "$mnt/led" "$mnt/cache" "$mnt/big"
cp "$tmp/good" "$mnt/sig/target" && sign "$mnt/sig/target"
# The cache path: every file (package A's bytes, vouched for by the ledger)
# is run once first, so cached; a file the writer changed would only be
# decided again, so it is set aside.
ncache=$((RACE_N + RACE_N / 4))
for i in $(seq 1 "$ncache"); do cp "$tmp/good" "$mnt/cache/t$i"; done
# Two packages: A ships the good bytes (the ledger path), B something else.
mkdeb() { # NAME FILE-CONTENT-SOURCE TAIL
    local p=$tmp/pkg-$1
    mkdir -p "$p/DEBIAN" "$p/usr/bin"
    printf 'Package: gate-race-%s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: t\n' "$1" >"$p/DEBIAN/control"
    cp "$2" "$p/usr/bin/$1" && printf '%s' "$3" >>"$p/usr/bin/$1"
    dpkg-deb --build --root-owner-group "$p" "$tmp/$1.deb" >/dev/null 2>&1
}
mkdeb pkga "$tmp/good" "" # the same bytes: not started with the signature daemon
mkdeb pkgb /bin/true "package b"
fixture "$GATE" ledger --db "$tmp/ledger-a.db" record-deb "$tmp/pkga.deb"
fixture "$GATE" ledger --db "$tmp/ledger-b.db" record-deb "$tmp/pkgb.deb"
cp "$tmp/ledger-a.db" "$tmp/ledger.db"
cp "$tmp/good" "$mnt/led/target" # unsigned: only the ledger vouches for its digest
mkbin unknown && mkbin unknown2 && mkbin cached && sign "$mnt/bin/cached"
cp "$tmp/good" "$mnt/led/fromdeb" # the ledger test's binary (package A's digest)
for b in huge1 huge2 huge3 huge4; do
    cp /bin/true "$mnt/big/$b" && printf '%s' "$b" >>"$mnt/big/$b"
done
truncate -s 16G "$mnt/big/huge1"
for b in huge2 huge3 huge4; do truncate -s 48G "$mnt/big/$b"; done
policy enforce >"$tmp/enforce.yaml"
age_fixtures

# ---- 1. write after the decision ----
echo "== 1. write after the decision ($RACE_N tries per path)"
if start_gated race-sig --policy "$tmp/enforce.yaml" --mount "$mnt" --audit "$tmp/race.audit"; then
    check "signed binary runs before the race" runs "$mnt/sig/target"
    check "signature path: the written bytes never run" race signature "$mnt/sig/target"
    check "... through full decisions" stat_ge counts.decisions $((RACE_N / 10))
    stop_gated
fi
if start_gated race-led --policy "$tmp/enforce.yaml" --ledger "$tmp/ledger.db" --mount "$mnt" \
    --audit "$tmp/race.audit"; then
    check "ledger binary runs before the race" runs "$mnt/led/target"
    check "ledger allow logged with source ledger and its digest" eventually python3 -c '
import json, sys
d = __import__("hashlib").sha256(open(sys.argv[2], "rb").read()).hexdigest()
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("source") == "ledger" and e.get("path") == sys.argv[2] and e.get("allowed") and e.get("sha256") == d:
        sys.exit(0)
sys.exit(1)' "$tmp/race.audit" "$mnt/led/target"
    check "ledger path: the written bytes never run" race ledger "$mnt/led/target"
    check "... through the ledger" stat_ge counts.ledger $((RACE_N / 10))
    cache=$(seq -f "$mnt/cache/t%g" 1 "$ncache")
    # shellcheck disable=SC2086
    timeout 120 python3 -c 'import os, sys
for p in sys.argv[1:]:
    os.waitpid(os.posix_spawn(p, [p], {}), 0)' $cache # cached now
    hits0=$(st cache.hits)
    # shellcheck disable=SC2086
    check "cache path: the written bytes never run" race cache $cache
    check "... and the cache answered execs during it" stat_ge cache.hits $((hits0 + RACE_N / 2))
    # A file held open for writing is denied at exec, and logged.
    exec 7<>"$mnt/sig/target"
    check "exec of a file open for writing is denied" denied "$mnt/sig/target"
    exec 7>&-
    check "... logged with its reason" eventually audit_src "$tmp/race.audit" "$mnt/sig/target" \
        false lease "open for writing"
    check "... and counted" stat_ge lease.write_busy 1
    sed 's/^/  /' "$tmp/race.counts" 2>/dev/null
    check "gated survived the lease breaks (SIGIO)" kill -0 "$dpid"
    check "signed binary still runs after the race" runs "$mnt/sig/target"
    stop_gated
fi

# ---- 7. bounded work ----
echo "== 7. bounded work"
if start_gated bounded --policy "$tmp/enforce.yaml" --ledger "$tmp/ledger.db" --mount "$mnt" \
    --audit "$tmp/bounded.audit" --workers 2 --deadline-ms 4000 --max-size 68719476736; then
    check "cached binary runs (cached for later)" runs "$mnt/bin/cached"
    check "... twice" runs "$mnt/bin/cached"
    pids_big=()
    for b in huge2 huge3 huge4; do
        timeout 120 "$mnt/big/$b" >/dev/null 2>&1 &
        pids_big+=($!)
    done
    check "the huge files are being hashed" stat_ge in_flight 3
    check "ledger-vouched exec runs meanwhile" runs "$mnt/led/target"
    check "cached exec runs meanwhile" runs "$mnt/bin/cached"
    check "small unknown exec is denied meanwhile" denied "$mnt/bin/unknown"
    check "... by a policy decision, not the deadline" eventually audit_src "$tmp/bounded.audit" \
        "$mnt/bin/unknown" false policy
    check "... while a huge one was still waiting" kill -0 "${pids_big[2]}"
    for p in "${pids_big[@]}"; do wait "$p"; done
    check "the huge files got the default (deny) at the deadline" stat_ge counts.deadline 3
    check "... their hashing was cancelled" stat_ge lease.cancelled 1
    check "... and logged" audit_src "$tmp/bounded.audit" "$mnt/big/huge2" false deadline
    stop_gated
fi
if start_gated maxsize --policy "$tmp/enforce.yaml" --mount "$mnt" --audit "$tmp/maxsize.audit"; then
    check "a 16 GiB sparse binary is denied (default --max-size 1 GiB)" denied "$mnt/big/huge1"
    check "... at once, unhashed: no deadline" stat_eq counts.deadline 0
    check "... logged with its reason" eventually audit_src "$tmp/maxsize.audit" "$mnt/big/huge1" \
        false lease "max-size"
    check "... and counted" stat_ge lease.too_large 1
    stop_gated
fi

# ---- 8. the ledger followed by identity ----
echo "== 8. the ledger followed"
if start_gated follow --policy "$tmp/enforce.yaml" --ledger "$tmp/ledger.db" --mount "$mnt" \
    --audit "$tmp/follow.audit"; then
    b=$mnt/led/fromdeb
    check "package A's binary runs (ledger A)" runs "$b"
    check "... again (cached)" runs "$b"
    cp "$tmp/ledger-b.db" "$tmp/ledger.new" && mv "$tmp/ledger.new" "$tmp/ledger.db"
    check "ledger replaced by rename without A: denied" eventually denied "$b"
    check "... the deny logged" audit_has "$tmp/follow.audit" "$b" false
    rm -f "$tmp/ledger.db"
    check "ledger deleted: still denied" denied "$b"
    check "... gated says it is gone" eventually grep -q "is gone" "$tmp/follow.audit"
    cp "$tmp/ledger-a.db" "$tmp/ledger.new" && mv "$tmp/ledger.new" "$tmp/ledger.db"
    check "ledger restored: allowed again" eventually runs "$b"
    check "ledger generations counted" stat_ge lease.ledger_reopen 3
    # SIGHUP reopens it too (even replaced between two looks).
    before=$(st lease.ledger_reopen)
    kill -HUP "$dpid"
    check "SIGHUP reopens the ledger" stat_ge lease.ledger_reopen $((before + 1))
    check "... and A still runs" runs "$b"
    stop_gated
fi

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
