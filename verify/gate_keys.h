/*
 * gate_keys.h - key algorithms, signature checks and the artifact model:
 * what gate/sign.c needs to sign what verify/ checks, and what the TUF
 * client (tuf.h) names. Internal to libgate (never installed).
 */
#ifndef GATE_VERIFY_GATE_KEYS_H
#define GATE_VERIFY_GATE_KEYS_H

#include "gate_util.h"

#include <openssl/evp.h>

/* ---- keys and signatures (keys.c) ---- */

/* Signature algorithm of a key as the trusted root's keyDetails names it. */
enum gate_keyalg {
	GATE_ALG_UNKNOWN = 0,
	GATE_ALG_ECDSA_P256_SHA256,
	GATE_ALG_ECDSA_P384_SHA384,
	GATE_ALG_ECDSA_P521_SHA512,
	GATE_ALG_ED25519,
	GATE_ALG_RSA_PKCS1_SHA256,
	GATE_ALG_RSA_PKCS1_SHA384,
	GATE_ALG_RSA_PKCS1_SHA512,
	GATE_ALG_RSA_PSS_SHA256,
	GATE_ALG_RSA_PSS_SHA384,
	GATE_ALG_RSA_PSS_SHA512,
};

struct gate_pubkey {
	EVP_PKEY *pkey;
	enum gate_keyalg alg;
	uint8_t *spki; /* DER SubjectPublicKeyInfo */
	size_t spki_len;
};

/* keyDetails name → algorithm; GATE_ALG_UNKNOWN when not recognised. */
enum gate_keyalg gate_keyalg_from_name(const char *name);
/* Default algorithm for a bare key: ECDSA curve's hash, Ed25519,
 * RSA PKCS#1 v1.5 SHA-256. */
enum gate_keyalg gate_keyalg_default(EVP_PKEY *pkey);
/* The message digest an algorithm uses (NULL for Ed25519). */
const EVP_MD *gate_keyalg_md(enum gate_keyalg alg);
/* Take ownership of pkey; fills spki. */
enum gate_err gate_pubkey_wrap(EVP_PKEY *pkey, enum gate_keyalg alg, struct gate_pubkey **out,
			       struct gate_error *err);
/* Verify sig over msg (the whole message; hashed inside as alg says).
 * Returns GATE_OK or GATE_E_SIGNATURE. */
enum gate_err gate_sig_verify_msg(EVP_PKEY *key, enum gate_keyalg alg, const uint8_t *msg,
				  size_t msglen, const uint8_t *sig, size_t siglen);
/* Whether alg signs a digest of any SHA-2 hash (ECDSA: the signature is
 * over a digest, whatever hash made it), not only its own. */
bool gate_keyalg_any_digest(enum gate_keyalg alg);
/* Verify sig given the message's digest under md: gate_keyalg_md(alg), or
 * for ECDSA (gate_keyalg_any_digest) any of SHA-256/384/512. Returns GATE_OK
 * or GATE_E_SIGNATURE. */
enum gate_err gate_sig_verify_digest_md(EVP_PKEY *key, enum gate_keyalg alg, const EVP_MD *md,
					const uint8_t *dgst, size_t dlen, const uint8_t *sig,
					size_t siglen);
/* Verify sig given the message's digest under gate_keyalg_md(alg) (not for
 * Ed25519). Returns GATE_OK or GATE_E_SIGNATURE. */
enum gate_err gate_sig_verify_digest(EVP_PKEY *key, enum gate_keyalg alg, const uint8_t *dgst,
				     size_t dlen, const uint8_t *sig, size_t siglen);
/* Whether a bundle carries public-key material instead of a certificate:
 * a managed-key signature, which verifies only against a key the caller
 * names (gate_verify_opts.key, S19). */
bool gate_bundle_has_pubkey_material(const struct gate_bundle *b);
/* DER SPKI of a key (malloc'd). */
enum gate_err gate_pkey_spki(EVP_PKEY *key, uint8_t **out, size_t *len);

/* ---- artifact (artifact.c) ---- */

struct gate_artifact {
	int fd;	    /* the one open descriptor every pass reads; -1 digest-only */
	char *path; /* for messages */
	bool digest_only;
	uint8_t sha256[32];
	uint64_t size;
	/* the file as fstat saw it before the first read */
	uint64_t dev, ino;
	int64_t mtime_ns, ctime_ns;
};

/* Whether the file is still as it was before the first read: same device,
 * inode, size, mtime and ctime (nanoseconds; Linux 6.13+ gives a change
 * after an fstat a ctime of its own). Readers that do not hash what they
 * read (libmagic, the X.509 formats) are covered by asking this once they
 * are done. Digest-only artifacts are always unchanged. */
bool gate_artifact_unchanged(const struct gate_artifact *a);

/* Digest of the artifact under md (SHA-256 cached; others streamed again). */
enum gate_err gate_artifact_digest(const struct gate_artifact *a, const EVP_MD *md, uint8_t *out,
				   size_t *outlen, struct gate_error *err);
/* Verify sig over the raw artifact with key/alg (streams for prehash
 * algorithms, maps the file for Ed25519). */
enum gate_err gate_artifact_verify_sig(const struct gate_artifact *a, EVP_PKEY *key,
				       enum gate_keyalg alg, const uint8_t *sig, size_t siglen,
				       struct gate_error *err);

#endif
