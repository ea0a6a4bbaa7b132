#!/usr/bin/env bash
# test_apt_ledger_e2e.sh - the install ledger says what dpkg installed,
# not what the hook allowed: the real apt-get and dpkg with `gate hook apt`
# (pre-install and --post-invoke) in throwaway roots
# (../shared/notes/apt-throwaway-root.md). Shows that
#   - a package whose preinst fails is not recorded as installed;
#   - a package refused by dpkg for a file conflict is not recorded, and
#     the other package's intact file is not reported modified;
#   - a hook stopped after its commit, before dpkg, records nothing as
#     installed: no list, lookup or verify sees the pending package, and
#     the step after dpkg drops it, naming it;
#   - an upgrade replaces the old version's files in the ledger;
#   - with protocol version 1 (no status file in apt's input) a removal is
#     forgotten: the step after dpkg reads dpkg's status of the ledger's
#     root;
#   - two roots sharing one ledger are refused, and `ledger verify --root`
#     on another root fails;
#   - each installed file is recorded with the digest its .deb ships:
#     read from the .deb while dpkg unpacks when it compresses little,
#     else (and always with --no-background) hashed on disk after dpkg and
#     compared with the .deb's md5sums.
# Never touches the host's package database (apt_root.sh's guard).
# Env: GATE (the binary). Skips (exit 0) when not root or without
# apt-get / dpkg-deb.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt_root.sh"
apt_test_start gate-apt-ledger

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
TEST_LABEL=test_apt_ledger_e2e
log=$tmp/.log
logs() { grep -qF -- "$1" "$log"; }
ledger() { # ledger ARGS...: gate ledger on $LEDGER
    "$GATE" ledger --db "$LEDGER" "$@"
}
names() { ledger list 2>/dev/null | cut -d' ' -f1 | sort | tr '\n' ' ' | sed 's/ $//'; }

# ---- the repository: every package signed ----

REPO=$tmp/repo
EV=$tmp/evidence
mkdir -p "$REPO" "$EV" "$tmp/src"
fixture "$GATE" keygen --output-key-prefix "$tmp/repo"

# mkdeb NAME VERSION PATH CONTENT [PREINST]: $REPO/NAME_VERSION_all.deb
# shipping PATH (with its md5sums, as Debian's tools write them), signed
# into $EV
mkdeb() {
    local d=$tmp/src/$1_$2 deb=$REPO/$1_$2_all.deb hex
    rm -rf "$d"
    mkdir -p "$d/DEBIAN" "$d$(dirname "$3")"
    echo "$4" >"$d$3"
    printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: gate test %s\n' \
        "$1" "$2" "$1" >"$d/DEBIAN/control"
    (cd "$d" && md5sum "${3#/}") >"$d/DEBIAN/md5sums"
    if [ -n "${5:-}" ]; then
        printf '#!/bin/sh\n%s\n' "$5" >"$d/DEBIAN/preinst"
        chmod 755 "$d/DEBIAN/preinst"
    fi
    fixture dpkg-deb --build --root-owner-group "$d" "$deb"
    hex=$(sha256sum "$deb" | cut -d' ' -f1)
    mkdir -p "$EV/sha256/$hex"
    fixture "$GATE" sign --key "$tmp/repo.key" --bundle "$EV/sha256/$hex/repo.sigstore.json" \
        --output-signature "$EV/sha256/$hex/repo.sig" "$deb"
}
mkdeb good1 1.0 /usr/share/good1/file.txt "good1 one"
mkdeb good2 1.0 /usr/share/good2/file.txt "good2 one"
mkdeb badpre 1.0 /usr/share/badpre/file.txt "never installed" "echo preinst fails >&2; exit 1"
mkdeb owner 1.0 /usr/share/shared/file.txt "the owner's"
mkdeb intruder 1.0 /usr/share/shared/file.txt "the intruder's"
mkdeb up 1.0 /usr/share/up/v1.txt "version one"
mkdeb up 2.0 /usr/share/up/v2.txt "version two"
# noisy: contents that do not compress, with the Installed-Size dpkg's tools
# write: its data.tar is decoded while dpkg unpacks (the background step)
# instead of hashed on disk after dpkg.
mknoisy() {
    local d=$tmp/src/noisy_1.0 deb=$REPO/noisy_1.0_all.deb hex
    mkdir -p "$d/DEBIAN" "$d/usr/share/noisy"
    head -c 300000 /dev/urandom >"$d/usr/share/noisy/blob"
    printf 'Package: noisy\nVersion: 1.0\nArchitecture: all\nInstalled-Size: 293\nMaintainer: t <t@example.org>\nDescription: gate test noisy\n' \
        >"$d/DEBIAN/control"
    (cd "$d" && md5sum usr/share/noisy/blob) >"$d/DEBIAN/md5sums"
    dpkg-deb --build --root-owner-group "$d" "$deb" || return 1
    hex=$(sha256sum "$deb" | cut -d' ' -f1)
    mkdir -p "$EV/sha256/$hex"
    "$GATE" sign --key "$tmp/repo.key" --bundle "$EV/sha256/$hex/repo.sigstore.json" \
        --output-signature "$EV/sha256/$hex/repo.sig" "$deb"
}
fixture mknoisy
write_packages() { # every version of every package (dpkg-scanpackages keeps the newest)
    local f
    for f in "$REPO"/*.deb; do
        dpkg-deb -f "$f" || return 1
        printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$f")" \
            "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
    done >"$REPO/Packages"
}
fixture write_packages

cat >"$tmp/policy.yaml" <<EOF
version: 1
mode: enforce
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
evidence:
  dirs: [$EV]
EOF

# new_root NAME LEDGER [PROTOCOL-VERSION [--root]]: a fresh root with the
# hook (pre-install and post-invoke) installed by `gate hook apt --install`
new_root() {
    make_root "$1" "deb [trusted=yes] file:$REPO ./"
    LEDGER=$2
    local extra=()
    [ "${4:-}" = --root ] && extra=(--root "$ROOT")
    fixture "$GATE" hook apt --install --apt-conf-dir "$ROOT/etc/apt/apt.conf.d" \
        --policy "$tmp/policy.yaml" --ledger "$LEDGER" "${extra[@]}"
    if [ "${3:-3}" != 3 ]; then
        fixture sed -i "s/::Version \"3\";/::Version \"$3\";/" "$ROOT/etc/apt/apt.conf.d/50gate"
    fi
    fixture env APT_CONFIG="$APT_CONFIG" apt-get -q -y update
}

# ---- 1. a failing preinst: allowed, not installed, not recorded ----
new_root r1 "$tmp/r1.db"
check "snippet: post-invoke step" grep -qF "DPkg::Post-Invoke {\"$GATE hook apt --policy $tmp/policy.yaml --ledger $tmp/r1.db --post-invoke\";};" \
    "$ROOT/etc/apt/apt.conf.d/50gate"
# shown_ok PKG PATH: `ledger show` lists PATH with its digest on disk, as
# shipped (no [state]), and the package as allowed at install
shown_ok() {
    local hex
    hex=$(sha256sum "$ROOT$2" | cut -d' ' -f1)
    ledger show "$1" >"$log" 2>&1 && grep -qxF "source: install" "$log" &&
        grep -qE "^  sha256:$hex +[0-9]+ $2\$" "$log"
}
apt_root install good1
check "good1 installed" installed good1
check "good1 recorded" test "$(names)" = good1
check "good1: its file as the .deb ships it" shown_ok good1 /usr/share/good1/file.txt
apt_root install noisy
check "noisy (read from its .deb while dpkg ran): its file as the .deb ships it" \
    shown_ok noisy /usr/share/noisy/blob
apt_root remove noisy
check "noisy removed and forgotten" test "$(names)" = good1
apt_root install badpre
rc=$?
check "preinst: apt fails" test $rc -ne 0
check "preinst: dpkg ran it" logs "preinst fails"
check "preinst: not installed" not installed badpre
check "preinst: the gate says it is not recorded" logs "gate: not recorded: badpre 1.0 all: dpkg did not install it"
check "preinst: not in the ledger" test "$(names)" = good1
ledger lookup /usr/share/badpre/file.txt >"$log" 2>&1
check "preinst: its path is unknown to the ledger" test $? -eq 1

# ---- 2. a file conflict: dpkg refuses the second owner of a path ----
apt_root install owner
check "owner installed" installed owner
apt_root install intruder
rc=$?
check "conflict: apt fails" test $rc -ne 0
check "conflict: dpkg says why" logs "trying to overwrite '/usr/share/shared/file.txt'"
check "conflict: intruder not installed" not installed intruder
check "conflict: intruder not recorded" test "$(names)" = "good1 owner"
ledger verify --root "$ROOT" >"$log" 2>&1
rc=$?
check "conflict: the owner's intact file is not reported modified" test $rc -eq 0
check "conflict: verify checked every file" logs "2 files checked, 0 problems"

# ---- 3. the hook stopped after its commit, before dpkg ----
{
    printf 'VERSION 3\nDir::State::status=%s/var/lib/dpkg/status\n\n' "$ROOT"
    printf 'good2 - - none < 1.0 all none %s/good2_1.0_all.deb\n' "$REPO"
} >"$tmp/t-good2"
"$GATE" hook apt --policy "$tmp/policy.yaml" --ledger "$LEDGER" <"$tmp/t-good2" >"$log" 2>&1
rc=$?
check "killed: pre-install allowed good2" test $rc -eq 0
check "killed: kept as pending" logs "1 to record in $LEDGER once dpkg has installed them"
check "killed: not listed as installed" test "$(names)" = "good1 owner"
ledger show good2 >"$log" 2>&1
check "killed: show does not know it" test $? -eq 1
fixture sh -c 'dpkg-deb --fsys-tarfile "$0" | tar -xO ./usr/share/good2/file.txt >"$1"' \
    "$REPO/good2_1.0_all.deb" "$tmp/good2.file"
ledger lookup "sha256:$(sha256sum "$tmp/good2.file" | cut -d' ' -f1)" >"$log" 2>&1
check "killed: its file's digest vouches for nothing" test $? -eq 1
"$GATE" hook apt --post-invoke --ledger "$LEDGER" >"$log" 2>&1
rc=$?
check "killed: the step after dpkg succeeds" test $rc -eq 0
check "killed: and drops it, naming it" logs "gate: not recorded: good2 1.0 all: dpkg did not install it"
check "killed: still not installed" test "$(names)" = "good1 owner"

# ---- 4. an upgrade replaces the old version's files ----
apt_root install up=1.0
ledger list >"$log" 2>&1
check "up 1.0 recorded" grep -q '^up 1.0 ' "$log"
apt_root install up=2.0
check "up 2.0 installed" installed up
ledger list >"$log" 2>&1
check "upgrade: the ledger has 2.0" grep -q '^up 2.0 ' "$log"
check "upgrade: and not 1.0" not grep -q '^up 1.0 ' "$log"
ledger lookup /usr/share/up/v1.txt >"$log" 2>&1
check "upgrade: the old version's file is gone" test $? -eq 1
ledger lookup /usr/share/up/v2.txt >"$log" 2>&1
check "upgrade: the new version's file is there" logs "up"

# ---- 5. two roots, one ledger: the second is refused ----
new_root a "$tmp/shared.db"
rootA=$ROOT
apt_root install good1
check "shared: root a records good1" test "$(names)" = good1
new_root b "$tmp/shared.db"
apt_root install good2
rc=$?
check "shared: root b refused" test $rc -ne 0
check "shared: says which roots" logs "$tmp/shared.db records the root $rootA (dpkg database $rootA/var/lib/dpkg), not $ROOT (dpkg database $ROOT/var/lib/dpkg)"
check "shared: nothing installed in b" not installed good2
check "shared: root a's packages kept" test "$(names)" = good1
ledger verify --root "$ROOT" >"$log" 2>&1
rc=$?
check "shared: verify on another root fails" test $rc -eq 2
check "shared: verify names both roots" logs "records the root $rootA (dpkg database $rootA/var/lib/dpkg), not $ROOT"
ledger verify --root "$rootA" >"$log" 2>&1
check "shared: verify on its own root passes" test $? -eq 0

# ---- 6. protocol version 1: a removal is forgotten ----
new_root v1 "$tmp/v1.db" 1 --root
apt_root install good1 good2
check "v1: both installed" installed good2
check "v1: both recorded" test "$(names)" = "good1 good2"
apt_root remove good2
check "v1: good2 removed" not installed good2
check "v1: the removal is forgotten" test "$(names)" = good1
check "v1: says so" logs "1 removed package forgotten"

# ---- 7. --no-background: the files hashed on disk after dpkg ----
make_root fg "deb [trusted=yes] file:$REPO ./"
LEDGER=$tmp/fg.db
fixture "$GATE" hook apt --install --apt-conf-dir "$ROOT/etc/apt/apt.conf.d" \
    --policy "$tmp/policy.yaml" --ledger "$LEDGER" --no-background
fixture env APT_CONFIG="$APT_CONFIG" apt-get -q -y update
check "fg: the snippet says --no-background" grep -qF -- "--no-background --post-invoke" "$ROOT/etc/apt/apt.conf.d/50gate"
apt_root install good1
check "fg: good1 recorded" test "$(names)" = good1
check "fg: its file as the .deb's md5sums say" shown_ok good1 /usr/share/good1/file.txt
ledger verify --root "$ROOT" >"$log" 2>&1
check "fg: verify passes" test $? -eq 0

finish test_apt_ledger_e2e
