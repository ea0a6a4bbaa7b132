#!/usr/bin/env bash
# test_apt_e2e.sh - the real apt-get and dpkg with `gate hook apt`, in
# throwaway roots (../shared/notes/apt-throwaway-root.md): a local flat
# repository of tiny packages, some signed with `gate sign` into an
# evidence store, one unsigned, one tampered after signing. Shows that
#   - a transaction of signed packages installs and fills the ledger;
#   - a transaction with one bad package installs NOTHING (apt exits 100
#     before dpkg runs) and leaves the ledger as it was;
#   - removals pass through; protocol versions 1 and 2 work too;
#   - audit mode installs everything and logs the denials;
#   - a broken policy refuses; `--uninstall` takes the hook out of apt;
#   - `gate ledger verify --root` catches a file modified after install.
# Never touches the host's package database: every apt and dpkg command
# goes through a guard that refuses unless ROOT and APT_CONFIG are set and
# point into this test's temporary directory.
# Env: GATE (the binary). Skips (exit 0) when not root or without
# apt-get / dpkg-deb.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt_root.sh"
apt_test_start gate-apt-e2e

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh" # fixture; check is this test's own
TEST_LABEL=test_apt_e2e
passed=0
failed=0
log=$tmp/.log

check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        echo "  last command output: $(tail -c 1500 "$log" 2>/dev/null)"
    fi
}

# ---- a throwaway root: nothing runs against the host ----

ledger() { # ledger ARGS...: gate ledger on the current root's ledger
    guard
    "$GATE" ledger --db "$ROOT/ledger.db" "$@"
}
logs() { grep -qF -- "$1" "$log"; }

# ---- the repository ----

REPO=$tmp/repo
EV=$tmp/evidence
mkdir -p "$REPO" "$EV" "$tmp/src"
fixture "$GATE" keygen --output-key-prefix "$tmp/repo"

mkdeb() { # mkdeb NAME [CONTENT]: $REPO/NAME_1.0_all.deb with /usr/share/NAME/file.txt
    local d=$tmp/src/$1
    rm -rf "$d"
    mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
    echo "${2:-hello from $1}" >"$d/usr/share/$1/file.txt"
    printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: gate test %s\n' \
        "$1" "$1" >"$d/DEBIAN/control"
    fixture dpkg-deb --build --root-owner-group "$d" "$REPO/$1_1.0_all.deb"
}
store() { # store FILE: bundle signed with the repo key, in $EV by digest
    local hex
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    mkdir -p "$EV/sha256/$hex"
    fixture "$GATE" sign --key "$tmp/repo.key" --bundle "$EV/sha256/$hex/repo.sigstore.json" \
        --output-signature "$EV/sha256/$hex/repo.sig" "$1"
}
for p in good1 good2 good3 good4; do
    mkdeb $p
    store "$REPO/${p}_1.0_all.deb"
done
mkdeb unsigned
# tampered: signed (sidecar bundle in the repository), then rebuilt with
# other content under the same name, as a compromised mirror would
mkdeb tampered
fixture "$GATE" sign --key "$tmp/repo.key" --bundle "$REPO/tampered_1.0_all.deb.sigstore.json" \
    --output-signature "$tmp/.unused.sig" "$REPO/tampered_1.0_all.deb"
mkdeb tampered "evil payload"

write_packages() { # Packages without dpkg-dev or apt-utils
    local f
    for f in "$REPO"/*.deb; do
        dpkg-deb -f "$f"
        printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$f")" \
            "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
}
if command -v dpkg-scanpackages >/dev/null; then
    fixture sh -c 'cd "$0" && dpkg-scanpackages . /dev/null >Packages' "$REPO"
elif command -v apt-ftparchive >/dev/null; then
    fixture sh -c 'cd "$0" && apt-ftparchive packages . >Packages' "$REPO"
else
    write_packages >"$REPO/Packages"
fi

# ---- policies ----

policy() { # policy FILE MODE
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
    match: { type: [application/vnd.debian.binary-package], caller: [apt] }
    require: { signers: repo-team }
  - name: everything else is denied
    decision: deny
evidence:
  dirs: [$EV]
audit:
  log: $tmp/audit-$2.log
EOF
}
policy "$tmp/enforce.yaml" enforce
policy "$tmp/audit.yaml" audit
# Installed on a policy that loads; the policy breaks afterwards (--install
# refuses one that does not load).
policy "$tmp/broken.yaml" enforce

# ---- throwaway roots ----

# new_root NAME POLICY [PROTOCOL-VERSION]: a fresh root with the hook
# installed by `gate hook apt --install`; sets ROOT and APT_CONFIG.
new_root() {
    make_root "$1" "deb [trusted=yes] file:$REPO ./"
    # Version 1 names no dpkg database: --root says which system it is.
    local root_opt=()
    [ "${3:-3}" = 1 ] && root_opt=(--root "$ROOT")
    "$GATE" hook apt --install --apt-conf-dir "$ROOT/etc/apt/apt.conf.d" --policy "$2" \
        --ledger "$ROOT/ledger.db" "${root_opt[@]}" >"$log" 2>&1 || { echo "FAIL hook --install"; cat "$log"; exit 1; }
    if [ "${3:-3}" != 3 ]; then
        sed -i "s/::Version \"3\";/::Version \"$3\";/" "$ROOT/etc/apt/apt.conf.d/50gate"
    fi
    apt_root update || { echo "FAIL apt-get update"; cat "$log"; exit 1; }
}

# ---- 1. signed packages install and are recorded ----
new_root r1 "$tmp/enforce.yaml"
check "hook snippet in the root" grep -qF "DPkg::Pre-Install-Pkgs {\"$GATE hook apt --policy $tmp/enforce.yaml --ledger $tmp/r1/ledger.db\";};" "$ROOT/etc/apt/apt.conf.d/50gate"
apt_root install good1 good2
rc=$?
check "good: apt exits 0" test $rc -eq 0
check "good: the hook spoke" logs "gate: 2 packages allowed by $tmp/enforce.yaml (enforce), 2 to record in $ROOT/ledger.db once dpkg has installed them"
check "good: recorded after dpkg" logs "gate: ledger $ROOT/ledger.db: 2 of 2 allowed packages installed and recorded"
check "good: files present" test -f "$ROOT/usr/share/good1/file.txt" -a -f "$ROOT/usr/share/good2/file.txt"
dpkg_root -l >"$log" 2>&1
check "good: dpkg -l lists good1" grep -qE '^ii +good1 +1\.0' "$log"
check "good: dpkg -l lists good2" grep -qE '^ii +good2 +1\.0' "$log"
check "good: nothing on the host" not grep -q "gate test good1" /var/lib/dpkg/status
ledger list >"$log" 2>&1
check "ledger: list has good1 and good2" grep -qE '^good1 1\.0 all' "$log"
check "ledger: list has good2" grep -qE '^good2 1\.0 all' "$log"
check "ledger: two packages" test "$(grep -c . "$log")" -eq 2
ledger lookup /usr/share/good1/file.txt >"$log" 2>&1
check "ledger: lookup by path" grep -qF good1 "$log"
ledger lookup "sha256:$(sha256sum "$ROOT/usr/share/good2/file.txt" | cut -d' ' -f1)" >"$log" 2>&1
check "ledger: lookup by digest" grep -qF good2 "$log"
ledger list >"$tmp/ledger-before"

# ---- 2. one unsigned package: nothing is installed ----
apt_root install good3 unsigned
rc=$?
cp "$log" "$tmp/unsigned.log"
check "unsigned: apt exits 100" test $rc -eq 100
check "unsigned: one line naming package, rule and reason" \
    grep -qF "gate: DENY unsigned 1.0 ($REPO/./unsigned_1.0_all.deb): rule 'packages need the repo key': no signature found" "$tmp/unsigned.log"
check "unsigned: good3 not called out" not grep -qF "DENY good3" "$tmp/unsigned.log"
check "unsigned: good3 not installed" not installed good3
check "unsigned: unsigned not installed" not installed unsigned
check "unsigned: no files of good3" test ! -e "$ROOT/usr/share/good3"
check "unsigned: dpkg never ran" not grep -q "good3" "$ROOT/var/log/dpkg.log"
ledger list >"$tmp/ledger-after"
check "unsigned: ledger unchanged" cmp -s "$tmp/ledger-before" "$tmp/ledger-after"

# ---- 3. a package tampered with after signing ----
apt_root install good3 tampered
rc=$?
check "tampered: apt exits 100" test $rc -eq 100
check "tampered: denied, saying why" logs "gate: DENY tampered 1.0"
check "tampered: the signature does not cover it" logs "digest is not the artifact's"
check "tampered: nothing installed" not installed tampered
check "tampered: good3 not installed either" not installed good3
ledger list >"$tmp/ledger-after"
check "tampered: ledger unchanged" cmp -s "$tmp/ledger-before" "$tmp/ledger-after"

# ---- 4. the ledger catches a file modified after install ----
ledger verify --root "$ROOT" >"$log" 2>&1
rc=$?
check "verify: clean root" test $rc -eq 0
echo "changed after install" >"$ROOT/usr/share/good1/file.txt"
ledger verify --root "$ROOT" >"$log" 2>&1
rc=$?
check "verify: modified file exits 1" test $rc -eq 1
check "verify: names the file" logs "/usr/share/good1/file.txt"
check "verify: says modified" logs "modified"

# ---- 5. removals pass through (the hook gets **REMOVE** only) ----
apt_root remove good2
rc=$?
check "remove: apt exits 0" test $rc -eq 0
check "remove: good2 gone" not installed good2
check "remove: good1 stays" installed good1

# ---- 6. audit mode: installs everything, logs the denials ----
new_root r2 "$tmp/audit.yaml"
apt_root install good1 unsigned tampered
rc=$?
check "audit: apt exits 0" test $rc -eq 0
check "audit: reported, not enforced" logs "gate: DENY (audit mode: allowed) unsigned 1.0"
check "audit: all installed" installed good1
check "audit: unsigned installed" installed unsigned
check "audit: tampered installed" installed tampered
check "audit: log has the denials" python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
deny = {e["path"].rsplit("/", 1)[-1] for e in ev
        if e["event"] == "decision" and e["verdict"] == "deny" and e["allowed"]
        and e["mode"] == "audit" and e["caller"] == "apt"}
allow = {e["path"].rsplit("/", 1)[-1] for e in ev if e["event"] == "decision" and e["verdict"] == "allow"}
assert deny == {"unsigned_1.0_all.deb", "tampered_1.0_all.deb"}, deny
assert allow == {"good1_1.0_all.deb"}, allow
' "$tmp/audit-audit.log"
ledger list >"$log" 2>&1
check "audit: ledger holds only what the policy allowed" test "$(cut -d' ' -f1 "$log" | tr '\n' ' ')" = "good1 "

# ---- 7. protocol versions 1 and 2 ----
for v in 1 2; do
    new_root "v$v" "$tmp/enforce.yaml" "$v"
    check "v$v: configured" grep -qF "::Version \"$v\";" "$ROOT/etc/apt/apt.conf.d/50gate"
    apt_root install good4
    rc=$?
    check "v$v: signed installs" test $rc -eq 0
    check "v$v: installed" installed good4
    check "v$v: recorded" logs "1 of 1 allowed package installed and recorded"
    apt_root install good3 unsigned
    rc=$?
    check "v$v: unsigned refused" test $rc -eq 100
    check "v$v: named" logs "gate: DENY unsigned"
    check "v$v: nothing installed" not installed good3
done

# ---- 8. a broken policy refuses ----
new_root r3 "$tmp/broken.yaml"
printf 'version: 1\nmode: enforce\nrules: [\n' >"$tmp/broken.yaml"
apt_root install good1
rc=$?
check "broken policy: apt exits 100" test $rc -eq 100
check "broken policy: says so" logs "the policy is broken"
check "broken policy: names the package" logs "gate: ERROR good1 1.0"
check "broken policy: nothing installed" not installed good1

# ---- 9. --uninstall takes the hook out ----
"$GATE" hook apt --uninstall --apt-conf-dir "$ROOT/etc/apt/apt.conf.d" >"$log" 2>&1
check "uninstall: removed" test ! -e "$ROOT/etc/apt/apt.conf.d/50gate"
apt_root install good1
rc=$?
check "uninstall: apt installs without the gate" test $rc -eq 0
check "uninstall: the gate did not run" not logs "gate:"

echo "test_apt_e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
