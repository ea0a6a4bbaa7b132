/*
 * verify.h - gate verifier core: bytes and trust material in, verified facts
 * out. Nothing here knows what a policy rule is.
 *
 * Conventions: a function that can fail returns enum gate_err and takes a
 * struct gate_error * (may be NULL) as its last argument. Constructors set
 * *out only on success; every type has a gate_<type>_free() that accepts NULL.
 */
#ifndef GATE_VERIFY_H
#define GATE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GATE_WUR __attribute__((warn_unused_result))
#else
#define GATE_WUR
#endif

/* The API of libgate.so: the library is built with -fvisibility=hidden, so
 * a function is exported only when declared GATE_API, and only the installed
 * headers (verify.h, policy.h, gate.h) declare it (tests/cli/test_exports.sh
 * checks both ways). */
#if defined(__GNUC__)
#define GATE_API __attribute__((visibility("default")))
#else
#define GATE_API
#endif

/* Stable error codes: values are only ever appended. */
enum gate_err {
	GATE_OK = 0,
	GATE_E_INTERNAL = 1, /* a bug or an OpenSSL failure */
	GATE_E_NOMEM = 2,
	GATE_E_USAGE = 3,	/* wrong arguments or flag combinations */
	GATE_E_IO = 4,		/* a file could not be opened or read */
	GATE_E_TOO_LARGE = 5,	/* input over a named cap */
	GATE_E_PARSE = 6,	/* malformed input: JSON, base64, DER, PEM */
	GATE_E_UNSUPPORTED = 7, /* unknown version, algorithm, kind */
	GATE_E_TRUST_ROOT = 8,	/* trusted root malformed or unusable */
	GATE_E_SIGNATURE = 9,	/* a signature did not verify */
	GATE_E_DIGEST = 10,	/* artifact digest mismatch */
	GATE_E_TLOG = 11,	/* transparency log entry rejected */
	GATE_E_CHECKPOINT = 12, /* signed checkpoint rejected */
	GATE_E_INCLUSION = 13,	/* Merkle inclusion proof rejected */
	GATE_E_TIMESTAMP = 14,	/* RFC 3161 timestamp rejected */
	GATE_E_NO_TIME = 15,	/* no verified signing time */
	GATE_E_CERT = 16,	/* certificate chain or profile rejected */
	GATE_E_SCT = 17,	/* no valid signed certificate timestamp */
	GATE_E_IDENTITY = 18,	/* identity or issuer does not match */
	GATE_E_MISMATCH = 19,	/* log body or material inconsistent */
	GATE_E_KEY = 20,	/* public key unusable or not the expected one */
	GATE_E_POLICY = 21,	/* policy file rejected */
	GATE_E_DENIED = 22,	/* a policy decision denied */
	GATE_E_EXPIRED = 23,	/* TUF metadata expired (freeze attack) */
};

#define GATE_ERR_MSG_MAX 320

/* Why something failed: the spec rule (e.g. "S8"), the input field
 * ("tlogEntries[0].inclusionProof.checkpoint") and a human reason. Policy
 * errors carry file, line and column. All strings are NUL-terminated and
 * already escaped for printing. */
struct gate_error {
	enum gate_err code;
	char rule[8];
	char field[96];
	char msg[GATE_ERR_MSG_MAX];
	char file[256];
	unsigned line, column;
};

/* Fixed text for a code; never NULL. */
GATE_API const char *gate_err_str(enum gate_err code);
/* True for codes that mean "bad input or usage" (exit 2) rather than
 * "verified and rejected" (exit 1). */
GATE_API bool gate_err_is_input(enum gate_err code);

/* ---- Trusted root (spec/SIGSTORE.md §2) ---- */

struct gate_trusted_root;

/* Parse a trusted_root.json document. Errors: GATE_E_PARSE, GATE_E_TRUST_ROOT,
 * GATE_E_TOO_LARGE, GATE_E_NOMEM. The caller owns *out. */
GATE_API GATE_WUR enum gate_err gate_trusted_root_parse(const uint8_t *json, size_t len,
							struct gate_trusted_root **out,
							struct gate_error *err);
/* Load from a file (capped at GATE_MAX_TRUST_ROOT bytes). */
GATE_API GATE_WUR enum gate_err
gate_trusted_root_load(const char *path, struct gate_trusted_root **out, struct gate_error *err);
/* The embedded Sigstore public-good production root. */
GATE_API GATE_WUR enum gate_err gate_trusted_root_default(struct gate_trusted_root **out,
							  struct gate_error *err);
GATE_API void gate_trusted_root_free(struct gate_trusted_root *root);

/* ---- Public keys ---- */

struct gate_pubkey;

/* Parse a PEM "PUBLIC KEY" (SPKI) or DER SPKI. Errors: GATE_E_PARSE,
 * GATE_E_UNSUPPORTED (key type not ECDSA P-256/384/521, Ed25519, RSA). */
GATE_API GATE_WUR enum gate_err gate_pubkey_parse(const uint8_t *buf, size_t len,
						  struct gate_pubkey **out, struct gate_error *err);
GATE_API GATE_WUR enum gate_err gate_pubkey_load(const char *path, struct gate_pubkey **out,
						 struct gate_error *err);
/* Hex SHA-256 of the key's DER SPKI (65 bytes with NUL). */
GATE_API void gate_pubkey_id(const struct gate_pubkey *key, char hex[65]);
GATE_API void gate_pubkey_free(struct gate_pubkey *key);

/* ---- Artifacts ---- */

struct gate_artifact;

/* Open a file and stream its SHA-256 (no whole-file read). One read
 * decides: a later pass over the file (another hash a key or bundle needs,
 * Ed25519's message, read whole up to GATE_MAX_ED25519_ARTIFACT) computes
 * the SHA-256 of what it read too, and the verification is refused
 * (GATE_E_IO, "changed while it was verified") when that is not this one,
 * so the digest reported is always of the bytes verified. Errors:
 * GATE_E_IO. */
GATE_API GATE_WUR enum gate_err gate_artifact_open(const char *path, struct gate_artifact **out,
						   struct gate_error *err);
/* Same over an open regular file (the descriptor is duplicated; the
 * caller keeps fd). Hashing reads from offset 0 with pread, never by
 * re-opening a path, so what is verified is what the caller opened. */
GATE_API GATE_WUR enum gate_err
gate_artifact_from_fd(int fd, const char *path, struct gate_artifact **out, struct gate_error *err);
/* A way to stop a long hash: fn(arg) is asked before every chunk (at
 * most 256 KiB) is hashed; true stops it. */
struct gate_cancel {
	bool (*fn)(void *arg);
	void *arg;
};
/* gate_artifact_from_fd that stops when cancel says so (GATE_E_IO, "...
 * cancelled"), so a caller with a deadline does not hash on after it.
 * cancel may be NULL. */
GATE_API GATE_WUR enum gate_err gate_artifact_from_fd_cancel(int fd, const char *path,
							     const struct gate_cancel *cancel,
							     struct gate_artifact **out,
							     struct gate_error *err);
/* An artifact known only by its digest: "sha256:" + 64 hex digits.
 * Errors: GATE_E_USAGE (bad prefix, length or hex). */
GATE_API GATE_WUR enum gate_err
gate_artifact_from_digest(const char *spec, struct gate_artifact **out, struct gate_error *err);
/* Hex SHA-256 (65 bytes with NUL). */
GATE_API void gate_artifact_sha256_hex(const struct gate_artifact *a, char hex[65]);
GATE_API const uint8_t *gate_artifact_sha256(const struct gate_artifact *a);
GATE_API uint64_t gate_artifact_size(const struct gate_artifact *a);
GATE_API void gate_artifact_free(struct gate_artifact *a);

/* ---- Evidence: what a signer left beside an artifact ---- */

struct gate_bundle;

/* Parse a Sigstore bundle (v0.1-v0.3) or a legacy `cosign sign-blob
 * --bundle` document. Errors: GATE_E_PARSE, GATE_E_UNSUPPORTED,
 * GATE_E_TOO_LARGE. Rule S1-S3 shape checks happen here. */
GATE_API GATE_WUR enum gate_err gate_bundle_parse(const uint8_t *json, size_t len,
						  struct gate_bundle **out, struct gate_error *err);
GATE_API GATE_WUR enum gate_err gate_bundle_load(const char *path, struct gate_bundle **out,
						 struct gate_error *err);
/* Build evidence from cosign's detached outputs: a base64 signature file's
 * content, and optionally a PEM certificate and a PEM chain (intermediates).
 * With no certificate the signature is checked against a --key. */
GATE_API GATE_WUR enum gate_err gate_bundle_from_detached(const uint8_t *sig, size_t siglen,
							  const uint8_t *cert_pem, size_t certlen,
							  const uint8_t *chain_pem, size_t chainlen,
							  struct gate_bundle **out,
							  struct gate_error *err);
GATE_API void gate_bundle_free(struct gate_bundle *b);

/* ---- Verification ---- */

/* What the caller expects. All pointers are borrowed for the call. */
struct gate_verify_opts {
	const struct gate_trusted_root *root; /* required */
	const struct gate_pubkey *key;	      /* managed-key mode when set */
	/* Keyless expectations; NULL = not checked here (the policy may). The
	 * regexps are POSIX extended and anchored: the whole value must match. */
	const char *identity;
	const char *identity_regex;
	const char *issuer;
	const char *issuer_regex;
	int64_t now;	   /* unix seconds; 0 = the current time */
	bool require_tlog; /* at least one verified log entry (cosign's default) */
};

enum gate_signer_kind {
	GATE_SIGNER_KEYLESS = 1, /* Fulcio certificate */
	GATE_SIGNER_KEY = 2,	 /* managed public key */
	GATE_SIGNER_X509 = 3,	 /* classic X.509 code signing (CMS, Authenticode, JAR) */
	GATE_SIGNER_APT = 4,	 /* an apt archive: InRelease (OpenPGP) + Packages */
	GATE_SIGNER_TUF = 5,	 /* a TUF repository lists the artifact as a target */
};

enum gate_time_source {
	GATE_TIME_NONE = 0,
	GATE_TIME_TLOG = 1,	  /* integratedTime of a verified SET */
	GATE_TIME_TSA = 2,	  /* RFC 3161 genTime */
	GATE_TIME_COUNTERSIG = 3, /* PKCS#9 countersignature signingTime (Authenticode) */
};

#define GATE_MAX_FACT_EXTS 24
#define GATE_MAX_FACT_LOGS 8
#define GATE_MAX_FACT_PREDICATE 4
/* The predicate type of SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance). */
#define GATE_SLSA_PROVENANCE_V1 "https://slsa.dev/provenance/v1"

struct gate_fact_ext {
	const char *name; /* static: "github_workflow_ref", ... */
	char *value;
};

/* Verified facts about one piece of evidence; never a decision. */
struct gate_facts {
	enum gate_signer_kind kind;
	char *identity;	    /* SAN of the leaf (keyless) */
	char *issuer;	    /* OIDC issuer extension (keyless) */
	char *subject;	    /* certificate subject, one line */
	char key_id[65];    /* hex SHA-256 of the signing key's SPKI */
	char digest[65];    /* hex SHA-256 of the artifact */
	char *payload_type; /* DSSE only */
	char *predicate_type;
	int64_t signing_time; /* earliest verified time; 0 if none */
	enum gate_time_source time_source;
	size_t n_tlog; /* verified log entries */
	int64_t log_index[GATE_MAX_FACT_LOGS];
	int64_t integrated_time[GATE_MAX_FACT_LOGS];
	size_t n_tsa; /* verified RFC 3161 timestamps */
	int64_t tsa_time[GATE_MAX_FACT_LOGS];
	size_t n_exts;
	struct gate_fact_ext exts[GATE_MAX_FACT_EXTS];
	/* X.509 code signing (kind GATE_SIGNER_X509; empty otherwise). subject
	 * above is the leaf's subject. */
	const char *cs_format;	     /* static: "cms", "authenticode", "jar" */
	char *cert_issuer;	     /* leaf issuer DN, RFC 2253 */
	char *serial;		     /* leaf serial number, hex */
	char fingerprint[65];	     /* hex SHA-256 of the leaf certificate (DER) */
	char anchor_fingerprint[65]; /* hex SHA-256 of the trust anchor reached */
	char *anchor_name;	     /* name of the root set the anchor came from */
	char **sans;		     /* subjectAltName values: email, DNS, URI */
	size_t n_sans;
	size_t n_unsigned;   /* JAR: entries this signature does not cover */
	size_t n_signatures; /* signatures in the same evidence (nested, signers) */
	/* DSSE in-toto attestations (payload_type set): what the verified
	 * predicate says, by name (static: "builder_id", "build_type",
	 * "source_repository", "source_ref"); SLSA provenance v1 only. */
	size_t n_predicate;
	struct gate_fact_ext predicate[GATE_MAX_FACT_PREDICATE];
	/* Sigstore evidence: the trusted root it verified with (static:
	 * "file", "cache", "embedded"; NULL for other kinds), and whether that
	 * root was stale at the verification time (the embedded root after
	 * its TUF root expired). */
	const char *trust_source;
	bool trust_expired;
};

/* Verify one bundle over an artifact (spec/SIGSTORE.md S1-S19). On success
 * *out holds the facts (caller frees with gate_facts_free). On failure err
 * names the rule, field and reason. */
GATE_API GATE_WUR enum gate_err gate_verify_bundle(const struct gate_bundle *b,
						   const struct gate_artifact *a,
						   const struct gate_verify_opts *opts,
						   struct gate_facts **out, struct gate_error *err);
GATE_API void gate_facts_free(struct gate_facts *f);

/* ---- Classic X.509 code signing (x509cs.c, cs_signer.c, crl.c, cms.c,
 * pe.c, jar.c) ---- */

/* Trust for X.509 code signing: named sets of root certificates (each
 * certificate of a set is an anchor; an intermediate may be pinned), named
 * sets of timestamp-authority roots, CRL files and the revocation policy.
 * Immutable after setup and then safe to share between threads. */
struct gate_x509_trust;

enum gate_crl_mode {
	GATE_CRL_PREFER = 0,  /* check with what is available; unknown passes (noted) */
	GATE_CRL_REQUIRE = 1, /* every certificate below the anchor needs a CRL */
	GATE_CRL_IGNORE = 2,  /* no revocation check */
};

GATE_API GATE_WUR enum gate_err gate_x509_trust_new(struct gate_x509_trust **out,
						    struct gate_error *err);
/* Add every certificate of a PEM (or single DER) file under name. Errors:
 * GATE_E_IO, GATE_E_PARSE, GATE_E_TOO_LARGE, GATE_E_NOMEM. */
GATE_API GATE_WUR enum gate_err gate_x509_trust_add_roots(struct gate_x509_trust *t,
							  const char *name, const char *path,
							  struct gate_error *err);
/* Same for RFC 3161 / Authenticode timestamp authorities. */
GATE_API GATE_WUR enum gate_err gate_x509_trust_add_tsa_roots(struct gate_x509_trust *t,
							      const char *name, const char *path,
							      struct gate_error *err);
/* Add the CRLs of a PEM or DER file. A CRL counts only once its signature
 * verifies with the issuer found in a chain. */
GATE_API GATE_WUR enum gate_err gate_x509_trust_add_crl(struct gate_x509_trust *t, const char *path,
							struct gate_error *err);
/* Revocation policy. fetch: download CRLs named by the certificates' CRL
 * distribution points (http/https, size and time capped) and keep them in
 * memory and, when cache_dir is non-NULL, in that directory. */
GATE_API GATE_WUR enum gate_err gate_x509_trust_set_revocation(struct gate_x509_trust *t,
							       enum gate_crl_mode mode, bool fetch,
							       const char *cache_dir,
							       struct gate_error *err);
/* Certificates are decoded on first use; this decodes them now and reports
 * the first that does not parse (GATE_E_TRUST_ROOT), for callers that want
 * errors at load time (the policy loader). */
GATE_API GATE_WUR enum gate_err gate_x509_trust_check(const struct gate_x509_trust *t,
						      struct gate_error *err);
/* Whether anchor_fp (hex SHA-256 of a certificate) belongs to root set name. */
GATE_API bool gate_x509_trust_has_anchor(const struct gate_x509_trust *t, const char *name,
					 const char *anchor_fp);
/* Whether a root set of that name exists. */
GATE_API bool gate_x509_trust_has_root_set(const struct gate_x509_trust *t, const char *name);
GATE_API void gate_x509_trust_free(struct gate_x509_trust *t);

enum gate_cs_format {
	GATE_CS_NONE = 0,
	GATE_CS_CMS = 1, /* detached CMS/PKCS#7 signature over the artifact */
	GATE_CS_PE = 2,	 /* Authenticode embedded in a PE32/PE32+ file */
	GATE_CS_JAR = 3, /* signed JAR (META-INF/ *.SF + *.RSA|*.EC|*.DSA) */
};

/* One piece of X.509 evidence. fd is the artifact (read with pread only,
 * never past its size); for GATE_CS_CMS, sig holds the detached signature
 * (DER or PEM). index picks the signature: the SignerInfo (CMS), the
 * primary then nested signatures in order (PE), the signature block in
 * name order (JAR). sha256, when non-NULL, is the artifact's known SHA-256
 * (saves a pass and fills facts->digest). All pointers are borrowed. */
struct gate_pe_prehash;

struct gate_cs_input {
	enum gate_cs_format format;
	int fd;
	const char *name; /* for messages */
	const uint8_t *sig;
	size_t siglen;
	size_t index;
	const uint8_t *sha256;
	struct gate_pe_prehash *prehash; /* PE: from gate_pe_prehash(fd), or NULL */
};

/* Start the Authenticode image hash (SHA-256) of the PE open as fd on a
 * second thread now, while the caller does other work (loading its trust,
 * say); verifying with it in gate_cs_input.prehash uses the result when the
 * file's layout is still what was hashed, and hashes again otherwise. NULL
 * when fd is not a signed PE or no thread could start: nothing to free.
 * The fd must stay open until gate_pe_prehash_free. */
GATE_API struct gate_pe_prehash *gate_pe_prehash(int fd);
GATE_API void gate_pe_prehash_free(struct gate_pe_prehash *p);

struct gate_cs_opts {
	const struct gate_x509_trust *trust; /* required */
	int64_t now;			     /* unix seconds; 0 = the current time */
	/* JAR: count entries no signature covers in facts->n_unsigned instead
	 * of rejecting them (a policy then decides). */
	bool allow_unsigned_entries;
};

/* What an artifact is, by its first bytes: GATE_CS_PE ("MZ" with a PE
 * header), GATE_CS_JAR (a ZIP with META-INF/MANIFEST.MF, or one whose
 * central directory does not read) or GATE_CS_NONE. */
GATE_API enum gate_cs_format gate_cs_sniff(int fd);
/* How many signatures the evidence holds (0 for an unsigned PE or JAR).
 * Errors: GATE_E_PARSE (with a reason), GATE_E_IO, GATE_E_TOO_LARGE. */
GATE_API GATE_WUR enum gate_err gate_codesign_count(const struct gate_cs_input *in, size_t *n,
						    struct gate_error *err);
/* Verify signature in->index: its digest over the artifact, the signer's
 * signature, a timestamp against the TSA roots (the signing time), the
 * chain to a root at that time (or now, with no timestamp) with the
 * code-signing profile, and revocation. On success *out holds the facts
 * (kind GATE_SIGNER_X509; free with gate_facts_free). Errors: GATE_E_PARSE,
 * GATE_E_UNSUPPORTED, GATE_E_DIGEST, GATE_E_SIGNATURE, GATE_E_CERT,
 * GATE_E_TIMESTAMP, GATE_E_IO, GATE_E_TOO_LARGE, GATE_E_NOMEM. */
GATE_API GATE_WUR enum gate_err gate_verify_codesign(const struct gate_cs_input *in,
						     const struct gate_cs_opts *o,
						     struct gate_facts **out,
						     struct gate_error *err);
/* The artifact's Authenticode digest (hex, under the signature's digest
 * algorithm) is in the facts' "authenticode_digest" extension. */

/* Anchored POSIX extended regexp match: the whole of value must match.
 * Returns GATE_OK on match, GATE_E_IDENTITY on no match, GATE_E_USAGE on a
 * bad pattern (err says why). */
GATE_API GATE_WUR enum gate_err gate_regex_full_match(const char *pattern, const char *value,
						      struct gate_error *err);

/* Read a whole regular file, refusing more than cap bytes. It is opened
 * without blocking and refused unless regular (GATE_E_IO "not a regular
 * file"): a FIFO, a device or a folder where a policy, key or signature is
 * expected never makes a reader wait. *out is malloc'd and NUL-terminated
 * (not counted in *len). Errors: GATE_E_IO, GATE_E_TOO_LARGE, GATE_E_NOMEM;
 * err->field names the path. */
GATE_API GATE_WUR enum gate_err gate_read_file(const char *path, size_t cap, uint8_t **out,
					       size_t *len, struct gate_error *err);
/* RFC 3339 UTC ("2022-10-31T23:59:59.999Z"; fraction optional; "Z" or
 * "+00:00") to unix seconds, fraction dropped. False when malformed. */
GATE_API bool gate_parse_rfc3339(const char *s, int64_t *out);

/* "2024-03-19T17:26:26Z" (UTC) for a unix time. */
GATE_API void gate_format_time(int64_t t, char out[32]);

/* A compiled anchored regexp, for patterns matched many times. */
struct gate_regex;
GATE_API GATE_WUR enum gate_err gate_regex_compile(const char *pattern, struct gate_regex **out,
						   struct gate_error *err);
/* True when the whole value matches. Thread-safe. */
GATE_API bool gate_regex_matches(const struct gate_regex *re, const char *value);
GATE_API void gate_regex_free(struct gate_regex *re);

GATE_API const char *gate_version(void);

#ifdef __cplusplus
}
#endif
#endif
