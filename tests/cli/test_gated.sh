#!/usr/bin/env bash
# test_gated.sh - gated against the real kernel interface (fanotify
# FAN_OPEN_EXEC_PERM / FAN_OPEN_PERM), in a private mount and pid namespace
# on a tmpfs this test mounts, so the host is never marked and everything
# (daemons included) dies with the namespace. Shows that
#   - an allowed (signed) binary runs, and is then answered from the cache;
#   - the same binary modified after it was allowed is denied (appended
#     to, and overwritten in place at the same size);
#   - an unknown binary is denied in enforce mode and logged;
#     in audit mode it runs and is logged;
#   - a binary allowed through the install ledger (a .deb recorded with
#     `gate ledger record-deb` and unpacked with dpkg-deb) runs, and a
#     one-byte change of it is denied;
#   - a decision that hangs (an evidence store whose bundle is a FIFO that
#     never delivers) is answered with the default at the deadline, while
#     other execs keep being answered; its late answer is discarded;
#   - a full work queue answers the default at once;
#   - the kernel's side when gated dies (kill -9): the pending exec is
#     allowed and later execs are not checked (docs/EXEC.md);
#   - execs keep being answered while the audit sink is blocked (a FIFO
#     nobody reads), and the dropped log records are counted;
#   - SIGHUP with a broken policy keeps the old one and says why; a good
#     one switches atomically (enforce -> audit);
#   - --interpreter: scripts opened by the configured interpreter are
#     decided (FAN_OPEN_PERM), other openers pass, and the daemon's own
#     opens on the marked filesystem are never asked about;
#   - the environment (OPENSSL_CONF, MAGIC) changes nothing;
#   - 10,000 execs: RSS and descriptor counts stay flat;
#   - `gate status` shows mode, counts and cache figures.
# Every step has a hard timeout; deadlines are asserted by the order of
# events or against the configured deadline with a wide margin, never by
# how long the test took (it must pass with every CPU busy). The daemons are
# killed and the namespace left on exit, failure or not. Skips (exit 0) unless root with unshare and
# fanotify permission events available.
# Env: GATE (the gate binary), GATE_BUILD_DIR (gated is $GATE_BUILD_DIR/gated).
set -u
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gated_lib.sh"

# ---- fixtures ----
mkdir -p "$mnt/scripts" "$tmp/store/sha256"
for b in allowed appended overwritten fresh fresh2 loop unknown unknown2 unknown3 slow slow2; do
    mkbin "$b"
done
for b in allowed appended overwritten fresh fresh2 loop; do sign "$mnt/bin/$b"; done
printf '#!/bin/sh\necho signed-script-ran\n' >"$mnt/scripts/signed.sh"
printf '#!/bin/sh\necho unsigned-script-ran\n' >"$mnt/scripts/unsigned.sh"
sign "$mnt/scripts/signed.sh"
for b in slow slow2; do # their bundles come from a store that never delivers
    mkfifo "$tmp/store/sha256/$(sha256sum "$mnt/bin/$b" | cut -d' ' -f1).sigstore.json"
done

policy enforce >"$tmp/enforce.yaml"
policy audit >"$tmp/audit.yaml"
policy enforce "evidence:
  dirs: [\"file://$tmp/store\"]" >"$tmp/slow.yaml"

age_fixtures

# ---- 1. enforce: allowed, modified, unknown ----
echo "== enforce mode"
if start_gated enforce --policy "$tmp/enforce.yaml" --mount "$mnt" --audit "$tmp/enforce.audit"; then
    check "allowed binary runs" runs "$mnt/bin/allowed"
    check "allowed binary runs again" runs "$mnt/bin/allowed"
    check "second run was a cache hit" stat_ge cache.hits 1
    check "gate status: running, mode enforce" bash -c \
        "'$GATE' status --status '$sfile' | grep -q 'gated is running.*mode enforce'"
    check "gate status --format json" bash -c \
        "'$GATE' status --status '$sfile' --format json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o[\"stale\"] is False and o[\"cache\"][\"hits\"] >= 1'"
    check "appended-to binary runs before the change" runs "$mnt/bin/appended"
    check "overwritten binary runs before the change" runs "$mnt/bin/overwritten"
    printf 'X' >>"$mnt/bin/appended"
    printf 'Y' | dd of="$mnt/bin/overwritten" bs=1 seek=100 conv=notrunc status=none
    check "binary appended to after it was allowed is denied" denied "$mnt/bin/appended"
    check "binary overwritten in place (same size) is denied" denied "$mnt/bin/overwritten"
    check "unknown binary is denied in enforce mode" denied "$mnt/bin/unknown"
    check "unknown binary is denied again (cached)" denied "$mnt/bin/unknown"
    check "the deny was logged" audit_has "$tmp/enforce.audit" "$mnt/bin/unknown" false
    check "the full-decision allow was logged" audit_has "$tmp/enforce.audit" "$mnt/bin/allowed" true
    check "... its signers labelled with their kind (key)" eventually signer_kinds_are \
        "$tmp/enforce.audit" "$mnt/bin/allowed" key
    check "nothing hit a deadline" stat_eq counts.deadline 0
    stop_gated
    check "gate status: not running after stop" bash -c \
        "'$GATE' status --status '$sfile'; [ \$? -eq 1 ]"
    check "gate status: no status file is 'not running'" bash -c \
        "'$GATE' status --status '$tmp/none.status'; [ \$? -eq 1 ]"
    printf '{"version":1,"version":2}' >"$tmp/dup.status"
    check "gate status: a malformed status file is an error" bash -c \
        "'$GATE' status --status '$tmp/dup.status'; [ \$? -eq 2 ]"
    printf '{"version":1,"running":"yes"}' >"$tmp/type.status"
    check "gate status: a field of the wrong type is an error" bash -c \
        "'$GATE' status --status '$tmp/type.status'; [ \$? -eq 2 ]"
fi

# ---- 2. audit mode ----
echo "== audit mode"
if start_gated audit --policy "$tmp/audit.yaml" --mount "$mnt" --audit "$tmp/audit.audit"; then
    check "unknown binary runs in audit mode" runs "$mnt/bin/unknown"
    check "and is logged as a deny that was allowed" eventually bash -c \
        "python3 - <<'EOF'
import json
for l in open('$tmp/audit.audit'):
    e = json.loads(l)
    if e.get('path') == '$mnt/bin/unknown' and e['allowed'] is True and e['verdict'] == 'deny' and e['mode'] == 'audit':
        raise SystemExit(0)
raise SystemExit(1)
EOF"
    check "status says mode audit" stat_eq mode audit
    stop_gated
fi

# ---- 3. the install ledger ----
echo "== install ledger"
if command -v dpkg-deb >/dev/null; then
    pkg=$tmp/pkg
    mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin"
    printf 'Package: gate-gated-test\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.com>\nDescription: test\n' >"$pkg/DEBIAN/control"
    cp /bin/true "$pkg/usr/bin/fromdeb" && printf 'from a package\n' >>"$pkg/usr/bin/fromdeb"
    dpkg-deb --build --root-owner-group "$pkg" "$tmp/test.deb" >/dev/null 2>&1
    check "record the .deb in the ledger" "$GATE" ledger --db "$tmp/ledger.db" record-deb "$tmp/test.deb"
    dpkg-deb -x "$tmp/test.deb" "$mnt/root" # "installed": unsigned, only the ledger vouches
    cp "$mnt/root/usr/bin/fromdeb" "$mnt/bin/fromdeb-changed" && printf 'Z' >>"$mnt/bin/fromdeb-changed"
    if start_gated ledger --policy "$tmp/enforce.yaml" --ledger "$tmp/ledger.db" --mount "$mnt" \
        --audit "$tmp/ledger.audit"; then
        check "binary from the recorded package runs (ledger)" runs "$mnt/root/usr/bin/fromdeb"
        check "status counts a ledger answer" stat_ge counts.ledger 1
        check "the same file changed by one byte is denied" denied "$mnt/bin/fromdeb-changed"
        check "a signed binary still runs through the policy" runs "$mnt/bin/fresh"
        stop_gated
    fi
else
    echo "skip ledger case: dpkg-deb is missing"
fi

# ---- 4. a decision that hangs: the deadline answers ----
echo "== deadline"
if start_gated deadline --policy "$tmp/slow.yaml" --mount "$mnt" --deadline-ms 10000 --workers 2 \
    --audit "$tmp/deadline.audit"; then
    t0=$(date +%s%N)
    (denied "$mnt/bin/slow" >"$tmp/slow.result" 2>&1; echo $? >>"$tmp/slow.result"; elapsed_ms "$t0" >"$tmp/slow.ms") &
    bgp=$!
    check "the hanging decision is pending" wait_stat in_flight 1
    check "another exec is answered while one decision hangs" runs "$mnt/bin/fresh2"
    check "... before the hanging one is answered" test ! -s "$tmp/slow.result"
    check "the hanging decision is still pending" stat_eq in_flight 1
    wait "$bgp" 2>/dev/null
    check "the hanging exec is denied (the default) at the deadline" grep -qx 0 "$tmp/slow.result"
    check "... not before the 10 s deadline" bash -c "[ \$(cat '$tmp/slow.ms') -ge 9900 ]"
    check "status counts one deadline default" stat_eq counts.deadline 1
    check "the default was logged" bash -c "grep -q '\"source\":\"deadline\"' '$tmp/deadline.audit'"
    # Let the store deliver (EOF): the worker finishes, its answer is late.
    fifo=$tmp/store/sha256/$(sha256sum "$mnt/bin/slow" | cut -d' ' -f1).sigstore.json
    timeout 5 bash -c "exec 8>'$fifo'" 2>/dev/null
    check "the late decision is counted and discarded" wait_stat counts.late 1
    check "... and logged as late" eventually bash -c "grep '\"late\":true' '$tmp/deadline.audit' | grep -q '/bin/slow'"
    check "no answer was refused by the kernel (exactly one per event)" stat_eq counts.write_errors 0
    check "the daemon still answers" runs "$mnt/bin/allowed"
    stop_gated
fi

# ---- 5. a full queue answers the default at once ----
echo "== full queue"
rm -rf "${tmp:?}/cache/"* # the empty bundle the store delivered above is cached
if start_gated queue --policy "$tmp/slow.yaml" --mount "$mnt" --deadline-ms 600000 --workers 1 --queue 1 \
    --audit "$tmp/queue.audit"; then
    (timeout 90 "$mnt/bin/slow" >/dev/null 2>&1) & # the only worker hangs on it
    wait_stat in_flight 1
    (timeout 90 "$mnt/bin/slow2" >/dev/null 2>&1) & # waits in the queue
    check "one event waits in the queue" wait_stat queue.depth 1
    check "an exec finding the queue full is denied" denied "$mnt/bin/unknown2"
    check "... before the deadline: both earlier events are still pending" stat_eq in_flight 2
    check "status counts a full queue" stat_ge counts.queue_full 1
    check "status counts no deadline default yet" stat_eq counts.deadline 0
    stop_gated # with a worker stuck for good: must still exit on SIGTERM (status 0)
    wait 2>/dev/null
fi

# ---- 5b. what the kernel does when gated dies (docs/EXEC.md) ----
echo "== when the daemon dies"
rm -rf "${tmp:?}/cache/"*
if start_gated dies --policy "$tmp/slow.yaml" --mount "$mnt" --deadline-ms 600000 \
    --audit "$tmp/dies.audit"; then
    (timeout 20 "$mnt/bin/slow"; echo $? >"$tmp/dies.rc") & # never answered by gated
    bgp=$!
    sleep 1
    check "the exec is still waiting for gated" test ! -s "$tmp/dies.rc"
    kill -KILL "$dpid"
    wait "$dpid" 2>/dev/null
    dpid=
    wait "$bgp"
    check "gated killed: the kernel allows the pending exec" grep -qx 0 "$tmp/dies.rc"
    check "gated killed: later execs are not checked at all" runs "$mnt/bin/unknown2"
fi

# ---- 6. a blocked log sink blocks nothing ----
echo "== blocked audit sink"
mkfifo "$tmp/sink"
exec 7<>"$tmp/sink" # a "reader" that never reads: writes fill the pipe, then block
if start_gated sink --policy "$tmp/enforce.yaml" --mount "$mnt" --audit "$tmp/sink" --log-queue 64; then
    t0=$(date +%s%N)
    check "2,000 denied execs are all answered while the sink is blocked" timeout 240 bash -c \
        "n=0; for i in \$(seq 2000); do '$mnt/bin/unknown3' 2>/dev/null; [ \$? -eq 126 ] && n=\$((n+1)); done; [ \$n -eq 2000 ]"
    echo "   (2,000 denied execs with the sink blocked: $(elapsed_ms "$t0") ms)"
    check "log records beyond the queue were dropped and counted" stat_ge log.dropped 1
    check "an allowed binary still runs" runs "$mnt/bin/allowed"
    check "gate status still answers" timeout 10 "$GATE" status --status "$sfile"
    stop_gated
fi
exec 7>&-

# ---- 7. SIGHUP reload ----
echo "== reload"
cp "$tmp/enforce.yaml" "$tmp/live.yaml"
if start_gated reload --policy "$tmp/live.yaml" --mount "$mnt" --audit "$tmp/reload.audit"; then
    check "before: unknown is denied" denied "$mnt/bin/unknown"
    printf 'version: 1\nmode: audit\nrules:\n  - name: broken\n    decision: maybe\n' >"$tmp/live.yaml"
    kill -HUP "$dpid"
    check "a broken policy is refused" stat_eq reloads.failed 1
    check "... and the reason names file:line" bash -c \
        "python3 -c 'import json;print(json.load(open(\"$sfile\"))[\"reloads\"][\"last_error\"])' | grep -q 'live.yaml:5:'"
    check "the old policy stays in force: mode enforce" stat_eq mode enforce
    check "the old policy stays in force: unknown still denied" denied "$mnt/bin/unknown"
    check "the old policy stays in force: allowed still runs" runs "$mnt/bin/allowed"
    check "the reason was logged" eventually grep -q 'not reloaded' "$tmp/reload.err"
    cp "$tmp/audit.yaml" "$tmp/live.yaml"
    kill -HUP "$dpid"
    check "a good policy is taken" stat_eq reloads.ok 1
    check "the new mode is in force" stat_eq mode audit
    check "the cache was dropped: unknown now runs" runs "$mnt/bin/unknown"
    stop_gated
fi

# ---- 8. interpreters (FAN_OPEN_PERM) and our own opens ----
echo "== interpreters"
sh_path=$(readlink -f /bin/sh)
if start_gated interp --policy "$tmp/enforce.yaml" --mount "$mnt" --interpreter /bin/sh \
    --audit "$tmp/interp.audit"; then
    check "a signed script run by $sh_path runs" bash -c "timeout 10 /bin/sh '$mnt/scripts/signed.sh' | grep -q signed-script-ran"
    check "an unsigned script run by $sh_path is refused" not timeout 10 /bin/sh "$mnt/scripts/unsigned.sh"
    check "another program (bash) may still read it" bash -c "timeout 10 bash '$mnt/scripts/unsigned.sh' | grep -q unsigned-script-ran"
    check "opens by non-interpreters were passed at once" stat_ge counts.passthrough 1
    stop_gated
fi
# The status file on the marked filesystem: the daemon's own opens.
if SFILE=$mnt/self.status start_gated self --policy "$tmp/enforce.yaml" --mount "$mnt" \
    --interpreter /bin/sh --audit "$tmp/self.audit"; then
    check "the daemon's own opens on the marked filesystem are answered at once" stat_ge counts.self 1
    check "and execs are still answered" runs "$mnt/bin/allowed"
    stop_gated
fi

# ---- 8b. the environment is not read ----
# gated keeps only systemd's two variables: a configuration under which
# OpenSSL computes no digest and another file-type database change nothing.
echo "== environment"
printf 'openssl_conf = init\n[init]\nalg_section = evp\n[evp]\ndefault_properties = "fips=yes"\n' \
    >"$tmp/openssl.cnf"
if OPENSSL_CONF=$tmp/openssl.cnf MAGIC=$tmp/openssl.cnf \
    start_gated env --policy "$tmp/enforce.yaml" --mount "$mnt" --audit "$tmp/env.audit"; then
    check "OPENSSL_CONF is not read: a signed binary still runs" runs "$mnt/bin/fresh"
    check "unknown binary is still denied" denied "$mnt/bin/unknown3"
    stop_gated
fi

# ---- 9. 10,000 execs: no leak ----
echo "== 10,000 execs"
# ASan's quarantine keeps every freed block resident (about 500 bytes per
# exec here), so under ASan this daemon runs without it: RSS then measures
# what is live, and LSan at exit still reports what leaked.
if ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=0 \
    start_gated loop --policy "$tmp/enforce.yaml" --mount "$mnt" --audit "$tmp/loop.audit"; then
    mem() { awk '/^VmRSS/ {print $2}' "/proc/$dpid/status"; }
    fds() { ls "/proc/$dpid/fd" | wc -l; }
    timeout 300 bash -c "for i in \$(seq 500); do '$mnt/bin/loop'; done"
    sleep 1.2
    rss0=$(mem)
    fd0=$(fds)
    t0=$(date +%s%N)
    check "10,000 execs of an allowed binary all run" timeout 600 bash -c \
        "for i in \$(seq 10000); do '$mnt/bin/loop' || exit 1; done"
    ms=$(elapsed_ms "$t0")
    sleep 1.2
    rss1=$(mem)
    fd1=$(fds)
    echo "   (10,000 execs in $ms ms; RSS ${rss0} -> ${rss1} kB; fds ${fd0} -> ${fd1})"
    # ASan's allocator still fills its size classes for a while.
    limit=1024
    grep -q __asan_report "$GATED" && limit=4096
    check "RSS stays flat (grew $((rss1 - rss0)) kB, limit $limit)" bash -c "[ $((rss1 - rss0)) -lt $limit ]"
    check "descriptor count stays flat" bash -c "[ $fd1 -eq $fd0 ]"
    check "they were cache hits" stat_ge cache.hits 10000
    check "nothing is left in flight" stat_eq in_flight 0
    stop_gated
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
