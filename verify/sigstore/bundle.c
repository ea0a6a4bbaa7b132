/* bundle.c - Sigstore bundles, legacy cosign bundles and detached cosign
 * outputs, parsed into one evidence model (spec/SIGSTORE.md §1, S1-S3). */
#include "internal.h"

#include <ctype.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX 96

void gate_tlog_entry_clear(struct gate_tlog_entry *e)
{
	free(e->kind);
	free(e->version);
	free(e->set);
	free(e->hashes);
	free(e->checkpoint);
	free(e->body);
	free(e->body_b64);
	json_decref(e->body_json);
	memset(e, 0, sizeof(*e));
}

void gate_bundle_free(struct gate_bundle *b)
{
	if (!b)
		return;
	X509_free(b->leaf);
	sk_X509_pop_free(b->intermediates, X509_free);
	for (size_t i = 0; i < b->nentries; i++)
		gate_tlog_entry_clear(&b->entries[i]);
	free(b->entries);
	for (size_t i = 0; i < b->ntsa; i++)
		free(b->tsa[i].der);
	free(b->tsa);
	free(b->sig);
	free(b->payload_type);
	free(b->payload);
	free(b);
}

bool gate_bundle_has_pubkey_material(const struct gate_bundle *b)
{
	return b->has_pubkey_material;
}

static enum gate_err nomem(struct gate_error *err)
{
	return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

/* ---- transparency log entries (S3) ---- */

/* The log body is JSON too; its kind and apiVersion must be the ones the
 * entry claims so that S6 reads the right fields. */
static enum gate_err parse_body(struct gate_tlog_entry *e, const char *field,
				struct gate_error *err)
{
	const char *kind, *api;
	enum gate_err rc = gate_json_parse(e->body, e->body_len, &e->body_json, field, err);
	if (rc != GATE_OK)
		return gate_fail(err, GATE_E_PARSE, "S3", field, "canonicalizedBody: %s",
				 err ? err->msg : "invalid JSON");
	if ((rc = gate_json_str(e->body_json, "kind", true, &kind, field, err)) != GATE_OK ||
	    (rc = gate_json_str(e->body_json, "apiVersion", true, &api, field, err)) != GATE_OK)
		return rc;
	if (strcmp(kind, e->kind) != 0 || strcmp(api, e->version) != 0)
		return gate_fail(err, GATE_E_TLOG, "S3", field,
				 "body is %s %s but kindVersion says %s %s", kind, api, e->kind,
				 e->version);
	return GATE_OK;
}

static enum gate_err parse_proof(json_t *p, struct gate_tlog_entry *e, const char *field,
				 struct gate_error *err)
{
	uint8_t *root = NULL;
	size_t rootlen = 0;
	json_t *cp, *hashes;
	const char *env;
	char name[FIELD_MAX];
	enum gate_err rc;
	snprintf(name, sizeof name, "%s.inclusionProof", field);
	if ((rc = gate_json_i64(p, "logIndex", true, NULL, &e->proof_index, name, err)) !=
		    GATE_OK ||
	    (rc = gate_json_i64(p, "treeSize", true, NULL, &e->tree_size, name, err)) != GATE_OK ||
	    (rc = gate_json_b64(p, "rootHash", true, &root, &rootlen, name, err)) != GATE_OK)
		goto out;
	if (rootlen != 32) {
		rc = gate_fail(err, GATE_E_PARSE, "S3", name, "rootHash is %zu bytes, not 32",
			       rootlen);
		goto out;
	}
	memcpy(e->root_hash, root, 32);
	if (e->proof_index >= e->tree_size) {
		rc = gate_fail(err, GATE_E_TLOG, "S3", name,
			       "logIndex %lld is not below treeSize %lld",
			       (long long)e->proof_index, (long long)e->tree_size);
		goto out;
	}
	/* A proof without a signed checkpoint proves nothing about the log
	 * (S3, §5: proofs checked without the checkpoint). */
	if ((rc = gate_json_obj(p, "checkpoint", false, &cp, name, err)) != GATE_OK)
		goto out;
	if (!cp || gate_json_str(cp, "envelope", false, &env, name, NULL) != GATE_OK || !env ||
	    !*env) {
		rc = gate_fail(err, GATE_E_TLOG, "S3", name, "missing checkpoint envelope");
		goto out;
	}
	if (strlen(env) > GATE_MAX_CHECKPOINT) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, "S3", name, "checkpoint over %d bytes",
			       GATE_MAX_CHECKPOINT);
		goto out;
	}
	if (!(e->checkpoint = strdup(env))) {
		rc = nomem(err);
		goto out;
	}
	e->checkpoint_len = strlen(env);
	hashes = gate_json_get(p, "hashes");
	if (hashes && !json_is_array(hashes)) {
		rc = gate_fail(err, GATE_E_PARSE, "S3", name, "hashes is not an array");
		goto out;
	}
	e->nhashes = hashes ? json_array_size(hashes) : 0;
	if (e->nhashes > GATE_MAX_PROOF_HASHES) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, "S3", name, "more than %d proof hashes",
			       GATE_MAX_PROOF_HASHES);
		goto out;
	}
	if (e->nhashes && !(e->hashes = calloc(e->nhashes, 32))) {
		rc = nomem(err);
		goto out;
	}
	for (size_t i = 0; i < e->nhashes; i++) {
		json_t *h = json_array_get(hashes, i);
		uint8_t *d = NULL;
		size_t dl = 0;
		if (!json_is_string(h) ||
		    gate_b64_decode(json_string_value(h), json_string_length(h), &d, &dl, name,
				    NULL) != GATE_OK ||
		    dl != 32) {
			free(d);
			rc = gate_fail(err, GATE_E_PARSE, "S3", name,
				       "hashes[%zu] is not a base64 32-byte hash", i);
			goto out;
		}
		memcpy(e->hashes[i], d, 32);
		free(d);
	}
	e->has_proof = true;
out:
	free(root);
	return rc;
}

static enum gate_err parse_entry(json_t *j, struct gate_tlog_entry *e, const char *field,
				 struct gate_error *err)
{
	json_t *lid, *kv, *prom, *proof;
	const char *kind, *version, *body;
	uint8_t *id = NULL;
	size_t idlen = 0;
	char name[FIELD_MAX];
	enum gate_err rc;
	if (!json_is_object(j))
		return gate_fail(err, GATE_E_PARSE, "S3", field, "not an object");
	if ((rc = gate_json_i64(j, "logIndex", true, NULL, &e->log_index, field, err)) != GATE_OK ||
	    (rc = gate_json_obj(j, "logId", true, &lid, field, err)) != GATE_OK ||
	    (rc = gate_json_b64(lid, "keyId", true, &id, &idlen, field, err)) != GATE_OK ||
	    (rc = gate_json_obj(j, "kindVersion", true, &kv, field, err)) != GATE_OK ||
	    (rc = gate_json_str(kv, "kind", true, &kind, field, err)) != GATE_OK ||
	    (rc = gate_json_str(kv, "version", true, &version, field, err)) != GATE_OK ||
	    (rc = gate_json_i64(j, "integratedTime", false, &e->has_integrated_time,
				&e->integrated_time, field, err)) != GATE_OK ||
	    (rc = gate_json_str(j, "canonicalizedBody", true, &body, field, err)) != GATE_OK)
		goto out;
	if (idlen != 32) {
		rc = gate_fail(err, GATE_E_PARSE, "S3", field, "logId.keyId is %zu bytes, not 32",
			       idlen);
		goto out;
	}
	memcpy(e->log_id, id, 32);
	if (!(e->kind = strdup(kind)) || !(e->version = strdup(version)) ||
	    !(e->body_b64 = strdup(body))) {
		rc = nomem(err);
		goto out;
	}
	snprintf(name, sizeof name, "%s.canonicalizedBody", field);
	if ((rc = gate_b64_decode(body, strlen(body), &e->body, &e->body_len, name, err)) !=
		    GATE_OK ||
	    (rc = parse_body(e, name, err)) != GATE_OK)
		goto out;
	if ((rc = gate_json_obj(j, "inclusionPromise", false, &prom, field, err)) != GATE_OK)
		goto out;
	snprintf(name, sizeof name, "%s.inclusionPromise", field);
	if (prom && (rc = gate_json_b64(prom, "signedEntryTimestamp", true, &e->set, &e->set_len,
					name, err)) != GATE_OK)
		goto out;
	if ((rc = gate_json_obj(j, "inclusionProof", false, &proof, field, err)) != GATE_OK)
		goto out;
	if (proof)
		rc = parse_proof(proof, e, field, err);
out:
	free(id);
	return rc;
}

static enum gate_err parse_entries(json_t *vm, struct gate_bundle *b, struct gate_error *err)
{
	json_t *arr = gate_json_get(vm, "tlogEntries");
	if (!arr)
		return GATE_OK;
	if (!json_is_array(arr))
		return gate_fail(err, GATE_E_PARSE, "S3", "verificationMaterial.tlogEntries",
				 "not an array");
	size_t n = json_array_size(arr);
	if (n > GATE_MAX_TLOG_ENTRIES)
		return gate_fail(err, GATE_E_TOO_LARGE, "S3", "verificationMaterial.tlogEntries",
				 "more than %d entries", GATE_MAX_TLOG_ENTRIES);
	if (n && !(b->entries = calloc(n, sizeof(*b->entries))))
		return nomem(err);
	for (size_t i = 0; i < n; i++) {
		char field[32]; /* short: nested names are built from it */
		snprintf(field, sizeof field, "tlogEntries[%zu]", i);
		b->nentries = i + 1;
		struct gate_tlog_entry *e = &b->entries[i];
		enum gate_err rc = parse_entry(json_array_get(arr, i), e, field, err);
		if (rc != GATE_OK)
			return rc;
		/* v0.1 promises inclusion with a SET; from v0.2 a proof is
		 * mandatory (S3). */
		if (b->minor >= 2 && !e->has_proof)
			return gate_fail(err, GATE_E_TLOG, "S3", field,
					 "bundle v0.%d entry has no inclusion proof", b->minor);
		if (b->minor == 1 && !e->set)
			return gate_fail(err, GATE_E_TLOG, "S3", field,
					 "bundle v0.1 entry has no inclusion promise");
		for (size_t k = 0; k < i; k++)
			if (memcmp(b->entries[k].log_id, e->log_id, 32) == 0 &&
			    b->entries[k].log_index == e->log_index)
				return gate_fail(err, GATE_E_TLOG, "S3", field,
						 "duplicate entry for the same log and index");
	}
	return GATE_OK;
}

/* ---- verification material ---- */

static enum gate_err push_cert(struct gate_bundle *b, const uint8_t *der, size_t len,
			       const char *field, struct gate_error *err)
{
	X509 *x = gate_x509_from_der(der, len);
	if (!x)
		return gate_fail(err, GATE_E_PARSE, "S1", field, "not a DER X.509 certificate");
	if (!b->leaf) {
		b->leaf = x;
		return GATE_OK;
	}
	if (!b->intermediates && !(b->intermediates = sk_X509_new_null())) {
		X509_free(x);
		return nomem(err);
	}
	if (!sk_X509_push(b->intermediates, x)) {
		X509_free(x);
		return nomem(err);
	}
	return GATE_OK;
}

static enum gate_err parse_cert_obj(json_t *o, struct gate_bundle *b, const char *field,
				    struct gate_error *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	if (!json_is_object(o))
		return gate_fail(err, GATE_E_PARSE, "S1", field, "not an object");
	enum gate_err rc = gate_json_b64(o, "rawBytes", true, &der, &len, field, err);
	if (rc == GATE_OK)
		rc = push_cert(b, der, len, field, err);
	free(der);
	return rc;
}

static enum gate_err parse_tsa(json_t *vm, struct gate_bundle *b, struct gate_error *err)
{
	const char *field = "verificationMaterial.timestampVerificationData";
	json_t *tvd = gate_json_get(vm, "timestampVerificationData"), *arr;
	if (!tvd)
		return GATE_OK;
	if (!json_is_object(tvd))
		return gate_fail(err, GATE_E_PARSE, "S1", field, "not an object");
	arr = gate_json_get(tvd, "rfc3161Timestamps");
	if (!arr)
		return GATE_OK;
	if (!json_is_array(arr))
		return gate_fail(err, GATE_E_PARSE, "S1", field, "rfc3161Timestamps not an array");
	size_t n = json_array_size(arr);
	if (n > GATE_MAX_TSA_TOKENS)
		return gate_fail(err, GATE_E_TOO_LARGE, "S12", field, "more than %d timestamps",
				 GATE_MAX_TSA_TOKENS);
	if (n && !(b->tsa = calloc(n, sizeof(*b->tsa))))
		return nomem(err);
	for (size_t i = 0; i < n; i++) {
		char name[FIELD_MAX];
		json_t *t = json_array_get(arr, i);
		snprintf(name, sizeof name, "%s.rfc3161Timestamps[%zu]", field, i);
		if (!json_is_object(t))
			return gate_fail(err, GATE_E_PARSE, "S1", name, "not an object");
		b->ntsa = i + 1;
		enum gate_err rc = gate_json_b64(t, "signedTimestamp", true, &b->tsa[i].der,
						 &b->tsa[i].len, name, err);
		if (rc != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

static enum gate_err parse_material(json_t *vm, struct gate_bundle *b, struct gate_error *err)
{
	const char *f = "verificationMaterial";
	json_t *cert = gate_json_get(vm, "certificate");
	json_t *chain = gate_json_get(vm, "x509CertificateChain");
	json_t *pk = gate_json_get(vm, "publicKey");
	enum gate_err rc;
	if (!!cert + !!chain + !!pk != 1)
		return gate_fail(
			err, GATE_E_PARSE, "S1", f,
			"needs exactly one of certificate, x509CertificateChain, publicKey");
	if (cert) {
		rc = parse_cert_obj(cert, b, "verificationMaterial.certificate", err);
	} else if (chain) {
		json_t *certs = json_is_object(chain) ? gate_json_get(chain, "certificates") : NULL;
		if (!json_is_array(certs) || json_array_size(certs) == 0)
			return gate_fail(err, GATE_E_PARSE, "S1",
					 "verificationMaterial.x509CertificateChain",
					 "certificates must be a non-empty array");
		if (json_array_size(certs) > GATE_MAX_CHAIN)
			return gate_fail(err, GATE_E_TOO_LARGE, "S1",
					 "verificationMaterial.x509CertificateChain",
					 "more than %d certificates", GATE_MAX_CHAIN);
		rc = GATE_OK;
		for (size_t i = 0; rc == GATE_OK && i < json_array_size(certs); i++) {
			char name[FIELD_MAX];
			snprintf(name, sizeof name,
				 "verificationMaterial.x509CertificateChain.certificates[%zu]", i);
			rc = parse_cert_obj(json_array_get(certs, i), b, name, err);
		}
	} else {
		if (!json_is_object(pk))
			return gate_fail(err, GATE_E_PARSE, "S1", "verificationMaterial.publicKey",
					 "not an object");
		b->has_pubkey_material = true; /* the hint is unauthenticated: unused */
		rc = GATE_OK;
	}
	if (rc == GATE_OK)
		rc = parse_entries(vm, b, err);
	if (rc == GATE_OK)
		rc = parse_tsa(vm, b, err);
	return rc;
}

/* ---- content ---- */

static enum gate_err parse_message(json_t *ms, struct gate_bundle *b, struct gate_error *err)
{
	const char *f = "messageSignature";
	json_t *md;
	enum gate_err rc;
	if (!json_is_object(ms))
		return gate_fail(err, GATE_E_PARSE, "S1", f, "not an object");
	if ((rc = gate_json_b64(ms, "signature", true, &b->sig, &b->sig_len, f, err)) != GATE_OK)
		return rc;
	if ((rc = gate_json_obj(ms, "messageDigest", false, &md, f, err)) != GATE_OK || !md)
		return rc;
	const char *alg;
	uint8_t *d = NULL;
	size_t dl = 0;
	if ((rc = gate_json_str(md, "algorithm", true, &alg, "messageSignature.messageDigest",
				err)) != GATE_OK ||
	    (rc = gate_json_b64(md, "digest", true, &d, &dl, "messageSignature.messageDigest",
				err)) != GATE_OK)
		return rc;
	if (strcmp(alg, "SHA2_256") == 0)
		b->digest_md = EVP_sha256();
	else if (strcmp(alg, "SHA2_384") == 0)
		b->digest_md = EVP_sha384();
	else if (strcmp(alg, "SHA2_512") == 0)
		b->digest_md = EVP_sha512();
	if (!b->digest_md || dl != (size_t)EVP_MD_get_size(b->digest_md)) {
		free(d);
		return gate_fail(err, GATE_E_UNSUPPORTED, "S17", "messageSignature.messageDigest",
				 "unsupported digest algorithm or wrong length");
	}
	memcpy(b->digest, d, dl);
	b->digest_len = dl;
	b->has_digest = true;
	free(d);
	return GATE_OK;
}

static enum gate_err parse_dsse(json_t *env, struct gate_bundle *b, struct gate_error *err)
{
	const char *f = "dsseEnvelope";
	const char *type;
	json_t *sigs;
	enum gate_err rc;
	if (!json_is_object(env))
		return gate_fail(err, GATE_E_PARSE, "S1", f, "not an object");
	b->is_dsse = true;
	if ((rc = gate_json_b64(env, "payload", true, &b->payload, &b->payload_len, f, err)) !=
		    GATE_OK ||
	    (rc = gate_json_str(env, "payloadType", true, &type, f, err)) != GATE_OK)
		return rc;
	if (!(b->payload_type = strdup(type)))
		return nomem(err);
	if (strcmp(type, "application/vnd.in-toto+json") != 0)
		return gate_fail(err, GATE_E_UNSUPPORTED, "S2", "dsseEnvelope.payloadType",
				 "payload type '%s' is not application/vnd.in-toto+json", type);
	sigs = gate_json_get(env, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) != 1)
		return gate_fail(err, GATE_E_PARSE, "S2", "dsseEnvelope.signatures",
				 "must hold exactly one signature");
	json_t *s = json_array_get(sigs, 0);
	if (!json_is_object(s))
		return gate_fail(err, GATE_E_PARSE, "S2", "dsseEnvelope.signatures[0]",
				 "not an object");
	return gate_json_b64(s, "sig", true, &b->sig, &b->sig_len, "dsseEnvelope.signatures[0]",
			     err);
}

/* ---- documents ---- */

static int media_minor(const char *mt)
{
	static const struct {
		const char *name;
		int minor;
	} types[] = {
		{"application/vnd.dev.sigstore.bundle+json;version=0.1", 1},
		{"application/vnd.dev.sigstore.bundle+json;version=0.2", 2},
		{"application/vnd.dev.sigstore.bundle+json;version=0.3", 3},
		{"application/vnd.dev.sigstore.bundle.v0.3+json", 3},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(mt, types[i].name) == 0)
			return types[i].minor;
	return 0;
}

static enum gate_err parse_sigstore(json_t *j, struct gate_bundle *b, struct gate_error *err)
{
	const char *mt;
	json_t *vm;
	enum gate_err rc;
	if ((rc = gate_json_str(j, "mediaType", true, &mt, "", err)) != GATE_OK)
		return rc;
	if (!(b->minor = media_minor(mt)))
		return gate_fail(err, GATE_E_UNSUPPORTED, "S1", "mediaType",
				 "unsupported bundle media type '%s'", mt);
	json_t *ms = gate_json_get(j, "messageSignature");
	json_t *dsse = gate_json_get(j, "dsseEnvelope");
	if (!!ms + !!dsse != 1)
		return gate_fail(err, GATE_E_PARSE, "S1", "",
				 "needs exactly one of messageSignature and dsseEnvelope");
	if ((rc = gate_json_obj(j, "verificationMaterial", true, &vm, "", err)) != GATE_OK ||
	    (rc = parse_material(vm, b, err)) != GATE_OK)
		return rc;
	return ms ? parse_message(ms, b, err) : parse_dsse(dsse, b, err);
}

/* cosign's "cert" field holds base64 of a PEM certificate. */
static enum gate_err parse_legacy_cert(const char *s, struct gate_bundle *b, struct gate_error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	STACK_OF(X509) *sk = NULL;
	enum gate_err rc;
	if (strncmp(s, "-----BEGIN", 10) == 0)
		rc = gate_certs_from_pem((const uint8_t *)s, strlen(s), GATE_MAX_CHAIN, &sk, "cert",
					 err);
	else if ((rc = gate_b64_decode(s, strlen(s), &pem, &len, "cert", err)) == GATE_OK)
		rc = gate_certs_from_pem(pem, len, GATE_MAX_CHAIN, &sk, "cert", err);
	free(pem);
	if (rc != GATE_OK)
		return rc;
	b->leaf = sk_X509_shift(sk);
	if (sk_X509_num(sk) > 0)
		b->intermediates = sk;
	else
		sk_X509_free(sk);
	return GATE_OK;
}

/* `cosign sign-blob --bundle`: base64Signature, cert, rekorBundle{
 * SignedEntryTimestamp, Payload{body, integratedTime, logIndex, logID}}. It
 * carries a SET and no proof, like a v0.1 bundle. */
static enum gate_err parse_legacy(json_t *j, struct gate_bundle *b, struct gate_error *err)
{
	const char *sig, *cert, *body, *logid;
	json_t *rb, *pl;
	enum gate_err rc;
	b->legacy = true;
	if ((rc = gate_json_str(j, "base64Signature", true, &sig, "", err)) != GATE_OK ||
	    (rc = gate_b64_decode(sig, strlen(sig), &b->sig, &b->sig_len, "base64Signature",
				  err)) != GATE_OK ||
	    (rc = gate_json_str(j, "cert", false, &cert, "", err)) != GATE_OK)
		return rc;
	if (cert && *cert && (rc = parse_legacy_cert(cert, b, err)) != GATE_OK)
		return rc;
	if (!b->leaf)
		b->has_pubkey_material = true;
	if ((rc = gate_json_obj(j, "rekorBundle", false, &rb, "", err)) != GATE_OK || !rb)
		return rc;
	if (!(b->entries = calloc(1, sizeof(*b->entries))))
		return nomem(err);
	b->nentries = 1;
	struct gate_tlog_entry *e = &b->entries[0];
	const char *f = "rekorBundle.Payload";
	if ((rc = gate_json_b64(rb, "SignedEntryTimestamp", true, &e->set, &e->set_len,
				"rekorBundle", err)) != GATE_OK ||
	    (rc = gate_json_obj(rb, "Payload", true, &pl, "rekorBundle", err)) != GATE_OK ||
	    (rc = gate_json_str(pl, "body", true, &body, f, err)) != GATE_OK ||
	    (rc = gate_json_i64(pl, "integratedTime", true, &e->has_integrated_time,
				&e->integrated_time, f, err)) != GATE_OK ||
	    (rc = gate_json_i64(pl, "logIndex", true, NULL, &e->log_index, f, err)) != GATE_OK ||
	    (rc = gate_json_str(pl, "logID", true, &logid, f, err)) != GATE_OK)
		return rc;
	if (!gate_hex_decode(logid, strlen(logid), e->log_id, 32))
		return gate_fail(err, GATE_E_PARSE, "S3", "rekorBundle.Payload.logID",
				 "not 64 hex digits");
	if (!(e->body_b64 = strdup(body)))
		return nomem(err);
	if ((rc = gate_b64_decode(body, strlen(body), &e->body, &e->body_len,
				  "rekorBundle.Payload.body", err)) != GATE_OK ||
	    (rc = gate_json_parse(e->body, e->body_len, &e->body_json, "rekorBundle.Payload.body",
				  err)) != GATE_OK)
		return rc;
	const char *kind, *api;
	if ((rc = gate_json_str(e->body_json, "kind", true, &kind, f, err)) != GATE_OK ||
	    (rc = gate_json_str(e->body_json, "apiVersion", true, &api, f, err)) != GATE_OK)
		return rc;
	if (!(e->kind = strdup(kind)) || !(e->version = strdup(api)))
		return nomem(err);
	return GATE_OK;
}

enum gate_err gate_bundle_parse(const uint8_t *buf, size_t len, struct gate_bundle **out,
				struct gate_error *err)
{
	json_t *j = NULL;
	struct gate_bundle *b = NULL;
	enum gate_err rc;
	if (len > GATE_MAX_BUNDLE)
		return gate_fail(err, GATE_E_TOO_LARGE, "S1", "bundle", "over the %u-byte limit",
				 GATE_MAX_BUNDLE);
	if ((rc = gate_json_parse(buf, len, &j, "bundle", err)) != GATE_OK)
		return rc;
	if (!(b = calloc(1, sizeof(*b)))) {
		rc = nomem(err);
		goto out;
	}
	if (gate_json_get(j, "base64Signature") && !gate_json_get(j, "mediaType"))
		rc = parse_legacy(j, b, err);
	else
		rc = parse_sigstore(j, b, err);
	if (rc == GATE_OK && b->sig_len == 0)
		rc = gate_fail(err, GATE_E_PARSE, "S1", "signature", "empty signature");
	if (rc == GATE_OK) {
		*out = b;
		b = NULL;
	}
out:
	gate_bundle_free(b);
	json_decref(j);
	return rc;
}

enum gate_err gate_bundle_load(const char *path, struct gate_bundle **out, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(path, GATE_MAX_BUNDLE, &buf, &len, err);
	if (rc == GATE_OK)
		rc = gate_bundle_parse(buf, len, out, err);
	if (rc != GATE_OK && err && !err->file[0])
		snprintf(err->file, sizeof(err->file), "%s", path);
	free(buf);
	return rc;
}

/* cosign writes the signature file as base64 text, often with a newline. */
static enum gate_err decode_sig_text(const uint8_t *s, size_t n, uint8_t **out, size_t *outlen,
				     struct gate_error *err)
{
	while (n > 0 && isspace(s[n - 1]))
		n--;
	while (n > 0 && isspace(s[0])) {
		s++;
		n--;
	}
	if (n == 0)
		return gate_fail(err, GATE_E_PARSE, "S1", "signature", "signature file is empty");
	if (memchr(s, 0, n))
		return gate_fail(err, GATE_E_PARSE, "S1", "signature", "signature contains NUL");
	return gate_b64_decode((const char *)s, n, out, outlen, "signature", err);
}

/* cosign's --certificate-chain file ends with the root. Anchors come only
 * from the trusted root, so a self-signed certificate in a detached chain is
 * dropped rather than trusted. (In a bundle it is rejected: S4.) */
static void drop_self_signed(STACK_OF(X509) *sk)
{
	for (int i = sk_X509_num(sk) - 1; i >= 0; i--) {
		X509 *x = sk_X509_value(sk, i);
		if (X509_get_extension_flags(x) & EXFLAG_SS) {
			(void)sk_X509_delete(sk, i);
			X509_free(x);
		}
	}
}

enum gate_err gate_bundle_from_detached(const uint8_t *sig, size_t siglen, const uint8_t *cert,
					size_t certlen, const uint8_t *chain, size_t chainlen,
					struct gate_bundle **out, struct gate_error *err)
{
	struct gate_bundle *b = calloc(1, sizeof(*b));
	STACK_OF(X509) *sk = NULL;
	enum gate_err rc;
	if (!b)
		return nomem(err);
	b->legacy = true;
	if ((rc = decode_sig_text(sig, siglen, &b->sig, &b->sig_len, err)) != GATE_OK)
		goto out;
	if (cert) {
		/* --certificate may be PEM or, as cosign also writes it, base64
		 * of PEM. */
		char *tmp = strndup((const char *)cert, certlen);
		if (!tmp) {
			rc = nomem(err);
			goto out;
		}
		char *p = tmp;
		while (isspace((unsigned char)*p))
			p++;
		size_t n = strlen(p);
		while (n && isspace((unsigned char)p[n - 1]))
			p[--n] = 0;
		rc = (certlen && cert[0] == 0x30)
			     ? gate_certs_from_pem(cert, certlen, 1, &sk, "certificate", err)
			     : parse_legacy_cert(p, b, err);
		free(tmp);
		if (rc != GATE_OK)
			goto out;
		if (sk) {
			b->leaf = sk_X509_shift(sk);
			sk_X509_free(sk);
			sk = NULL;
		}
		if (b->intermediates) {
			rc = gate_fail(err, GATE_E_PARSE, "S1", "certificate",
				       "holds more than one certificate; pass the rest with "
				       "--certificate-chain");
			goto out;
		}
	} else {
		b->has_pubkey_material = true;
	}
	if (chain && chainlen) {
		if (!b->leaf) {
			rc = gate_fail(err, GATE_E_USAGE, "S1", "certificate-chain",
				       "a chain needs a certificate");
			goto out;
		}
		if ((rc = gate_certs_from_pem(chain, chainlen, GATE_MAX_CHAIN, &b->intermediates,
					      "certificate-chain", err)) != GATE_OK)
			goto out;
		drop_self_signed(b->intermediates);
	}
	*out = b;
	b = NULL;
out:
	sk_X509_pop_free(sk, X509_free);
	gate_bundle_free(b);
	return rc;
}
