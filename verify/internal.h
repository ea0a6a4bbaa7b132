/*
 * internal.h - shared internals of the verifier core. Never installed.
 */
#ifndef GATE_VERIFY_INTERNAL_H
#define GATE_VERIFY_INTERNAL_H

#include "verify.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/types.h>

/* Named caps on untrusted input. */
#define GATE_MAX_BUNDLE (16u * 1024 * 1024)	/* bundle JSON file */
#define GATE_MAX_TRUST_ROOT (4u * 1024 * 1024)	/* trusted_root.json */
#define GATE_MAX_SMALL_FILE (1u * 1024 * 1024)	/* keys, certs, signatures */
#define GATE_MAX_JSON_DEPTH 32
#define GATE_MAX_CHAIN 10			/* certificates in a chain */
#define GATE_MAX_TLOG_ENTRIES 16
#define GATE_MAX_TSA_TOKENS 16
#define GATE_MAX_PROOF_HASHES 64
#define GATE_MAX_ROOT_ENTRIES 64		/* per trusted-root array */
#define GATE_MAX_CHECKPOINT 16384
#define GATE_MAX_SIG 4096			/* one signature, decoded */

/* ---- errors ---- */

/* Fill err (if non-NULL) and return code. fmt is printf-style; the result is
 * escaped so that untrusted text can be passed through %s safely. */
enum gate_err gate_fail(struct gate_error *err, enum gate_err code, const char *rule,
			const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The last OpenSSL error as "reason: detail" into buf (TS and X509 put the
 * verify error in the detail), then clear the queue. */
void gate_ssl_detail(char *buf, size_t n);
/* Append the first OpenSSL error reason to err->msg (no-op without one). */
void gate_fail_ssl(struct gate_error *err);

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

enum gate_hash_rc { GATE_HASH_OK, GATE_HASH_READ, GATE_HASH_DIGEST, GATE_HASH_NOMEM };
/* Feed [from, to) of fd through ctx with pread (the fd's offset is left
 * alone), stopping early at the end of the file; *done is what was hashed
 * (less than to - from: the file is shorter; to may be UINT64_MAX for "to
 * the end"). Ranges of 8 MiB and more are read ahead by a second thread.
 * GATE_HASH_READ sets *err_no. */
enum gate_hash_rc gate_hash_fd(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to,
			       uint64_t *done, int *err_no);

/* ---- bytes and text helpers (util.c) ---- */

/* Strict standard base64 (padded, no whitespace). Returns a malloc'd buffer
 * in *out (NUL-terminated for convenience, not counted in *outlen). */
enum gate_err gate_b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen,
			      const char *field, struct gate_error *err);
/* Malloc'd, NUL-terminated standard padded base64. NULL on OOM. */
char *gate_b64_encode(const uint8_t *in, size_t len);
/* Lowercase hex into out (2*len+1 bytes). */
void gate_hex_encode(const uint8_t *in, size_t len, char *out);
/* Exactly 2*outlen hex digits (either case). */
bool gate_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);
/* Constant-time equality of two equal-length buffers. */
bool gate_ct_eq(const void *a, const void *b, size_t len);
/* gate_rfc3339_parse() flags; none: gate_parse_rfc3339() (UTC only, "Z"
 * or "+00:00", 't'/'z' in either case, a fraction dropped). */
enum gate_rfc3339_flags {
	GATE_RFC3339_OFFSET = 1u << 0, /* any numeric offset "+hh:mm" / "-hh:mm" */
	GATE_RFC3339_CEIL = 1u << 1,   /* a non-zero fraction rounds up a second */
	GATE_RFC3339_UPPER = 1u << 2,  /* only 'T' and 'Z', as TUF writes them */
	/* TUF "expires" (see verify/tuf.h): "expired iff now >= expires" stays
	 * exact on whole seconds. */
	GATE_RFC3339_TUF = GATE_RFC3339_OFFSET | GATE_RFC3339_CEIL | GATE_RFC3339_UPPER,
};
/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)" to unix seconds, as flags
 * allow. Dates that do not exist and leap seconds are refused. False when
 * malformed; *out is set only on success. */
bool gate_rfc3339_parse(const char *s, unsigned flags, int64_t *out);
/* ASN1_TIME to unix seconds. */
bool gate_asn1_time_to_unix(const ASN1_TIME *t, int64_t *out);
/* SHA-256 of a buffer. */
void gate_sha256(const void *data, size_t len, uint8_t out[32]);
/* Parse every certificate from PEM text (or a single DER certificate). */
enum gate_err gate_certs_from_pem(const uint8_t *buf, size_t len, size_t max,
				  STACK_OF(X509) **out, const char *field,
				  struct gate_error *err);
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

/* ---- replacing a file atomically (util.c) ---- */

/* gate_atomic_open() flags. */
enum gate_atomic_flags {
	/* The file is volatile state rewritten often (gated's status file,
	 * every second): its directory is not fsynced after the rename, so a
	 * crash may bring back the previous version, never a torn one. Only
	 * for files whose loss of the last update is harmless. */
	GATE_ATOMIC_VOLATILE = 1u << 0,
	/* Let the umask narrow mode, as open(2) does; without it the file
	 * gets exactly mode. */
	GATE_ATOMIC_UMASK = 1u << 1,
};

/* A file being replaced: written under a temporary name in the target's
 * directory, then renamed over the target, so a reader sees the old or the
 * new content, never part of it, and a symlink planted at the target is
 * replaced, never written through. Between open and commit the caller may
 * write through fd itself (a download sink) or with gate_atomic_write(). */
struct gate_atomic {
	int fd;		  /* the temporary file; -1 once synced or discarded */
	char *tmp;	  /* its name (malloc'd); NULL once renamed or removed */
	const char *path; /* the target; borrowed until commit or discard */
	unsigned flags;
};

/* Create the temporary file beside path: tmpl is its base name with six
 * 'X' replaced at random (".gate-tuf-XXXXXX", "x.XXXXXX.dpkg-tmp"; NULL =
 * ".gate-tmp.XXXXXX"), opened O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC with mode
 * (exactly, unless GATE_ATOMIC_UMASK). *a is initialised even on failure,
 * so gate_atomic_discard(a) is always safe. Every gate_atomic_* failure
 * removes the temporary file and sets err->field and err->file to path and
 * err->msg to the failing step. Errors: GATE_E_IO, GATE_E_NOMEM,
 * GATE_E_USAGE (tmpl without "XXXXXX"). */
GATE_WUR enum gate_err gate_atomic_open(struct gate_atomic *a, const char *path, const char *tmpl,
					mode_t mode, unsigned flags, struct gate_error *err);
/* Write all of data to the temporary file. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_atomic_write(struct gate_atomic *a, const void *data, size_t len,
					 struct gate_error *err);
/* fsync and close the temporary file (commit does it when not done yet):
 * for staging several files before renaming any. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_atomic_sync(struct gate_atomic *a, struct gate_error *err);
/* Sync, rename over the target, then fsync the directory (unless
 * GATE_ATOMIC_VOLATILE) so the rename survives a crash. A directory fsync
 * failure is reported although the target was replaced; a file system that
 * cannot sync directories (EINVAL) is not an error. Releases a either way.
 * Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_atomic_commit(struct gate_atomic *a, struct gate_error *err);
/* Remove the temporary file and release a; no-op after commit or discard. */
void gate_atomic_discard(struct gate_atomic *a);
/* Open, write data, commit: the whole file at once. */
GATE_WUR enum gate_err gate_atomic_write_file(const char *path, const char *tmpl, const void *data,
					      size_t len, mode_t mode, unsigned flags,
					      struct gate_error *err);

/* ---- JSON helpers over jansson (json.c) ---- */

/* Member of an object; NULL when absent, when obj is not an object, or when
 * the value is null (protobuf's JSON mapping writes unset fields as null). */
json_t *gate_json_get(json_t *obj, const char *key);
/* Parse with duplicate-key rejection and a depth cap. */
enum gate_err gate_json_parse(const uint8_t *buf, size_t len, json_t **out,
			      const char *what, struct gate_error *err);
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
/* Verify sig given the message's digest under gate_keyalg_md(alg) (not for
 * Ed25519). Returns GATE_OK or GATE_E_SIGNATURE. */
enum gate_err gate_sig_verify_digest(EVP_PKEY *key, enum gate_keyalg alg, const uint8_t *dgst,
				     size_t dlen, const uint8_t *sig, size_t siglen);
/* DER SPKI of a key (malloc'd). */
enum gate_err gate_pkey_spki(EVP_PKEY *key, uint8_t **out, size_t *len);

/* ---- trusted root model (trustroot.c) ---- */

struct gate_validity {
	int64_t start;
	int64_t end;
	bool has_end;
};

static inline bool gate_validity_contains(const struct gate_validity *v, int64_t t)
{
	/* Closed interval; an absent end is open (spec §2). */
	return t >= v->start && (!v->has_end || t <= v->end);
}

/* A transparency log (tlogs[]) or a CT log (ctlogs[]). Keys and
 * certificates of a trusted root are decoded on first use (OpenSSL's
 * decoders dominate a one-shot verification otherwise): read them through
 * gate_log_key() and gate_authority_chain(), never the cache fields. */
struct gate_log {
	char *base_url;
	char *key_name; /* baseUrl without scheme: the checkpoint key name */
	struct gate_pubkey *key; /* cache; or set directly by hand-built roots */
	uint8_t *raw_key;	 /* as in the root: DER SPKI (or bare PKCS#1) */
	size_t raw_key_len;
	char *key_details;
	bool key_tried;
	uint8_t log_id[32];
	struct gate_validity valid;
};

/* A certificate authority or a timestamp authority. */
struct gate_authority {
	char *uri;
	STACK_OF(X509) *chain; /* cache: leaf/intermediates first, anchor last */
	uint8_t **raw;	       /* the chain's DER certificates */
	size_t *raw_len;
	size_t nraw;
	bool chain_tried;
	struct gate_validity valid;
};

struct gate_trusted_root {
	struct gate_log *tlogs;
	size_t ntlogs;
	struct gate_log *ctlogs;
	size_t nctlogs;
	struct gate_authority *cas;
	size_t ncas;
	struct gate_authority *tsas;
	size_t ntsas;
};

/* The log's key, decoded on first use; NULL when the root's key is unusable
 * (entries naming that log then fail). Thread-safe. */
const struct gate_pubkey *gate_log_key(const struct gate_log *l);
/* The authority's chain, decoded on first use; NULL if a certificate is
 * malformed. Thread-safe. */
STACK_OF(X509) *gate_authority_chain(const struct gate_authority *a);
/* Wrap pkey (taken over) keeping der as its SPKI. */
enum gate_err gate_pubkey_wrap_der(EVP_PKEY *pkey, enum gate_keyalg alg, const uint8_t *der,
				   size_t len, struct gate_pubkey **out, struct gate_error *err);

/* Find the log whose logId equals id (S5). NULL if none. */
const struct gate_log *gate_root_find_log(const struct gate_log *logs, size_t n,
					  const uint8_t id[32]);

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
	int minor; /* 1, 2 or 3: bundle version 0.x; 0 for legacy/detached */
	bool legacy; /* cosign --bundle or detached: no proof requirement */
	X509 *leaf;  /* NULL in managed-key mode */
	STACK_OF(X509) *intermediates; /* untrusted hints; may be NULL */
	bool has_pubkey_material;
	struct gate_tlog_entry *entries;
	size_t nentries;
	struct {
		uint8_t *der;
		size_t len;
	} *tsa;
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

/* ---- artifact (artifact.c) ---- */

struct gate_artifact {
	int fd;	    /* the one open descriptor every pass reads; -1 digest-only */
	char *path; /* for messages */
	bool digest_only;
	uint8_t sha256[32];
	uint64_t size;
};

/* Digest of the artifact under md (SHA-256 cached; others streamed again). */
enum gate_err gate_artifact_digest(const struct gate_artifact *a, const EVP_MD *md,
				   uint8_t *out, size_t *outlen, struct gate_error *err);
/* Verify sig over the raw artifact with key/alg (streams for prehash
 * algorithms, maps the file for Ed25519). */
enum gate_err gate_artifact_verify_sig(const struct gate_artifact *a, EVP_PKEY *key,
				       enum gate_keyalg alg, const uint8_t *sig,
				       size_t siglen, struct gate_error *err);

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
enum gate_err gate_rfc3161_verify(const uint8_t *der, size_t len, const uint8_t *sig,
				  size_t siglen, const struct gate_trusted_root *root,
				  int64_t *gen_time, size_t *tsa_index, struct gate_error *err);

/* ---- certificates (cert.c) ---- */

/* S14: path leaf → untrusted → a root->cas chain valid at time t (t inside the
 * CA's validFor and every certificate's validity); leaf keyUsage
 * digitalSignature and EKU codeSigning. On success *issuer (if non-NULL)
 * receives an up-ref'd issuer of the leaf. GATE_OK or GATE_E_CERT. */
enum gate_err gate_cert_verify_chain(X509 *leaf, STACK_OF(X509) *untrusted,
				     const struct gate_trusted_root *root, int64_t t,
				     X509 **issuer, struct gate_error *err);
/* S15: at least one embedded SCT from a root->ctlogs log valid at the SCT
 * time verifies. GATE_OK or GATE_E_SCT. */
enum gate_err gate_sct_verify(X509 *leaf, X509 *issuer, const struct gate_trusted_root *root,
			      struct gate_error *err);
/* S16: SAN identity, OIDC issuer and the other Fulcio extensions into f
 * (identity, issuer, subject, exts). GATE_OK or GATE_E_CERT / GATE_E_NOMEM. */
enum gate_err gate_cert_identity(X509 *leaf, struct gate_facts *f, struct gate_error *err);

#endif
