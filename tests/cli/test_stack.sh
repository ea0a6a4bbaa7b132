#!/usr/bin/env bash
# test_stack.sh - `gate verify` on evidence from a private Sigstore instance
# (tests/tools/sigstore_stack.py): keyless, keyless + RFC 3161, RFC 3161
# only, DSSE and managed key must verify, and each must fail with one byte
# of the artifact changed, a wrong identity, or a log time outside the
# certificate.
#
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_BUILD_DIR.
# Skips (exit 0) when /usr/bin/python3 has no `cryptography` module.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
gate=${GATE:-${GATE_BUILD_DIR:-$src/build}/gate}
py=/usr/bin/python3
stack=$src/tests/tools/sigstore_stack.py

if ! "$py" -c 'import cryptography' 2>/dev/null; then
	echo "SKIP: $py has no cryptography module (apt-get install python3-cryptography)"
	exit 0
fi
if [ ! -x "$gate" ]; then
	echo "gate binary not found at $gate (set GATE)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

# expect CODE DESCRIPTION -- COMMAND...: run COMMAND, compare its exit code.
expect() {
	local want=$1 desc=$2 got out
	shift 3
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" -eq "$want" ]; then
		passed=$((passed + 1))
		echo "ok - $desc"
	else
		failed=$((failed + 1))
		echo "FAIL - $desc: exit $got, want $want"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

# A step that must work for the rest to mean anything.
must() {
	local desc=$1 out
	shift
	if ! out=$("$@" 2>&1); then
		failed=$((failed + 1))
		echo "FAIL - $desc"
		printf '%s\n' "$out" | sed 's/^/    /'
		return 1
	fi
}

# A copy of $1 with one byte in the middle changed.
flipped() {
	cp "$1" "$2" &&
		"$py" -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)' "$2"
}

uri=https://github.com/example/project/.github/workflows/release.yml@refs/heads/main
gh=https://token.actions.githubusercontent.com
mail=dev@example.com
mail_iss=https://accounts.example.com
inst=$tmp/instance
root=$inst/trusted_root.json
art=$tmp/artifact.bin
bad=$tmp/artifact-flipped.bin

head -c 65536 /dev/urandom >"$art"
flipped "$art" "$bad"
must "init the private instance" "$py" "$stack" init "$inst" || {
	echo "$passed passed, $failed failed"
	exit 1
}

# keyless_case NAME IDENTITY ISSUER SIGN-FLAGS...: sign, then expect accept and
# a rejection of the flipped artifact (--no-tlog adds --insecure-ignore-tlog).
keyless_case() {
	local name=$1 id=$2 iss=$3 b=$tmp/$1.sigstore.json
	shift 3
	must "sign $name" "$py" "$stack" sign "$inst" "$art" --identity "$id" --issuer "$iss" \
		--out "$b" "$@" || return
	local extra=()
	case " $* " in *" --no-tlog "*) extra=(--insecure-ignore-tlog) ;; esac
	expect 0 "$name: verifies" -- "$gate" verify --bundle "$b" --certificate-identity "$id" \
		--certificate-oidc-issuer "$iss" --trusted-root "$root" "${extra[@]}" "$art"
	expect 1 "$name: one byte of the artifact changed" -- "$gate" verify --bundle "$b" \
		--certificate-identity "$id" --certificate-oidc-issuer "$iss" --trusted-root "$root" \
		"${extra[@]}" "$bad"
}

keyless_case keyless "$uri" "$gh"
keyless_case keyless-tsa "$mail" "$mail_iss" --tsa
keyless_case tsa-only "$mail" "$mail_iss" --tsa --no-tlog
keyless_case dsse "$uri" "$gh" --dsse
keyless_case dsse-tsa "$mail" "$mail_iss" --dsse --tsa

# Evidence without a log entry is refused unless the caller opts out.
if [ -f "$tmp/tsa-only.sigstore.json" ]; then
	expect 1 "tsa-only: rejected without --insecure-ignore-tlog" -- "$gate" verify \
		--bundle "$tmp/tsa-only.sigstore.json" --certificate-identity "$mail" \
		--certificate-oidc-issuer "$mail_iss" --trusted-root "$root" "$art"
fi

# Identity and issuer are exact matches (S16).
b=$tmp/keyless.sigstore.json
if [ -f "$b" ]; then
	expect 1 "keyless: wrong identity" -- "$gate" verify --bundle "$b" \
		--certificate-identity "${uri/main/evil}" --certificate-oidc-issuer "$gh" \
		--trusted-root "$root" "$art"
	expect 1 "keyless: wrong issuer" -- "$gate" verify --bundle "$b" \
		--certificate-identity "$uri" --certificate-oidc-issuer "$mail_iss" \
		--trusted-root "$root" "$art"
	expect 0 "keyless: identity regexp" -- "$gate" verify --bundle "$b" \
		--certificate-identity-regexp 'https://github\.com/example/.*' \
		--certificate-oidc-issuer "$gh" --trusted-root "$root" "$art"
	# Another instance's trust (S5) and the public-good default both refuse it.
	if must "init a second instance" "$py" "$stack" init "$tmp/other"; then
		expect 1 "keyless: another instance's trusted root" -- "$gate" verify --bundle "$b" \
			--certificate-identity "$uri" --certificate-oidc-issuer "$gh" \
			--trusted-root "$tmp/other/trusted_root.json" "$art"
	fi
	expect 1 "keyless: default public-good root" -- "$gate" verify --bundle "$b" \
		--certificate-identity "$uri" --certificate-oidc-issuer "$gh" "$art"
fi

# Signed two hours ago: the leaf (10 minutes) covers the log time only when
# the entry was integrated right away (S11/S14).
now=$(date +%s)
b=$tmp/old.sigstore.json
if must "sign two hours ago" "$py" "$stack" sign "$inst" "$art" --identity "$uri" \
	--issuer "$gh" --time $((now - 7200)) --out "$b"; then
	expect 0 "signed two hours ago, logged at once: verifies" -- "$gate" verify --bundle "$b" \
		--certificate-identity "$uri" --certificate-oidc-issuer "$gh" --trusted-root "$root" \
		"$art"
fi
b=$tmp/expired.sigstore.json
if must "sign with a log time after the certificate expired" "$py" "$stack" sign "$inst" \
	"$art" --identity "$uri" --issuer "$gh" --time $((now - 7200)) \
	--integrated-time $((now - 3600)) --out "$b"; then
	expect 1 "certificate expired at the log time" -- "$gate" verify --bundle "$b" \
		--certificate-identity "$uri" --certificate-oidc-issuer "$gh" --trusted-root "$root" \
		"$art"
fi

# Managed keys: ECDSA P-256 and RSA, each with its own PEM public key.
for alg in ec rsa; do
	key=$tmp/$alg.key pub=$tmp/$alg.pub b=$tmp/key-$alg.sigstore.json
	if [ $alg = ec ]; then
		genargs=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
	else
		genargs=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048)
	fi
	must "generate a $alg key" openssl genpkey "${genargs[@]}" -out "$key" || continue
	must "extract the $alg public key" openssl pkey -in "$key" -pubout -out "$pub" || continue
	flags=()
	[ $alg = rsa ] && flags=(--tsa)
	must "sign with the $alg key" "$py" "$stack" sign-key "$inst" "$art" --key "$key" \
		--out "$b" "${flags[@]}" || continue
	expect 0 "managed $alg key: verifies" -- "$gate" verify --bundle "$b" --key "$pub" \
		--trusted-root "$root" "$art"
	expect 1 "managed $alg key: one byte of the artifact changed" -- "$gate" verify \
		--bundle "$b" --key "$pub" --trusted-root "$root" "$bad"
done
if [ -f "$tmp/key-ec.sigstore.json" ] && [ -f "$tmp/rsa.pub" ]; then
	expect 1 "managed key: another key" -- "$gate" verify --bundle "$tmp/key-ec.sigstore.json" \
		--key "$tmp/rsa.pub" --trusted-root "$root" "$art"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
