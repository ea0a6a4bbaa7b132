#!/usr/bin/python3
"""sigstore_stack.py - a self-contained, offline, private Sigstore instance
for tests: a Fulcio-like CA, a Rekor-v1-like log, a CT log and an RFC 3161
TSA, all local keys in one directory. It writes a trusted_root.json and
Sigstore bundles (v0.3) that a verifier following spec/SIGSTORE.md accepts
as fully valid evidence.

TEST ONLY: every private key is stored unencrypted in DIR.

Needs Python 3 with python3-cryptography >= 38 (Debian bookworm) and the
`openssl` command (for `openssl ts`, only with --tsa).

  init DIR [--not-before RFC3339] [--days N]
  sign DIR ARTIFACT --identity ID --issuer URL [--out BUNDLE] [--time UNIX]
       [--integrated-time UNIX] [--tsa] [--no-tlog]
       [--dsse [--predicate-type URI] [--predicate JSON]]
       [--key-type p256|p384] [--ext NAME=VALUE]...
  sign-key DIR ARTIFACT --key PRIVPEM [--out BUNDLE] [--time UNIX]
       [--tsa] [--no-tlog] [--dsse]

Layout of DIR: trusted_root.json, stack.json (instance parameters),
{fulcio-root,fulcio-intermediate,rekor,ctlog,tsa-root,tsa}.key (PKCS#8 PEM),
{fulcio-root,fulcio-intermediate,tsa-root,tsa}.pem, tsa.serial.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

from cryptography import x509

import tsa_server  # tests/tools: the `openssl ts` configuration
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

REKOR_URL = "https://rekor.test.invalid"
REKOR_HOST = "rekor.test.invalid"
REKOR_TREE_ID = 1234
CT_URL = "https://ctfe.test.invalid/test"
FULCIO_URL = "https://fulcio.test.invalid"
TSA_URL = "https://tsa.test.invalid/api/v1/timestamp"
ORG = "sigstore.test"

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
INTOTO_TYPE = "application/vnd.in-toto+json"

OID_FULCIO_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OID_FULCIO_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OID_SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")

LEAF_LIFETIME = 600  # Fulcio: 10 minutes

# Fulcio's extensions under 1.3.6.1.4.1.57264.1 by the name gate's facts
# give them: 1.2-1.6 hold raw text, 1.9 onwards a DER UTF8String.
FULCIO_EXTS = {
    "github_workflow_trigger": 2, "github_workflow_sha": 3, "github_workflow_name": 4,
    "github_workflow_repository": 5, "github_workflow_ref": 6, "build_signer_uri": 9,
    "build_signer_digest": 10, "runner_environment": 11, "source_repository_uri": 12,
    "source_repository_digest": 13, "source_repository_ref": 14,
    "source_repository_identifier": 15, "source_repository_owner_uri": 16,
    "source_repository_owner_identifier": 17, "build_config_uri": 18,
    "build_config_digest": 19, "build_trigger": 20,
    "source_repository_visibility_at_signing": 22,
}


def die(msg):
    sys.stderr.write("sigstore_stack: %s\n" % msg)
    sys.exit(2)


# ---- small encoders ----

def b64(data):
    return base64.b64encode(data).decode("ascii")


def der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_octet_string(content):
    return der_tlv(0x04, content)


def der_utf8_string(text):
    return der_tlv(0x0C, text.encode("utf-8"))


def u(n, width):
    return n.to_bytes(width, "big")


def canonical_json(obj):
    """Compact JSON with sorted keys: what Rekor's canonicalizer and RFC 8785
    produce for the ASCII-only objects used here."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode("utf-8")


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    try:
        d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        die("not an RFC 3339 time: %r" % s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def utc(ts):
    # cryptography 38 takes naive datetimes as UTC.
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).replace(tzinfo=None)


# ---- keys and files ----

def spki_der(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def pub_pem(pub):
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def cert_der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def log_id(pub):
    return hashlib.sha256(spki_der(pub)).digest()


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def save_key(path, key):
    write_file(path, key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)


def load_key(path):
    try:
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError) as e:
        die("cannot load private key %s: %s" % (path, e))


def load_cert(path):
    try:
        with open(path, "rb") as f:
            return x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError) as e:
        die("cannot load certificate %s: %s" % (path, e))


def ecdsa_sign(key, data, algo=None):
    return key.sign(data, ec.ECDSA(algo or hashes.SHA256()))


def sha256_file(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
    except OSError as e:
        die("cannot read %s: %s" % (path, e))
    return h.digest()


# ---- certificates ----

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ca_cert(subject, key, issuer_name, issuer_key, nb, na, path_len, eku=None,
            sign_hash=hashes.SHA384()):
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(utc(nb))
         .not_valid_after(utc(na))
         .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False,
                                      decipher_only=False), critical=True)
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False))
    if issuer_key is not key:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(issuer_key, sign_hash)


def tsa_leaf_cert(key, root_cert, root_key, nb, na):
    return (x509.CertificateBuilder()
            .subject_name(name("sigstore-tsa"))
            .issuer_name(root_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(utc(nb))
            .not_valid_after(utc(na))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))


def sct_list_ext(ct_key, ct_log_id, issuer_pub, tbs, ts_ms):
    """An RFC 6962 §3.3 embedded SCT list (extnValue = OCTET STRING of the
    TLS SignedCertificateTimestampList) with one precert SCT over tbs."""
    signed = (b"\x00"                      # sct_version v1
              + b"\x00"                    # signature_type certificate_timestamp
              + u(ts_ms, 8)
              + u(1, 2)                    # entry_type precert_entry
              + hashlib.sha256(spki_der(issuer_pub)).digest()
              + u(len(tbs), 3) + tbs
              + u(0, 2))                   # no extensions
    sig = ecdsa_sign(ct_key, signed)
    sct = (b"\x00" + ct_log_id + u(ts_ms, 8) + u(0, 2)
           + b"\x04\x03"                   # sha256, ecdsa
           + u(len(sig), 2) + sig)
    entries = u(len(sct), 2) + sct
    return der_octet_string(u(len(entries), 2) + entries)


def fulcio_exts(pairs):
    """NAME=VALUE strings (--ext) as certificate extensions."""
    out = []
    for p in pairs or []:
        name, sep, value = p.partition("=")
        if not sep or name not in FULCIO_EXTS:
            die("--ext wants NAME=VALUE with NAME one of %s" % ", ".join(sorted(FULCIO_EXTS)))
        arc = FULCIO_EXTS[name]
        raw = value.encode("utf-8") if arc <= 6 else der_utf8_string(value)
        out.append(x509.UnrecognizedExtension(
            ObjectIdentifier("1.3.6.1.4.1.57264.1.%d" % arc), raw))
    return out


def fulcio_leaf(st, pub, identity, issuer, t, exts=()):
    """A Fulcio-style leaf for pub, valid [t, t+10min], with an embedded
    SCT over the TBS of this very certificate without the SCT extension."""
    inter_key = load_key(st.path("fulcio-intermediate.key"))
    inter = load_cert(st.path("fulcio-intermediate.pem"))
    ct_key = load_key(st.path("ctlog.key"))
    if "@" in identity and ":" not in identity:
        san = x509.RFC822Name(identity)
    else:
        san = x509.UniformResourceIdentifier(identity)
    serial = x509.random_serial_number()

    def builder():
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(inter.subject)
                .public_key(pub)
                .serial_number(serial)
                .not_valid_before(utc(t))
                .not_valid_after(utc(t + LEAF_LIFETIME))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                               critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    inter_key.public_key()), critical=False)
                .add_extension(x509.SubjectAlternativeName([san]), critical=True)
                .add_extension(x509.UnrecognizedExtension(OID_FULCIO_ISSUER_V1,
                                                          issuer.encode("utf-8")),
                               critical=False)
                .add_extension(x509.UnrecognizedExtension(OID_FULCIO_ISSUER_V2,
                                                          der_utf8_string(issuer)),
                               critical=False))

    def builder_with_exts():
        b = builder()
        for e in exts:
            b = b.add_extension(e, critical=False)
        return b

    precert = builder_with_exts().sign(inter_key, hashes.SHA384())
    tbs = precert.tbs_certificate_bytes
    ext = sct_list_ext(ct_key, log_id(ct_key.public_key()), inter_key.public_key(), tbs,
                       int(t) * 1000)
    leaf = builder_with_exts().add_extension(x509.UnrecognizedExtension(OID_SCT_LIST, ext),
                                   critical=False).sign(inter_key, hashes.SHA384())
    # The SCT list is appended last, so dropping it gives the signed TBS back.
    exts = leaf.extensions
    if exts[len(exts) - 1].oid != OID_SCT_LIST:
        die("internal error: the SCT extension is not last")
    return leaf


# ---- the instance directory ----

class Stack:
    def __init__(self, d):
        self.dir = d
        try:
            with open(self.path("stack.json")) as f:
                self.meta = json.load(f)
        except (OSError, ValueError) as e:
            die("%s is not an initialised stack (run init): %s" % (d, e))

    def path(self, n):
        return os.path.join(self.dir, n)


def cmd_init(a):
    now = int(time.time())
    nb = parse_rfc3339(a.not_before) if a.not_before else now - 86400
    if a.days <= 0:
        die("--days must be positive")
    na = nb + a.days * 86400
    os.makedirs(a.dir, exist_ok=True)
    p = lambda n: os.path.join(a.dir, n)  # noqa: E731

    root_key = ec.generate_private_key(ec.SECP384R1())
    inter_key = ec.generate_private_key(ec.SECP384R1())
    rekor_key = ec.generate_private_key(ec.SECP256R1())
    ct_key = ec.generate_private_key(ec.SECP256R1())
    tsa_root_key = ec.generate_private_key(ec.SECP256R1())
    tsa_key = ec.generate_private_key(ec.SECP256R1())

    root = ca_cert(name("sigstore"), root_key, name("sigstore"), root_key, nb, na, 1)
    inter = ca_cert(name("sigstore-intermediate"), inter_key, root.subject, root_key, nb, na,
                    0, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    tsa_root = ca_cert(name("sigstore-tsa-selfsigned"), tsa_root_key,
                       name("sigstore-tsa-selfsigned"), tsa_root_key, nb, na, 0,
                       sign_hash=hashes.SHA256())
    tsa = tsa_leaf_cert(tsa_key, tsa_root, tsa_root_key, nb, na)

    for n, k in (("fulcio-root", root_key), ("fulcio-intermediate", inter_key),
                 ("rekor", rekor_key), ("ctlog", ct_key), ("tsa-root", tsa_root_key),
                 ("tsa", tsa_key)):
        save_key(p(n + ".key"), k)
    for n, c in (("fulcio-root", root), ("fulcio-intermediate", inter),
                 ("tsa-root", tsa_root), ("tsa", tsa)):
        write_file(p(n + ".pem"), cert_pem(c))

    # `openssl ts -reply` advances this serial; its config is written per
    # call (tsa_config) so that DIR can be moved.
    write_file(p("tsa.serial"), b"01\n")

    start = rfc3339(nb)

    def tlog(url, key):
        return {
            "baseUrl": url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(spki_der(key.public_key())),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": start},
            },
            "logId": {"keyId": b64(log_id(key.public_key()))},
        }

    trusted_root = {
        "mediaType": ROOT_MEDIA_TYPE,
        "tlogs": [tlog(REKOR_URL, rekor_key)],
        "certificateAuthorities": [{
            "subject": {"organization": ORG, "commonName": "sigstore"},
            "uri": FULCIO_URL,
            "certChain": {"certificates": [{"rawBytes": b64(cert_der(inter))},
                                           {"rawBytes": b64(cert_der(root))}]},
            "validFor": {"start": start},
        }],
        "ctlogs": [tlog(CT_URL, ct_key)],
        "timestampAuthorities": [{
            "subject": {"organization": ORG, "commonName": "sigstore-tsa-selfsigned"},
            "uri": TSA_URL,
            "certChain": {"certificates": [{"rawBytes": b64(cert_der(tsa))},
                                           {"rawBytes": b64(cert_der(tsa_root))}]},
            "validFor": {"start": start},
        }],
    }
    write_file(p("trusted_root.json"),
               (json.dumps(trusted_root, indent=2) + "\n").encode())
    write_file(p("stack.json"), (json.dumps({
        "not_before": nb, "not_after": na, "rekor_origin": "%s - %d" % (REKOR_HOST,
                                                                         REKOR_TREE_ID),
    }, indent=2) + "\n").encode())
    print(p("trusted_root.json"))


# ---- Rekor v1 ----

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 6962 §2.1 Merkle Tree Hash over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m, leaves):
    """RFC 6962 §2.1.1 PATH(m, D[n]), leaf side first."""
    if len(leaves) == 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def tlog_entry(st, body, kind, integrated_time):
    """Log body as one leaf of a small synthetic tree; returns the bundle's
    TransparencyLogEntry with SET, inclusion proof and signed checkpoint."""
    rekor_key = load_key(st.path("rekor.key"))
    lid = log_id(rekor_key.public_key())
    size = 3 + secrets.randbelow(9)
    index = secrets.randbelow(size)
    leaves = [leaf_hash(secrets.token_bytes(64)) for _ in range(size)]
    leaves[index] = leaf_hash(body)
    root = mth(leaves)
    path = audit_path(index, leaves)
    # Rekor v1 reports a global index across shards and a shard-local one
    # in the proof; keep them different like the real log does.
    global_index = 4000000 + secrets.randbelow(1000000) * 8 + index
    body_b64 = b64(body)
    set_payload = canonical_json({
        "body": body_b64,
        "integratedTime": integrated_time,
        "logID": lid.hex(),
        "logIndex": global_index,
    })
    set_sig = ecdsa_sign(rekor_key, set_payload)
    text = "%s\n%d\n%s\n" % (st.meta["rekor_origin"], size, b64(root))
    note_sig = ecdsa_sign(rekor_key, text.encode())
    checkpoint = "%s\n\u2014 %s %s\n" % (text, REKOR_HOST, b64(lid[:4] + note_sig))
    return {
        "logIndex": str(global_index),
        "logId": {"keyId": b64(lid)},
        "kindVersion": {"kind": kind, "version": "0.0.1"},
        "integratedTime": str(integrated_time),
        "inclusionPromise": {"signedEntryTimestamp": b64(set_sig)},
        "inclusionProof": {
            "logIndex": str(index),
            "rootHash": b64(root),
            "treeSize": str(size),
            "hashes": [b64(h) for h in path],
            "checkpoint": {"envelope": checkpoint},
        },
        "canonicalizedBody": body_b64,
    }


def hashedrekord_body(digest, sig, verifier_pem):
    return canonical_json({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(verifier_pem)}},
        },
    })


def dsse_body(envelope, payload, sig, verifier_pem):
    env_hash = hashlib.sha256(canonical_json(envelope)).hexdigest()
    return canonical_json({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": env_hash},
            "payloadHash": {"algorithm": "sha256",
                            "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": b64(sig), "verifier": b64(verifier_pem)}],
        },
    })


# ---- RFC 3161 ----

def tsa_config(st):
    return tsa_server.config(st.dir, policy="1.3.6.1.4.1.57264.2", chain=False,
                             digests="sha256, sha384, sha512").encode()


def rfc3161(st, sig):
    """A DER TimeStampResp from the stack's TSA over SHA-256(sig). genTime
    is the current clock: `openssl ts -reply` cannot backdate."""
    with tempfile.TemporaryDirectory(prefix="sigstore-stack-tsa.") as tmp:
        sigf, q, r, cnf = (os.path.join(tmp, n)
                           for n in ("sig", "query.tsq", "resp.tsr", "tsa.cnf"))
        write_file(sigf, sig)
        write_file(cnf, tsa_config(st))
        for argv in (["openssl", "ts", "-query", "-data", sigf, "-sha256", "-cert", "-out", q],
                     ["openssl", "ts", "-reply", "-config", cnf,
                      "-queryfile", q, "-out", r]):
            try:
                res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as e:
                die("cannot run openssl: %s" % e)
            if res.returncode != 0:
                die("%s failed: %s" % (" ".join(argv[:3]),
                                       res.stderr.decode(errors="replace").strip()))
        with open(r, "rb") as f:
            return f.read()


# ---- signing ----

def sign_common(st, a, key, verifier_pem, material, hash_and_sign):
    """Shared tail of sign and sign-key: the content (message signature or
    DSSE), log entry, timestamp and bundle."""
    t = int(a.time) if a.time is not None else int(time.time())
    integrated = int(a.integrated_time) if getattr(a, "integrated_time", None) is not None \
        else t + 1
    digest = sha256_file(a.artifact)
    bundle = {"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": material}
    if a.dsse:
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": os.path.basename(a.artifact),
                         "digest": {"sha256": digest.hex()}}],
            "predicateType": a.predicate_type or "https://sigstore.test.invalid/predicate/v1",
            "predicate": {"builder": "sigstore_stack.py"},
        }
        if a.predicate:
            with open(a.predicate) as f:
                statement["predicate"] = json.load(f)
        payload = canonical_json(statement)
        pae = b"DSSEv1 %d %s %d %s" % (len(INTOTO_TYPE), INTOTO_TYPE.encode(), len(payload),
                                       payload)
        sig = hash_and_sign(hashlib.sha256(pae).digest())
        envelope = {"payload": b64(payload), "payloadType": INTOTO_TYPE,
                    "signatures": [{"sig": b64(sig)}]}
        bundle["dsseEnvelope"] = envelope
        body, kind = dsse_body(envelope, payload, sig, verifier_pem), "dsse"
    else:
        sig = hash_and_sign(digest)
        bundle["messageSignature"] = {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
            "signature": b64(sig),
        }
        body, kind = hashedrekord_body(digest, sig, verifier_pem), "hashedrekord"
    if not a.no_tlog:
        material["tlogEntries"] = [tlog_entry(st, body, kind, integrated)]
    if a.tsa:
        if abs(t - time.time()) > LEAF_LIFETIME / 2:
            sys.stderr.write("sigstore_stack: warning: --tsa stamps the current time, "
                             "which is outside this --time's certificate window\n")
        material["timestampVerificationData"] = {
            "rfc3161Timestamps": [{"signedTimestamp": b64(rfc3161(st, sig))}]}
    elif a.no_tlog:
        sys.stderr.write("sigstore_stack: warning: --no-tlog without --tsa: the bundle "
                         "has no signing time and will not verify\n")
    out = a.out or a.artifact + ".sigstore.json"
    write_file(out, (json.dumps(bundle, indent=2) + "\n").encode())
    print(out)


def ecdsa_prehashed_signer(key):
    def sign(digest):
        return key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    return sign


def cmd_sign(a):
    st = Stack(a.dir)
    t = int(a.time) if a.time is not None else int(time.time())
    a.time = t
    # --key-type p384: a P-384 leaf that still signs a SHA-256 digest (with a
    # SHA2_256 messageDigest), as sigstore-python's bundles of 2023 did.
    key = ec.generate_private_key(ec.SECP384R1() if a.key_type == "p384" else ec.SECP256R1())
    leaf = fulcio_leaf(st, key.public_key(), a.identity, a.issuer, t, fulcio_exts(a.ext))
    material = {"certificate": {"rawBytes": b64(cert_der(leaf))}}
    sign_common(st, a, key, cert_pem(leaf), material, ecdsa_prehashed_signer(key))


def cmd_sign_key(a):
    st = Stack(a.dir)
    key = load_key(a.key)
    pub = key.public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            die("managed keys: ECDSA P-256 or RSA only (got %s)" % key.curve.name)
        signer = ecdsa_prehashed_signer(key)
    elif isinstance(key, rsa.RSAPrivateKey):
        def signer(digest):
            return key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    else:
        die("managed keys: ECDSA P-256 or RSA only")
    material = {"publicKey": {"hint": b64(hashlib.sha256(spki_der(pub)).digest())}}
    sign_common(st, a, key, pub_pem(pub), material, signer)


def main(argv):
    ap = argparse.ArgumentParser(prog="sigstore_stack.py",
                                 description="Private offline Sigstore instance (tests only).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init", help="create the CA, logs, TSA and trusted_root.json")
    p.add_argument("dir")
    p.add_argument("--not-before", help="start of all validity (RFC 3339; default now-1d)")
    p.add_argument("--days", type=int, default=365, help="CA/TSA lifetime (default 365)")
    p.set_defaults(fn=cmd_init)

    def common(p):
        p.add_argument("dir")
        p.add_argument("artifact")
        p.add_argument("--out", help="bundle path (default ARTIFACT.sigstore.json)")
        p.add_argument("--time", type=int, help="signing time, unix seconds (default now)")
        p.add_argument("--tsa", action="store_true", help="add an RFC 3161 timestamp")
        p.add_argument("--no-tlog", action="store_true", help="omit tlogEntries")
        p.add_argument("--dsse", action="store_true", help="in-toto Statement in DSSE")
        p.add_argument("--predicate-type", help="with --dsse: the statement's predicateType")
        p.add_argument("--predicate", help="with --dsse: a JSON file, the statement's predicate")

    p = sub.add_parser("sign", help="keyless bundle (Fulcio-style certificate)")
    common(p)
    p.add_argument("--identity", required=True, help="SAN: URI, or email if it has '@'")
    p.add_argument("--issuer", required=True, help="OIDC issuer URL")
    p.add_argument("--integrated-time", type=int,
                   help="log integratedTime, unix seconds (default --time + 1)")
    p.add_argument("--key-type", choices=("p256", "p384"), default="p256",
                   help="the leaf's ECDSA curve (default p256); either signs a SHA-256 digest")
    p.add_argument("--ext", action="append", metavar="NAME=VALUE",
                   help="a Fulcio extension in the certificate (repeatable), by its name "
                        "in gate's facts: github_workflow_ref, source_repository_uri, ...")
    p.set_defaults(fn=cmd_sign)
    p = sub.add_parser("sign-key", help="managed-key bundle")
    common(p)
    p.add_argument("--key", required=True, help="PEM private key (ECDSA P-256 or RSA)")
    p.add_argument("--integrated-time", type=int,
                   help="log integratedTime, unix seconds (default --time + 1)")
    p.set_defaults(fn=cmd_sign_key)
    a = ap.parse_args(argv)
    a.fn(a)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
