/* trustroot.c - Sigstore trusted_root.json (spec/SIGSTORE.md §2). */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char gate_embedded_trusted_root[];
extern const unsigned long gate_embedded_trusted_root_len;

static void log_clear(struct gate_log *l)
{
	free(l->base_url);
	free(l->key_name);
	free(l->raw_key);
	free(l->key_details);
	gate_pubkey_free(l->key);
}

static void authority_clear(struct gate_authority *a)
{
	free(a->uri);
	for (size_t i = 0; i < a->nraw; i++)
		free(a->raw[i]);
	free(a->raw);
	free(a->raw_len);
	sk_X509_pop_free(a->chain, X509_free);
}

/* One lock for the lazy decoding of every root: it is taken once per key
 * or chain in a process's life, so contention does not matter. */
static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

void gate_trusted_root_free(struct gate_trusted_root *root)
{
	if (!root)
		return;
	for (size_t i = 0; i < root->ntlogs; i++)
		log_clear(&root->tlogs[i]);
	for (size_t i = 0; i < root->nctlogs; i++)
		log_clear(&root->ctlogs[i]);
	for (size_t i = 0; i < root->ncas; i++)
		authority_clear(&root->cas[i]);
	for (size_t i = 0; i < root->ntsas; i++)
		authority_clear(&root->tsas[i]);
	free(root->tlogs);
	free(root->ctlogs);
	free(root->cas);
	free(root->tsas);
	free(root);
}

const struct gate_log *gate_root_find_log(const struct gate_log *logs, size_t n,
					  const uint8_t id[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(logs[i].log_id, id, 32) == 0)
			return &logs[i];
	return NULL;
}

/* validFor: start is mandatory (a window with no start is malformed), end
 * optional (open). */
static enum gate_err parse_validity(json_t *obj, struct gate_validity *v, const char *field,
				    struct gate_error *err)
{
	json_t *vf;
	const char *start, *end;
	char name[96];
	snprintf(name, sizeof name, "%s.validFor", field);
	enum gate_err rc = gate_json_obj(obj, "validFor", true, &vf, field, err);
	if (rc == GATE_OK)
		rc = gate_json_str(vf, "start", true, &start, name, err);
	if (rc == GATE_OK)
		rc = gate_json_str(vf, "end", false, &end, name, err);
	if (rc != GATE_OK)
		return gate_fail(err, GATE_E_TRUST_ROOT, "S5", name, "%s",
				 err ? err->msg : "invalid validity window");
	if (!gate_parse_rfc3339(start, &v->start))
		return gate_fail(err, GATE_E_TRUST_ROOT, "S5", name, "bad start time");
	v->has_end = end != NULL;
	if (end && !gate_parse_rfc3339(end, &v->end))
		return gate_fail(err, GATE_E_TRUST_ROOT, "S5", name, "bad end time");
	return GATE_OK;
}

/* keyDetails PKCS1_RSA_PKCS1V5 is a bare PKCS#1 RSAPublicKey (used by some
 * CT logs); everything else is a DER SPKI. */
static EVP_PKEY *decode_key(const uint8_t *der, size_t len, const char *details)
{
	const unsigned char *p = der;
	EVP_PKEY *k = NULL;
	if (details && strcmp(details, "PKCS1_RSA_PKCS1V5") == 0)
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	else
		k = d2i_PUBKEY(NULL, &p, (long)len);
	if (k && p != der + len) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	ERR_clear_error();
	return k;
}

/* "https://rekor.sigstore.dev/" -> "rekor.sigstore.dev" (checkpoint key
 * name, S8). */
static char *key_name_of(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/");
	return strndup(p, n);
}

static enum gate_err parse_log(json_t *j, struct gate_log *l, const char *field,
			       struct gate_error *err)
{
	json_t *pk, *lid;
	const char *url, *details;
	uint8_t *raw = NULL, *id = NULL;
	size_t rawlen = 0, idlen = 0;
	char name[64];
	enum gate_err rc;
	if (!json_is_object(j))
		return gate_fail(err, GATE_E_TRUST_ROOT, "S5", field, "not an object");
	snprintf(name, sizeof name, "%s.publicKey", field);
	if ((rc = gate_json_str(j, "baseUrl", true, &url, field, err)) != GATE_OK ||
	    (rc = gate_json_obj(j, "publicKey", true, &pk, field, err)) != GATE_OK ||
	    (rc = gate_json_obj(j, "logId", true, &lid, field, err)) != GATE_OK ||
	    (rc = gate_json_str(pk, "keyDetails", false, &details, name, err)) != GATE_OK ||
	    (rc = gate_json_b64(pk, "rawBytes", true, &raw, &rawlen, name, err)) != GATE_OK ||
	    (rc = gate_json_b64(lid, "keyId", true, &id, &idlen, field, err)) != GATE_OK)
		goto out;
	if ((rc = parse_validity(pk, &l->valid, name, err)) != GATE_OK)
		goto out;
	if (idlen != 32) {
		rc = gate_fail(err, GATE_E_TRUST_ROOT, "S5", field, "logId is %zu bytes, not 32",
			       idlen);
		goto out;
	}
	memcpy(l->log_id, id, 32);
	l->base_url = strdup(url);
	l->key_name = key_name_of(url);
	if (!l->base_url || !l->key_name) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	/* Decoded on first use (gate_log_key); a key we cannot use leaves the
	 * log without a key: entries that name it then fail, but the rest of
	 * the root stays usable (§2). */
	l->raw_key = raw;
	l->raw_key_len = rawlen;
	raw = NULL;
	if (details && !(l->key_details = strdup(details)))
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
out:
	free(raw);
	free(id);
	if (rc != GATE_OK && err && err->code != GATE_E_NOMEM)
		err->code = rc = GATE_E_TRUST_ROOT;
	return rc;
}

static enum gate_err parse_authority(json_t *j, struct gate_authority *a, const char *field,
				     struct gate_error *err)
{
	json_t *chain, *certs;
	const char *uri;
	char name[64];
	enum gate_err rc;
	if (!json_is_object(j))
		return gate_fail(err, GATE_E_TRUST_ROOT, "S14", field, "not an object");
	if ((rc = gate_json_str(j, "uri", false, &uri, field, err)) != GATE_OK ||
	    (rc = gate_json_obj(j, "certChain", true, &chain, field, err)) != GATE_OK ||
	    (rc = parse_validity(j, &a->valid, field, err)) != GATE_OK)
		goto out;
	a->uri = strdup(uri ? uri : "");
	certs = json_object_get(chain, "certificates");
	size_t nc = json_is_array(certs) ? json_array_size(certs) : 0;
	a->raw = calloc(nc ? nc : 1, sizeof(*a->raw));
	a->raw_len = calloc(nc ? nc : 1, sizeof(*a->raw_len));
	if (!a->uri || !a->raw || !a->raw_len) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	if (!json_is_array(certs) || json_array_size(certs) == 0 ||
	    json_array_size(certs) > GATE_MAX_CHAIN) {
		rc = gate_fail(err, GATE_E_TRUST_ROOT, "S14", field,
			       "certChain.certificates must hold 1 to %d certificates",
			       GATE_MAX_CHAIN);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(certs); i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		snprintf(name, sizeof name, "%s.certChain.certificates[%zu]", field, i);
		json_t *c = json_array_get(certs, i);
		if (!json_is_object(c)) {
			rc = gate_fail(err, GATE_E_TRUST_ROOT, "S14", name, "not an object");
			goto out;
		}
		if ((rc = gate_json_b64(c, "rawBytes", true, &der, &len, name, err)) != GATE_OK)
			goto out;
		/* Decoded on first use (gate_authority_chain). */
		a->raw[a->nraw] = der;
		a->raw_len[a->nraw++] = len;
	}
out:
	if (rc != GATE_OK && err && err->code != GATE_E_NOMEM)
		err->code = rc = GATE_E_TRUST_ROOT;
	return rc;
}

typedef enum gate_err (*parse_fn)(json_t *, void *, const char *, struct gate_error *);

/* Parse an optional array of objects into a calloc'd vector. */
static enum gate_err parse_array(json_t *root, const char *key, size_t elem, parse_fn fn,
				 void **out, size_t *n, struct gate_error *err)
{
	json_t *arr = json_object_get(root, key);
	*out = NULL;
	*n = 0;
	if (!arr)
		return GATE_OK;
	if (!json_is_array(arr))
		return gate_fail(err, GATE_E_TRUST_ROOT, "S5", key, "not an array");
	size_t count = json_array_size(arr);
	if (count > GATE_MAX_ROOT_ENTRIES)
		return gate_fail(err, GATE_E_TOO_LARGE, "S5", key, "more than %d entries",
				 GATE_MAX_ROOT_ENTRIES);
	if (count == 0)
		return GATE_OK;
	char *v = calloc(count, elem);
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, key, "out of memory");
	*out = v;
	for (size_t i = 0; i < count; i++) {
		char name[48];
		snprintf(name, sizeof name, "%s[%zu]", key, i);
		*n = i + 1; /* so the caller frees what was filled */
		enum gate_err rc = fn(json_array_get(arr, i), v + i * elem, name, err);
		if (rc != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

const struct gate_pubkey *gate_log_key(const struct gate_log *cl)
{
	struct gate_log *l = (struct gate_log *)cl; /* only the cache changes */
	pthread_mutex_lock(&lazy_lock);
	if (!l->key && !l->key_tried && l->raw_key) {
		l->key_tried = true;
		EVP_PKEY *pkey = decode_key(l->raw_key, l->raw_key_len, l->key_details);
		if (pkey) {
			enum gate_keyalg alg = gate_keyalg_from_name(l->key_details);
			bool bare =
				l->key_details && strcmp(l->key_details, "PKCS1_RSA_PKCS1V5") == 0;
			if (alg == GATE_ALG_UNKNOWN)
				alg = gate_keyalg_default(pkey);
			if (bare)
				(void)gate_pubkey_wrap(pkey, alg, &l->key, NULL);
			else
				(void)gate_pubkey_wrap_der(pkey, alg, l->raw_key, l->raw_key_len,
							   &l->key, NULL);
		}
	}
	const struct gate_pubkey *k = l->key;
	pthread_mutex_unlock(&lazy_lock);
	return k;
}

STACK_OF(X509) *gate_authority_chain(const struct gate_authority *ca)
{
	struct gate_authority *a = (struct gate_authority *)ca; /* only the cache */
	pthread_mutex_lock(&lazy_lock);
	if (!a->chain && !a->chain_tried) {
		a->chain_tried = true;
		STACK_OF(X509) *sk = sk_X509_new_null();
		for (size_t i = 0; sk && i < a->nraw; i++) {
			X509 *x = gate_x509_from_der(a->raw[i], a->raw_len[i]);
			if (!x || !sk_X509_push(sk, x)) {
				X509_free(x);
				sk_X509_pop_free(sk, X509_free);
				sk = NULL;
			}
		}
		ERR_clear_error();
		a->chain = sk;
	}
	STACK_OF(X509) *chain = a->chain;
	pthread_mutex_unlock(&lazy_lock);
	return chain;
}

enum gate_err gate_trusted_root_parse(const uint8_t *buf, size_t len,
				      struct gate_trusted_root **out, struct gate_error *err)
{
	json_t *j = NULL;
	const char *mt;
	struct gate_trusted_root *root = NULL;
	enum gate_err rc;
	if (len > GATE_MAX_TRUST_ROOT)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "trusted root",
				 "over the %u-byte limit", GATE_MAX_TRUST_ROOT);
	if ((rc = gate_json_parse(buf, len, &j, "trusted root", err)) != GATE_OK)
		goto out;
	if ((rc = gate_json_str(j, "mediaType", true, &mt, "", err)) != GATE_OK)
		goto out;
	if (strcmp(mt, "application/vnd.dev.sigstore.trustedroot+json;version=0.1") != 0 &&
	    strcmp(mt, "application/vnd.dev.sigstore.trustedroot.v0.2+json") != 0 &&
	    strcmp(mt, "application/vnd.dev.sigstore.trustedroot+json;version=0.2") != 0) {
		rc = gate_fail(err, GATE_E_TRUST_ROOT, NULL, "mediaType",
			       "unsupported trusted root media type '%s'", mt);
		goto out;
	}
	if (!(root = calloc(1, sizeof(*root)))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	if ((rc = parse_array(j, "tlogs", sizeof(struct gate_log), (parse_fn)parse_log,
			      (void **)&root->tlogs, &root->ntlogs, err)) != GATE_OK ||
	    (rc = parse_array(j, "ctlogs", sizeof(struct gate_log), (parse_fn)parse_log,
			      (void **)&root->ctlogs, &root->nctlogs, err)) != GATE_OK ||
	    (rc = parse_array(j, "certificateAuthorities", sizeof(struct gate_authority),
			      (parse_fn)parse_authority, (void **)&root->cas, &root->ncas, err)) !=
		    GATE_OK ||
	    (rc = parse_array(j, "timestampAuthorities", sizeof(struct gate_authority),
			      (parse_fn)parse_authority, (void **)&root->tsas, &root->ntsas,
			      err)) != GATE_OK)
		goto out;
	*out = root;
	root = NULL;
out:
	gate_trusted_root_free(root);
	json_decref(j);
	return rc;
}

enum gate_err gate_trusted_root_load(const char *path, struct gate_trusted_root **out,
				     struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(path, GATE_MAX_TRUST_ROOT, &buf, &len, err);
	if (rc == GATE_OK && (rc = gate_trusted_root_parse(buf, len, out, err)) == GATE_OK)
		(*out)->source = "file";
	if (rc != GATE_OK && err && err->file[0] == '\0')
		snprintf(err->file, sizeof(err->file), "%s", path);
	free(buf);
	return rc;
}

enum gate_err gate_trusted_root_default(struct gate_trusted_root **out, struct gate_error *err)
{
	enum gate_err rc = gate_trusted_root_parse(
		gate_embedded_trusted_root, (size_t)gate_embedded_trusted_root_len, out, err);
	if (rc == GATE_OK)
		(*out)->source = "embedded";
	return rc;
}

bool gate_trust_expired(const struct gate_trusted_root *root, int64_t now)
{
	return root && root->expires && now >= root->expires;
}
