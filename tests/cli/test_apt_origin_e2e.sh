#!/usr/bin/env bash
# test_apt_origin_e2e.sh - the real apt-get with `gate hook apt` in a
# throwaway root (recipe of test_apt_e2e.sh), over a local archive signed
# here with a throwaway OpenPGP key (signed-by, no trusted=yes): a policy
# that trusts only apt-origin evidence (trust.apt_archives, lists in the
# root's /var/lib/apt/lists as apt downloaded them). A package of the
# archive installs; a .deb swapped in the pool after the index was signed
# is refused by apt itself (hash) or by the gate, and nothing is installed.
# Never touches the host's package database. Skips (exit 0) when not root
# or without apt-get, dpkg-deb, gpg, gpgv.
set -u

GATE=${GATE:?GATE must name the gate binary}
GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")

skip() {
    echo "SKIP: $*"
    echo "0 passed, 0 failed"
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root: apt-get and dpkg --root need root"
for t in apt-get dpkg-deb gpg gpgv; do
    command -v $t >/dev/null || skip "$t is missing (packages apt, dpkg, gnupg, gpgv)"
done

tmp=$(mktemp -d /tmp/gate-apt-origin-e2e.XXXXXX) || exit 1
case $tmp in
/tmp/gate-apt-origin-e2e.?*) ;;
*) echo "unexpected temporary directory '$tmp'" >&2; exit 1 ;;
esac
trap 'gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1; [ -n "${KEEP_TMP:-}" ] || rm -rf -- "$tmp"' EXIT

passed=0
failed=0
log=$tmp/.log
ROOT=
APT_CONFIG=

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
not() { ! "$@"; }

guard() {
    : "${ROOT:?ROOT is unset}" "${APT_CONFIG:?APT_CONFIG is unset}"
    case $ROOT in "$tmp"/?*) ;; *) echo "refusing: ROOT=$ROOT is outside $tmp" >&2; exit 1 ;; esac
    case $APT_CONFIG in "$tmp"/?*) ;; *) echo "refusing: APT_CONFIG outside $tmp" >&2; exit 1 ;; esac
    grep -qxF "Dir \"$ROOT/\";" "$APT_CONFIG" || { echo "refusing: $APT_CONFIG is not for $ROOT" >&2; exit 1; }
}
apt_root() {
    guard
    APT_CONFIG=$APT_CONFIG apt-get -q -y "$@" >"$log" 2>&1
}
installed() {
    guard
    [ "$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}' "$1" 2>/dev/null)" = \
        "install ok installed" ]
}

# ---- a signed archive: dists/stable/main/binary-all ----
export GNUPGHOME=$tmp/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "Archive <archive@example.com>" ed25519 sign never 2>/dev/null
gpg --batch --export archive@example.com >"$tmp/archive.gpg" 2>/dev/null

REPO=$tmp/repo
mkdir -p "$REPO/pool" "$REPO/dists/stable/main/binary-all" "$tmp/src"
mkdeb() { # NAME [CONTENT]
    local d=$tmp/src/$1
    rm -rf "$d"
    mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
    echo "${2:-hello from $1}" >"$d/usr/share/$1/file.txt"
    printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: gate test %s\n' \
        "$1" "$1" >"$d/DEBIAN/control"
    dpkg-deb --build --root-owner-group "$d" "$REPO/pool/$1_1.0_all.deb" >/dev/null
}
mkdeb good1
mkdeb good2
mkdeb swapped
for f in "$REPO"/pool/*.deb; do
    dpkg-deb -f "$f"
    printf 'Filename: pool/%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$f")" \
        "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
done >"$REPO/dists/stable/main/binary-all/Packages"
{
    echo "Origin: Local"
    echo "Suite: stable"
    echo "Codename: stable"
    echo "Date: $(date -u -R | sed 's/+0000/UTC/')"
    echo "Valid-Until: $(date -u -R -d '+30 days' | sed 's/+0000/UTC/')"
    echo "Architectures: all"
    echo "Components: main"
    echo "SHA256:"
    p=$REPO/dists/stable/main/binary-all/Packages
    printf ' %s %s %s\n' "$(sha256sum "$p" | cut -d' ' -f1)" "$(stat -c %s "$p")" main/binary-all/Packages
} >"$tmp/Release"
gpg --batch --yes --quiet --clearsign -o "$REPO/dists/stable/InRelease" "$tmp/Release"

ROOT=$tmp/root
APT_CONFIG=$tmp/root.apt.conf
mkdir -p "$ROOT"/etc/apt/apt.conf.d "$ROOT"/etc/apt/sources.list.d \
    "$ROOT"/etc/apt/preferences.d "$ROOT"/var/lib/apt/lists/partial \
    "$ROOT"/var/cache/apt/archives/partial "$ROOT"/var/lib/dpkg/info \
    "$ROOT"/var/lib/dpkg/updates "$ROOT"/var/lib/dpkg/triggers "$ROOT"/var/log "$ROOT"/bin
: >"$ROOT/var/lib/dpkg/status"
cp "$(readlink -f /bin/sh)" "$ROOT/bin/sh"
for lib in $(ldd "$(readlink -f /bin/sh)" | grep -o '/[^ ]*'); do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
done
echo "deb [signed-by=$tmp/archive.gpg] file:$REPO stable main" >"$ROOT/etc/apt/sources.list"
cat >"$APT_CONFIG" <<EOF
Dir "$ROOT/";
Dir::State::status "$ROOT/var/lib/dpkg/status";
APT::Sandbox::User "root";
APT::Architectures { "all"; };
DPkg::Options {"--root=$ROOT"; "--admindir=$ROOT/var/lib/dpkg"; "--log=$ROOT/var/log/dpkg.log";};
EOF
cat >"$tmp/policy.yaml" <<EOF
version: 1
mode: enforce
trust:
  apt_archives:
    local: {keyring: $tmp/archive.gpg, lists: $ROOT/var/lib/apt/lists, origin: Local}
signers:
  archive:
    - apt_archive: local
rules:
  - name: packages from the archive
    match: { type: [application/vnd.debian.binary-package], caller: [apt] }
    require: { signers: archive }
  - name: everything else is denied
    decision: deny
EOF
"$GATE" hook apt --install --apt-conf-dir "$ROOT/etc/apt/apt.conf.d" --policy "$tmp/policy.yaml" \
    --ledger "$ROOT/ledger.db" >"$log" 2>&1 || { echo "FAIL hook --install"; cat "$log"; exit 1; }
apt_root update || { echo "FAIL apt-get update"; cat "$log"; exit 1; }
check "apt stored the signed InRelease" test -n "$(ls "$ROOT"/var/lib/apt/lists/*InRelease 2>/dev/null)"

# ---- 1. the archive's packages install ----
apt_root install good1 good2
rc=$?
check "good: apt exits 0" test $rc -eq 0
check "good: the hook allowed both" grep -qF "2 packages allowed" "$log"
check "good: good1 installed" installed good1
check "good: good2 installed" installed good2

# ---- 2. the gate alone: a .deb not in the index is denied ----
mkdeb stranger
"$GATE" check --caller apt --policy "$tmp/policy.yaml" "$REPO/pool/stranger_1.0_all.deb" >"$log" 2>&1
rc=$?
check "stranger: gate check denies" test $rc -eq 1
check "stranger: not listed" grep -qF "not listed" "$log"
"$GATE" check --caller apt --policy "$tmp/policy.yaml" "$REPO/pool/good1_1.0_all.deb" >"$log" 2>&1
check "good1 from the pool: gate check allows" test $? -eq 0

# ---- 3. a .deb swapped in the pool after signing: nothing installed ----
mkdeb swapped "evil payload"
apt_root install swapped
rc=$?
check "swapped: apt fails" test $rc -ne 0
check "swapped: not installed" not installed swapped

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
