/* tuf_keys.c - TUF keys and signature thresholds (spec/TUF.md §3): the
 * keytype/scheme pairs we accept, decoding a key's public value, key
 * tables, and counting the distinct keys of a role whose signatures verify
 * over the canonical bytes of "signed". */
#include "internal.h"
#include "tuf_meta_int.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static const uint8_t p256_spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
					   0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
					   0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

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
	if ((rc = gate_tuf_get_str(kobj, "keytype", true, &keytype, field, err)) != GATE_OK ||
	    (rc = gate_tuf_get_str(kobj, "scheme", true, &scheme, field, err)) != GATE_OK ||
	    (rc = gate_tuf_get_typed(kobj, "keyval", true, JSON_OBJECT, &keyval, field, err)) !=
		    GATE_OK ||
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

void gate_tuf_keys_clear(struct gate_tuf_keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		gate_pubkey_free(ks->v[i].pk);
	free(ks->v);
	ks->v = NULL;
	ks->n = 0;
}

enum gate_err gate_tuf_keys_load(json_t *obj, struct gate_tuf_keys *ks, const char *field,
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
