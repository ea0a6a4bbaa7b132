/* keys.c - public keys and signature verification with OpenSSL. */
#include "internal.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum gate_keyalg alg;
} alg_names[] = {
	{"PKIX_ECDSA_P256_SHA_256", GATE_ALG_ECDSA_P256_SHA256},
	{"PKIX_ECDSA_P384_SHA_384", GATE_ALG_ECDSA_P384_SHA384},
	{"PKIX_ECDSA_P521_SHA_512", GATE_ALG_ECDSA_P521_SHA512},
	{"PKIX_ED25519", GATE_ALG_ED25519},
	{"PKIX_RSA_PKCS1V15_2048_SHA256", GATE_ALG_RSA_PKCS1_SHA256},
	{"PKIX_RSA_PKCS1V15_3072_SHA256", GATE_ALG_RSA_PKCS1_SHA256},
	{"PKIX_RSA_PKCS1V15_4096_SHA256", GATE_ALG_RSA_PKCS1_SHA256},
	{"PKIX_RSA_PSS_2048_SHA256", GATE_ALG_RSA_PSS_SHA256},
	{"PKIX_RSA_PSS_3072_SHA256", GATE_ALG_RSA_PSS_SHA256},
	{"PKIX_RSA_PSS_4096_SHA256", GATE_ALG_RSA_PSS_SHA256},
};

enum gate_keyalg gate_keyalg_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (strcmp(name, alg_names[i].name) == 0)
			return alg_names[i].alg;
	return GATE_ALG_UNKNOWN;
}

enum gate_keyalg gate_keyalg_default(EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_ED25519:
		return GATE_ALG_ED25519;
	case EVP_PKEY_RSA:
		return GATE_ALG_RSA_PKCS1_SHA256;
	case EVP_PKEY_RSA_PSS:
		return GATE_ALG_RSA_PSS_SHA256;
	case EVP_PKEY_EC: {
		char curve[64];
		size_t len = 0;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve,
						    sizeof(curve), &len))
			return GATE_ALG_UNKNOWN;
		if (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "P-256") == 0)
			return GATE_ALG_ECDSA_P256_SHA256;
		if (strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0)
			return GATE_ALG_ECDSA_P384_SHA384;
		if (strcmp(curve, "secp521r1") == 0 || strcmp(curve, "P-521") == 0)
			return GATE_ALG_ECDSA_P521_SHA512;
		return GATE_ALG_UNKNOWN;
	}
	default:
		return GATE_ALG_UNKNOWN;
	}
}

const EVP_MD *gate_keyalg_md(enum gate_keyalg alg)
{
	switch (alg) {
	case GATE_ALG_ECDSA_P256_SHA256:
	case GATE_ALG_RSA_PKCS1_SHA256:
	case GATE_ALG_RSA_PSS_SHA256:
		return EVP_sha256();
	case GATE_ALG_ECDSA_P384_SHA384:
	case GATE_ALG_RSA_PKCS1_SHA384:
	case GATE_ALG_RSA_PSS_SHA384:
		return EVP_sha384();
	case GATE_ALG_ECDSA_P521_SHA512:
	case GATE_ALG_RSA_PKCS1_SHA512:
	case GATE_ALG_RSA_PSS_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static bool alg_is_pss(enum gate_keyalg alg)
{
	return alg == GATE_ALG_RSA_PSS_SHA256 || alg == GATE_ALG_RSA_PSS_SHA384 ||
	       alg == GATE_ALG_RSA_PSS_SHA512;
}

/* The key's type must be the one the algorithm names: a P-384 key must not
 * pass as "P-256" nor an RSA key as ECDSA. */
static bool alg_fits_key(EVP_PKEY *key, enum gate_keyalg alg)
{
	enum gate_keyalg natural = gate_keyalg_default(key);
	switch (alg) {
	case GATE_ALG_ECDSA_P256_SHA256:
	case GATE_ALG_ECDSA_P384_SHA384:
	case GATE_ALG_ECDSA_P521_SHA512:
	case GATE_ALG_ED25519:
		return natural == alg;
	case GATE_ALG_UNKNOWN:
		return false;
	default:
		return natural == GATE_ALG_RSA_PKCS1_SHA256 || natural == GATE_ALG_RSA_PSS_SHA256;
	}
}

enum gate_err gate_pkey_spki(EVP_PKEY *key, uint8_t **out, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return GATE_E_INTERNAL;
	*out = der;
	*len = (size_t)n;
	return GATE_OK;
}

enum gate_err gate_pubkey_wrap(EVP_PKEY *pkey, enum gate_keyalg alg, struct gate_pubkey **out,
			       struct gate_error *err)
{
	struct gate_pubkey *k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	k->pkey = pkey;
	k->alg = alg;
	if (gate_pkey_spki(pkey, &k->spki, &k->spki_len) != GATE_OK) {
		gate_pubkey_free(k);
		return gate_fail(err, GATE_E_KEY, NULL, NULL, "cannot encode public key");
	}
	*out = k;
	return GATE_OK;
}

enum gate_err gate_pubkey_wrap_der(EVP_PKEY *pkey, enum gate_keyalg alg, const uint8_t *der,
				   size_t len, struct gate_pubkey **out, struct gate_error *err)
{
	/* OpenSSL 3's encoders are slow; the DER we decoded is already the
	 * SPKI, so it is kept instead of encoded again. */
	struct gate_pubkey *k = calloc(1, sizeof(*k));
	if (!k || !(k->spki = OPENSSL_memdup(der, len))) {
		free(k);
		EVP_PKEY_free(pkey);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	k->pkey = pkey;
	k->alg = alg;
	k->spki_len = len;
	*out = k;
	return GATE_OK;
}

enum gate_err gate_pubkey_parse(const uint8_t *buf, size_t len, struct gate_pubkey **out,
				struct gate_error *err)
{
	EVP_PKEY *pkey = NULL;
	if (len > INT32_MAX)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "key", "key too large");
	if (len > 0 && buf[0] == 0x30) {
		const unsigned char *p = buf;
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
		if (pkey && p != buf + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	} else {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		if (bio)
			pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	if (!pkey)
		return gate_fail(err, GATE_E_PARSE, "S19", "key",
				 "not a PEM or DER SubjectPublicKeyInfo public key");
	enum gate_keyalg alg = gate_keyalg_default(pkey);
	if (alg == GATE_ALG_UNKNOWN) {
		EVP_PKEY_free(pkey);
		return gate_fail(err, GATE_E_UNSUPPORTED, "S19", "key",
				 "key type is not ECDSA P-256/384/521, Ed25519 or RSA");
	}
	if (buf[0] == 0x30)
		return gate_pubkey_wrap_der(pkey, alg, buf, len, out, err);
	return gate_pubkey_wrap(pkey, alg, out, err);
}

enum gate_err gate_pubkey_load(const char *path, struct gate_pubkey **out, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(path, GATE_MAX_SMALL_FILE, &buf, &len, err);
	if (rc == GATE_OK) {
		rc = gate_pubkey_parse(buf, len, out, err);
		if (rc != GATE_OK && err)
			snprintf(err->field, sizeof(err->field), "%.90s", path);
	}
	free(buf);
	return rc;
}

void gate_pubkey_id(const struct gate_pubkey *key, char hex[65])
{
	uint8_t d[32];
	gate_sha256(key->spki, key->spki_len, d);
	gate_hex_encode(d, 32, hex);
}

void gate_pubkey_free(struct gate_pubkey *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	OPENSSL_free(key->spki);
	free(key);
}

static bool set_padding(EVP_PKEY_CTX *pctx, enum gate_keyalg alg)
{
	if (!alg_is_pss(alg))
		return true;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) > 0;
}

enum gate_err gate_sig_verify_msg(EVP_PKEY *key, enum gate_keyalg alg, const uint8_t *msg,
				  size_t msglen, const uint8_t *sig, size_t siglen)
{
	if (!key || !alg_fits_key(key, alg) || siglen == 0 || siglen > GATE_MAX_SIG)
		return GATE_E_SIGNATURE;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	enum gate_err rc = GATE_E_SIGNATURE;
	if (ctx && EVP_DigestVerifyInit(ctx, &pctx, gate_keyalg_md(alg), NULL, key) == 1 &&
	    set_padding(pctx, alg) && EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1)
		rc = GATE_OK;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

enum gate_err gate_sig_verify_digest(EVP_PKEY *key, enum gate_keyalg alg, const uint8_t *dgst,
				     size_t dlen, const uint8_t *sig, size_t siglen)
{
	return gate_sig_verify_digest_md(key, alg, gate_keyalg_md(alg), dgst, dlen, sig, siglen);
}

bool gate_keyalg_any_digest(enum gate_keyalg alg)
{
	return alg == GATE_ALG_ECDSA_P256_SHA256 || alg == GATE_ALG_ECDSA_P384_SHA384 ||
	       alg == GATE_ALG_ECDSA_P521_SHA512;
}

enum gate_err gate_sig_verify_digest_md(EVP_PKEY *key, enum gate_keyalg alg, const EVP_MD *md,
					const uint8_t *dgst, size_t dlen, const uint8_t *sig,
					size_t siglen)
{
	/* Only the algorithm's own hash, or any SHA-2 for ECDSA. */
	if (md && md != gate_keyalg_md(alg) &&
	    !(gate_keyalg_any_digest(alg) &&
	      (EVP_MD_is_a(md, "SHA256") || EVP_MD_is_a(md, "SHA384") ||
	       EVP_MD_is_a(md, "SHA512"))))
		return GATE_E_SIGNATURE;
	if (!key || !md || !alg_fits_key(key, alg) || siglen == 0 || siglen > GATE_MAX_SIG ||
	    dlen != (size_t)EVP_MD_get_size(md))
		return GATE_E_SIGNATURE;
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
	enum gate_err rc = GATE_E_SIGNATURE;
	if (pctx && EVP_PKEY_verify_init(pctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pctx, md) > 0 && set_padding(pctx, alg) &&
	    EVP_PKEY_verify(pctx, sig, siglen, dgst, dlen) == 1)
		rc = GATE_OK;
	EVP_PKEY_CTX_free(pctx);
	ERR_clear_error();
	return rc;
}
