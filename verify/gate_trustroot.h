/*
 * gate_trustroot.h - the trusted root model, read by `gate trust show`.
 * Internal to libgate (never installed).
 */
#ifndef GATE_VERIFY_GATE_TRUSTROOT_H
#define GATE_VERIFY_GATE_TRUSTROOT_H

#include "gate_keys.h"

#include <openssl/x509.h>

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
	char *key_name;		 /* baseUrl without scheme: the checkpoint key name */
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
	/* Where it came from (static): "file" (a trusted_root.json named by
	 * the caller), "cache" (verified over TUF, unexpired) or "embedded"
	 * (built into gate); expires: unix seconds after which it is stale
	 * (the embedded TUF root's expiry), 0 for none known. Set by
	 * gate_trusted_root_load and gate_trusted_root_best (tuf_trust.h). */
	const char *source;
	int64_t expires;
};

/* Whether root is stale at now: the embedded root once its TUF root has
 * expired (a cached root was verified unexpired; a file has no expiry). */
bool gate_trust_expired(const struct gate_trusted_root *root, int64_t now);

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

#endif
