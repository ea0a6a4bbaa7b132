#!/usr/bin/env bash
# test_apt_hook_cli.sh - `gate hook apt` without apt: the protocol fed on
# stdin by hand (versions 1, 2, 3, removals, garbage), decisions on real
# .deb files (signed in an evidence store, unsigned, vanished, corrupt, not
# a file), a broken policy, audit mode, the ledger (recorded only when the
# whole transaction is allowed; a failure to record refuses it), URL
# evidence stores (file://, an unreachable https://, http:// refused), a
# transaction of hundreds of packages with the progress bar on a TTY, and
# `--install` / `--uninstall` of the apt.conf snippet in a temp directory.
# The real apt-get runs in test_apt_e2e.sh.
# Env: GATE (the binary).
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup /tmp/gate-apt-hook.XXXXXX
cd "$tmp" || exit 1

# ---- usage ----
run "help" 0 --out "DPkg::Pre-Install-Pkgs" --out "--install" -- "$GATE" hook apt --help
run "hook without a kind" 2 --err "gate hook apt" -- "$GATE" hook
run "unknown hook" 2 -- "$GATE" hook yum
run "unknown option" 2 --err "unknown option" -- "$GATE" hook apt --bogus
run "stray argument" 2 --err "no arguments" -- "$GATE" hook apt foo.deb
run "bad --jobs" 2 --err "--jobs" -- "$GATE" hook apt --jobs 0
run "install and uninstall" 2 --err "exclude" -- "$GATE" hook apt --install --uninstall

# ---- --install / --uninstall ----
conf=$tmp/apt.conf.d
mkdir -p "$conf"
printf 'version: 1\nmode: enforce\nrules:\n  - name: all\n    decision: allow\n' >"$tmp/p.yaml"
run "install" 0 --out "installed the apt hook $conf/50gate" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf" --policy "$tmp/p.yaml" \
    --ledger /var/lib/gate/l.db --evidence https://ev.example/store
check "snippet: marker first" grep -qx '// gate: apt hook\. .*' <(head -1 "$conf/50gate")
check "snippet: hook line" grep -qxF "DPkg::Pre-Install-Pkgs {\"$GATE hook apt --policy $tmp/p.yaml --ledger /var/lib/gate/l.db --evidence https://ev.example/store\";};" "$conf/50gate"
check "snippet: version 3" grep -qxF "DPkg::Tools::Options::$GATE::Version \"3\";" "$conf/50gate"
check "snippet: mode 0644" test "$(stat -c %a "$conf/50gate")" = 644
check "snippet: no temp file left" test "$(find "$conf" -name '*.dpkg-tmp' | wc -l)" = 0
if command -v apt-config >/dev/null; then
    # apt itself reads the snippet back (the -c file is read on top of an
    # empty configuration: APT_CONFIG=/dev/null keeps the host's away).
    APT_CONFIG=/dev/null apt-config -c "$conf/50gate" dump >"$tmp/dump" 2>&1
    check "apt parses the snippet" grep -qF "DPkg::Pre-Install-Pkgs:: \"$GATE hook apt --policy" "$tmp/dump"
    check "apt reads the version" grep -qF "DPkg::Tools::Options::$GATE::Version \"3\";" "$tmp/dump"
fi
run "install again replaces" 0 --out "replaced the apt hook" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf" --no-ledger
check "replaced: new options" grep -qF "hook apt --no-ledger\";" "$conf/50gate"
run "uninstall" 0 --out "removed the apt hook $conf/50gate" -- \
    "$GATE" hook apt --uninstall --apt-conf-dir "$conf"
check "uninstall: gone" test ! -e "$conf/50gate"
run "uninstall again" 0 --out "nothing to remove" -- "$GATE" hook apt --uninstall --apt-conf-dir "$conf"
echo 'DPkg::Pre-Install-Pkgs {"/usr/bin/other";};' >"$conf/50gate"
run "install over a foreign file" 2 --err "not written by gate" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf"
run "uninstall a foreign file" 2 --err "not written by gate" -- \
    "$GATE" hook apt --uninstall --apt-conf-dir "$conf"
check "foreign file kept" grep -qF /usr/bin/other "$conf/50gate"
rm -f "$conf/50gate"
# The hook is never installed on a policy that does not load: apt would
# refuse every transaction.
run "install: missing policy refused" 2 --err "$tmp/nonexistent.yaml" \
    --err "not installing the hook" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf" --policy "$tmp/nonexistent.yaml"
printf 'version: 1\nmode: enforce\nrules:\n  - name: x\n    decision: maybe\n' >"$tmp/bad-decision.yaml"
run "install: broken policy refused, file:line named" 2 --err "$tmp/bad-decision.yaml:5:" \
    --err "gate policy lint" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf" --policy "$tmp/bad-decision.yaml"
check "install: nothing written on a broken policy" test ! -e "$conf/50gate"
run "install: relative policy" 2 --err "absolute paths" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf" --policy p.yaml
run "install: shell metacharacters" 2 --err "absolute paths" -- \
    "$GATE" hook apt --install --apt-conf-dir "$conf" --policy '/p;rm -rf x'
check "refused install wrote nothing" test ! -e "$conf/50gate"
run "install: missing dir" 2 --err "cannot write" -- \
    "$GATE" hook apt --install --apt-conf-dir "$tmp/nonexistent"

# ---- the protocol on stdin, before any policy matters ----
cat >"$tmp/deny-all.yaml" <<EOF
version: 1
mode: enforce
rules:
  - name: nothing
    decision: deny
EOF
printf 'hello world\n' >"$tmp/garbage"
run "garbage: enforce refuses" 2 --in "$tmp/garbage" \
    --err "not the Pre-Install-Pkgs protocol" --err "line 1" --err "nothing is installed" -- \
    "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
printf 'VERSION 7\nA=b\n\n' >"$tmp/v7"
run "unknown version" 2 --in "$tmp/v7" --err "version 7 is not supported" -- \
    "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
printf 'VERSION 3\nA=b\n' >"$tmp/noblank"
run "missing blank line" 2 --in "$tmp/noblank" --err "empty line that closes" -- \
    "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
printf '/a.deb\0\n' >"$tmp/nul"
run "NUL byte" 2 --in "$tmp/nul" --err "NUL" -- "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
head -c 2000000 /dev/urandom >"$tmp/random"
run "random bytes" 2 --in "$tmp/random" --err "line" -- "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
head -c $((64 * 1024 * 1024 + 1)) /dev/zero | tr '\0' a >"$tmp/huge"
run "more than 64 MiB on stdin" 2 --in "$tmp/huge" --err "more than 67108864 bytes on stdin" -- \
    "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
rm -f "$tmp/huge"
printf 'VERSION 3\nA=b\n\nbeta 1.0 all none > - - none **REMOVE**\n' >"$tmp/remove"
run "removal only: nothing to decide" 0 --in "$tmp/remove" -- \
    "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
run "empty version 1 list" 0 -- "$GATE" hook apt --policy "$tmp/deny-all.yaml" --no-ledger
cat >"$tmp/audit-deny.yaml" <<EOF
version: 1
mode: audit
rules:
  - name: nothing
    decision: deny
audit:
  log: $tmp/audit-garbage.log
EOF
run "garbage: audit mode proceeds" 0 --in "$tmp/garbage" --err "audit mode: apt proceeds" -- \
    "$GATE" hook apt --policy "$tmp/audit-deny.yaml" --no-ledger
check "garbage: audit event" grep -q '"path": *"(apt hook stdin)".*' "$tmp/audit-garbage.log"
check "garbage: audit event is an error" grep -q '"verdict": *"error"' "$tmp/audit-garbage.log"
printf 'broken: [\n' >"$tmp/broken.yaml"
run "broken policy, garbage stdin" 2 --in "$tmp/garbage" --err "the policy is broken" -- \
    "$GATE" hook apt --policy "$tmp/broken.yaml" --no-ledger

if ! command -v dpkg-deb >/dev/null; then
    echo "SKIP (partly): dpkg-deb is missing: no tests on real .deb files"
    finish test_apt_hook_cli
    exit
fi

# ---- real .deb files ----
fixture "$GATE" keygen --output-key-prefix "$tmp/repo"
fixture "$GATE" keygen --output-key-prefix "$tmp/other"
mkdir -p "$tmp/debs" "$tmp/evidence" "$tmp/src"

# mkdeb NAME VERSION: a tiny package with one file /usr/share/NAME/file.txt
mkdeb() {
    local d=$tmp/src/$1
    rm -rf "$d"
    mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
    echo "hello from $1 $2" >"$d/usr/share/$1/file.txt"
    printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test %s\n' \
        "$1" "$2" "$1" >"$d/DEBIAN/control"
    fixture dpkg-deb --build --root-owner-group "$d" "$tmp/debs/$1_$2_all.deb"
}
# store KEY FILE: sign FILE into the evidence store by its digest
store() {
    local hex
    hex=$(sha256sum "$2" | cut -d' ' -f1)
    mkdir -p "$tmp/evidence/sha256/$hex"
    fixture "$GATE" sign --key "$1" --bundle "$tmp/evidence/sha256/$hex/sig.sigstore.json" \
        --output-signature "$tmp/.unused.sig" "$2"
}
for p in alpha beta gamma; do mkdeb $p 1.0; store "$tmp/repo.key" "$tmp/debs/${p}_1.0_all.deb"; done
mkdeb unsigned 1.0
mkdeb stranger 1.0
store "$tmp/other.key" "$tmp/debs/stranger_1.0_all.deb"
head -c 5000 /dev/urandom >"$tmp/debs/corrupt_1.0_all.deb"
store "$tmp/repo.key" "$tmp/debs/corrupt_1.0_all.deb"
mkdir -p "$tmp/debs/dir_1.0_all.deb"
D=$tmp/debs

policy() { # policy FILE MODE [EVIDENCE-DIR]
    cat >"$1" <<EOF
version: 1
mode: $2
trust:
  keys:
    repo: { file: $tmp/repo.pub }
signers:
  repo-team:
    - key: repo
rules:
  - name: packages need the repo key
    match: { path: ["**/*.deb"], caller: [apt] }
    require: { signers: repo-team }
  - name: everything else is denied
    decision: deny
evidence:
  dirs: [${3:-$tmp/evidence}]
audit:
  log: $tmp/audit.log
EOF
}
policy "$tmp/enforce.yaml" enforce
policy "$tmp/audit.yaml" audit
L=$tmp/ledger.db

# dpkg's database as apt's configuration names it: the hook alone, without
# dpkg, records nothing until --post-invoke finds the packages installed
# there (hand-written stanzas, no file lists: nothing is hashed).
mkdir -p "$tmp/dpkg"
: >"$tmp/dpkg/status"
dpkg_says_installed() { # NAME...: these at 1.0, all, installed
    local n
    for n in "$@"; do
        printf 'Package: %s\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n\n' "$n"
    done >>"$tmp/dpkg/status"
}
post() { "$GATE" hook apt --post-invoke --ledger "$1" >"$tmp/post.out" 2>&1; }
v3() { # v3 NAME... : a version 3 transaction unpacking $D/NAME_1.0_all.deb
    printf 'VERSION 3\nAPT::Architecture=amd64\nDPkg::Pre-Install-Pkgs::=%s%%20hook%%20apt\nDir::State::status=%s/dpkg/status\n\n' "$GATE" "$tmp"
    local n
    for n in "$@"; do printf '%s - - none < 1.0 all none %s/%s_1.0_all.deb\n' "$n" "$D" "$n"; done
    for n in "$@"; do printf '%s - - none < 1.0 all none **CONFIGURE**\n' "$n"; done
}
ledger_names() { # the package names in the ledger, sorted, on one line
    "$GATE" ledger --db "$1" list 2>/dev/null | cut -d' ' -f1 | sort | tr '\n' ' ' | sed 's/ $//'
}

v3 alpha beta >"$tmp/t-good"
run "v3: signed packages allowed" 0 --in "$tmp/t-good" \
    --err "2 packages allowed by $tmp/enforce.yaml (enforce), 2 to record in $L once dpkg has installed them" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
check "ledger: nothing installed before dpkg ran" test "$(ledger_names "$L")" = ""
dpkg_says_installed alpha beta
post "$L"
check "post-invoke: alpha and beta recorded" grep -qF "2 of 2 allowed packages installed and recorded" "$tmp/post.out"
check "ledger: alpha and beta" test "$(ledger_names "$L")" = "alpha beta"
check "audit: two allow events" test "$(grep -c '"verdict": *"allow"' "$tmp/audit.log")" = 2

v3 gamma unsigned >"$tmp/t-unsigned"
run "v3: an unsigned package refuses all" 1 --in "$tmp/t-unsigned" \
    --err "gate: DENY unsigned 1.0 ($D/unsigned_1.0_all.deb): rule 'packages need the repo key'" \
    --err "no signature found" --err "1 of 2 packages refused" --no-err "DENY gamma" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
check "ledger unchanged after a denial" test "$(ledger_names "$L")" = "alpha beta"

v3 gamma stranger >"$tmp/t-stranger"
run "v3: an unknown key" 1 --in "$tmp/t-stranger" --err "DENY stranger 1.0" \
    --err "no key the policy pins (repo) verifies it: signed by another key" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"

v3 gamma vanished >"$tmp/t-vanished"
run "vanished .deb" 2 --in "$tmp/t-vanished" --err "gate: ERROR vanished 1.0" \
    --err "No such file" -- "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
v3 gamma dir >"$tmp/t-dir"
run ".deb that is a directory" 2 --in "$tmp/t-dir" --err "gate: ERROR dir 1.0" \
    --err "not a regular file" -- "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
v3 gamma corrupt >"$tmp/t-corrupt"
run "corrupt .deb (signed, allowed, unreadable)" 2 --in "$tmp/t-corrupt" \
    --err "gate: ERROR corrupt 1.0" --err "not a readable .deb" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
check "ledger unchanged after errors" test "$(ledger_names "$L")" = "alpha beta"
run "corrupt .deb in audit mode: proceeds, not recorded" 0 --in "$tmp/t-corrupt" \
    --err "NOT RECORDED (audit mode) corrupt 1.0" --err "1 to record" -- \
    "$GATE" hook apt --policy "$tmp/audit.yaml" --ledger "$L"
dpkg_says_installed gamma corrupt
post "$L"
check "ledger: gamma added by the audit run" test "$(ledger_names "$L")" = "alpha beta gamma"

run "broken policy refuses, naming every package" 2 --in "$tmp/t-good" \
    --err "gate: ERROR alpha 1.0 ($D/alpha_1.0_all.deb): the policy is broken" \
    --err "gate: ERROR beta 1.0" --err "nothing is installed" -- \
    "$GATE" hook apt --policy "$tmp/broken.yaml" --ledger "$L"

: >"$tmp/audit.log"
run "audit mode: denial logged, apt proceeds" 0 --in "$tmp/t-unsigned" \
    --err "gate: DENY (audit mode: allowed) unsigned 1.0" -- \
    "$GATE" hook apt --policy "$tmp/audit.yaml" --ledger "$L"
check "audit log: the denial" python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
d = [e for e in ev if e["event"] == "decision" and e["path"].endswith("unsigned_1.0_all.deb")]
assert d and d[0]["verdict"] == "deny" and d[0]["allowed"] and d[0]["caller"] == "apt" and d[0]["mode"] == "audit"
' "$tmp/audit.log"
check "audit mode records only what the policy allowed" test "$(ledger_names "$L")" = "alpha beta gamma"

# versions 1 and 2
printf '%s\n' "$D/alpha_1.0_all.deb" "$D/beta_1.0_all.deb" >"$tmp/t-v1"
run "v1: allowed" 0 --in "$tmp/t-v1" --err "2 packages allowed" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
printf '%s\n' "$D/alpha_1.0_all.deb" "$D/unsigned_1.0_all.deb" >"$tmp/t-v1bad"
run "v1: denied by file name" 1 --in "$tmp/t-v1bad" \
    --err "gate: DENY unsigned_1.0_all.deb ($D/unsigned_1.0_all.deb)" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"
{
    printf 'VERSION 2\nA=b\n\n'
    printf 'alpha 0.9 < 1.0 %s\nunsigned - < 1.0 %s\n' "$D/alpha_1.0_all.deb" "$D/unsigned_1.0_all.deb"
} >"$tmp/t-v2"
run "v2: denied" 1 --in "$tmp/t-v2" --err "gate: DENY unsigned 1.0" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$L"

# the ledger cannot be written
: >"$tmp/not-a-dir"
run "ledger failure refuses in enforce mode" 2 --in "$tmp/t-good" \
    --err "cannot record the packages in the ledger $tmp/not-a-dir/ledger.db" \
    --err "nothing is installed" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$tmp/not-a-dir/ledger.db"
run "ledger failure only warns in audit mode" 0 --in "$tmp/t-good" \
    --err "cannot record the packages" --err "audit mode: apt proceeds" -- \
    "$GATE" hook apt --policy "$tmp/audit.yaml" --ledger "$tmp/not-a-dir/ledger.db"
run "--no-ledger" 0 --in "$tmp/t-good" --no-err "recorded" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --no-ledger

# ---- URL evidence stores ----
mkdir -p "$tmp/urlstore/sha256"
for p in alpha beta; do
    hex=$(sha256sum "$D/${p}_1.0_all.deb" | cut -d' ' -f1)
    cp "$tmp/evidence/sha256/$hex/sig.sigstore.json" "$tmp/urlstore/sha256/$hex.sigstore.json"
done
policy "$tmp/url.yaml" enforce "file://$tmp/urlstore"
run "file:// store: allowed" 0 --in "$tmp/t-good" --err "2 packages allowed" -- \
    "$GATE" hook apt --policy "$tmp/url.yaml" --no-ledger --cache-dir "$tmp/cache"
check "file:// store: cached" test "$(find "$tmp/cache/evidence" -name '*.sigstore.json' | wc -l)" = 2
check "file:// store: cache is private" test "$(stat -c %a "$tmp/cache/evidence")" = 700
v3 alpha gamma >"$tmp/t-url-missing"
run "file:// store: missing bundle is no evidence" 1 --in "$tmp/t-url-missing" \
    --err "DENY gamma 1.0" --err "no signature found" -- \
    "$GATE" hook apt --policy "$tmp/url.yaml" --no-ledger --cache-dir "$tmp/cache"
policy "$tmp/https.yaml" enforce "https://127.0.0.1:9/store"
run "https:// store unreachable: denied, saying why" 1 --in "$tmp/t-good" \
    --err "DENY alpha 1.0" --err "https://127.0.0.1:9/store/sha256/" --err "cannot fetch" -- \
    "$GATE" hook apt --policy "$tmp/https.yaml" --no-ledger --cache-dir "$tmp/cache"
policy "$tmp/http.yaml" enforce "http://127.0.0.1:9/store"
run "http:// store refused" 1 --in "$tmp/t-good" --err "https:// or file:// only" -- \
    "$GATE" hook apt --policy "$tmp/http.yaml" --no-ledger --cache-dir "$tmp/cache"

# ---- hundreds of packages ----
N=300
: >"$tmp/big-names"
for i in $(seq 1 $N); do
    mkdeb "pkg$i" 1.0
    store "$tmp/repo.key" "$D/pkg${i}_1.0_all.deb"
    echo "pkg$i" >>"$tmp/big-names"
done
# shellcheck disable=SC2046
v3 $(cat "$tmp/big-names") >"$tmp/t-big"
run "300 packages" 0 --in "$tmp/t-big" --err "$N packages allowed" --err "$N to record" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$tmp/big.db" --jobs 4
# shellcheck disable=SC2046
dpkg_says_installed $(cat "$tmp/big-names")
post "$tmp/big.db"
check "300 packages in the ledger" test "$(ledger_names "$tmp/big.db" | wc -w)" = $N
# The rest on the first 40 of them (each run decides every package again).
M=40
# shellcheck disable=SC2046
v3 $(head -n $M "$tmp/big-names") >"$tmp/t-some"
# shellcheck disable=SC2046
v3 $(head -n $M "$tmp/big-names") unsigned >"$tmp/t-some-bad"
run "$M packages and one unsigned" 1 --in "$tmp/t-some-bad" --err "1 of $((M + 1)) packages refused" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --ledger "$tmp/big2.db"
check "nothing recorded for the refused transaction" test ! -e "$tmp/big2.db"
if command -v script >/dev/null; then
    # stderr on a terminal: the progress bar
    script -qec "'$GATE' hook apt --policy '$tmp/enforce.yaml' --no-ledger --jobs 2 <'$tmp/t-some'" \
        /dev/null >"$tmp/tty.out" 2>&1
    check "progress bar on a TTY" grep -qF "gate: checking packages [" "$tmp/tty.out"
    check "progress reaches the end" grep -qF "$M/$M" "$tmp/tty.out"
fi
run "no progress bar without a TTY" 0 --in "$tmp/t-some" --no-err "checking packages" -- \
    "$GATE" hook apt --policy "$tmp/enforce.yaml" --no-ledger

finish test_apt_hook_cli
