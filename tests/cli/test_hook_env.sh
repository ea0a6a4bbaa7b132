#!/usr/bin/env bash
# test_hook_env.sh - apt runs `gate hook apt` with its caller's environment;
# none of it may change a decision (flags and files only). One attack per
# variable, each against a control that shows the variable would matter:
#   - GATE_POLICY naming a policy that allows everything, with no --policy
#     (as the snippet cmake installs runs the hook);
#   - GATE_TIME naming a time at which an old signature is still fresh
#     enough for max_age;
#   - GATE_CACHE_DIR naming a cache that still holds a bundle the evidence
#     store has withdrawn;
#   - OPENSSL_CONF naming a configuration under which no digest can be
#     computed (every decision would fail);
#   - MAGIC naming another file-type database.
# And the files a policy names (the policy itself, its trusted root, its
# keys) are read only when regular and never waited on: a FIFO there is
# refused at once instead of hanging apt.
# Signatures come from a private Sigstore instance (tests/tools/
# sigstore_stack.py) at a fixed time, so freshness depends only on "now".
# Env: GATE (the binary), GATE_SOURCE_DIR. Skips (exit 0) without
# python3-cryptography or dpkg-deb.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
src=${GATE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cli_setup /tmp/gate-hook-env.XXXXXX
stack_setup
command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg-deb is missing"; exit 0; }

T=1750000000 # signing time (the log's integrated time is T+1)
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(rfc $((T + 3600))) # one hour after signing: fresh for max_age 1d
iss=https://accounts.example.com
inst=$tmp/instance
fixture "$py" "$stack" init "$inst" --not-before 2025-01-01T00:00:00Z --days 3650

d=$tmp/src/hello
mkdir -p "$d/DEBIAN" "$d/usr/share/hello"
echo "hello" >"$d/usr/share/hello/file.txt"
printf 'Package: hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n' \
    >"$d/DEBIAN/control"
deb=$tmp/hello_1.0_all.deb
fixture dpkg-deb --build --root-owner-group "$d" "$deb"
hex=$(sha256sum "$deb" | cut -d' ' -f1)
mkdir -p "$tmp/store/sha256" "$tmp/empty-store/sha256"
fixture "$py" "$stack" sign "$inst" "$deb" --identity alice@example.com --issuer "$iss" \
    --time "$T" --out "$tmp/store/sha256/$hex.sigstore.json"

# policy FILE STORE: the .deb needs alice's signature, at most a day old.
policy() {
    cat >"$1" <<EOF
version: 1
mode: enforce
trust:
  sigstore: {trusted_root: $inst/trusted_root.json}
signers:
  alice:
    - keyless: {issuer: $iss, identity: alice@example.com}
rules:
  - name: packages need alice
    match: { path: ["**/*.deb"], caller: [apt] }
    require: { signers: alice, max_age: 1d }
  - name: nothing else
    decision: deny
evidence:
  dirs: ["file://$2"]
EOF
}
policy "$tmp/policy.yaml" "$tmp/store"
policy "$tmp/withdrawn.yaml" "$tmp/empty-store"
cat >"$tmp/allow-all.yaml" <<EOF
version: 1
mode: enforce
rules:
  - name: everything
    decision: allow
EOF
printf 'VERSION 3\nAPT::Architecture=amd64\n\nhello - - none < 1.0 all none %s\nhello - - none < 1.0 all none **CONFIGURE**\n' \
    "$deb" >"$tmp/transaction"
hook=("$GATE" hook apt --no-ledger --cache-dir "$tmp/cache")

# ---- controls: the decision does depend on policy, time and store ----
run "control: allowed at --current-time" 0 --in "$tmp/transaction" --err "1 package allowed" -- \
    "${hook[@]}" --policy "$tmp/policy.yaml" --current-time "$NOW"
run "control: too old now" 1 --in "$tmp/transaction" --err "at most 1d old" -- \
    "${hook[@]}" --policy "$tmp/policy.yaml"

# ---- GATE_POLICY ----
if [ -e /etc/gate/policy.yaml ]; then
    echo "SKIP (partly): /etc/gate/policy.yaml exists: the GATE_POLICY case needs its absence"
else
    run "GATE_POLICY is not read: no policy file, said" 0 --in "$tmp/transaction" \
        --err "no policy file: /etc/gate/policy.yaml does not exist" --no-err "allow-all.yaml" -- \
        env GATE_POLICY="$tmp/allow-all.yaml" "${hook[@]}" --current-time "$NOW"
fi

# ---- GATE_TIME ----
run "GATE_TIME is not read: still too old" 1 --in "$tmp/transaction" --err "at most 1d old" -- \
    env GATE_TIME="$NOW" "${hook[@]}" --policy "$tmp/policy.yaml"

# ---- GATE_CACHE_DIR: a cache holding a bundle the store withdrew ----
run "control: the withdrawn bundle is no evidence" 1 --in "$tmp/transaction" \
    --err "no signature found" -- \
    "${hook[@]}" --policy "$tmp/withdrawn.yaml" --current-time "$NOW"
id=$(printf '%s' "file://$tmp/empty-store" | sha256sum | cut -c1-32)
mkdir -p "$tmp/evil-cache/evidence/$id"
cp "$tmp/store/sha256/$hex.sigstore.json" "$tmp/evil-cache/evidence/$id/$hex.sigstore.json"
chmod -R go-rwx "$tmp/evil-cache"
run "control: --cache-dir is where the cache is" 0 --in "$tmp/transaction" -- \
    "$GATE" hook apt --no-ledger --cache-dir "$tmp/evil-cache" --policy "$tmp/withdrawn.yaml" \
    --current-time "$NOW"
run "GATE_CACHE_DIR is not read: the withdrawn bundle stays withdrawn" 1 --in "$tmp/transaction" \
    --err "no signature found" -- \
    env GATE_CACHE_DIR="$tmp/evil-cache" "${hook[@]}" --policy "$tmp/withdrawn.yaml" \
    --current-time "$NOW"
run "--cache-dir must be absolute" 2 --err "absolute" -- "$GATE" hook apt --cache-dir rel

# ---- OPENSSL_CONF: no digest can be fetched under it ----
cat >"$tmp/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
alg_section = evp_properties
[evp_properties]
default_properties = "fips=yes"
EOF
run "control: under that configuration openssl computes no digest" 1 -- \
    env OPENSSL_CONF="$tmp/openssl.cnf" openssl dgst -sha256 "$deb"
run "OPENSSL_CONF is not read: still allowed" 0 --in "$tmp/transaction" --err "1 package allowed" -- \
    env OPENSSL_CONF="$tmp/openssl.cnf" "${hook[@]}" --policy "$tmp/policy.yaml" --current-time "$NOW"

# ---- MAGIC: another file-type database ----
run "MAGIC is not read: still allowed" 0 --in "$tmp/transaction" --err "1 package allowed" -- \
    env MAGIC="$tmp/openssl.cnf" "${hook[@]}" --policy "$tmp/policy.yaml" --current-time "$NOW"

# ---- files the policy names: regular only, never waited on ----
mkfifo "$tmp/policy.fifo" "$tmp/key.fifo" "$tmp/root.fifo"
run "the policy is a FIFO: refused at once" 2 --in "$tmp/transaction" \
    --err "$tmp/policy.fifo" --err "not a regular file" -- \
    timeout 20 "${hook[@]}" --policy "$tmp/policy.fifo"
run "the policy is a device: refused" 2 --in "$tmp/transaction" --err "not a regular file" -- \
    timeout 20 "${hook[@]}" --policy /dev/zero
sed "s|trusted_root: .*}|trusted_root: $tmp/root.fifo}|" "$tmp/policy.yaml" >"$tmp/root-fifo.yaml"
run "the trusted root is a FIFO: refused at once" 2 --in "$tmp/transaction" \
    --err "$tmp/root.fifo" --err "not a regular file" -- \
    timeout 20 "${hook[@]}" --policy "$tmp/root-fifo.yaml"
cat >"$tmp/key-fifo.yaml" <<EOF
version: 1
trust:
  keys:
    k: {file: $tmp/key.fifo}
signers:
  s:
    - key: k
rules:
  - name: r
    require: {signers: s}
EOF
run "a key file is a FIFO: refused at once" 2 --in "$tmp/transaction" \
    --err "$tmp/key.fifo" --err "not a regular file" -- \
    timeout 20 "${hook[@]}" --policy "$tmp/key-fifo.yaml"

# ---- what the hook says ----
# max_age over a signature that carries no signing time (a managed key, no
# log entry): says so instead of only "0 of 1".
fixture "$GATE" keygen --output-key-prefix "$tmp/k"
fixture "$GATE" keygen --output-key-prefix "$tmp/stranger"
mkdir -p "$tmp/keystore/sha256/$hex"
fixture "$GATE" sign --key "$tmp/k.key" --bundle "$tmp/keystore/sha256/$hex/sig.sigstore.json" \
    --output-signature "$tmp/unused.sig" "$deb"
# keypolicy FILE PUBKEY: the .deb needs key k (PUBKEY), at most a day old.
keypolicy() {
    cat >"$1" <<EOF
version: 1
trust:
  keys:
    k: {file: $2}
signers:
  s:
    - key: k
rules:
  - name: packages need k
    match: { path: ["**/*.deb"], caller: [apt] }
    require: { signers: s, max_age: 1d }
evidence:
  dirs: [$tmp/keystore]
EOF
}
keypolicy "$tmp/key.yaml" "$tmp/k.pub"
keypolicy "$tmp/stranger.yaml" "$tmp/stranger.pub"
run "max_age, no signing time: said" 1 --in "$tmp/transaction" \
    --err "0 of 1 are (none carries a signing time: no transparency-log entry or timestamp)" -- \
    "${hook[@]}" --policy "$tmp/key.yaml"
run "signed by a key the policy does not pin: said, with the pinned keys" 1 \
    --in "$tmp/transaction" --err "no key the policy pins (k) verifies it: signed by another key" \
    --no-err "does not verify over the artifact" -- "${hook[@]}" --policy "$tmp/stranger.yaml"
# A hook installed before any policy was written must not break apt: it
# allows, says what to create, how to check it and how to remove the hook,
# and records nothing in the ledger as vouched for.
if [ ! -e /etc/gate/policy.yaml ]; then
    run "no policy file: allowed, with what to do" 0 --in "$tmp/transaction" \
        --err "no policy file: /etc/gate/policy.yaml does not exist" \
        --err "gate policy lint /etc/gate/policy.yaml" --err "gate hook apt --uninstall" \
        --err "nothing is recorded in the ledger" -- \
        "$GATE" hook apt --ledger "$tmp/noplc/ledger.db" --cache-dir "$tmp/cache"
    check "no policy file: no ledger written" test ! -e "$tmp/noplc/ledger.db"
    run "no policy file: post-invoke records nothing" 0 --no-err "recorded" -- \
        "$GATE" hook apt --post-invoke --ledger "$tmp/noplc/ledger.db"
    mkdir -p "$tmp/conf-noplc"
    run "no policy file: install says the hook will only warn" 0 \
        --out "/etc/gate/policy.yaml does not exist" -- \
        "$GATE" hook apt --install --apt-conf-dir "$tmp/conf-noplc"
fi
# A policy file that exists but does not load still refuses (fail closed).
printf 'version: 1\nmode: audit\nrules: [\n' >"$tmp/broken.yaml"
run "broken policy file: refused" 2 --in "$tmp/transaction" --err "$tmp/broken.yaml:" \
    --err "the policy is broken" -- "${hook[@]}" --policy "$tmp/broken.yaml"

# ---- --install carries --cache-dir into the snippet ----
mkdir -p "$tmp/conf"
run "install with --cache-dir" 0 -- \
    "$GATE" hook apt --install --apt-conf-dir "$tmp/conf" --cache-dir /var/cache/gate-x
check "the snippet names the cache folder" grep -qF -- "--cache-dir /var/cache/gate-x" "$tmp/conf/50gate"

finish test_hook_env
