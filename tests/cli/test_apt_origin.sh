#!/usr/bin/env bash
# test_apt_origin.sh - apt-origin evidence (gate/debian/apt_origin.c): a local apt
# archive signed here with a throwaway OpenPGP key (gpg --clearsign for
# InRelease, gpg --detach-sign for Release.gpg), .debs built with dpkg-deb,
# lists laid out as apt names them; then `gate check --caller apt`: a good
# archive allows, with an InRelease or with Release + Release.gpg (armored or
# binary), in dists/ or flat; a .deb whose digest differs from Packages, a
# Release signed by a key outside the keyring, a Release changed after it was
# signed, a Release without signature, a tampered Packages file and an
# expired Valid-Until deny with the reason; an InRelease takes precedence
# over a Release + Release.gpg; a component constraint never matches a flat
# repository; a threshold over mixed signer kinds (archive + managed keys)
# counts both.
# Env: GATE (the binary), GATE_SOURCE_DIR. Needs gpg and gpgv (package gnupg, gpgv) and
# dpkg-deb (package dpkg); skipped with a message without them.
set -u

GATE=${GATE:?GATE must name the gate binary}
GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")
SRC=${GATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
for t in gpg gpgv dpkg-deb xz gzip sha256sum; do
    if ! command -v "$t" >/dev/null 2>&1; then
        echo "SKIP: $t is missing (install packages gnupg, gpgv, dpkg, xz-utils, gzip)"
        finish
        exit 0
    fi
done
[ -x /usr/bin/gpgv ] || { echo "SKIP: /usr/bin/gpgv missing (package gpgv)"; finish; exit 0; }

tmp=$(mktemp -d)
trap 'gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1; rm -rf -- "$tmp"' EXIT
cd "$tmp" || exit 1

# ---- keys -------------------------------------------------------------------

export GNUPGHOME=$tmp/gnupg
mkdir -m 700 "$GNUPGHOME"
fixture gpg --batch --quiet --passphrase '' --quick-gen-key "Archive Key <archive@example.com>" ed25519 sign never
fixture gpg --batch --quiet --passphrase '' --quick-gen-key "Rogue Key <rogue@example.com>" ed25519 sign never
fixture gpg --batch --output archive.gpg --export "archive@example.com"
fixture gpg --batch --output rogue.gpg --export "rogue@example.com"
fpr=$(gpg --batch --with-colons --list-keys archive@example.com 2>/dev/null | awk -F: '/^fpr:/ {print tolower($10); exit}')

# ---- packages ---------------------------------------------------------------

mkdeb() { # NAME VERSION
    local d=$tmp/src/$1
    mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
    printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: test\n' \
        "$1" "$2" >"$d/DEBIAN/control"
    echo "$1 $2" >"$d/usr/share/$1/data"
    fixture dpkg-deb --root-owner-group -Zgzip --build "$d" "$tmp/pool/${1}_${2}_all.deb"
}
mkdir -p pool
mkdeb hello 1.0
mkdeb other 2.0
mkdeb unlisted 1.0

stanza() { # DEB
    local f=$1 n
    n=$(basename "$f")
    printf 'Package: %s\nVersion: %s\nArchitecture: all\nFilename: pool/%s\nSize: %s\nSHA256: %s\nDescription: test\n continuation line\n\n' \
        "${n%%_*}" "$(echo "$n" | cut -d_ -f2)" "$n" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
}

# mklists DIR KEY VALID-UNTIL [COMPRESSION]: an apt lists dir for suite stable.
mklists() {
    local dir=$1 key=$2 until=$3 comp=${4:-plain} p
    mkdir -p "$dir"
    p=$dir/local_dists_stable_main_binary-all_Packages
    { stanza pool/hello_1.0_all.deb; stanza pool/other_2.0_all.deb; } >"$tmp/Packages.plain"
    case $comp in
        plain) cp "$tmp/Packages.plain" "$p"; rel="main/binary-all/Packages" ;;
        gz) gzip -9nc "$tmp/Packages.plain" >"$p.gz"; p=$p.gz; rel="main/binary-all/Packages.gz" ;;
        xz) xz -c "$tmp/Packages.plain" >"$p.xz"; p=$p.xz; rel="main/binary-all/Packages.xz" ;;
    esac
    {
        echo "Origin: Local"
        echo "Label: Local"
        echo "Suite: stable"
        echo "Codename: test"
        echo "Date: $(date -u -R | sed 's/+0000/UTC/')"
        [ -n "$until" ] && echo "Valid-Until: $until"
        echo "Components: main"
        echo "SHA256:"
        printf ' %s %s %s\n' "$(sha256sum "$p" | cut -d' ' -f1)" "$(stat -c %s "$p")" "$rel"
    } >"$tmp/Release"
    fixture gpg --batch --yes --quiet --local-user "$key" --clearsign -o "$dir/local_dists_stable_InRelease" "$tmp/Release"
}

future=$(date -u -R -d '+30 days' | sed 's/+0000/UTC/')
past=$(date -u -R -d '-2 days' | sed 's/+0000/UTC/')

mklists good archive@example.com "$future"
mklists goodgz archive@example.com "" gz
mklists goodxz archive@example.com "$future" xz
mklists rogue rogue@example.com "$future"
mklists stale archive@example.com "$past"
mklists tampered archive@example.com "$future"
sed -i 's/^Version: 2.0$/Version: 2.1/' tampered/local_dists_stable_main_binary-all_Packages

# mkrel DIR KEY SIG LAYOUT [VALID-UNTIL]: an apt lists dir whose Release is
# signed as SIG: inrelease (clearsigned), armor or binary (Release +
# Release.gpg); LAYOUT dists (suite stable, main/binary-all/Packages) or
# flat ("deb file:/srv/flat ./": a top-level Packages, apt's list
# _srv_flat_._Packages).
mkrel() {
    local dir=$1 key=$2 sig=$3 layout=$4 until=${5:-} prefix rel
    mkdir -p "$dir"
    case $layout in
        dists) prefix=local_dists_stable_; rel=main/binary-all/Packages ;;
        flat) prefix=_srv_flat_._; rel=Packages ;;
    esac
    { stanza pool/hello_1.0_all.deb; stanza pool/other_2.0_all.deb; } >"$dir/$prefix${rel//\//_}"
    {
        echo "Origin: Local"
        echo "Suite: stable"
        echo "Date: $(date -u -R | sed 's/+0000/UTC/')"
        [ -n "$until" ] && echo "Valid-Until: $until"
        echo "SHA256:"
        printf ' %s %s %s\n' "$(sha256sum "$dir/$prefix${rel//\//_}" | cut -d' ' -f1)" \
            "$(stat -c %s "$dir/$prefix${rel//\//_}")" "$rel"
    } >"$tmp/Release"
    case $sig in
        inrelease) fixture gpg --batch --yes --quiet --local-user "$key" --clearsign -o "$dir/${prefix}InRelease" "$tmp/Release" ;;
        twokeys) # as Debian does: signed by two keys (the keyring has only the first)
            fixture gpg --batch --yes --quiet --local-user "$key" --local-user rogue@example.com \
                --clearsign -o "$dir/${prefix}InRelease" "$tmp/Release" ;;
        armor) cp "$tmp/Release" "$dir/${prefix}Release"
            fixture gpg --batch --yes --quiet --local-user "$key" --armor --detach-sign -o "$dir/${prefix}Release.gpg" "$tmp/Release" ;;
        binary) cp "$tmp/Release" "$dir/${prefix}Release"
            fixture gpg --batch --yes --quiet --local-user "$key" --detach-sign -o "$dir/${prefix}Release.gpg" "$tmp/Release" ;;
    esac
}

mkrel detached archive@example.com armor dists "$future"
mkrel detachedbin archive@example.com binary dists
mkrel detachedrogue rogue@example.com armor dists
mkrel detachedstale archive@example.com armor dists "$past"
mkrel detachedmod archive@example.com armor dists
sed -i 's/^Origin: Local$/Origin: Lokal/' detachedmod/local_dists_stable_Release
mkrel unsigned archive@example.com armor dists
rm unsigned/local_dists_stable_Release.gpg
mkrel flat archive@example.com inrelease flat
mkrel twokeys archive@example.com twokeys dists
mkrel flatdetached archive@example.com armor flat
# an InRelease and a Release + Release.gpg for one prefix: the InRelease
# counts, whatever the other says
mkrel precedence archive@example.com inrelease dists
cp detachedrogue/local_dists_stable_Release detachedrogue/local_dists_stable_Release.gpg precedence/
mkrel precedencebad rogue@example.com inrelease dists
cp detached/local_dists_stable_Release detached/local_dists_stable_Release.gpg precedencebad/

# policy NAME LISTS [SUITE]
policy() {
    cat >"$1.yaml" <<EOF
version: 1
trust:
  apt_archives:
    local: {keyring: $tmp/archive.gpg, lists: $tmp/$2${3:+, suite: $3}}
signers:
  archive:
    - apt_archive: local
rules:
  - name: debs from the archive
    match: {caller: [apt]}
    require: {signers: archive}
  - name: the rest
    decision: deny
EOF
}
for l in good goodgz goodxz rogue stale tampered detached detachedbin detachedrogue detachedstale \
    detachedmod unsigned flat flatdetached precedence precedencebad twokeys; do policy "$l" "$l"; done
policy wrongsuite good unstable
policy codename good test

# `gate check` as apt calls it (here in place of lib.sh's check, unused).
check() { "$GATE" check --caller apt --policy "$@"; }

run "good archive: allow" 0 --any allow -- check good.yaml pool/hello_1.0_all.deb
run "good archive: second package" 0 -- check good.yaml pool/other_2.0_all.deb
run "good archive, Packages.gz" 0 -- check goodgz.yaml pool/hello_1.0_all.deb
run "good archive, Packages.xz" 0 -- check goodxz.yaml pool/hello_1.0_all.deb
run "suite by codename" 0 -- check codename.yaml pool/hello_1.0_all.deb
run "two debs in one run" 0 -- check good.yaml pool/hello_1.0_all.deb pool/other_2.0_all.deb
run "json names the archive and the key" 0 --any "$fpr" --any '"signer": "apt_archive"' \
    --any '"archive": "local"' --any '"apt_suite": "stable"' --any '"apt_package": "hello"' -- \
    check good.yaml --format json pool/hello_1.0_all.deb
run "policy explain shows the archive" 0 --any "apt archive" --any "InRelease key: $fpr" -- \
    "$GATE" policy explain --policy good.yaml --caller apt pool/hello_1.0_all.deb
run "deb not in Packages: deny" 1 --any "not listed" -- check good.yaml pool/unlisted_1.0_all.deb
cp pool/hello_1.0_all.deb hello-mod.deb
printf 'x' >>hello-mod.deb
run "deb digest differs from Packages: deny" 1 --any "not listed" -- check good.yaml hello-mod.deb
run "InRelease signed by another key: deny" 1 --any "signature does not verify" -- \
    check rogue.yaml pool/hello_1.0_all.deb
run "tampered Packages: deny" 1 --any "does not match its SHA256" -- \
    check tampered.yaml pool/hello_1.0_all.deb
run "expired Valid-Until: deny, stale" 1 --any "stale since" -- check stale.yaml pool/hello_1.0_all.deb
run "suite constraint: deny" 1 --any "suite" -- check wrongsuite.yaml pool/hello_1.0_all.deb
run "not the apt caller: other rule" 1 --any "the rest" -- \
    "$GATE" check --policy good.yaml pool/hello_1.0_all.deb

# Release + Release.gpg (no InRelease)
run "Release + Release.gpg (armored): allow" 0 --any allow -- check detached.yaml pool/hello_1.0_all.deb
run "Release + Release.gpg: json names the key" 0 --any "$fpr" --any '"apt_component": "main"' -- \
    check detached.yaml --format json pool/other_2.0_all.deb
run "Release + Release.gpg (binary): allow" 0 -- check detachedbin.yaml pool/hello_1.0_all.deb
run "Release + Release.gpg: deb not listed: deny" 1 --any "not listed" -- \
    check detached.yaml pool/unlisted_1.0_all.deb
run "Release.gpg by another key: deny, names the file and keyring" 1 \
    --any "local_dists_stable_Release.gpg: signature does not verify with keyring $tmp/archive.gpg" -- \
    check detachedrogue.yaml pool/hello_1.0_all.deb
run "Release changed after signing: deny" 1 --any "local_dists_stable_Release.gpg: signature does not verify" \
    --any BADSIG -- check detachedmod.yaml pool/hello_1.0_all.deb
run "Release without Release.gpg: deny" 1 --any "local_dists_stable_Release is not signed" -- \
    check unsigned.yaml pool/hello_1.0_all.deb
run "Release + Release.gpg, expired Valid-Until: deny" 1 --any "stale since" -- \
    check detachedstale.yaml pool/hello_1.0_all.deb
run "InRelease takes precedence over a bad Release.gpg" 0 -- check precedence.yaml pool/hello_1.0_all.deb
run "a bad InRelease is not rescued by a good Release.gpg" 1 \
    --any "local_dists_stable_InRelease: signature does not verify" -- \
    check precedencebad.yaml pool/hello_1.0_all.deb

# flat repositories: Packages at the top level, no component
run "InRelease by two keys, keyring holds one: allow, names that key" 0 --any "$fpr" -- \
    check twokeys.yaml --format json pool/hello_1.0_all.deb
run "flat repository (InRelease): allow" 0 --any allow -- check flat.yaml pool/hello_1.0_all.deb
run "flat repository: json has no component" 0 --any '"apt_package": "other"' \
    --no-any apt_component -- check flat.yaml --format json pool/other_2.0_all.deb
run "flat repository (Release.gpg): allow" 0 -- check flatdetached.yaml pool/hello_1.0_all.deb
run "flat repository: deb not listed: deny" 1 --any "not listed" -- check flat.yaml pool/unlisted_1.0_all.deb
policy flatmain flat
sed -i 's|lists: \([^}]*\)}|lists: \1, component: main}|' flatmain.yaml
run "flat repository, component constraint: deny" 1 --any "not listed in a verified Packages index" -- \
    check flatmain.yaml pool/hello_1.0_all.deb
policy detachedmain detached
sed -i 's|lists: \([^}]*\)}|lists: \1, component: main}|' detachedmain.yaml
run "dists repository, component main: allow" 0 -- check detachedmain.yaml pool/hello_1.0_all.deb

# many decisions in parallel share the caches (thread-safe, parsed once)
mkdir many
for i in $(seq 1 40); do cp pool/hello_1.0_all.deb "many/h$i.deb"; cp pool/other_2.0_all.deb "many/o$i.deb"; done
mkdir -p crowded
for i in $(seq 4097); do : >"crowded/p${i}_InRelease"; done
policy crowded crowded
run "more than 4096 Release files: deny, said" 1 --any "holds more than 4096 Release files" -- \
    check crowded.yaml pool/hello_1.0_all.deb
run "80 debs, 4 jobs: all allowed" 0 --any "80 allowed, 0 denied" -- check good.yaml --jobs 4 many

# clearsigned text with unsigned text around it: only the signed part counts
cp -r good inject
{ printf 'Origin: Evil\n\n'; cat good/local_dists_stable_InRelease; } >inject/local_dists_stable_InRelease.new
mv inject/local_dists_stable_InRelease.new inject/local_dists_stable_InRelease
policy inject inject
run "text before the signed part is ignored" 0 -- check inject.yaml pool/hello_1.0_all.deb
policy injectorigin inject
sed -i 's|lists: \([^}]*\)}|lists: \1, origin: Evil}|' injectorigin.yaml
run "unsigned Origin is not believed" 1 --any "origin 'Local'" -- check injectorigin.yaml pool/hello_1.0_all.deb

# policy errors
cat >bad1.yaml <<EOF
version: 1
signers:
  s: [{apt_archive: nope}]
rules: [{name: r, require: {signers: s}}]
EOF
run "unknown archive is a policy error" 2 --any "unknown apt archive" -- check bad1.yaml pool/hello_1.0_all.deb
cat >bad2.yaml <<EOF
version: 1
trust:
  apt_archives:
    local: {keyring: $tmp/missing.gpg}
rules: [{name: r, decision: deny}]
EOF
run "missing keyring is a policy error" 2 --any "missing.gpg" -- check bad2.yaml pool/hello_1.0_all.deb

# ---- threshold over mixed kinds: archive + managed keys ---------------------

fixture "$GATE" keygen --output-key-prefix r1
fixture "$GATE" keygen --output-key-prefix r2
fixture "$GATE" keygen --output-key-prefix r3
mkdeb internal 1.0
sign_into() { # DEB KEY
    local d=$tmp/store/sha256/$(sha256sum "$1" | cut -d' ' -f1)
    mkdir -p "$d"
    fixture "$GATE" sign --key "$2.key" --bundle "$d/$2.sigstore.json" --output-signature "$d/$2.sig" "$1"
}
sign_into pool/internal_1.0_all.deb r1
sign_into pool/internal_1.0_all.deb r2
cp pool/internal_1.0_all.deb one-key.deb
printf 'y' >>one-key.deb
sign_into one-key.deb r3
# threshold 2 over {archive, r1, r2, r3}
cat >mixed.yaml <<EOF
version: 1
trust:
  apt_archives:
    local: {keyring: $tmp/archive.gpg, lists: $tmp/good}
  keys:
    r1: {file: $tmp/r1.pub}
    r2: {file: $tmp/r2.pub}
    r3: {file: $tmp/r3.pub}
signers:
  mixed:
    - apt_archive: local
    - key: r1
    - key: r2
    - key: r3
rules:
  - name: two of archive and release keys
    require: {signers: mixed, threshold: 2}
evidence: {dirs: [$tmp/store]}
EOF
run "mixed: 2 of 3 release keys, not in the archive: allow" 0 -- check mixed.yaml pool/internal_1.0_all.deb
run "mixed: archive alone is 1 of 2: deny" 1 -- check mixed.yaml pool/hello_1.0_all.deb
run "mixed: one key alone: deny" 1 -- check mixed.yaml one-key.deb
sign_into pool/hello_1.0_all.deb r3
run "mixed: archive + one key: allow" 0 -- check mixed.yaml pool/hello_1.0_all.deb

# ---- every signer kind, one label in every output ---------------------------
# A file signed by each kind (apt archive, managed key, X.509 CMS, keyless
# Sigstore), each denied for want of a second signer, so that every output
# shows its signer: gate check's JSON, SARIF and JUnit, the audit log,
# policy explain. Each output must name each kind by its own label.
fixture bash "$SRC/tests/tools/codesign_pki.sh" "$tmp/pki"
fixture python3 "$SRC/tests/tools/sigstore_stack.py" init "$tmp/stack" \
    --not-before "$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)" --days 30
mkdir -p kinds
cp pool/hello_1.0_all.deb kinds/apt_archive.deb
for k in key x509 keyless; do printf '%s\n' "$k" >"kinds/$k.txt"; done
fixture "$GATE" sign --key r1.key kinds/key.txt
fixture openssl cms -sign -binary -in kinds/x509.txt -signer pki/leaf.pem -inkey pki/leaf.key \
    -certfile pki/int.pem -outform DER -out kinds/x509.txt.p7s
fixture python3 "$SRC/tests/tools/sigstore_stack.py" sign "$tmp/stack" kinds/keyless.txt \
    --identity dev@example.com --issuer https://issuer.example.com
cat >kinds.yaml <<EOF
version: 1
trust:
  apt_archives:
    local: {keyring: $tmp/archive.gpg, lists: $tmp/good}
  keys:
    r1: {file: $tmp/r1.pub}
  x509_roots:
    corp: {file: $tmp/pki/root.pem}
  sigstore: {trusted_root: $tmp/stack/trusted_root.json}
signers:
  every-kind:
    - apt_archive: local
    - key: r1
    - x509: {root: corp}
    - keyless: {issuer: "https://issuer.example.com", identity: dev@example.com}
rules:
  - name: two signers
    require: {signers: every-kind, threshold: 2}
audit: {log: $tmp/kinds.jsonl}
EOF
kinds=(apt_archive key x509 keyless)
files=(kinds/apt_archive.deb kinds/key.txt kinds/x509.txt kinds/keyless.txt)
for fmt in json sarif junit; do
    run "kinds: check --format $fmt denies all four" 1 -- check kinds.yaml --format "$fmt" "${files[@]}"
    cp "$tmp/.stdout" "kinds.$fmt"
done
# labels FORMAT: for each file, the kind labels its output gives the file's
# verified signers, one line "FILE LABEL...".
labels() {
    python3 - "$1" <<'PY'
import json, sys, xml.etree.ElementTree as ET
fmt = sys.argv[1]
out = {}
if fmt == "json":
    for r in json.load(open("kinds.json"))["results"]:
        out[r["path"]] = [e["signer"] for e in r["evidence"] if e["verified"]]
elif fmt == "sarif":
    run = json.load(open("kinds.sarif"))["runs"][0]
    for r in run["results"]:
        p = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        out[p] = [e["signer"] for e in r["properties"]["evidence"] if e["verified"]]
elif fmt == "junit":
    for tc in ET.parse("kinds.junit").getroot().iter("testcase"):
        text = "".join(x.text or "" for x in tc)
        out[tc.get("name")] = [l.split(": verified, ")[1].split(",")[0].split(" ")[0]
                               for l in text.splitlines() if ": verified, " in l]
elif fmt == "audit":
    for line in open(sys.argv[2] if len(sys.argv) > 2 else "kinds.jsonl"):
        e = json.loads(line)
        if e["event"] == "decision":
            out[e["path"]] = [s["kind"] for s in e["signers"]]
for p in sorted(out):
    print(p.rsplit("/", 1)[-1], *out[p])
PY
}
# (gate sign leaves a bundle and a .sig: two pieces of evidence by one key)
want=$(printf '%s\n' "apt_archive.deb apt_archive" "key.txt key key" "keyless.txt keyless" \
    "x509.txt x509")
for fmt in json sarif junit audit; do
    got=$(labels "$fmt" 2>&1)
    run "kinds: $fmt labels every signer by its kind" 0 -- test "$got" = "$want"
    [ "$got" = "$want" ] || printf '  got:\n%s\n  want:\n%s\n' "$got" "$want"
done
titles=("apt archive" "managed key" "x509" "keyless")
for i in 0 1 2 3; do
    run "kinds: policy explain names the ${kinds[$i]} signer" 1 --out "signer: ${titles[$i]}" -- \
        "$GATE" policy explain --caller apt --policy kinds.yaml "${files[$i]}"
done

finish
