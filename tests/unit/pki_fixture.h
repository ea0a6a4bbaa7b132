/* pki_fixture.h - a throwaway PKI for the unit tests: P-256 keys and
 * X.509 certificates with the extensions a test names (by NID, as OpenSSL's
 * config syntax, or raw DER by OID). Include after <cmocka.h>. */
#ifndef GATE_TEST_PKI_FIXTURE_H
#define GATE_TEST_PKI_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <time.h>

struct ext {
	int nid;
	const char *value;
};

struct raw_ext {
	const char *oid;
	const uint8_t *der;
	size_t len;
};

static inline EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static inline void add_raw(X509 *x, const char *oid, const uint8_t *der, size_t len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	assert_true(o && os);
	assert_true(ASN1_OCTET_STRING_set(os, der, (int)len));
	X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(o);
}

/* cn NULL: an empty subject; issuer NULL: self-signed. */
static inline X509 *make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
			      int64_t nb, int64_t na, long serial, const struct ext *exts,
			      const struct raw_ext *raws)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
	X509_NAME *name = X509_NAME_new();
	if (cn)
		assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
						       (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_subject_name(x, name));
	assert_true(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name));
	X509_NAME_free(name);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
	assert_true(X509_set_pubkey(x, key));
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	for (size_t i = 0; exts && exts[i].nid; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	for (size_t i = 0; raws && raws[i].oid; i++)
		add_raw(x, raws[i].oid, raws[i].der, raws[i].len);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

#endif
