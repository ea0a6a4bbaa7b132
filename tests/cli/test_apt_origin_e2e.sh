#!/usr/bin/env bash
# test_apt_origin_e2e.sh - the real apt-get with `gate hook apt` in a
# throwaway root (recipe of test_apt_e2e.sh), over a local archive signed
# here with a throwaway OpenPGP key (signed-by, no trusted=yes): a policy
# that trusts only apt-origin evidence (trust.apt_archives without a lists
# dir: the hook reads where apt keeps them from apt's configuration, here
# the root's /var/lib/apt/lists). A package of the
# archive installs; a .deb swapped in the pool after the index was signed
# is refused by apt itself (hash) or by the gate, and nothing is installed;
# so is a package apt accepts when the gate's own check fails: the policy's
# keyring lacks the archive's key, the Release is stale (Valid-Until) at the
# time of the decision, the stored InRelease was changed after apt checked
# it (bad signature). Then `gate ledger import dpkg --root` of that root: the archive's packages
# are vouched for (origin, .deb digest from the signed index), a package
# installed with dpkg alone is not, a stale Valid-Until is said; and gated
# in a private mount namespace allows a copy of a binary of an imported
# archive package and denies the dpkg-only one and an unknown one. A file
# changed together with its md5sum fools dpkg's records but not --debs (the
# package's .deb from the cache, checked against the signed index).
# Never touches the host's package database. Skips (exit 0) when not root
# or without apt-get, dpkg-deb, gpg, gpgv (the gated part: without unshare
# or fanotify).
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

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh" # fixture; check is this test's own
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

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt_root.sh"

# ---- a signed archive: dists/stable/main/binary-all ----
export GNUPGHOME=$tmp/gnupg
mkdir -m 700 "$GNUPGHOME"
fixture gpg --batch --quiet --passphrase '' --quick-gen-key "Archive <archive@example.com>" ed25519 sign never
fixture gpg --batch --output "$tmp/archive.gpg" --export archive@example.com

REPO=$tmp/repo
mkdir -p "$REPO/pool" "$REPO/dists/stable/main/binary-all" "$tmp/src"
mkdeb() { # NAME [CONTENT]: a text file and a program (a copy of /bin/true, own digest)
    local d=$tmp/src/$1
    rm -rf "$d"
    mkdir -p "$d/DEBIAN" "$d/usr/share/$1" "$d/usr/bin"
    echo "${2:-hello from $1}" >"$d/usr/share/$1/file.txt"
    cp /bin/true "$d/usr/bin/$1-tool" && printf 'gate test %s\n' "$1" >>"$d/usr/bin/$1-tool"
    printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: gate test %s\n' \
        "$1" "$1" >"$d/DEBIAN/control"
    fixture dpkg-deb --build --root-owner-group "$d" "$REPO/pool/$1_1.0_all.deb"
}
mkdeb good1
mkdeb good2
mkdeb extra1
mkdeb late1
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
fixture gpg --batch --yes --quiet --clearsign -o "$REPO/dists/stable/InRelease" "$tmp/Release"

make_root root "deb [signed-by=$tmp/archive.gpg] file:$REPO stable main" 'APT::Architectures { "all"; };'
cat >"$tmp/policy.yaml" <<EOF
version: 1
mode: enforce
trust:
  apt_archives:
    local: {keyring: $tmp/archive.gpg, origin: Local}
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
# (outside apt nothing says where the lists are: the policy names them)
sed "s|origin: Local}|origin: Local, lists: $ROOT/var/lib/apt/lists}|" "$tmp/policy.yaml" >"$tmp/lists.yaml"
mkdeb stranger
"$GATE" check --caller apt --policy "$tmp/lists.yaml" "$REPO/pool/stranger_1.0_all.deb" >"$log" 2>&1
rc=$?
check "stranger: gate check denies" test $rc -eq 1
check "stranger: not listed" grep -qF "not listed" "$log"
"$GATE" check --caller apt --policy "$tmp/lists.yaml" "$REPO/pool/good1_1.0_all.deb" >"$log" 2>&1
check "good1 from the pool: gate check allows" test $? -eq 0

# ---- 3. a .deb swapped in the pool after signing: nothing installed ----
mkdeb swapped "evil payload"
apt_root install swapped
rc=$?
check "swapped: apt fails" test $rc -ne 0
check "swapped: not installed" not installed swapped

# ---- 3b. the gate re-verifies what apt already accepted ----
# apt trusts the archive (signed-by) and installs; the gate checks the same
# lists itself and denies, with the reason, and nothing is installed:
# (a) the policy's keyring does not hold the archive's key,
cp "$tmp/policy.yaml" "$tmp/policy.good"
fixture gpg --batch --quiet --passphrase '' --quick-gen-key "Other <other@example.com>" ed25519 sign never
fixture gpg --batch --output "$tmp/other.gpg" --export other@example.com
sed -i "s|keyring: $tmp/archive.gpg|keyring: $tmp/other.gpg|" "$tmp/policy.yaml"
# refused WHAT REASON [VAR=VALUE...]: apt-get install extra1 (with those
# variables) fails with the gate's REASON and leaves extra1 uninstalled
refused() {
    local what=$1 reason=$2
    shift 2
    (
        [ $# -gt 0 ] && export "$@"
        apt_root install extra1
    )
    check "$what: apt fails" test $? -ne 0
    check "$what: the gate says why" grep -qF "$reason" "$log"
    check "$what: not installed" not installed extra1
}
refused "key not in the keyring" "signature does not verify with keyring $tmp/other.gpg"
cp "$tmp/policy.good" "$tmp/policy.yaml"
# (b) the Release is stale at the time of the decision (Valid-Until): the
# hook decides as of 60 days later (its --current-time; the environment is
# never read, see below),
later=$(date -u -d '+60 days' +%Y-%m-%dT%H:%M:%SZ)
snippet=$ROOT/etc/apt/apt.conf.d/50gate
cp "$snippet" "$tmp/50gate.good"
sed -i "s| hook apt | hook apt --current-time $later |" "$snippet"
refused "stale Valid-Until" "Release is stale since"
cp "$tmp/50gate.good" "$snippet"
# (c) the InRelease apt stored was changed after apt checked it.
inrel=$(ls "$ROOT"/var/lib/apt/lists/*InRelease | head -1)
cp "$inrel" "$tmp/InRelease.good"
sed -i 's/^Suite: stable$/Suite: stablE/' "$inrel"
refused "bad signature" "signature does not verify"
cp "$tmp/InRelease.good" "$inrel"
# apt passes its caller's environment to the hook: a time at which the
# Release is stale changes nothing.
(
    export GATE_TIME=$later
    apt_root install extra1
)
check "all restored: extra1 installs (GATE_TIME is not read)" installed extra1

# ---- 3c. the hook's ledger follows removals ----
apt_root remove good2
check "good2 removed" not installed good2
check "the removal's own post-invoke step forgets it" grep -qF "1 removed package forgotten" "$log"
apt_root install late1
"$GATE" ledger --db "$ROOT/ledger.db" list >"$log" 2>&1
check "ledger: late1 recorded" grep -q "^late1 " "$log"
check "ledger: good2 no longer there" not grep -q "^good2 " "$log"
check "ledger: good1 still there" grep -q "^good1 " "$log"
"$GATE" ledger --db "$ROOT/ledger.db" show late1 >"$log" 2>&1
check "ledger row of the hook: the signer is labelled apt_archive" \
    grep -qF '"kind":"apt_archive","archive":"local"' "$log"
apt_root install good2
check "good2 back" installed good2

# ---- 4. importing what dpkg installed in the root ----
dpkg_root --log="$ROOT/var/log/dpkg.log" -i "$REPO/pool/stranger_1.0_all.deb" >"$log" 2>&1
check "stranger installed with dpkg alone" installed stranger
idb=$tmp/import.db
imp() { "$GATE" ledger --db "$idb" import dpkg --root "$ROOT" --policy "$tmp/policy.yaml" "$@" >"$log" 2>&1; }
imp
check "import: exit 0" test $? -eq 0
check "import: the archive vouches for good1, good2, extra1, late1" \
    grep -qF "5 imported (4 vouched for by an archive, 1 dpkg only)" "$log"
check "import: stranger has no origin, and why" \
    grep -qE "^no origin: stranger \(stranger 1.0\): archive 'local'.*not listed" "$log"
"$GATE" ledger --db "$idb" show good1 >"$log" 2>&1
check "good1: source archive" grep -qxF "source: archive" "$log"
check "good1: the import labels the signer apt_archive" \
    grep -qF '"kind":"apt_archive","archive":"local"' "$log"
check "good1: origin names the archive and suite" grep -qxF "origin: apt:local Local/stable/main" "$log"
check "good1: the .deb digest is the signed index's" \
    grep -qxF "deb: sha256:$(sha256sum "$REPO/pool/good1_1.0_all.deb" | cut -d' ' -f1)" "$log"
"$GATE" ledger --db "$idb" show stranger >"$log" 2>&1
check "stranger: source dpkg" grep -qxF "source: dpkg" "$log"
imp --force --current-time "$(date -u -d '+60 days' +%Y-%m-%dT%H:%M:%SZ)"
check "stale Release: nothing vouched for" grep -qF "(0 vouched for by an archive, 5 dpkg only)" "$log"
check "stale Release: said" grep -qF "Release is stale since" "$log"
# dpkg's md5sums are not signed: a file changed together with its md5sum
# passes them, but not the comparison with the archive's .deb (--debs)
cache=$tmp/debcache
mkdir -p "$cache"
cp "$REPO/pool/good1_1.0_all.deb" "$REPO/pool/extra1_1.0_all.deb" "$cache/"
cp "$REPO/pool/swapped_1.0_all.deb" "$cache/late1_1.0_all.deb" # not the one the index lists
cp "$ROOT/usr/share/good1/file.txt" "$ROOT/var/lib/dpkg/info/good1.md5sums" "$tmp/"
echo "changed by an intruder" >"$ROOT/usr/share/good1/file.txt"
sum=$(md5sum "$ROOT/usr/share/good1/file.txt" | cut -d' ' -f1)
sed -i "s|^[0-9a-f]*  usr/share/good1/file.txt\$|$sum  usr/share/good1/file.txt|" "$ROOT/var/lib/dpkg/info/good1.md5sums"
imp --force
check "md5sums rewritten too: dpkg's records are fooled" not grep -qF "changed:" "$log"
imp --force --debs "$cache"
check "--debs: the change is found" \
    grep -qF "changed: /usr/share/good1/file.txt (good1 1.0): changed since install: differs from the archive's .deb" "$log"
check "--debs: two packages checked against their .deb" grep -qF "2 packages checked file by file" "$log"
check "--debs: a cached .deb that is not the listed one is said" \
    grep -qF "not checked against its .deb: late1 (late1 1.0): the cached .deb is not the one the archive lists" "$log"
"$GATE" ledger --db "$idb" lookup /usr/share/good1/file.txt >"$log" 2>&1
check "--debs: recorded as changed" grep -qF "[changed, archive]" "$log"
cp "$tmp/file.txt" "$ROOT/usr/share/good1/file.txt"
cp "$tmp/good1.md5sums" "$ROOT/var/lib/dpkg/info/good1.md5sums"
imp --force # back to the vouched state for gated
check "restored: nothing changed" not grep -qF "changed:" "$log"

# ---- 5. gated allows what the import vouched for ----
GATED=${GATE_BUILD_DIR:-$(dirname "$GATE")}/gated
if [ -x "$GATED" ] && command -v unshare >/dev/null && unshare -m --propagation private true 2>/dev/null; then
    printf 'version: 1\nmode: enforce\nrules:\n  - name: everything else is denied\n    decision: deny\n' \
        >"$tmp/deny.yaml"
    cp /bin/true "$tmp/unknown-tool" && printf 'unknown\n' >>"$tmp/unknown-tool"
    # In a private mount namespace: a tmpfs only this test marks; every
    # step bounded; the daemon dies with the namespace.
    cat >"$tmp/inner.sh" <<'EOF'
set -u
tmp=$1 root=$2 gated=$3
mnt=$tmp/mnt
mkdir -p "$mnt" && mount -t tmpfs -o size=16m gate-import-test "$mnt" || { echo "SKIP tmpfs"; exit 0; }
"$gated" --probe --mount "$mnt" >/dev/null 2>&1 || { echo "SKIP fanotify"; exit 0; }
cp "$root/usr/bin/good1-tool" "$root/usr/bin/stranger-tool" "$tmp/unknown-tool" "$mnt/"
"$gated" --policy "$tmp/deny.yaml" --ledger "$tmp/import.db" --mount "$mnt" \
    --status "$tmp/gated.status" --audit "$tmp/gated.audit" 2>"$tmp/gated.err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/gated.status" ] && break; sleep 0.1; done
[ -s "$tmp/gated.status" ] || { echo "FAIL gated did not start:"; cat "$tmp/gated.err"; kill "$pid" 2>/dev/null; exit 1; }
for t in good1-tool stranger-tool unknown-tool; do
    if timeout 10 "$mnt/$t" 2>/dev/null; then echo "ran $t"; else echo "denied $t ($?)"; fi
done
kill -TERM "$pid"; wait "$pid"
EOF
    timeout --kill-after=5 60 unshare -m --propagation private bash "$tmp/inner.sh" "$tmp" "$ROOT" "$GATED" >"$log" 2>&1
    if grep -q '^SKIP' "$log"; then
        echo "skip gated case: $(cat "$log")"
    elif grep -q '^FAIL' "$log"; then
        failed=$((failed + 1))
        cat "$log"
    else
        check "gated: a binary of an imported archive package runs" grep -qxF "ran good1-tool" "$log"
        check "gated: the dpkg-only package's binary is denied" grep -qxF "denied stranger-tool (126)" "$log"
        check "gated: an unknown binary is denied" grep -qxF "denied unknown-tool (126)" "$log"
    fi
else
    echo "skip gated case: gated, unshare or a private mount namespace is unavailable"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
