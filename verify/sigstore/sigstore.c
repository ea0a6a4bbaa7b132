/* sigstore.c - one bundle over one artifact: the rules of spec/SIGSTORE.md
 * §3 in order (S4-S19), producing verified facts. */
#include "internal.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest predicate value kept in the facts (a builder id, a repository
 * URI, a ref). */
#define GATE_MAX_PREDICATE_VALUE 2048

/* How far in the future a log may claim to have seen an entry (S11). */
#define GATE_CLOCK_SKEW 300

/* Everything one verification needs, gathered once. */
struct vctx {
	const struct gate_bundle *b;
	const struct gate_artifact *a;
	const struct gate_verify_opts *o;
	int64_t now;
	EVP_PKEY *key; /* signing key: the leaf's or the managed one */
	enum gate_keyalg alg;
	uint8_t *spki; /* its DER SPKI */
	size_t spki_len;
	uint8_t *leaf_der;
	size_t leaf_der_len;
	uint8_t pae_digest[32]; /* DSSE: SHA-256(PAE) */
	int64_t times[GATE_MAX_TLOG_ENTRIES + GATE_MAX_TSA_TOKENS];
	size_t ntimes;
	struct gate_facts *f;
};

void gate_facts_free(struct gate_facts *f)
{
	if (!f)
		return;
	free(f->identity);
	free(f->issuer);
	free(f->subject);
	free(f->payload_type);
	free(f->predicate_type);
	for (size_t i = 0; i < f->n_exts; i++)
		free(f->exts[i].value);
	for (size_t i = 0; i < f->n_predicate && i < GATE_MAX_FACT_PREDICATE; i++)
		free(f->predicate[i].value);
	free(f->cert_issuer);
	free(f->serial);
	free(f->anchor_name);
	for (size_t i = 0; i < f->n_sans; i++)
		free(f->sans[i]);
	free(f->sans);
	free(f);
}

struct gate_regex {
	regex_t re;
};

enum gate_err gate_regex_compile(const char *pattern, struct gate_regex **out,
				 struct gate_error *err)
{
	struct gate_regex *r = calloc(1, sizeof(*r));
	if (!r)
		return gate_fail(err, GATE_E_NOMEM, NULL, "regexp", "out of memory");
	int rc = regcomp(&r->re, pattern, REG_EXTENDED);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &r->re, msg, sizeof msg);
		free(r);
		return gate_fail(err, GATE_E_USAGE, NULL, "regexp", "bad regexp '%s': %s", pattern,
				 msg);
	}
	*out = r;
	return GATE_OK;
}

bool gate_regex_matches(const struct gate_regex *r, const char *value)
{
	/* The match found must span the value (see gate_regex_full_match). */
	regmatch_t m[1];
	return regexec(&r->re, value, 1, m, 0) == 0 && m[0].rm_so == 0 &&
	       (size_t)m[0].rm_eo == strlen(value);
}

void gate_regex_free(struct gate_regex *r)
{
	if (!r)
		return;
	regfree(&r->re);
	free(r);
}

enum gate_err gate_regex_full_match(const char *pattern, const char *value, struct gate_error *err)
{
	/* The whole value must match, so a prefix pattern never accepts
	 * identities it did not mean. The pattern is not wrapped in "^(...)$":
	 * "p)|(q" would then become "^(p)|(q)$", an unanchored p. Instead the
	 * match found must span the value; POSIX matching is leftmost-longest,
	 * so if any match covers the whole value, the one reported does. */
	struct gate_regex *r = NULL;
	enum gate_err rc = gate_regex_compile(pattern, &r, err);
	if (rc != GATE_OK)
		return rc;
	rc = gate_regex_matches(r, value) ? GATE_OK : GATE_E_IDENTITY;
	gate_regex_free(r);
	return rc;
}

/* ---- S6: the log body must describe this very signature ---- */

/* body member at a dotted path, e.g. "spec.signature.content". */
static json_t *jpath(json_t *j, const char *path)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
		j = json_is_object(j) ? json_object_get(j, tok) : NULL;
	return j;
}

static const char *jstr(json_t *j, const char *path)
{
	json_t *v = jpath(j, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Decode base64 text at path; *out malloc'd. */
static bool jb64(json_t *j, const char *path, uint8_t **out, size_t *len)
{
	const char *s = jstr(j, path);
	*out = NULL;
	return s && gate_b64_decode(s, strlen(s), out, len, path, NULL) == GATE_OK;
}

static bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* A PEM certificate or public key from the log body must be exactly the
 * bundle's leaf, or the managed key. */
static bool pem_is_signer(const struct vctx *c, const uint8_t *pem, size_t len)
{
	/* Compared as DER bytes: nothing is parsed, nothing re-encoded. */
	uint8_t *der = NULL;
	size_t dl = 0;
	bool ok = c->leaf_der ? gate_pem_decode(pem, len, "CERTIFICATE", &der, &dl) &&
					bytes_eq(der, dl, c->leaf_der, c->leaf_der_len)
			      : gate_pem_decode(pem, len, "PUBLIC KEY", &der, &dl) &&
					bytes_eq(der, dl, c->spki, c->spki_len);
	free(der);
	return ok;
}

static bool b64_pem_is_signer(const struct vctx *c, json_t *j, const char *path)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	bool ok = jb64(j, path, &pem, &len) && pem_is_signer(c, pem, len);
	free(pem);
	return ok;
}

static bool hex_is(const char *hex, const uint8_t *d, size_t dlen)
{
	uint8_t buf[64];
	return hex && dlen <= sizeof buf && gate_hex_decode(hex, strlen(hex), buf, dlen) &&
	       memcmp(buf, d, dlen) == 0;
}

static enum gate_err mismatch(struct gate_error *err, const char *field, const char *what)
{
	return gate_fail(err, GATE_E_MISMATCH, "S6", field,
			 "log entry does not match the bundle: %s", what);
}

static enum gate_err body_hashedrekord_v1(const struct vctx *c, json_t *body, const char *f,
					  struct gate_error *err)
{
	uint8_t *sig = NULL;
	size_t sl = 0;
	if (c->b->is_dsse)
		return mismatch(err, f, "hashedrekord entry for a DSSE envelope");
	const char *alg = jstr(body, "spec.data.hash.algorithm");
	if (!alg || strcmp(alg, "sha256") != 0 ||
	    !hex_is(jstr(body, "spec.data.hash.value"), c->a->sha256, 32))
		return mismatch(err, f, "spec.data.hash is not the artifact's SHA-256");
	if (c->b->has_digest && !bytes_eq(c->b->digest, c->b->digest_len, c->a->sha256, 32))
		return mismatch(err, f, "messageDigest differs from the logged hash");
	bool same = jb64(body, "spec.signature.content", &sig, &sl) &&
		    bytes_eq(sig, sl, c->b->sig, c->b->sig_len);
	free(sig);
	if (!same)
		return mismatch(err, f, "spec.signature.content is another signature");
	if (!b64_pem_is_signer(c, body, "spec.signature.publicKey.content"))
		return mismatch(err, f, "spec.signature.publicKey is another key or certificate");
	return GATE_OK;
}

static bool payload_hash_is(const struct vctx *c, json_t *body, const char *prefix)
{
	char p[96];
	uint8_t d[32];
	snprintf(p, sizeof p, "%s.algorithm", prefix);
	const char *alg = jstr(body, p);
	snprintf(p, sizeof p, "%s.value", prefix);
	gate_sha256(c->b->payload, c->b->payload_len, d);
	return alg && strcmp(alg, "sha256") == 0 && hex_is(jstr(body, p), d, 32);
}

/* The only element of a one-element array at path, or NULL. */
static json_t *only_elem(json_t *body, const char *path)
{
	json_t *arr = jpath(body, path);
	return json_is_array(arr) && json_array_size(arr) == 1 ? json_array_get(arr, 0) : NULL;
}

static enum gate_err body_dsse_v1(const struct vctx *c, json_t *body, const char *f,
				  struct gate_error *err)
{
	uint8_t *sig = NULL;
	size_t sl = 0;
	if (!c->b->is_dsse)
		return mismatch(err, f, "dsse entry for a message signature");
	if (!payload_hash_is(c, body, "spec.payloadHash"))
		return mismatch(err, f, "spec.payloadHash is not the envelope payload's hash");
	json_t *s = only_elem(body, "spec.signatures");
	bool same =
		s && jb64(s, "signature", &sig, &sl) && bytes_eq(sig, sl, c->b->sig, c->b->sig_len);
	free(sig);
	if (!same)
		return mismatch(err, f, "spec.signatures is not the envelope's signature");
	if (!b64_pem_is_signer(c, s, "verifier"))
		return mismatch(err, f, "spec.signatures[0].verifier is another key");
	return GATE_OK;
}

/* intoto 0.0.2 stores sig and payload as base64 of base64 text. */
static bool double_b64_is(json_t *j, const char *path, const uint8_t *want, size_t wantlen)
{
	uint8_t *once = NULL, *twice = NULL;
	size_t l1 = 0, l2 = 0;
	bool ok = jb64(j, path, &once, &l1) &&
		  gate_b64_decode((const char *)once, l1, &twice, &l2, path, NULL) == GATE_OK &&
		  bytes_eq(twice, l2, want, wantlen);
	free(once);
	free(twice);
	return ok;
}

static enum gate_err body_intoto_v2(const struct vctx *c, json_t *body, const char *f,
				    struct gate_error *err)
{
	if (!c->b->is_dsse)
		return mismatch(err, f, "intoto entry for a message signature");
	if (!payload_hash_is(c, body, "spec.content.payloadHash"))
		return mismatch(err, f, "spec.content.payloadHash is not the payload's hash");
	json_t *env = jpath(body, "spec.content.envelope");
	if (jstr(env, "payload") &&
	    !double_b64_is(env, "payload", c->b->payload, c->b->payload_len))
		return mismatch(err, f, "spec.content.envelope.payload is another payload");
	json_t *s = only_elem(body, "spec.content.envelope.signatures");
	if (!s || !double_b64_is(s, "sig", c->b->sig, c->b->sig_len))
		return mismatch(err, f, "envelope signature is not the bundle's");
	if (!b64_pem_is_signer(c, s, "publicKey"))
		return mismatch(err, f, "envelope publicKey is another key");
	return GATE_OK;
}

static enum gate_err body_hashedrekord_v2(const struct vctx *c, json_t *body, const char *f,
					  struct gate_error *err)
{
	json_t *spec = jpath(body, "spec.hashedRekordV002");
	uint8_t *d = NULL, *sig = NULL, *ver = NULL;
	size_t dl = 0, sl = 0, vl = 0;
	enum gate_err rc = GATE_OK;
	const char *alg = jstr(spec, "data.algorithm");
	/* The logged digest is of the artifact, or of the PAE for DSSE. */
	const uint8_t *want = c->b->is_dsse ? c->pae_digest : c->a->sha256;
	if (!alg || strcmp(alg, "SHA2_256") != 0 || !jb64(spec, "data.digest", &d, &dl) ||
	    !bytes_eq(d, dl, want, 32))
		rc = mismatch(err, f, "data.digest is not the signed content's SHA-256");
	else if (!jb64(spec, "signature.content", &sig, &sl) ||
		 !bytes_eq(sig, sl, c->b->sig, c->b->sig_len))
		rc = mismatch(err, f, "signature.content is another signature");
	else if (c->leaf_der
			 ? !(jb64(spec, "signature.verifier.x509Certificate.rawBytes", &ver, &vl) &&
			     bytes_eq(ver, vl, c->leaf_der, c->leaf_der_len))
			 : !(jb64(spec, "signature.verifier.publicKey.rawBytes", &ver, &vl) &&
			     bytes_eq(ver, vl, c->spki, c->spki_len)))
		rc = mismatch(err, f, "signature.verifier is another key or certificate");
	free(d);
	free(sig);
	free(ver);
	return rc;
}

static bool is_rekor_v2(const struct gate_tlog_entry *e)
{
	return strcmp(e->version, "0.0.2") == 0 && strcmp(e->kind, "hashedrekord") == 0;
}

static enum gate_err check_body(const struct vctx *c, const struct gate_tlog_entry *e,
				const char *f, struct gate_error *err)
{
	if (strcmp(e->kind, "hashedrekord") == 0 && strcmp(e->version, "0.0.1") == 0)
		return body_hashedrekord_v1(c, e->body_json, f, err);
	if (is_rekor_v2(e))
		return body_hashedrekord_v2(c, e->body_json, f, err);
	if (strcmp(e->kind, "dsse") == 0 && strcmp(e->version, "0.0.1") == 0)
		return body_dsse_v1(c, e->body_json, f, err);
	if (strcmp(e->kind, "intoto") == 0 && strcmp(e->version, "0.0.2") == 0)
		return body_intoto_v2(c, e->body_json, f, err);
	return gate_fail(err, GATE_E_UNSUPPORTED, "S6", f, "log entry kind %s %s is not supported",
			 e->kind, e->version);
}

/* ---- S5-S11: each transparency log entry ---- */

static enum gate_err check_entry_time(const struct vctx *c, const struct gate_tlog_entry *e,
				      const char *f, struct gate_error *err)
{
	if (!e->has_integrated_time || e->integrated_time == 0)
		return GATE_OK;
	if (e->integrated_time > c->now + GATE_CLOCK_SKEW)
		return gate_fail(err, GATE_E_TLOG, "S11", f, "integratedTime %lld is in the future",
				 (long long)e->integrated_time);
	if (c->b->leaf) {
		int64_t nb, na;
		if (!gate_asn1_time_to_unix(X509_get0_notBefore(c->b->leaf), &nb) ||
		    !gate_asn1_time_to_unix(X509_get0_notAfter(c->b->leaf), &na))
			return gate_fail(err, GATE_E_CERT, "S11", "certificate",
					 "unreadable validity");
		if (e->integrated_time < nb || e->integrated_time > na)
			return gate_fail(err, GATE_E_TLOG, "S11", f,
					 "integratedTime %lld is outside the certificate's "
					 "validity [%lld, %lld]",
					 (long long)e->integrated_time, (long long)nb,
					 (long long)na);
	}
	return GATE_OK;
}

static enum gate_err verify_entry(struct vctx *c, const struct gate_tlog_entry *e, const char *f,
				  struct gate_error *err)
{
	enum gate_err rc;
	const struct gate_log *log =
		gate_root_find_log(c->o->root->tlogs, c->o->root->ntlogs, e->log_id);
	if (!log) { /* S5 */
		char hex[65];
		gate_hex_encode(e->log_id, 32, hex);
		return gate_fail(err, GATE_E_TLOG, "S5", f,
				 "log %s is not a transparency log of the trusted root", hex);
	}
	if ((rc = check_body(c, e, f, err)) != GATE_OK)
		return rc;
	if (is_rekor_v2(e) && !e->has_proof) /* S10 */
		return gate_fail(err, GATE_E_TLOG, "S10", f,
				 "Rekor v2 entry without an inclusion proof");
	if (!e->set && !e->has_proof)
		return gate_fail(err, GATE_E_TLOG, "S7", f,
				 "neither an inclusion promise nor an inclusion proof");
	if (e->set) {
		if ((rc = gate_set_verify(e, log, err)) != GATE_OK)
			return rc;
		/* A verified SET makes integratedTime a signing time (S13). */
		c->times[c->ntimes++] = e->integrated_time;
	}
	if ((rc = check_entry_time(c, e, f, err)) != GATE_OK)
		return rc;
	if (e->has_proof) {
		if ((rc = gate_checkpoint_verify(e->checkpoint, e->checkpoint_len, log,
						 (uint64_t)e->tree_size, e->root_hash, err)) !=
			    GATE_OK ||
		    (rc = gate_merkle_verify(e->body, e->body_len, (uint64_t)e->proof_index,
					     (uint64_t)e->tree_size,
					     (const uint8_t(*)[32])e->hashes, e->nhashes,
					     e->root_hash, err)) != GATE_OK)
			return rc;
	}
	struct gate_facts *fa = c->f;
	if (fa->n_tlog < GATE_MAX_FACT_LOGS) {
		fa->log_index[fa->n_tlog] = e->log_index;
		fa->integrated_time[fa->n_tlog] = e->integrated_time;
	}
	fa->n_tlog++;
	return GATE_OK;
}

/* ---- S12-S13: signing times ---- */

static enum gate_err verify_timestamps(struct vctx *c, struct gate_error *err)
{
	bool used[GATE_MAX_ROOT_ENTRIES] = {false};
	struct gate_error last = {0};
	for (size_t i = 0; i < c->b->ntsa; i++) {
		int64_t t;
		size_t idx;
		if (gate_rfc3161_verify(c->b->tsa[i].der, c->b->tsa[i].len, c->b->sig,
					c->b->sig_len, c->o->root, &t, &idx, &last) != GATE_OK)
			continue; /* not counted (S12), but remembered for the error */
		if (idx < GATE_MAX_ROOT_ENTRIES && used[idx])
			continue; /* at most one time per authority */
		if (idx < GATE_MAX_ROOT_ENTRIES)
			used[idx] = true;
		c->times[c->ntimes++] = t;
		if (c->f->n_tsa < GATE_MAX_FACT_LOGS)
			c->f->tsa_time[c->f->n_tsa] = t;
		c->f->n_tsa++;
	}
	if (c->ntimes > 0 || !c->b->leaf)
		return GATE_OK;
	if (c->b->ntsa > 0 && last.code != GATE_OK) {
		if (err)
			*err = last;
		return last.code;
	}
	return gate_fail(err, GATE_E_NO_TIME, "S13", "verificationMaterial",
			 "no verified signing time: no signed entry timestamp and no RFC 3161 "
			 "timestamp verified");
}

/* ---- S14-S16: the certificate ---- */

static enum gate_err check_identity(const struct vctx *c, struct gate_error *err)
{
	const struct gate_verify_opts *o = c->o;
	const char *id = c->f->identity, *iss = c->f->issuer ? c->f->issuer : "";
	enum gate_err rc;
	if (o->issuer && strcmp(o->issuer, iss) != 0)
		return gate_fail(err, GATE_E_IDENTITY, "S16", "certificate.issuer",
				 "OIDC issuer '%s' is not the expected '%s'", iss, o->issuer);
	if (o->issuer_regex && (rc = gate_regex_full_match(o->issuer_regex, iss, err)) != GATE_OK)
		return rc == GATE_E_IDENTITY ? gate_fail(err, rc, "S16", "certificate.issuer",
							 "OIDC issuer '%s' does not match '%s'",
							 iss, o->issuer_regex)
					     : rc;
	if (o->identity && strcmp(o->identity, id) != 0)
		return gate_fail(err, GATE_E_IDENTITY, "S16", "certificate.subjectAltName",
				 "identity '%s' is not the expected '%s'", id, o->identity);
	if (o->identity_regex &&
	    (rc = gate_regex_full_match(o->identity_regex, id, err)) != GATE_OK)
		return rc == GATE_E_IDENTITY
			       ? gate_fail(err, rc, "S16", "certificate.subjectAltName",
					   "identity '%s' does not match '%s'", id,
					   o->identity_regex)
			       : rc;
	return GATE_OK;
}

static enum gate_err verify_certificate(struct vctx *c, struct gate_error *err)
{
	X509 *issuer = NULL;
	enum gate_err rc = GATE_OK;
	/* The chain must hold at every signing time we rely on (S14). */
	for (size_t i = 0; rc == GATE_OK && i < c->ntimes; i++) {
		X509_free(issuer);
		issuer = NULL;
		rc = gate_cert_verify_chain(c->b->leaf, c->b->intermediates, c->o->root,
					    c->times[i], &issuer, err);
	}
	if (rc == GATE_OK)
		rc = gate_sct_verify(c->b->leaf, issuer, c->o->root, err);
	if (rc == GATE_OK)
		rc = gate_cert_identity(c->b->leaf, c->f, err);
	if (rc == GATE_OK)
		rc = check_identity(c, err);
	X509_free(issuer);
	return rc;
}

/* ---- S17-S18: the signature over the artifact ---- */

static enum gate_err pae_digest(struct vctx *c, uint8_t **pae, size_t *len, struct gate_error *err)
{
	const struct gate_bundle *b = c->b;
	char head[128];
	int hl = snprintf(head, sizeof head, "DSSEv1 %zu %s %zu ", strlen(b->payload_type),
			  b->payload_type, b->payload_len);
	if (hl < 0 || (size_t)hl >= sizeof head)
		return gate_fail(err, GATE_E_PARSE, "S18", "dsseEnvelope.payloadType", "too long");
	*len = (size_t)hl + b->payload_len;
	if (!(*pae = malloc(*len ? *len : 1)))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	memcpy(*pae, head, (size_t)hl);
	memcpy(*pae + hl, b->payload, b->payload_len);
	gate_sha256(*pae, *len, c->pae_digest);
	return GATE_OK;
}

/* What a verified SLSA provenance v1 predicate says about the build: its
 * builder (runDetails.builder.id), build type, and the source repository
 * and ref of the workflow it ran (buildDefinition.externalParameters.
 * workflow, as GitHub's build type writes them). Only strings count; a
 * field that is absent or not a string is left out of the facts, so a
 * policy condition on it does not hold. */
static enum gate_err slsa_v1_facts(json_t *pred, struct gate_facts *f, struct gate_error *err)
{
	static const struct {
		const char *name, *path;
	} fields[GATE_MAX_FACT_PREDICATE] = {
		{"builder_id", "runDetails.builder.id"},
		{"build_type", "buildDefinition.buildType"},
		{"source_repository", "buildDefinition.externalParameters.workflow.repository"},
		{"source_ref", "buildDefinition.externalParameters.workflow.ref"},
	};
	for (size_t i = 0; i < GATE_MAX_FACT_PREDICATE; i++) {
		const char *v = jstr(pred, fields[i].path);
		if (!v)
			continue;
		if (strlen(v) > GATE_MAX_PREDICATE_VALUE)
			return gate_fail(err, GATE_E_TOO_LARGE, "S18", "statement.predicate",
					 "%s is longer than %d bytes", fields[i].path,
					 GATE_MAX_PREDICATE_VALUE);
		if (!(f->predicate[f->n_predicate].value = strdup(v)))
			return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		f->predicate[f->n_predicate++].name = fields[i].name;
	}
	return GATE_OK;
}

/* S18: some subject of the in-toto statement names the artifact. */
static enum gate_err check_statement(struct vctx *c, struct gate_error *err)
{
	json_t *st = NULL;
	const char *type, *pred;
	char hex[65];
	enum gate_err rc =
		gate_json_parse(c->b->payload, c->b->payload_len, &st, "dsseEnvelope.payload", err);
	if (rc != GATE_OK)
		return rc;
	if ((rc = gate_json_str(st, "_type", true, &type, "statement", err)) != GATE_OK)
		goto out;
	if (strcmp(type, "https://in-toto.io/Statement/v1") != 0 &&
	    strcmp(type, "https://in-toto.io/Statement/v0.1") != 0) {
		rc = gate_fail(err, GATE_E_UNSUPPORTED, "S18", "statement._type",
			       "unknown in-toto statement type '%s'", type);
		goto out;
	}
	if (gate_json_str(st, "predicateType", false, &pred, "statement", NULL) == GATE_OK &&
	    pred && !(c->f->predicate_type = strdup(pred))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	gate_artifact_sha256_hex(c->a, hex);
	json_t *subj = json_object_get(st, "subject");
	size_t i;
	json_t *s;
	rc = gate_fail(err, GATE_E_DIGEST, "S18", "statement.subject",
		       "no subject has the artifact's sha256 %s", hex);
	if (!json_is_array(subj))
		goto out;
	json_array_foreach(subj, i, s)
	{
		const char *d = jstr(s, "digest.sha256");
		if (d && strlen(d) == 64 && hex_is(d, c->a->sha256, 32)) {
			rc = GATE_OK;
			break;
		}
	}
	if (rc == GATE_OK && pred && strcmp(pred, GATE_SLSA_PROVENANCE_V1) == 0)
		rc = slsa_v1_facts(json_object_get(st, "predicate"), c->f, err);
out:
	json_decref(st);
	return rc;
}

static enum gate_err verify_signature(struct vctx *c, const uint8_t *pae, size_t pae_len,
				      struct gate_error *err)
{
	const struct gate_bundle *b = c->b;
	if (b->is_dsse) {
		if (gate_sig_verify_msg(c->key, c->alg, pae, pae_len, b->sig, b->sig_len) !=
		    GATE_OK)
			return gate_fail(err, GATE_E_SIGNATURE, "S18", "dsseEnvelope.signatures[0]",
					 "signature does not verify over the envelope");
		return check_statement(c, err);
	}
	if (b->has_digest) { /* S17 */
		uint8_t d[EVP_MAX_MD_SIZE];
		size_t dl = 0;
		enum gate_err rc = gate_artifact_digest(c->a, b->digest_md, d, &dl, err);
		if (rc != GATE_OK)
			return rc;
		if (!bytes_eq(d, dl, b->digest, b->digest_len))
			return gate_fail(err, GATE_E_DIGEST, "S17",
					 "messageSignature.messageDigest",
					 "digest is not the artifact's");
		/* S17: ECDSA signs a digest, so the signature is checked over
		 * the one the bundle names and we recomputed: a P-384 key over
		 * SHA-256, as sigstore-python issued in 2023, verifies as it
		 * does there; other key types keep their own hash. */
		if (gate_keyalg_any_digest(c->alg)) {
			if (gate_sig_verify_digest_md(c->key, c->alg, b->digest_md, d, dl, b->sig,
						      b->sig_len) != GATE_OK)
				return gate_fail(err, GATE_E_SIGNATURE, "S17", "signature",
						 "signature does not verify over the artifact's "
						 "%s digest",
						 EVP_MD_get0_name(b->digest_md));
			return GATE_OK;
		}
	}
	return gate_artifact_verify_sig(c->a, c->key, c->alg, b->sig, b->sig_len, err);
}

/* ---- the whole ---- */

/* S4 and the signing key. */
static enum gate_err select_key(struct vctx *c, struct gate_error *err)
{
	const struct gate_bundle *b = c->b;
	if (c->o->key) {
		if (b->leaf)
			return gate_fail(err, GATE_E_KEY, "S4", "verificationMaterial",
					 "bundle is signed with a certificate, not a managed key");
		c->key = c->o->key->pkey;
		c->alg = c->o->key->alg;
		c->f->kind = GATE_SIGNER_KEY;
	} else {
		if (!b->leaf)
			return gate_fail(err, GATE_E_CERT, "S4", "verificationMaterial",
					 "bundle has no certificate: verify it with a public key");
		c->key = X509_get0_pubkey(b->leaf);
		if (!c->key) {
			gate_fail(err, GATE_E_CERT, "S1", "certificate", "unreadable public key");
			gate_fail_ssl(err); /* and empties OpenSSL's error queue */
			return GATE_E_CERT;
		}
		c->alg = gate_keyalg_default(c->key);
		c->f->kind = GATE_SIGNER_KEYLESS;
		int dl = i2d_X509(b->leaf, &c->leaf_der);
		if (dl <= 0)
			return gate_fail(err, GATE_E_CERT, "S1", "certificate", "cannot encode");
		c->leaf_der_len = (size_t)dl;
	}
	if (c->alg == GATE_ALG_UNKNOWN)
		return gate_fail(err, GATE_E_UNSUPPORTED, "S17", "key", "unsupported key type");
	/* The SPKI as bytes: the certificate's own encoding, or the key's. */
	int n = b->leaf ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(b->leaf), &c->spki) : 0;
	if (b->leaf ? n <= 0 : !(c->spki = OPENSSL_memdup(c->o->key->spki, c->o->key->spki_len)))
		return gate_fail(err, GATE_E_INTERNAL, NULL, "key", "cannot encode key");
	c->spki_len = b->leaf ? (size_t)n : c->o->key->spki_len;
	uint8_t id[32];
	gate_sha256(c->spki, c->spki_len, id);
	gate_hex_encode(id, 32, c->f->key_id);
	return GATE_OK;
}

static void finish_facts(struct vctx *c)
{
	struct gate_facts *f = c->f;
	gate_artifact_sha256_hex(c->a, f->digest);
	for (size_t i = 0; i < c->ntimes; i++)
		if (f->signing_time == 0 || c->times[i] < f->signing_time)
			f->signing_time = c->times[i];
	/* The time source is the kind of the earliest time. */
	f->time_source = GATE_TIME_NONE;
	for (size_t i = 0; i < f->n_tlog && i < GATE_MAX_FACT_LOGS; i++)
		if (f->integrated_time[i] && f->integrated_time[i] == f->signing_time)
			f->time_source = GATE_TIME_TLOG;
	for (size_t i = 0; !f->time_source && i < f->n_tsa && i < GATE_MAX_FACT_LOGS; i++)
		if (f->tsa_time[i] == f->signing_time)
			f->time_source = GATE_TIME_TSA;
}

enum gate_err gate_verify_bundle(const struct gate_bundle *b, const struct gate_artifact *a,
				 const struct gate_verify_opts *o, struct gate_facts **out,
				 struct gate_error *err)
{
	struct vctx c = {.b = b, .a = a, .o = o};
	uint8_t *pae = NULL;
	size_t pae_len = 0;
	enum gate_err rc;
	if (!b || !a || !o || !o->root || !out)
		return gate_fail(err, GATE_E_USAGE, NULL, NULL, "missing bundle, artifact or root");
	c.now = o->now ? o->now : (int64_t)time(NULL);
	if (!(c.f = calloc(1, sizeof(*c.f))))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	if ((rc = select_key(&c, err)) != GATE_OK)
		goto out;
	if (b->is_dsse) {
		if ((rc = pae_digest(&c, &pae, &pae_len, err)) != GATE_OK)
			goto out;
		if (!(c.f->payload_type = strdup(b->payload_type))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < b->nentries; i++) {
		char f[48];
		snprintf(f, sizeof f, "tlogEntries[%zu]", i);
		if ((rc = verify_entry(&c, &b->entries[i], f, err)) != GATE_OK)
			goto out;
	}
	if (o->require_tlog && c.f->n_tlog == 0) {
		rc = gate_fail(err, GATE_E_TLOG, "S13", "verificationMaterial.tlogEntries",
			       "no transparency log entry");
		goto out;
	}
	if ((rc = verify_timestamps(&c, err)) != GATE_OK)
		goto out;
	if (b->leaf && (rc = verify_certificate(&c, err)) != GATE_OK)
		goto out;
	if ((rc = verify_signature(&c, pae, pae_len, err)) != GATE_OK)
		goto out;
	finish_facts(&c);
	c.f->trust_source = o->root->source ? o->root->source : "file";
	c.f->trust_expired = gate_trust_expired(o->root, c.now);
	*out = c.f;
	c.f = NULL;
out:
	gate_facts_free(c.f);
	OPENSSL_free(c.spki);
	OPENSSL_free(c.leaf_der);
	free(pae);
	return rc;
}

const char *gate_version(void)
{
	return "0.1.0";
}
