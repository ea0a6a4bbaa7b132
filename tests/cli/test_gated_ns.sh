#!/usr/bin/env bash
# test_gated_ns.sh - gated against what lives outside its marks, as real
# attacks in a private mount and pid namespace (gated_lib.sh):
#   - a tmpfs mounted after gated started, under --follow-mounts: marked
#     when it appears, a binary there is denied and logged;
#   - a user-namespace bind mount over a directory a rule allows by path,
#     made by an unprivileged user (nobody): the exec's path does not
#     resolve back to the file in gated's namespace, so it is denied and
#     logged as "(unresolved) ..."; `gate policy lint` warns about the rule;
#   - posture, with the sysctls under a directory of the test's own
#     (--sysctl-root): memfd_noexec and unprivileged user namespaces
#     reported (status file, `gate status`, "posture" audit events),
#     refused (exit 3, each gap named) and fixed;
#   - a /dev/shm-style tmpfs without noexec and not marked: reported, and
#     with --posture fix remounted noexec (an exec there then fails);
#   - memfd exec for real: runs while vm.memfd_noexec is 0 (a gap), fails
#     once gated has set it to 2. vm.memfd_noexec belongs to the pid
#     namespace, so this is done only in the test's own pid namespace and
#     never touches the host's value.
# Nothing here writes a sysctl outside the test's pid namespace.
# Env: GATE (the gate binary), GATE_BUILD_DIR (gated is $GATE_BUILD_DIR/gated).
set -u
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gated_lib.sh"

own_pidns=false
[ "$$" -eq 1 ] && own_pidns=true
memfd_before=
restore_memfd() { # pid-namespace scoped; the kernel may refuse to lower it
    [ -n "$memfd_before" ] && echo "$memfd_before" >/proc/sys/vm/memfd_noexec 2>/dev/null
    return 0
}
trap 'restore_memfd; cleanup' EXIT

chmod 755 "$tmp" # the unprivileged attacker reaches $mnt
mkdir -p "$tmp/w" "$mnt/trusted" "$mnt/home/d"
mkbin signed && sign "$mnt/bin/signed"
mkbin later && mkbin evil && mkbin good
cp "$mnt/bin/good" "$mnt/trusted/good"
cp "$mnt/bin/evil" "$mnt/home/d/evil"
chmod 755 "$mnt/trusted" "$mnt/home" "$mnt/home/d" "$mnt/trusted/good" "$mnt/home/d/evil"
policy enforce >"$tmp/enforce.yaml"
cat >"$tmp/path.yaml" <<YAML
version: 1
mode: enforce
rules:
  - name: trusted by path
    match: { path: ["$mnt/trusted/**"] }
    decision: allow
  - name: everything else
    decision: deny
YAML

memfd_exec() { # a copy of /bin/true run from a memfd: no file, no mount
    timeout 30 python3 -c '
import os
fd = os.memfd_create("gated-test", 0)
os.write(fd, open("/bin/true", "rb").read())
os.fchmod(fd, 0o755)
os.execv("/proc/self/fd/%d" % fd, ["memfd"])'
}
has_event() { # FILE EVENT SUBSTRING: an audit event of that type mentioning it
    python3 - "$@" <<'PY'
import json, sys
f, ev, sub = sys.argv[1:4]
for line in open(f):
    e = json.loads(line)
    if e.get("event") == ev and sub in json.dumps(e):
        sys.exit(0)
sys.exit(1)
PY
}
unresolved_denied() { # FILE PATH: a deny decided on "(unresolved) PATH"
    python3 - "$@" <<'PY'
import json, sys
f, path = sys.argv[1:3]
for line in open(f):
    e = json.loads(line)
    if (e.get("event") == "decision" and e.get("path") == "(unresolved) " + path
            and e.get("allowed") is False and "resolve" in e.get("reason", "")):
        sys.exit(0)
sys.exit(1)
PY
}
gap_is() { # CHECK WHAT-SUBSTRING FIXED(true|false): in the status file now
    python3 - "$sfile" "$@" <<'PY'
import json, sys
f, check, what, fixed = sys.argv[1:5]
o = json.load(open(f))
for g in (o.get("posture") or {}).get("gaps", []):
    if g["check"] == check and what in g["what"] and g["fixed"] == (fixed == "true"):
        sys.exit(0)
print(json.dumps(o.get("posture"), indent=1)[:1500])
sys.exit(1)
PY
}
no_gap() { # CHECK WHAT-SUBSTRING: not an open gap
    ! gap_is "$1" "$2" false >/dev/null
}
fake_sysctls() { # DIR MEMFD USERNS: a sysctl tree of the test's own
    mkdir -p "$1/vm" "$1/user" "$1/kernel"
    echo "$2" >"$1/vm/memfd_noexec"
    echo "$3" >"$1/user/max_user_namespaces"
}

age_fixtures

# ---- class 4: a filesystem that appears after start ----
echo "== a tmpfs mounted after gated started (--follow-mounts)"
if start_gated follow --policy "$tmp/enforce.yaml" --mount "$mnt" --follow-mounts "$tmp/w" \
    --audit "$tmp/follow.audit"; then
    check "follow: the mount watcher runs" eventually stat_is_now posture.mounts.watch fanotify
    mkdir -p "$tmp/w/later"
    mount -t tmpfs -o size=16m,mode=0755 gate-later "$tmp/w/later"
    cp "$mnt/bin/later" "$tmp/w/later/later"
    check "follow: the new tmpfs is marked" stat_ge posture.mounts.marked 1
    check "follow: a binary on it is denied" denied "$tmp/w/later/later"
    check "follow: the deny is logged" eventually audit_has "$tmp/follow.audit" "$tmp/w/later/later" false
    check "follow: a signed binary on the marked mount still runs" runs "$mnt/bin/signed"
    mkdir -p "$tmp/w/later/deeper"
    mount -t tmpfs -o size=16m,mode=0755 gate-deeper "$tmp/w/later/deeper"
    cp "$mnt/bin/later" "$tmp/w/later/deeper/later"
    check "follow: a mount inside it is marked too" stat_ge posture.mounts.marked 2
    check "follow: a binary there is denied" denied "$tmp/w/later/deeper/later"
    umount "$tmp/w/later/deeper" "$tmp/w/later"
    stop_gated
fi

# ---- class 5: a path rule spoofed from a user namespace ----
echo "== a user-namespace bind mount over a path a rule allows"
out=$("$GATE" policy lint "$tmp/path.yaml" 2>&1)
check "lint: an allow by path alone for exec is warned about" \
    grep -q "rule 'trusted by path' allows every caller (exec included) by path alone" <<<"$out"
if start_gated path --policy "$tmp/path.yaml" --filesystem "$mnt" --audit "$tmp/path.audit"; then
    check "path: a file really under the trusted path runs" runs "$mnt/trusted/good"
    check "path: the same file runs again (cached under its name)" runs "$mnt/trusted/good"
    check "path: evil at its own path is denied" denied "$mnt/home/d/evil"
    as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    if ! "${as_nobody[@]}" unshare -Urm true 2>/dev/null; then
        echo "SKIP path: unprivileged user namespaces are disabled on this host (the attack cannot be made)"
    else
        check "path: nobody's bind mount over the trusted path does not run evil" denied \
            "${as_nobody[@]}" unshare -Urm sh -c \
            "mount --bind '$mnt/home/d' '$mnt/trusted' && exec '$mnt/trusted/evil'"
        check "path: the deny names the unresolved path" \
            eventually unresolved_denied "$tmp/path.audit" "$mnt/trusted/evil"
        check "path: good through the bind-mounted trusted path is denied too" denied \
            "${as_nobody[@]}" unshare -Urm sh -c \
            "mount --bind '$mnt/trusted' '$mnt/home/d' && exec '$mnt/home/d/good'"
        check "path: ...and the real trusted path still runs" runs "$mnt/trusted/good"
    fi
    stop_gated
fi

# ---- posture against sysctls of the test's own ----
echo "== posture: log, refuse, fix (--sysctl-root)"
fake_sysctls "$tmp/sys" 0 100
if start_gated posture --policy "$tmp/enforce.yaml" --mount "$mnt" --sysctl-root "$tmp/sys" \
    --audit "$tmp/posture.audit"; then
    check "posture: memfd_noexec 0 is a gap" eventually gap_is vm.memfd_noexec "$tmp/sys/vm/memfd_noexec" false
    check "posture: user namespaces on are a gap" gap_is userns "$tmp/sys/user/max_user_namespaces" false
    check "posture: a posture audit event for memfd" eventually has_event "$tmp/posture.audit" posture vm.memfd_noexec
    check "posture: a posture audit event for user namespaces" has_event "$tmp/posture.audit" posture max_user_namespaces
    check "posture: an unmarked tmpfs that allows exec is a gap" gap_is mount "$tmp/run" false
    out=$(GATED_STATUS=$sfile "$GATE" status 2>&1)
    check "posture: gate status prints the gaps" grep -q "gap:   vm.memfd_noexec: $tmp/sys/vm/memfd_noexec is 0, want 2" <<<"$out"
    out=$(GATED_STATUS=$sfile "$GATE" status --format json 2>&1)
    check "posture: gate status --format json has them" grep -q '"check": "userns"' <<<"$out"
    echo 2 >"$tmp/sys/vm/memfd_noexec"
    echo 0 >"$tmp/sys/user/max_user_namespaces"
    kill -HUP "$dpid"
    check "posture: SIGHUP checks again (memfd closed)" eventually no_gap vm.memfd_noexec "$tmp/sys"
    check "posture: SIGHUP checks again (userns closed)" eventually no_gap userns "$tmp/sys"
    stop_gated
fi
fake_sysctls "$tmp/sys" 0 100
mkdir -p "$tmp/sys2/kernel" "$tmp/sys2/vm" && echo 1 >"$tmp/sys2/kernel/unprivileged_userns_clone" &&
    echo 1 >"$tmp/sys2/vm/memfd_noexec"
for root in sys sys2; do
    "$GATED" --status "$tmp/run/refuse.status" --policy "$tmp/enforce.yaml" --mount "$mnt" \
        --sysctl-root "$tmp/$root" --posture refuse --audit "$tmp/refuse.audit" \
        >"$tmp/refuse.out" 2>"$tmp/refuse-$root.err" </dev/null
    rc=$?
    check "refuse ($root): gated exits 3" test "$rc" -eq 3
    check "refuse ($root): it names the memfd gap" \
        grep -q "gated: posture: vm.memfd_noexec: $tmp/$root/vm/memfd_noexec is" "$tmp/refuse-$root.err"
done
check "refuse: it names user.max_user_namespaces" \
    grep -q "userns: $tmp/sys/user/max_user_namespaces is 100, want 0" "$tmp/refuse-sys.err"
check "refuse: it names Debian's kernel.unprivileged_userns_clone" \
    grep -q "userns: $tmp/sys2/kernel/unprivileged_userns_clone is 1, want 0" "$tmp/refuse-sys2.err"
"$GATED" --status "$tmp/run/refuse.status" --policy "$tmp/enforce.yaml" --mount "$mnt" \
    --sysctl-root "$tmp/sys" --posture bogus >/dev/null 2>"$tmp/refuse.err"
check "refuse: an unknown --posture is a usage error" test $? -eq 2
policy audit >"$tmp/audit.yaml"
if start_gated refuse-audit --policy "$tmp/audit.yaml" --mount "$mnt" --sysctl-root "$tmp/sys" \
    --posture refuse --audit "$tmp/refuse-audit.audit"; then
    check "refuse: audit mode starts (and reports)" eventually gap_is vm.memfd_noexec "$tmp/sys" false
    stop_gated
fi
if start_gated fix --policy "$tmp/enforce.yaml" --mount "$mnt" --sysctl-root "$tmp/sys" \
    --posture fix --audit "$tmp/fix.audit"; then
    check "fix: memfd_noexec set to 2" eventually grep -qx 2 "$tmp/sys/vm/memfd_noexec"
    check "fix: max_user_namespaces set to 0" grep -qx 0 "$tmp/sys/user/max_user_namespaces"
    check "fix: the status says fixed" eventually gap_is vm.memfd_noexec "$tmp/sys" true
    check "fix: logged" eventually has_event "$tmp/fix.audit" posture "set to 2"
    stop_gated
fi

# ---- /dev/shm without noexec ----
echo "== /dev/shm: an unmarked tmpfs that allows exec"
if mount -t tmpfs -o size=16m,mode=1777 gate-shm /dev/shm; then
    cp "$mnt/bin/evil" /dev/shm/evil
    check "shm: before: a binary in /dev/shm runs (nothing marks it)" runs /dev/shm/evil
    fake_sysctls "$tmp/sys" 2 0
    if start_gated shm --policy "$tmp/enforce.yaml" --mount "$mnt" --sysctl-root "$tmp/sys" \
        --audit "$tmp/shm.audit"; then
        check "shm: /dev/shm is a gap" eventually gap_is mount /dev/shm false
        check "shm: logged as posture" eventually has_event "$tmp/shm.audit" posture /dev/shm
        stop_gated
    fi
    if start_gated shmfix --policy "$tmp/enforce.yaml" --mount "$mnt" --sysctl-root "$tmp/sys" \
        --posture fix --audit "$tmp/shmfix.audit"; then
        check "shm fix: /dev/shm remounted noexec" eventually gap_is mount /dev/shm true
        check "shm fix: mountinfo says noexec" eventually \
            grep -Eq '^[0-9]+ [0-9]+ [0-9:]+ / /dev/shm [^ ]*noexec' /proc/self/mountinfo
        out=$(timeout 30 /dev/shm/evil 2>&1)
        check "shm fix: a binary in /dev/shm no longer runs" test $? -eq 126
        check "shm fix: other unmarked mounts stay (not safe to remount)" gap_is mount "$tmp/run" false
        stop_gated
    fi
    umount /dev/shm
else
    echo "SKIP shm: cannot mount a tmpfs over /dev/shm in the namespace"
fi

# ---- class 3: memfd exec, for real ----
echo "== memfd exec (vm.memfd_noexec, this pid namespace only)"
if ! $own_pidns; then
    echo "SKIP memfd: no pid namespace of our own: vm.memfd_noexec would be the host's"
elif [ ! -e /proc/sys/vm/memfd_noexec ]; then
    echo "SKIP memfd: the kernel has no vm.memfd_noexec (before 6.3)"
else
    memfd_before=$(cat /proc/sys/vm/memfd_noexec)
    fake_sysctls "$tmp/sysm" 0 0
    mount --bind /proc/sys/vm/memfd_noexec "$tmp/sysm/vm/memfd_noexec"
    if [ "$memfd_before" -lt 2 ]; then
        check "memfd: with memfd_noexec=$memfd_before a memfd runs (the attack)" memfd_exec
        if start_gated memfd --policy "$tmp/enforce.yaml" --mount "$mnt" \
            --sysctl-root "$tmp/sysm" --audit "$tmp/memfd.audit"; then
            check "memfd: the real sysctl is a gap" eventually gap_is vm.memfd_noexec "$tmp/sysm" false
            stop_gated
        fi
    fi
    if start_gated memfdfix --policy "$tmp/enforce.yaml" --mount "$mnt" \
        --sysctl-root "$tmp/sysm" --posture fix --audit "$tmp/memfdfix.audit"; then
        check "memfd fix: vm.memfd_noexec is 2" eventually grep -qx 2 /proc/sys/vm/memfd_noexec
        check "memfd fix: a memfd no longer runs" not memfd_exec
        stop_gated
    fi
    umount "$tmp/sysm/vm/memfd_noexec"
fi

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
