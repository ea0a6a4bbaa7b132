#!/usr/bin/env bash
# codesign_pki.sh DIR - a throwaway X.509 code-signing PKI for the tests,
# made with `openssl req` and `openssl ca`:
#   root.pem   root CA           int.pem   intermediate CA (pathlen 0)
#   leaf       code signer (EKU codeSigning, keyUsage digitalSignature,
#              CRL distribution point $CRL_URL)
#   noeku      signer without the codeSigning EKU
#   noku       signer without a keyUsage extension (unrestricted, RFC 5280)
#   kuenc      signer whose keyUsage is keyEncipherment only
#   expired    signer valid from 60 to 30 days ago
#   revold     signer revoked 10 days ago  (sign at -20d: revoked after)
#   other      signer from another root (other-root.pem)
#   tlsca      an intermediate restricted to serverAuth, and tlsleaf under it
#   tsa-root.pem, tsa.pem/tsa.key   a timestamp authority (EKU timeStamping)
#   int.crl    the intermediate's CRL (PEM; int.crl.der DER) listing revold
# Each signer X has X.key, X.pem (its certificate) and X-chain.pem (X then
# the intermediate). Times: T0 = now; see the validity of each above.
# Env: CRL_URL (default http://127.0.0.1:1/int.crl).
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
CRL_URL=${CRL_URL:-http://127.0.0.1:1/int.crl}
now=$(date -u +%s)
export CANAME=root
d() { date -u -d "@$((now + $1 * 86400))" +%Y%m%d%H%M%SZ; }

cat >ca.cnf <<CNF
[ ca ]
default_ca = CA
[ CA ]
dir = .
database = \$dir/db-\$ENV::CANAME.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial-\$ENV::CANAME
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
default_crl_days = 30
[ anything ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ int_ext ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tlsca_ext ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:release@example.com, URI:https://example.com/release
crlDistributionPoints = URI:$CRL_URL
[ noeku_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ noku_ext ]
basicConstraints = critical, CA:false
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ kuenc_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
mkdir -p newcerts

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
# csr NAME CN
csr() { key "$1"; openssl req -new -key "$1.key" -subj "/O=Gate Test/CN=$2" -out "$1.csr" -config ca.cnf; }
# selfsign NAME CN FROM TO
selfsign() {
	csr "$1" "$2"
	: >"db-$1.txt"
	echo 1000 >"serial-$1"
	CANAME=$1 openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" \
		-out "$1.pem" -extensions root_ext -startdate "$(d "$3")" -enddate "$(d "$4")" \
		-notext
}
# issue CANAME NAME CN EXT FROM TO
issue() {
	csr "$2" "$3"
	CANAME=$1 openssl ca -batch -config ca.cnf -cert "$1.pem" -keyfile "$1.key" -in "$2.csr" \
		-out "$2.pem" -extensions "$4" -startdate "$(d "$5")" -enddate "$(d "$6")" \
		-notext
	if [ "$4" != int_ext ] && [ "$4" != tlsca_ext ]; then
		: >"db-$2.txt"
		echo 2000 >"serial-$2"
	fi
}

selfsign root "Gate Test Root" -100 3650
selfsign other-root "Other Root" -100 3650
selfsign tsa-root "Gate Test TSA Root" -100 3650
issue root int "Gate Test Code Signing CA" int_ext -100 3000
: >db-int.txt
echo 3000 >serial-int
issue root tlsca "Gate Test TLS CA" tlsca_ext -100 3000
: >db-tlsca.txt
echo 4000 >serial-tlsca
issue int leaf "Release Signer" leaf_ext -30 365
issue int noeku "Mail Signer" noeku_ext -30 365
issue int noku "Unrestricted Signer" noku_ext -30 365
issue int kuenc "Encipherment Signer" kuenc_ext -30 365
issue int expired "Expired Signer" leaf_ext -60 -30
issue int revold "Revoked Signer" leaf_ext -30 365
issue other-root other "Other CA Signer" leaf_ext -30 365
issue tlsca tlsleaf "TLS CA Signer" leaf_ext -30 365
issue tsa-root tsa "Gate Test TSA" tsa_ext -100 3650
for x in leaf noeku noku kuenc expired revold; do cat "$x.pem" int.pem >"$x-chain.pem"; done
cp other.pem other-chain.pem
cat tlsleaf.pem tlsca.pem >tlsleaf-chain.pem

# Revoke revold ten days ago: the CA database records the date, openssl ca
# only ever writes "now", so the line is edited.
CANAME=int openssl ca -config ca.cnf -cert int.pem -keyfile int.key -revoke revold.pem \
	-crl_reason keyCompromise
rev=$(date -u -d "@$((now - 10 * 86400))" +%y%m%d%H%M%SZ)
awk -v rev="$rev" 'BEGIN { FS = OFS = "\t" } $1 == "R" { split($3, a, ","); $3 = rev "," a[2] } { print }' \
	db-int.txt >db-int.new && mv db-int.new db-int.txt
echo 01 >crlnumber-int
CANAME=int openssl ca -config ca.cnf -cert int.pem -keyfile int.key -gencrl -out int.crl \
	-crlexts '' || CANAME=int openssl ca -config ca.cnf -cert int.pem \
	-keyfile int.key -gencrl -out int.crl
openssl crl -in int.crl -outform DER -out int.crl.der
# An empty CRL of the root (for the intermediate), for --crl-mode require.
CANAME=root openssl ca -config ca.cnf -cert root.pem -keyfile root.key -gencrl -out root.crl
cat int.crl root.crl >all.crl
cat tsa.pem >tsa-chain.pem
