/*
 * internal.h - shared internals of the verifier core. Never installed, and
 * for verify/ only: what the layers above may use is in gate_util.h,
 * gate_keys.h and gate_trustroot.h (the build gives them no other way in).
 */
#ifndef GATE_VERIFY_INTERNAL_H
#define GATE_VERIFY_INTERNAL_H

#include "verify.h"
#include "gate_keys.h"
#include "gate_trustroot.h"
#include "gate_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/types.h>

/* ---- bounded reader over untrusted bytes ---- */

struct gate_rd {
	const uint8_t *p;
	size_t n;
};

static inline bool gate_rd_bytes(struct gate_rd *r, size_t len, const uint8_t **out)
{
	if (r->n < len)
		return false;
	*out = r->p;
	r->p += len;
	r->n -= len;
	return true;
}

static inline bool gate_rd_uint(struct gate_rd *r, size_t width, uint64_t *out)
{
	const uint8_t *b;
	uint64_t v = 0;
	if (width > 8 || !gate_rd_bytes(r, width, &b))
		return false;
	for (size_t i = 0; i < width; i++)
		v = (v << 8) | b[i];
	*out = v;
	return true;
}

/* ---- hashing a file (hashfd.c) ---- */

enum gate_hash_rc {
	GATE_HASH_OK,
	GATE_HASH_READ,
	GATE_HASH_DIGEST,
	GATE_HASH_NOMEM,
	GATE_HASH_CANCELLED,
};
/* Feed [from, to) of fd through ctx with pread (the fd's offset is left
 * alone), stopping early at the end of the file; *done is what was hashed
 * (less than to - from: the file is shorter; to may be UINT64_MAX for "to
 * the end"). Ranges of 8 MiB and more are read ahead by a second thread.
 * GATE_HASH_READ sets *err_no. */
enum gate_hash_rc gate_hash_fd(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to, uint64_t *done,
			       int *err_no);
/* The same through two digests at once (ctx2 may be NULL): one read of
 * the bytes serves both, so they are digests of the same content. cancel
 * (may be NULL) is asked before every chunk of at most 256 KiB: when it
 * says stop, GATE_HASH_CANCELLED (the digests are unusable). */
enum gate_hash_rc gate_hash_fd2(int fd, EVP_MD_CTX *ctx, EVP_MD_CTX *ctx2, uint64_t from,
				uint64_t to, const struct gate_cancel *cancel, uint64_t *done,
				int *err_no);
/* gate_hash_fd2 with one digest and a cancel. */
enum gate_hash_rc gate_hash_fd_cancel(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to,
				      const struct gate_cancel *cancel, uint64_t *done,
				      int *err_no);

/* ---- X.509 and PEM helpers (util.c) ---- */

/* ASN1_TIME to unix seconds. */
bool gate_asn1_time_to_unix(const ASN1_TIME *t, int64_t *out);
/* Parse every certificate from PEM text (or a single DER certificate). */
enum gate_err gate_certs_from_pem(const uint8_t *buf, size_t len, size_t max, STACK_OF(X509) **out,
				  const char *field, struct gate_error *err);
X509 *gate_x509_from_der(const uint8_t *der, size_t len);
/* Verify callback for stores checked at a fixed time: RFC 5280 validity is
 * a closed interval, but OpenSSL treats a time equal to notAfter as
 * expired; exactly that case is accepted. */
int gate_x509_verify_cb(int ok, X509_STORE_CTX *ctx);
/* The DER inside exactly one PEM block with the given label ("CERTIFICATE",
 * "PUBLIC KEY"); anything but whitespace around it is rejected. *der is
 * malloc'd. */
bool gate_pem_decode(const uint8_t *pem, size_t len, const char *label, uint8_t **der,
		     size_t *dlen);

/* ---- JSON helpers over jansson (json.c) ---- */

/* Member of an object; NULL when absent, when obj is not an object, or when
 * the value is null (protobuf's JSON mapping writes unset fields as null). */
json_t *gate_json_get(json_t *obj, const char *key);
/* Parse with duplicate-key rejection and a depth cap. */
enum gate_err gate_json_parse(const uint8_t *buf, size_t len, json_t **out, const char *what,
			      struct gate_error *err);
/* Optional string member: NULL when absent; error when present but not a
 * string. */
enum gate_err gate_json_str(json_t *obj, const char *key, bool required, const char **out,
			    const char *field, struct gate_error *err);
/* base64 bytes member. */
enum gate_err gate_json_b64(json_t *obj, const char *key, bool required, uint8_t **out,
			    size_t *outlen, const char *field, struct gate_error *err);
/* int64 as a decimal string or a JSON integer; negatives rejected. */
enum gate_err gate_json_i64(json_t *obj, const char *key, bool required, bool *present,
			    int64_t *out, const char *field, struct gate_error *err);
/* Object member (optional). */
enum gate_err gate_json_obj(json_t *obj, const char *key, bool required, json_t **out,
			    const char *field, struct gate_error *err);

/* ---- bundle model (bundle.c) ---- */

struct gate_tlog_entry {
	int64_t log_index;
	uint8_t log_id[32];
	char *kind;
	char *version;
	bool has_integrated_time;
	int64_t integrated_time;
	uint8_t *set; /* signedEntryTimestamp, DER signature */
	size_t set_len;
	bool has_proof;
	int64_t proof_index;
	int64_t tree_size;
	uint8_t root_hash[32];
	uint8_t (*hashes)[32];
	size_t nhashes;
	char *checkpoint; /* NUL-terminated signed note */
	size_t checkpoint_len;
	uint8_t *body; /* decoded canonicalizedBody */
	size_t body_len;
	char *body_b64; /* canonicalizedBody as it appeared (for the SET) */
	json_t *body_json;
};

struct gate_bundle {
	int minor;		       /* 1, 2 or 3: bundle version 0.x; 0 for legacy/detached */
	bool legacy;		       /* cosign --bundle or detached: no proof requirement */
	X509 *leaf;		       /* NULL in managed-key mode */
	STACK_OF(X509) *intermediates; /* untrusted hints; may be NULL */
	bool has_pubkey_material;
	struct gate_tlog_entry *entries;
	size_t nentries;
	struct {
		uint8_t *der;
		size_t len;
	} * tsa;
	size_t ntsa;
	bool is_dsse;
	/* message signature */
	bool has_digest;
	const EVP_MD *digest_md;
	uint8_t digest[64];
	size_t digest_len;
	uint8_t *sig;
	size_t sig_len;
	/* DSSE */
	char *payload_type;
	uint8_t *payload;
	size_t payload_len;
};

void gate_tlog_entry_clear(struct gate_tlog_entry *e);

/* ---- transparency log (tlog.c) ---- */

/* S9: RFC 6962 inclusion of leaf SHA-256(0x00||body) at index in a tree of
 * size with the given audit path; root compared in constant time.
 * GATE_OK or GATE_E_INCLUSION. */
enum gate_err gate_merkle_verify(const uint8_t *body, size_t body_len, uint64_t index,
				 uint64_t size, const uint8_t (*hashes)[32], size_t nhashes,
				 const uint8_t root[32], struct gate_error *err);
/* S8: verify a signed note (checkpoint) by log, then bind its size and root
 * to tree_size/root_hash. GATE_OK or GATE_E_CHECKPOINT. */
enum gate_err gate_checkpoint_verify(const char *note, size_t len, const struct gate_log *log,
				     uint64_t tree_size, const uint8_t root_hash[32],
				     struct gate_error *err);
/* S7: the SignedEntryTimestamp of entry e by log. GATE_OK or GATE_E_TLOG. */
enum gate_err gate_set_verify(const struct gate_tlog_entry *e, const struct gate_log *log,
			      struct gate_error *err);

/* ---- RFC 3161 timestamps (tsa.c) ---- */

/* S12: verify a DER TimeStampResp over sig (the imprint is the hash of the
 * raw signature bytes) against root->tsas. On success *gen_time is genTime
 * and *tsa_index the matching authority. GATE_OK or GATE_E_TIMESTAMP. */
enum gate_err gate_rfc3161_verify(const uint8_t *der, size_t len, const uint8_t *sig, size_t siglen,
				  const struct gate_trusted_root *root, int64_t *gen_time,
				  size_t *tsa_index, struct gate_error *err);

/* ---- certificates (cert.c) ---- */

/* S14: path leaf → untrusted → a root->cas chain valid at time t (t inside the
 * CA's validFor and every certificate's validity); leaf keyUsage
 * digitalSignature and EKU codeSigning. On success *issuer (if non-NULL)
 * receives an up-ref'd issuer of the leaf. GATE_OK or GATE_E_CERT. */
enum gate_err gate_cert_verify_chain(X509 *leaf, STACK_OF(X509) *untrusted,
				     const struct gate_trusted_root *root, int64_t t, X509 **issuer,
				     struct gate_error *err);
/* S15: at least one embedded SCT from a root->ctlogs log valid at the SCT
 * time verifies. GATE_OK or GATE_E_SCT. */
enum gate_err gate_sct_verify(X509 *leaf, X509 *issuer, const struct gate_trusted_root *root,
			      struct gate_error *err);
/* S16: SAN identity, OIDC issuer and the other Fulcio extensions into f
 * (identity, issuer, subject, exts). GATE_OK or GATE_E_CERT / GATE_E_NOMEM. */
enum gate_err gate_cert_identity(X509 *leaf, struct gate_facts *f, struct gate_error *err);

#endif
