/* tuf_meta.c - TUF metadata (spec/TUF.md §1-§3): OLPC canonical JSON, keys
 * and keyids, the signed envelope, thresholds over distinct keys, the typed
 * model of root/timestamp/snapshot/targets, and the pure helpers of the
 * client workflow (expiry, hashes, path patterns, hash bins, quoting). */
#include "internal.h"
#include "tuf.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[GATE_TUF_NTYPES] = {"root", "timestamp", "snapshot",
							 "targets"};

const char *gate_tuf_type_name(enum gate_tuf_type t)
{
	return (unsigned)t < GATE_TUF_NTYPES ? type_names[t] : "?";
}

/* ---- canonical JSON (spec §2) ---- */

/* Output buffer that refuses to grow past cap. */
struct cbuf {
	uint8_t *p;
	size_t n, alloc, cap;
	bool too_large, nomem;
};

static bool cb_put(struct cbuf *b, const void *s, size_t n)
{
	if (b->too_large || b->nomem)
		return false;
	if (n > b->cap - b->n) {
		b->too_large = true;
		return false;
	}
	if (n > b->alloc - b->n) {
		size_t na = b->alloc ? b->alloc : 256;
		while (na - b->n < n)
			na = na > b->cap / 2 ? b->cap : na * 2;
		uint8_t *np = realloc(b->p, na);
		if (!np) {
			b->nomem = true;
			return false;
		}
		b->p = np;
		b->alloc = na;
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	return true;
}

enum canon_rc { CANON_OK, CANON_FLOAT, CANON_DEPTH, CANON_TYPE, CANON_BUF };

/* Only '"' and '\' are escaped; everything else, control characters and
 * UTF-8 included, is written raw. */
static bool canon_string(struct cbuf *b, const char *s, size_t n)
{
	size_t start = 0;
	if (!cb_put(b, "\"", 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if (!cb_put(b, s + start, i - start) || !cb_put(b, "\\", 1))
			return false;
		start = i;
	}
	return cb_put(b, s + start, n - start) && cb_put(b, "\"", 1);
}

static int cmp_cstr(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: UTF-8 byte order = code point
	 * order (spec §2). */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum canon_rc canon_value(struct cbuf *b, const json_t *v, unsigned depth);

static enum canon_rc canon_object(struct cbuf *b, const json_t *v, unsigned depth)
{
	size_t n = json_object_size(v), i = 0;
	const char *key;
	json_t *val;
	enum canon_rc rc = CANON_OK;
	const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
	if (n && !keys) {
		b->nomem = true;
		return CANON_BUF;
	}
	json_object_foreach((json_t *)v, key, val)
	{
		if (i < n)
			keys[i++] = key;
	}
	n = i;
	if (n > 1) /* keys is NULL for {}: qsort's pointer must not be */
		qsort(keys, n, sizeof(*keys), cmp_cstr);
	if (!cb_put(b, "{", 1))
		rc = CANON_BUF;
	for (i = 0; rc == CANON_OK && i < n; i++) {
		if ((i && !cb_put(b, ",", 1)) || !canon_string(b, keys[i], strlen(keys[i])) ||
		    !cb_put(b, ":", 1)) {
			rc = CANON_BUF;
			break;
		}
		rc = canon_value(b, json_object_get(v, keys[i]), depth + 1);
	}
	if (rc == CANON_OK && !cb_put(b, "}", 1))
		rc = CANON_BUF;
	free(keys);
	return rc;
}

static enum canon_rc canon_value(struct cbuf *b, const json_t *v, unsigned depth)
{
	char num[32];
	enum canon_rc rc = CANON_OK;
	if (depth > 2 * GATE_TUF_MAX_JSON_DEPTH)
		return CANON_DEPTH;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return canon_object(b, v, depth);
	case JSON_ARRAY:
		if (!cb_put(b, "[", 1))
			return CANON_BUF;
		for (size_t i = 0; rc == CANON_OK && i < json_array_size(v); i++) {
			if (i && !cb_put(b, ",", 1))
				return CANON_BUF;
			rc = canon_value(b, json_array_get(v, i), depth + 1);
		}
		if (rc == CANON_OK && !cb_put(b, "]", 1))
			return CANON_BUF;
		return rc;
	case JSON_STRING:
		return canon_string(b, json_string_value(v), json_string_length(v)) ? CANON_OK
										    : CANON_BUF;
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return cb_put(b, num, strlen(num)) ? CANON_OK : CANON_BUF;
	case JSON_REAL:
		return CANON_FLOAT;
	case JSON_TRUE:
		return cb_put(b, "true", 4) ? CANON_OK : CANON_BUF;
	case JSON_FALSE:
		return cb_put(b, "false", 5) ? CANON_OK : CANON_BUF;
	case JSON_NULL:
		return cb_put(b, "null", 4) ? CANON_OK : CANON_BUF;
	default:
		return CANON_TYPE;
	}
}

enum gate_err gate_tuf_canonical(const json_t *v, size_t cap, uint8_t **out, size_t *len,
				 struct gate_error *err)
{
	struct cbuf b = {.cap = cap};
	enum canon_rc rc = v ? canon_value(&b, v, 0) : CANON_TYPE;
	enum gate_err e = GATE_OK;
	if (rc == CANON_FLOAT)
		e = gate_fail(err, GATE_E_PARSE, "TUF-2", "signed",
			      "floating-point number: not allowed in canonical JSON");
	else if (rc == CANON_DEPTH)
		e = gate_fail(err, GATE_E_PARSE, "TUF-2", "signed", "JSON nested too deeply");
	else if (rc == CANON_TYPE)
		e = gate_fail(err, GATE_E_PARSE, "TUF-2", "signed", "not a JSON value");
	else if (b.nomem)
		e = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	else if (b.too_large)
		e = gate_fail(err, GATE_E_TOO_LARGE, "TUF-2", "signed",
			      "canonical form over the %zu-byte limit", cap);
	if (e != GATE_OK) {
		free(b.p);
		return e;
	}
	*out = b.p;
	*len = b.n;
	return GATE_OK;
}

enum gate_err gate_tuf_keyid(const json_t *key, char hex[65], struct gate_error *err)
{
	uint8_t *c = NULL, d[32];
	size_t n = 0;
	enum gate_err rc = gate_tuf_canonical(key, GATE_MAX_SMALL_FILE, &c, &n, err);
	if (rc != GATE_OK)
		return rc;
	gate_sha256(c, n, d);
	gate_hex_encode(d, sizeof d, hex);
	free(c);
	return GATE_OK;
}

/* ---- small typed accessors (null = absent, as gate_json_str does) ---- */

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

/* An integer member >= min; booleans and floats are not integers. */
static enum gate_err get_int(json_t *obj, const char *key, bool required, int64_t min,
			     int64_t *out, bool *present, const char *field,
			     struct gate_error *err)
{
	json_t *v = member(obj, key);
	if (present)
		*present = v != NULL;
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing \"%s\"", key);
		return GATE_OK;
	}
	if (!json_is_integer(v))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is not an integer", key);
	json_int_t i = json_integer_value(v);
	if (i < min)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is %lld, below %lld", key,
				 (long long)i, (long long)min);
	*out = (int64_t)i;
	return GATE_OK;
}

static enum gate_err get_bool(json_t *obj, const char *key, bool required, bool *out,
			      const char *field, struct gate_error *err)
{
	json_t *v = member(obj, key);
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing \"%s\"", key);
		return GATE_OK;
	}
	if (!json_is_boolean(v))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is not a boolean", key);
	*out = json_is_true(v);
	return GATE_OK;
}

static enum gate_err get_str(json_t *obj, const char *key, bool required, const char **out,
			     const char *field, struct gate_error *err)
{
	enum gate_err rc = gate_json_str(obj, key, required, out, field, err);
	if (rc == GATE_OK && *out && strlen(*out) > GATE_TUF_MAX_NAME)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "\"%s\" is too long", key);
	return rc;
}

/* A member that must be an object / array (null = absent). */
static enum gate_err get_typed(json_t *obj, const char *key, bool required, json_type type,
			       json_t **out, const char *field, struct gate_error *err)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing \"%s\"", key);
		return GATE_OK;
	}
	if (json_typeof(v) != type)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is not %s", key,
				 type == JSON_OBJECT ? "an object" : "an array");
	*out = v;
	return GATE_OK;
}

/* Whether the n strings have a duplicate (sorted copy, O(n log n)). */
static enum gate_err has_duplicate(const char *const *v, size_t n, bool *dup)
{
	*dup = false;
	if (n < 2)
		return GATE_OK;
	const char **s = malloc(n * sizeof(*s));
	if (!s)
		return GATE_E_NOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_cstr);
	for (size_t i = 1; i < n && !*dup; i++)
		*dup = strcmp(s[i - 1], s[i]) == 0;
	free(s);
	return GATE_OK;
}

/* Array of strings into a malloc'd vector of borrowed pointers. */
static enum gate_err str_array(json_t *arr, size_t max, const char ***out, size_t *n,
			       const char *field, struct gate_error *err)
{
	size_t len = json_array_size(arr);
	*out = NULL;
	*n = 0;
	if (len > max)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu entries, over %zu", len,
				 max);
	if (len == 0)
		return GATE_OK;
	const char **v = calloc(len, sizeof(*v));
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (size_t i = 0; i < len; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s) ||
		    json_string_length(s) > GATE_TUF_MAX_NAME) {
			free(v);
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
					 "entry %zu is not a string", i);
		}
		v[i] = json_string_value(s);
	}
	*out = v;
	*n = len;
	return GATE_OK;
}

/* ---- keys (spec §3) ---- */

static const struct {
	const char *keytype;
	const char *scheme;
	enum gate_keyalg alg;
} key_schemes[] = {
	{"ed25519", "ed25519", GATE_ALG_ED25519},
	{"ecdsa", "ecdsa-sha2-nistp256", GATE_ALG_ECDSA_P256_SHA256},
	{"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", GATE_ALG_ECDSA_P256_SHA256},
	{"ecdsa", "ecdsa-sha2-nistp384", GATE_ALG_ECDSA_P384_SHA384},
	{"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", GATE_ALG_ECDSA_P384_SHA384},
	{"rsa", "rsassa-pss-sha256", GATE_ALG_RSA_PSS_SHA256},
	{"rsa", "rsassa-pss-sha384", GATE_ALG_RSA_PSS_SHA384},
	{"rsa", "rsassa-pss-sha512", GATE_ALG_RSA_PSS_SHA512},
	{"rsa", "rsa-pkcs1v15-sha256", GATE_ALG_RSA_PKCS1_SHA256},
	{"rsa", "rsa-pkcs1v15-sha384", GATE_ALG_RSA_PKCS1_SHA384},
	{"rsa", "rsa-pkcs1v15-sha512", GATE_ALG_RSA_PKCS1_SHA512},
};

#define TUF_MAX_PUBLIC 16384 /* characters of keyval.public */
#define TUF_MIN_RSA_BITS 2048

/* DER SubjectPublicKeyInfo header of an uncompressed P-256 point: the
 * legacy hex keys of Sigstore roots v1-v4 are the bare 65-byte point. */
static const uint8_t p256_spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a,
					   0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
					   0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
					   0x01, 0x07, 0x03, 0x42, 0x00};

static bool is_rsa(enum gate_keyalg a)
{
	return a == GATE_ALG_RSA_PSS_SHA256 || a == GATE_ALG_RSA_PSS_SHA384 ||
	       a == GATE_ALG_RSA_PSS_SHA512 || a == GATE_ALG_RSA_PKCS1_SHA256 ||
	       a == GATE_ALG_RSA_PKCS1_SHA384 || a == GATE_ALG_RSA_PKCS1_SHA512;
}

/* The public key of one KEY, or NULL when it is unusable (a bad value only
 * disqualifies the key, as an unverifiable signature would). */
static struct gate_pubkey *decode_public(const char *pub, enum gate_keyalg alg)
{
	struct gate_pubkey *pk = NULL;
	size_t plen = strlen(pub);
	uint8_t raw[65];
	if (plen == 0 || plen > TUF_MAX_PUBLIC)
		return NULL;
	if (alg == GATE_ALG_ED25519) {
		if (plen != 64 || !gate_hex_decode(pub, plen, raw, 32))
			return NULL;
		EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
		ERR_clear_error();
		if (!k || gate_pubkey_wrap(k, alg, &pk, NULL) != GATE_OK)
			return NULL;
		return pk;
	}
	if (alg == GATE_ALG_ECDSA_P256_SHA256 && plen == 130) {
		uint8_t der[sizeof(p256_spki_prefix) + 65];
		if (!gate_hex_decode(pub, plen, raw, 65) || raw[0] != 0x04)
			return NULL;
		memcpy(der, p256_spki_prefix, sizeof p256_spki_prefix);
		memcpy(der + sizeof p256_spki_prefix, raw, 65);
		if (gate_pubkey_parse(der, sizeof der, &pk, NULL) != GATE_OK)
			return NULL;
	} else {
		uint8_t *der = NULL;
		size_t dlen = 0;
		if (!gate_pem_decode((const uint8_t *)pub, plen, "PUBLIC KEY", &der, &dlen))
			return NULL;
		enum gate_err rc = dlen ? gate_pubkey_parse(der, dlen, &pk, NULL) : GATE_E_PARSE;
		free(der);
		if (rc != GATE_OK)
			return NULL;
	}
	/* The key must be what keytype/scheme say: a P-384 key is not a
	 * nistp256 key, RSA under 2048 bits is refused. */
	bool fits = is_rsa(alg) ? (EVP_PKEY_get_base_id(pk->pkey) == EVP_PKEY_RSA &&
				   EVP_PKEY_get_bits(pk->pkey) >= TUF_MIN_RSA_BITS)
				: gate_keyalg_default(pk->pkey) == alg;
	if (!fits) {
		gate_pubkey_free(pk);
		return NULL;
	}
	pk->alg = alg;
	return pk;
}

static enum gate_err key_load(json_t *kobj, const char *keyid, struct gate_tuf_key *k,
			      const char *field, struct gate_error *err)
{
	const char *keytype, *scheme, *pub;
	json_t *keyval;
	enum gate_err rc;
	k->keyid = keyid;
	if (!json_is_object(kobj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "key is not an object");
	if ((rc = get_str(kobj, "keytype", true, &keytype, field, err)) != GATE_OK ||
	    (rc = get_str(kobj, "scheme", true, &scheme, field, err)) != GATE_OK ||
	    (rc = get_typed(kobj, "keyval", true, JSON_OBJECT, &keyval, field, err)) != GATE_OK ||
	    (rc = gate_json_str(keyval, "public", true, &pub, field, err)) != GATE_OK)
		return rc;
	k->alg = GATE_ALG_UNKNOWN;
	for (size_t i = 0; i < sizeof key_schemes / sizeof key_schemes[0]; i++)
		if (strcmp(keytype, key_schemes[i].keytype) == 0 &&
		    strcmp(scheme, key_schemes[i].scheme) == 0)
			k->alg = key_schemes[i].alg;
	if (k->alg == GATE_ALG_UNKNOWN)
		return gate_fail(err, GATE_E_UNSUPPORTED, "TUF-3", field,
				 "unsupported key type/scheme %.40s/%.40s", keytype, scheme);
	char id[65];
	if ((rc = gate_tuf_keyid(kobj, id, err)) != GATE_OK)
		return rc;
	/* Spec §3: the reference does not check keyids; we do, and a key
	 * under a wrong id never counts (Sigstore root v11 has one). */
	k->id_matches = strcmp(id, keyid) == 0;
	k->pk = decode_public(pub, k->alg);
	return GATE_OK;
}

static void keys_clear(struct gate_tuf_keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		gate_pubkey_free(ks->v[i].pk);
	free(ks->v);
	ks->v = NULL;
	ks->n = 0;
}

static enum gate_err keys_load(json_t *obj, struct gate_tuf_keys *ks, const char *field,
			       struct gate_error *err)
{
	const char *keyid;
	json_t *kobj;
	size_t n = json_object_size(obj);
	char name[128];
	if (n > GATE_TUF_MAX_KEYS)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu keys, over %u", n,
				 GATE_TUF_MAX_KEYS);
	if (n && !(ks->v = calloc(n, sizeof(*ks->v))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	json_object_foreach(obj, keyid, kobj)
	{
		if (ks->n >= n)
			break;
		snprintf(name, sizeof name, "%s.%.64s", field, keyid);
		if (strlen(keyid) > GATE_TUF_MAX_NAME)
			return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "keyid too long");
		enum gate_err rc = key_load(kobj, keyid, &ks->v[ks->n], name, err);
		/* Count it even on failure so its key is freed. */
		ks->n++;
		if (rc != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

static const struct gate_tuf_key *keys_find(const struct gate_tuf_keys *ks, const char *keyid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->v[i].keyid, keyid) == 0)
			return &ks->v[i];
	return NULL;
}

/* keyids (distinct: a repeated keyid makes the metadata invalid, spec §1)
 * and threshold >= 1. */
static enum gate_err role_load(json_t *obj, struct gate_tuf_role *r, const char *field,
			       struct gate_error *err)
{
	json_t *arr;
	bool dup;
	enum gate_err rc;
	if (!json_is_object(obj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "role is not an object");
	if ((rc = get_typed(obj, "keyids", true, JSON_ARRAY, &arr, field, err)) != GATE_OK ||
	    (rc = str_array(arr, GATE_TUF_MAX_KEYIDS, &r->keyids, &r->nkeyids, field, err)) !=
		    GATE_OK ||
	    (rc = get_int(obj, "threshold", true, 1, &r->threshold, NULL, field, err)) != GATE_OK)
		return rc;
	if (has_duplicate(r->keyids, r->nkeyids, &dup) != GATE_OK)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	if (dup)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "a keyid appears twice");
	return GATE_OK;
}

/* ---- METAFILE / TARGETFILE ---- */

static enum gate_err hashes_load(json_t *obj, struct gate_tuf_file *f, const char *field,
				 struct gate_error *err)
{
	const char *alg;
	json_t *v;
	size_t n = json_object_size(obj);
	if (n == 0)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"hashes\" is empty");
	if (n > GATE_TUF_MAX_HASHES)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu hashes, over %u", n,
				 GATE_TUF_MAX_HASHES);
	if (!(f->hashes = calloc(n, sizeof(*f->hashes))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	/* Document order is kept: the first hash names consistent-snapshot
	 * targets (T25). jansson keeps insertion order. */
	json_object_foreach(obj, alg, v)
	{
		if (f->nhashes >= n)
			break;
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    json_string_length(v) > 1024)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
					 "hash \"%.32s\" is not a string", alg);
		f->hashes[f->nhashes].alg = alg;
		f->hashes[f->nhashes].hex = json_string_value(v);
		f->nhashes++;
	}
	return GATE_OK;
}

static enum gate_err file_load(json_t *obj, const char *name, bool target,
			       struct gate_tuf_file *f, const char *field, struct gate_error *err)
{
	json_t *hashes, *custom;
	bool has_len = false;
	enum gate_err rc;
	f->name = name;
	f->length = -1;
	if (strlen(name) > GATE_TUF_MAX_NAME)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "name too long");
	if (!json_is_object(obj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "not an object");
	if (!target &&
	    (rc = get_int(obj, "version", true, 1, &f->version, NULL, field, err)) != GATE_OK)
		return rc;
	if ((rc = get_int(obj, "length", target, 0, &f->length, &has_len, field, err)) != GATE_OK)
		return rc;
	if (!has_len)
		f->length = -1;
	if ((rc = get_typed(obj, "hashes", target, JSON_OBJECT, &hashes, field, err)) != GATE_OK)
		return rc;
	if (hashes && (rc = hashes_load(hashes, f, field, err)) != GATE_OK)
		return rc;
	if (target) {
		if ((rc = get_typed(obj, "custom", false, JSON_OBJECT, &custom, field, err)) !=
		    GATE_OK)
			return rc;
		f->custom = custom;
	}
	return GATE_OK;
}

static void files_free(struct gate_tuf_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].hashes);
	free(v);
}

/* Every member of obj as a file; *out sized to the object. */
static enum gate_err files_load(json_t *obj, bool target, size_t max, struct gate_tuf_file **out,
				size_t *nout, const char *field, struct gate_error *err)
{
	const char *name;
	json_t *v;
	char fname[160];
	size_t n = json_object_size(obj);
	if (n > max)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu entries, over %zu", n,
				 max);
	if (n && !(*out = calloc(n, sizeof(**out))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	json_object_foreach(obj, name, v)
	{
		if (*nout >= n)
			break;
		snprintf(fname, sizeof fname, "%s[%.80s]", field, name);
		enum gate_err rc = file_load(v, name, target, &(*out)[*nout], fname, err);
		(*nout)++;
		if (rc != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

/* ---- envelope ---- */

void gate_tuf_md_free(struct gate_tuf_md *md)
{
	if (!md)
		return;
	for (size_t i = 0; i < md->nsigs; i++)
		free(md->sigs[i].sig);
	free(md->sigs);
	free(md->canon);
	keys_clear(&md->keys);
	for (int i = 0; i < GATE_TUF_NTYPES; i++)
		free(md->roles[i].keyids);
	free(md->snapshot_meta.hashes);
	files_free(md->meta, md->nmeta);
	files_free(md->targets, md->ntargets);
	keys_clear(&md->dkeys);
	for (size_t i = 0; i < md->ndroles; i++) {
		free(md->droles[i].role.keyids);
		free(md->droles[i].paths);
		free(md->droles[i].prefixes);
	}
	free(md->droles);
	free(md->succinct.role.keyids);
	json_decref(md->doc);
	free(md);
}

static enum gate_err sigs_load(struct gate_tuf_md *md, json_t *arr, struct gate_error *err)
{
	size_t n = json_array_size(arr);
	bool dup;
	if (n > GATE_TUF_MAX_SIGNATURES)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", "signatures",
				 "%zu signatures, over %u", n, GATE_TUF_MAX_SIGNATURES);
	if (n && !(md->sigs = calloc(n, sizeof(*md->sigs))))
		return gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
	const char **ids = n ? calloc(n, sizeof(*ids)) : NULL;
	if (n && !ids)
		return gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; i < n && rc == GATE_OK; i++) {
		json_t *s = json_array_get(arr, i);
		const char *keyid, *hex;
		if (!json_is_object(s)) {
			rc = gate_fail(err, GATE_E_PARSE, "TUF-1", "signatures",
				       "entry %zu is not an object", i);
			break;
		}
		if ((rc = get_str(s, "keyid", true, &keyid, "signatures", err)) != GATE_OK ||
		    (rc = gate_json_str(s, "sig", true, &hex, "signatures", err)) != GATE_OK)
			break;
		struct gate_tuf_sig *g = &md->sigs[md->nsigs++];
		g->keyid = ids[i] = keyid;
		size_t hlen = strlen(hex);
		/* A signature that is not hex (or empty) never verifies: skipped,
		 * not fatal (spec §3, test_invalid_sig_in_valid_metadata). */
		if (hlen == 0 || hlen % 2 || hlen / 2 > GATE_MAX_SIG)
			continue;
		if (!(g->sig = malloc(hlen / 2))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
			break;
		}
		if (!gate_hex_decode(hex, hlen, g->sig, hlen / 2)) {
			free(g->sig);
			g->sig = NULL;
			continue;
		}
		g->len = hlen / 2;
	}
	if (rc == GATE_OK && has_duplicate(ids, n, &dup) != GATE_OK)
		rc = gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
	else if (rc == GATE_OK && dup)
		rc = gate_fail(err, GATE_E_PARSE, "TUF-1", "signatures",
			       "a keyid has two signatures: the metadata is invalid");
	free(ids);
	return rc;
}

enum gate_err gate_tuf_md_parse(const uint8_t *buf, size_t len, enum gate_tuf_type type,
				struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	json_t *sigs;
	const char *t;
	const char *what = gate_tuf_type_name(type);
	enum gate_err rc;
	if ((unsigned)type >= GATE_TUF_NTYPES)
		return gate_fail(err, GATE_E_USAGE, NULL, NULL, "bad metadata type");
	if (len > GATE_TUF_METADATA_HARD_MAX)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", what, "%zu bytes, over %u", len,
				 GATE_TUF_METADATA_HARD_MAX);
	if (!(md = calloc(1, sizeof(*md))))
		return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
	md->type = type;
	if ((rc = gate_json_parse(buf, len, &md->doc, what, err)) != GATE_OK)
		goto out;
	if ((rc = get_typed(md->doc, "signed", true, JSON_OBJECT, &md->signed_obj, what, err)) !=
		    GATE_OK ||
	    (rc = get_typed(md->doc, "signatures", true, JSON_ARRAY, &sigs, what, err)) !=
		    GATE_OK ||
	    (rc = get_str(md->signed_obj, "_type", true, &t, "signed", err)) != GATE_OK)
		goto out;
	/* §1: _type is checked before any signature. */
	if (strcmp(t, what) != 0) {
		rc = gate_fail(err, GATE_E_MISMATCH, "TUF-1", "signed._type",
			       "expected \"%s\", got \"%.40s\"", what, t);
		goto out;
	}
	if ((rc = sigs_load(md, sigs, err)) != GATE_OK)
		goto out;
	rc = gate_tuf_canonical(md->signed_obj, len + 1, &md->canon, &md->canon_len, err);
out:
	if (rc != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

/* ---- typed model ---- */

static bool digits_only(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "1.x" or "1.x.y" (spec §1): another major version is refused. */
static bool spec_version_ok(const char *s, bool *major_ok)
{
	size_t parts = 0;
	const char *p = s;
	*major_ok = false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!digits_only(p, n) || ++parts > 3)
			return false;
		if (parts == 1)
			*major_ok = n == 1 && p[0] == '1';
		if (!dot)
			break;
		p = dot + 1;
	}
	return parts >= 2;
}

static enum gate_err common_load(struct gate_tuf_md *md, struct gate_error *err)
{
	const char *exp;
	bool major_ok;
	enum gate_err rc;
	json_t *s = md->signed_obj;
	if ((rc = get_str(s, "spec_version", true, &md->spec_version, "signed", err)) != GATE_OK ||
	    (rc = get_int(s, "version", true, 1, &md->version, NULL, "signed", err)) != GATE_OK ||
	    (rc = get_str(s, "expires", true, &exp, "signed", err)) != GATE_OK)
		return rc;
	if (!spec_version_ok(md->spec_version, &major_ok))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.spec_version",
				 "malformed \"%.32s\"", md->spec_version);
	if (!major_ok)
		return gate_fail(err, GATE_E_UNSUPPORTED, "TUF-1", "signed.spec_version",
				 "unsupported major version \"%.32s\"", md->spec_version);
	if (!gate_rfc3339_parse(exp, GATE_RFC3339_TUF, &md->expires))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.expires",
				 "not YYYY-MM-DDTHH:MM:SSZ: \"%.40s\"", exp);
	return GATE_OK;
}

static enum gate_err root_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *keys, *roles, *r;
	const char *name;
	char field[48];
	enum gate_err rc;
	json_t *s = md->signed_obj;
	if ((rc = get_bool(s, "consistent_snapshot", false, &md->consistent_snapshot, "signed",
			   err)) != GATE_OK ||
	    (rc = get_typed(s, "keys", true, JSON_OBJECT, &keys, "signed", err)) != GATE_OK ||
	    (rc = get_typed(s, "roles", true, JSON_OBJECT, &roles, "signed", err)) != GATE_OK ||
	    (rc = keys_load(keys, &md->keys, "signed.keys", err)) != GATE_OK)
		return rc;
	/* Exactly the four top-level roles (as the reference). */
	json_object_foreach(roles, name, r)
	{
		int i = 0;
		while (i < GATE_TUF_NTYPES && strcmp(name, type_names[i]) != 0)
			i++;
		if (i == GATE_TUF_NTYPES)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.roles",
					 "unknown role \"%.40s\"", name);
	}
	for (int i = 0; i < GATE_TUF_NTYPES; i++) {
		snprintf(field, sizeof field, "signed.roles.%s", type_names[i]);
		r = json_object_get(roles, type_names[i]);
		if (!r)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing role");
		if ((rc = role_load(r, &md->roles[i], field, err)) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

static enum gate_err timestamp_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *meta, *sm;
	enum gate_err rc = get_typed(md->signed_obj, "meta", true, JSON_OBJECT, &meta, "signed",
				     err);
	if (rc != GATE_OK)
		return rc;
	sm = json_object_get(meta, "snapshot.json");
	if (json_object_size(meta) != 1 || !sm)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.meta",
				 "must hold exactly \"snapshot.json\"");
	return file_load(sm, "snapshot.json", false, &md->snapshot_meta, "signed.meta", err);
}

static bool top_level_name(const char *name)
{
	for (int i = 0; i < GATE_TUF_NTYPES; i++)
		if (strcmp(name, type_names[i]) == 0)
			return true;
	return false;
}

static enum gate_err drole_load(json_t *obj, struct gate_tuf_delegation *d, const char *field,
				struct gate_error *err)
{
	json_t *paths, *prefixes;
	enum gate_err rc;
	if (!json_is_object(obj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "not an object");
	if ((rc = get_str(obj, "name", true, &d->name, field, err)) != GATE_OK ||
	    (rc = role_load(obj, &d->role, field, err)) != GATE_OK ||
	    (rc = get_bool(obj, "terminating", true, &d->terminating, field, err)) != GATE_OK ||
	    (rc = get_typed(obj, "paths", false, JSON_ARRAY, &paths, field, err)) != GATE_OK ||
	    (rc = get_typed(obj, "path_hash_prefixes", false, JSON_ARRAY, &prefixes, field,
			    err)) != GATE_OK)
		return rc;
	if (!*d->name || top_level_name(d->name))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
				 "delegated role name empty or top-level: \"%.40s\"", d->name);
	if (!paths == !prefixes)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
				 "exactly one of \"paths\" and \"path_hash_prefixes\" is needed");
	d->has_paths = paths != NULL;
	if (paths)
		return str_array(paths, GATE_TUF_MAX_PATHS, &d->paths, &d->npaths, field, err);
	return str_array(prefixes, GATE_TUF_MAX_PATHS, &d->prefixes, &d->nprefixes, field, err);
}

static enum gate_err succinct_load(json_t *obj, struct gate_tuf_succinct *s,
				   struct gate_error *err)
{
	const char *field = "signed.delegations.succinct_roles";
	int64_t bits = 0;
	enum gate_err rc;
	if ((rc = role_load(obj, &s->role, field, err)) != GATE_OK ||
	    (rc = get_int(obj, "bit_length", true, 1, &bits, NULL, field, err)) != GATE_OK ||
	    (rc = get_str(obj, "name_prefix", true, &s->name_prefix, field, err)) != GATE_OK)
		return rc;
	if (bits > 32)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "bit_length over 32");
	s->bit_length = (unsigned)bits;
	return GATE_OK;
}

static enum gate_err delegations_load(struct gate_tuf_md *md, json_t *del,
				      struct gate_error *err)
{
	const char *field = "signed.delegations";
	json_t *keys, *roles, *succ;
	char name[64];
	bool dup;
	enum gate_err rc;
	if ((rc = get_typed(del, "keys", true, JSON_OBJECT, &keys, field, err)) != GATE_OK ||
	    (rc = get_typed(del, "roles", false, JSON_ARRAY, &roles, field, err)) != GATE_OK ||
	    (rc = get_typed(del, "succinct_roles", false, JSON_OBJECT, &succ, field, err)) !=
		    GATE_OK ||
	    (rc = keys_load(keys, &md->dkeys, "signed.delegations.keys", err)) != GATE_OK)
		return rc;
	if (!roles == !succ)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
				 "exactly one of \"roles\" and \"succinct_roles\" is needed");
	md->has_delegations = true;
	if (succ) {
		md->has_succinct = true;
		return succinct_load(succ, &md->succinct, err);
	}
	size_t n = json_array_size(roles);
	if (n > GATE_TUF_MAX_ROLES)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu roles, over %u", n,
				 GATE_TUF_MAX_ROLES);
	if (n && !(md->droles = calloc(n, sizeof(*md->droles))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s.roles[%zu]", field, i);
		md->ndroles++;
		if ((rc = drole_load(json_array_get(roles, i), &md->droles[i], name, err)) !=
		    GATE_OK)
			return rc;
	}
	const char **names = n ? malloc(n * sizeof(*names)) : NULL;
	if (n && !names)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = md->droles[i].name;
	rc = has_duplicate(names, n, &dup);
	free(names);
	if (rc != GATE_OK)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	if (dup)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "a role name appears twice");
	return GATE_OK;
}

static enum gate_err targets_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *targets, *del;
	enum gate_err rc;
	if ((rc = get_typed(md->signed_obj, "targets", true, JSON_OBJECT, &targets, "signed",
			    err)) != GATE_OK ||
	    (rc = files_load(targets, true, GATE_TUF_MAX_TARGETS, &md->targets, &md->ntargets,
			     "signed.targets", err)) != GATE_OK ||
	    (rc = get_typed(md->signed_obj, "delegations", false, JSON_OBJECT, &del, "signed",
			    err)) != GATE_OK)
		return rc;
	return del ? delegations_load(md, del, err) : GATE_OK;
}

enum gate_err gate_tuf_md_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *meta;
	enum gate_err rc;
	if (md->loaded)
		return GATE_OK;
	if ((rc = common_load(md, err)) != GATE_OK)
		return rc;
	switch (md->type) {
	case GATE_TUF_ROOT:
		rc = root_load(md, err);
		break;
	case GATE_TUF_TIMESTAMP:
		rc = timestamp_load(md, err);
		break;
	case GATE_TUF_SNAPSHOT:
		rc = get_typed(md->signed_obj, "meta", true, JSON_OBJECT, &meta, "signed", err);
		if (rc == GATE_OK)
			rc = files_load(meta, false, GATE_TUF_MAX_META, &md->meta, &md->nmeta,
					"signed.meta", err);
		break;
	case GATE_TUF_TARGETS:
		rc = targets_load(md, err);
		break;
	}
	md->loaded = rc == GATE_OK;
	return rc;
}

enum gate_err gate_tuf_md_parse_load(const uint8_t *buf, size_t len, enum gate_tuf_type type,
				     struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, type, &md, err);
	if (rc == GATE_OK && (rc = gate_tuf_md_load(md, err)) != GATE_OK) {
		gate_tuf_md_free(md);
		md = NULL;
	}
	if (rc == GATE_OK)
		*out = md;
	return rc;
}

/* ---- thresholds (spec §3) ---- */

static const struct gate_tuf_sig *sig_find(const struct gate_tuf_md *md, const char *keyid)
{
	for (size_t i = 0; i < md->nsigs; i++)
		if (strcmp(md->sigs[i].keyid, keyid) == 0)
			return &md->sigs[i];
	return NULL;
}

size_t gate_tuf_count_valid(const struct gate_tuf_md *md, const struct gate_tuf_keys *keys,
			    const struct gate_tuf_role *role)
{
	size_t count = 0;
	for (size_t i = 0; i < role->nkeyids; i++) {
		/* Distinct keyids: a repeat (rejected at load anyway) never
		 * counts twice. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(role->keyids[j], role->keyids[i]) == 0;
		if (seen)
			continue;
		const struct gate_tuf_key *k = keys_find(keys, role->keyids[i]);
		if (!k || !k->pk || !k->id_matches)
			continue;
		const struct gate_tuf_sig *s = sig_find(md, role->keyids[i]);
		if (!s || !s->sig)
			continue;
		if (gate_sig_verify_msg(k->pk->pkey, k->alg, md->canon, md->canon_len, s->sig,
					s->len) == GATE_OK)
			count++;
	}
	return count;
}

enum gate_err gate_tuf_verify_role(const struct gate_tuf_md *md, const struct gate_tuf_keys *keys,
				   const struct gate_tuf_role *role, const char *what,
				   const char *rule, struct gate_error *err)
{
	size_t n = gate_tuf_count_valid(md, keys, role);
	if (role->threshold < 1 || (uint64_t)n < (uint64_t)role->threshold)
		return gate_fail(err, GATE_E_SIGNATURE, rule, what,
				 "signed by %zu of the %lld keys needed", n,
				 (long long)role->threshold);
	return GATE_OK;
}

bool gate_tuf_expired(const struct gate_tuf_md *md, int64_t now)
{
	return now >= md->expires;
}

/* ---- lookups, hashes ---- */

const struct gate_tuf_file *gate_tuf_find_meta(const struct gate_tuf_md *snapshot,
					       const char *name)
{
	for (size_t i = 0; i < snapshot->nmeta; i++)
		if (strcmp(snapshot->meta[i].name, name) == 0)
			return &snapshot->meta[i];
	return NULL;
}

const struct gate_tuf_file *gate_tuf_find_file(const struct gate_tuf_md *targets,
					       const char *path)
{
	for (size_t i = 0; i < targets->ntargets; i++)
		if (strcmp(targets->targets[i].name, path) == 0)
			return &targets->targets[i];
	return NULL;
}

const EVP_MD *gate_tuf_hash_md(const char *alg)
{
	if (strcmp(alg, "sha256") == 0)
		return EVP_sha256();
	if (strcmp(alg, "sha384") == 0)
		return EVP_sha384();
	if (strcmp(alg, "sha512") == 0)
		return EVP_sha512();
	return NULL;
}

enum gate_err gate_tuf_check_file(const struct gate_tuf_file *f, const uint8_t *data, size_t len,
				  const char *what, const char *rule, struct gate_error *err)
{
	uint8_t got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;
	if (f->length >= 0 && (uint64_t)f->length != (uint64_t)len)
		return gate_fail(err, GATE_E_DIGEST, rule, what, "length %zu, expected %lld", len,
				 (long long)f->length);
	for (size_t i = 0; i < f->nhashes; i++) {
		const EVP_MD *md = gate_tuf_hash_md(f->hashes[i].alg);
		if (!md)
			return gate_fail(err, GATE_E_DIGEST, rule, what,
					 "unsupported hash algorithm \"%.32s\"", f->hashes[i].alg);
		size_t dlen = (size_t)EVP_MD_get_size(md);
		if (EVP_Digest(data, len, got, &glen, md, NULL) != 1 || glen != dlen)
			return gate_fail(err, GATE_E_INTERNAL, rule, what, "digest failed");
		const char *hex = f->hashes[i].hex;
		if (!gate_hex_decode(hex, strlen(hex), want, dlen) || !gate_ct_eq(got, want, dlen))
			return gate_fail(err, GATE_E_DIGEST, rule, what, "%s hash mismatch",
					 f->hashes[i].alg);
	}
	return GATE_OK;
}

/* ---- delegations (T23) ---- */

/* T23 glob matching, as Python's fnmatch.fnmatchcase per '/'-component
 * (what the reference does): '*' any run, '?' one character, '[...]' a set
 * ('!' negates, a leading ']' is literal, a-z ranges, an unclosed '[' is
 * literal), no escapes, case-sensitive, characters are code points. Our own
 * matcher rather than fnmatch(3): glibc's recursion on '*' is exponential in
 * the number of stars, and a pattern is chosen by whoever signs the
 * delegation; this one is O(pattern x path) with no recursion. */

/* One code point of a NUL-terminated UTF-8 string; a byte that does not
 * start a valid sequence stands for itself (above the Unicode range). */
static uint32_t utf8_next(const char **sp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t c = s[0];
	int n = c < 0x80		 ? 0
		: (c & 0xe0) == 0xc0 ? 1
		: (c & 0xf0) == 0xe0 ? 2
		: (c & 0xf8) == 0xf0 ? 3
				     : -1;
	if (n < 0) {
		*sp += 1;
		return 0x110000 + c;
	}
	uint32_t v = n == 0 ? c : c & (0x3f >> n);
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*sp += 1;
			return 0x110000 + c;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	*sp += n + 1;
	return v;
}

enum glob_kind { GLOB_CHAR, GLOB_ANY, GLOB_STAR, GLOB_SET };

struct glob_tok {
	enum glob_kind kind;
	uint32_t c;	   /* GLOB_CHAR */
	const char *set;   /* GLOB_SET: first byte after '[' (and '!') */
	const char *end;   /* GLOB_SET: the closing ']' */
	bool negate;
};

/* Tokens of one pattern component [p, e); *n <= e - p. */
static void glob_compile(const char *p, const char *e, struct glob_tok *t, size_t *n)
{
	*n = 0;
	while (p < e) {
		struct glob_tok *k = &t[*n];
		if (*p == '*') {
			p++;
			/* Consecutive stars are one. */
			if (*n == 0 || t[*n - 1].kind != GLOB_STAR) {
				k->kind = GLOB_STAR;
				(*n)++;
			}
			continue;
		}
		if (*p == '?') {
			p++;
			k->kind = GLOB_ANY;
			(*n)++;
			continue;
		}
		if (*p == '[') {
			const char *j = p + 1;
			bool neg = j < e && *j == '!';
			if (neg)
				j++;
			const char *first = j;
			if (j < e && *j == ']')
				j++;
			while (j < e && *j != ']')
				j++;
			if (j < e) {
				k->kind = GLOB_SET;
				k->negate = neg;
				k->set = first;
				k->end = j;
				(*n)++;
				p = j + 1;
				continue;
			}
			/* No closing ']': a literal '['. */
		}
		k->kind = GLOB_CHAR;
		k->c = utf8_next(&p);
		(*n)++;
	}
}

static bool glob_set_has(const struct glob_tok *k, uint32_t c)
{
	const char *p = k->set;
	bool in = false;
	while (p < k->end) {
		uint32_t lo = utf8_next(&p), hi = lo;
		/* "a-z" is a range unless '-' is the last character. */
		if (p < k->end && *p == '-' && p + 1 < k->end) {
			p++;
			hi = utf8_next(&p);
		}
		if (lo <= c && c <= hi)
			in = true;
	}
	return in != k->negate;
}

static bool glob_tok_match(const struct glob_tok *k, uint32_t c)
{
	switch (k->kind) {
	case GLOB_CHAR:
		return k->c == c;
	case GLOB_ANY:
		return true;
	case GLOB_SET:
		return glob_set_has(k, c);
	default:
		return false;
	}
}

/* Match tokens t[0..m) against code points s[0..n): the classic
 * backtrack-to-the-last-star loop. */
static bool glob_run(const struct glob_tok *t, size_t m, const uint32_t *s, size_t n)
{
	size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
	while (i < n) {
		if (p < m && t[p].kind == GLOB_STAR) {
			star = p++;
			mark = i;
		} else if (p < m && glob_tok_match(&t[p], s[i])) {
			p++;
			i++;
		} else if (star != SIZE_MAX) {
			p = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (p < m && t[p].kind == GLOB_STAR)
		p++;
	return p == m;
}

static bool glob_component(const char *p, const char *pe, const char *s, const char *se,
			   struct glob_tok *toks, uint32_t *cps)
{
	size_t m = 0, n = 0;
	glob_compile(p, pe, toks, &m);
	while (s < se)
		cps[n++] = utf8_next(&s);
	return glob_run(toks, m, cps, n);
}

static size_t count_slashes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '/';
	return n;
}

bool gate_tuf_path_match(const char *pattern, const char *path)
{
	size_t plen = strlen(pattern), slen = strlen(path);
	/* Same number of components first (T23). */
	if (count_slashes(pattern) != count_slashes(path))
		return false;
	struct glob_tok *toks = malloc((plen + 1) * sizeof(*toks));
	uint32_t *cps = malloc((slen + 1) * sizeof(*cps));
	bool ok = toks && cps;
	const char *p = pattern, *s = path;
	while (ok) {
		const char *pe = strchr(p, '/'), *se = strchr(s, '/');
		if (!pe)
			pe = p + strlen(p);
		if (!se)
			se = s + strlen(s);
		ok = glob_component(p, pe, s, se, toks, cps);
		if (!*pe)
			break;
		p = pe + 1;
		s = se + 1;
	}
	free(toks);
	free(cps);
	return ok;
}

bool gate_tuf_delegation_matches(const struct gate_tuf_delegation *d, const char *path)
{
	if (d->has_paths) {
		for (size_t i = 0; i < d->npaths; i++)
			if (gate_tuf_path_match(d->paths[i], path))
				return true;
		return false;
	}
	uint8_t h[32];
	char hex[65];
	gate_sha256(path, strlen(path), h);
	gate_hex_encode(h, sizeof h, hex);
	for (size_t i = 0; i < d->nprefixes; i++)
		if (strncmp(hex, d->prefixes[i], strlen(d->prefixes[i])) == 0)
			return true;
	return false;
}

static unsigned bin_width(unsigned bits)
{
	return (bits + 3) / 4;
}

bool gate_tuf_succinct_role(const struct gate_tuf_succinct *s, const char *path, char *buf,
			    size_t cap)
{
	uint8_t h[32];
	if (s->bit_length < 1 || s->bit_length > 32)
		return false;
	gate_sha256(path, strlen(path), h);
	uint32_t v = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
	uint32_t bin = s->bit_length == 32 ? v : v >> (32 - s->bit_length);
	int n = snprintf(buf, cap, "%s-%0*x", s->name_prefix, (int)bin_width(s->bit_length),
			 (unsigned)bin);
	return n > 0 && (size_t)n < cap;
}

bool gate_tuf_succinct_has(const struct gate_tuf_succinct *s, const char *name)
{
	size_t plen = strlen(s->name_prefix);
	unsigned w = bin_width(s->bit_length);
	if (s->bit_length < 1 || s->bit_length > 32 || strncmp(name, s->name_prefix, plen) != 0 ||
	    name[plen] != '-' || strlen(name + plen + 1) != w)
		return false;
	uint64_t v = 0;
	for (const char *p = name + plen + 1; *p; p++) {
		int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = v * 16 + (uint64_t)d;
	}
	return v < ((uint64_t)1 << s->bit_length);
}

char *gate_tuf_quote(const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(3 * n + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* ---- root steps (T1, T2) ---- */

enum gate_err gate_tuf_root_load(const uint8_t *buf, size_t len, struct gate_tuf_md **out,
				 struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, GATE_TUF_ROOT, &md, err);
	/* The initial root is trusted by installation: its keys are read
	 * before its signatures, which it must carry by its own threshold. */
	if (rc == GATE_OK && (rc = gate_tuf_md_load(md, err)) == GATE_OK)
		rc = gate_tuf_verify_role(md, &md->keys, &md->roles[GATE_TUF_ROOT], "root", "T1",
					  err);
	if (rc != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

enum gate_err gate_tuf_root_update(const struct gate_tuf_md *trusted, const uint8_t *buf,
				   size_t len, struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, GATE_TUF_ROOT, &md, err);
	if (rc != GATE_OK)
		return rc;
	/* T2: the trusted root's threshold first, before any field of the
	 * new root is read. */
	rc = gate_tuf_verify_role(md, &trusted->keys, &trusted->roles[GATE_TUF_ROOT],
				  "root (by the trusted root's keys)", "T2", err);
	if (rc == GATE_OK)
		rc = gate_tuf_md_load(md, err);
	if (rc == GATE_OK && (trusted->version == INT64_MAX || md->version != trusted->version + 1))
		rc = gate_fail(err, GATE_E_MISMATCH, "T2", "root.version",
			       "version %lld, expected %lld", (long long)md->version,
			       (long long)trusted->version + (trusted->version < INT64_MAX));
	if (rc == GATE_OK)
		rc = gate_tuf_verify_role(md, &md->keys, &md->roles[GATE_TUF_ROOT],
					  "root (by its own keys)", "T2", err);
	if (rc != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}
