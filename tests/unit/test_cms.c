/* test_cms.c - detached CMS/PKCS#7 code signatures (verify/x509/cms.c,
 * cs_signer.c, x509cs.c, crl.c) over a PKI built here: signed attributes or
 * none, RFC 3161 tokens and PKCS#9 countersignatures against TSA roots,
 * expiry kept by a timestamp, the code-signing profile, CRLs revoking
 * before and after the signing time, and malformed signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pki_fixture.h"

#include "codesign.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T0 1750000000 /* 2025-06-15 */
#define DAY 86400

static const struct ext ca_exts[] = {
	{NID_basic_constraints, "critical,CA:TRUE"},
	{NID_key_usage, "critical,keyCertSign,cRLSign"},
	{NID_subject_key_identifier, "hash"},
	{0, NULL},
};
static const struct ext leaf_exts[] = {
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "codeSigning"},
	{NID_subject_alt_name, "email:dev@example.com,URI:https://example.com/dev"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};
static const struct ext noeku_exts[] = {
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "emailProtection"},
	{0, NULL},
};
static const struct ext tsa_exts[] = {
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "critical,timeStamping"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

struct pki {
	EVP_PKEY *root_key, *leaf_key, *tsa_root_key, *tsa_key, *other_key;
	X509 *root, *leaf, *expired, *noeku, *tsa_root, *tsa, *other_root, *other;
	char root_pem[64], tsa_pem[64], other_pem[64], crl_pem[64];
	int art;     /* memfd: "payload\n" */
	int changed; /* memfd: "payload!\n" */
};

static struct pki P;

static void write_pem(char *path, X509 *x)
{
	strcpy(path, "/tmp/gate-test-cms-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(PEM_write_X509(f, x));
	assert_int_equal(fclose(f), 0);
}

static int memfd_with(const char *s)
{
	int fd = memfd_create("art", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	return fd;
}

static int setup(void **state)
{
	(void)state;
	P.root_key = new_key();
	P.leaf_key = new_key();
	P.tsa_root_key = new_key();
	P.tsa_key = new_key();
	P.other_key = new_key();
	P.root = make_cert(NULL, P.root_key, P.root_key, "cms root", T0 - 100 * DAY,
			   T0 + 1000 * DAY, 1, ca_exts, NULL);
	P.leaf = make_cert(P.root, P.root_key, P.leaf_key, "cms signer", T0 - 30 * DAY,
			   T0 + 365 * DAY, 10, leaf_exts, NULL);
	P.expired = make_cert(P.root, P.root_key, P.leaf_key, "cms old signer", T0 - 60 * DAY,
			      T0 - 30 * DAY, 11, leaf_exts, NULL);
	P.noeku = make_cert(P.root, P.root_key, P.leaf_key, "cms mail", T0 - 30 * DAY,
			    T0 + 365 * DAY, 12, noeku_exts, NULL);
	P.tsa_root = make_cert(NULL, P.tsa_root_key, P.tsa_root_key, "tsa root", T0 - 100 * DAY,
			       T0 + 1000 * DAY, 1, ca_exts, NULL);
	P.tsa = make_cert(P.tsa_root, P.tsa_root_key, P.tsa_key, "tsa", T0 - 100 * DAY,
			  T0 + 1000 * DAY, 2, tsa_exts, NULL);
	P.other_root = make_cert(NULL, P.other_key, P.other_key, "other root", T0 - 100 * DAY,
				 T0 + 1000 * DAY, 1, ca_exts, NULL);
	P.other = make_cert(P.other_root, P.other_key, P.leaf_key, "cms signer", T0 - 30 * DAY,
			    T0 + 365 * DAY, 10, leaf_exts, NULL);
	write_pem(P.root_pem, P.root);
	write_pem(P.tsa_pem, P.tsa_root);
	write_pem(P.other_pem, P.other_root);
	P.art = memfd_with("payload\n");
	P.changed = memfd_with("payload!\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY *keys[] = {P.root_key, P.leaf_key, P.tsa_root_key, P.tsa_key, P.other_key};
	X509 *certs[] = {P.root,     P.leaf, P.expired,	   P.noeku,
			 P.tsa_root, P.tsa,  P.other_root, P.other};
	for (size_t i = 0; i < 5; i++)
		EVP_PKEY_free(keys[i]);
	for (size_t i = 0; i < 8; i++)
		X509_free(certs[i]);
	unlink(P.root_pem);
	unlink(P.tsa_pem);
	unlink(P.other_pem);
	if (P.crl_pem[0])
		unlink(P.crl_pem);
	close(P.art);
	close(P.changed);
	return 0;
}

/* Trust: the root (and the TSA root when tsa), revocation per mode. */
static struct gate_x509_trust *trust(bool tsa, enum gate_crl_mode mode, const char *crl)
{
	struct gate_x509_trust *t = NULL;
	assert_int_equal(gate_x509_trust_new(&t, NULL), GATE_OK);
	assert_int_equal(gate_x509_trust_add_roots(t, "root", P.root_pem, NULL), GATE_OK);
	if (tsa)
		assert_int_equal(gate_x509_trust_add_tsa_roots(t, "tsa", P.tsa_pem, NULL), GATE_OK);
	if (crl)
		assert_int_equal(gate_x509_trust_add_crl(t, crl, NULL), GATE_OK);
	assert_int_equal(gate_x509_trust_set_revocation(t, mode, false, NULL, NULL), GATE_OK);
	return t;
}

/* A detached signature over "payload\n" by cert. */
static PKCS7 *sign(X509 *cert, int flags)
{
	BIO *in = BIO_new_mem_buf("payload\n", 8);
	assert_non_null(in);
	PKCS7 *p7 = PKCS7_sign(cert, P.leaf_key, NULL, in, PKCS7_DETACHED | PKCS7_BINARY | flags);
	assert_non_null(p7);
	BIO_free(in);
	return p7;
}

static PKCS7_SIGNER_INFO *signer0(PKCS7 *p7)
{
	return sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
}

static int fixed_time(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = *(long *)data;
	*usec = 0;
	return 1;
}

/* Add an RFC 3161 token over the signature value, genTime gen. */
static void add_token(PKCS7 *p7, long gen)
{
	PKCS7_SIGNER_INFO *si = signer0(p7);
	uint8_t d[32];
	unsigned dl = 0;
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	BIO *bio = BIO_new(BIO_s_mem());
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	ASN1_OBJECT *policy = OBJ_txt2obj("1.2.3.4", 1);
	assert_true(req && mi && alg && bio && ctx && policy);
	assert_true(EVP_Digest(ASN1_STRING_get0_data(si->enc_digest),
			       (size_t)ASN1_STRING_length(si->enc_digest), d, &dl, EVP_sha256(),
			       NULL));
	assert_true(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL));
	assert_true(TS_MSG_IMPRINT_set_algo(mi, alg));
	assert_true(TS_MSG_IMPRINT_set_msg(mi, d, (int)dl));
	assert_true(TS_REQ_set_version(req, 1));
	assert_true(TS_REQ_set_msg_imprint(req, mi));
	assert_true(TS_REQ_set_cert_req(req, 1));
	assert_true(i2d_TS_REQ_bio(bio, req));
	assert_true(TS_RESP_CTX_set_signer_cert(ctx, P.tsa));
	assert_true(TS_RESP_CTX_set_signer_key(ctx, P.tsa_key));
	assert_true(TS_RESP_CTX_set_def_policy(ctx, policy));
	assert_true(TS_RESP_CTX_add_md(ctx, EVP_sha256()));
	TS_RESP_CTX_set_time_cb(ctx, fixed_time, &gen);
	TS_RESP *resp = TS_RESP_create_response(ctx, bio);
	assert_non_null(resp);
	unsigned char *der = NULL;
	int n = i2d_PKCS7(TS_RESP_get_token(resp), &der);
	assert_true(n > 0);
	ASN1_STRING *s = ASN1_STRING_new();
	assert_true(ASN1_STRING_set(s, der, n));
	assert_true(PKCS7_add_attribute(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, s));
	OPENSSL_free(der);
	TS_RESP_free(resp);
	TS_RESP_CTX_free(ctx);
	ASN1_OBJECT_free(policy);
	BIO_free(bio);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
}

/* Add a PKCS#9 countersignature by the TSA at time at (its certificate
 * goes into the signature's certificates). With bad_digest, its
 * messageDigest is not the hash of the signature. */
static void add_countersig(PKCS7 *p7, long at, bool bad_digest)
{
	PKCS7_SIGNER_INFO *si = signer0(p7), *cs = PKCS7_SIGNER_INFO_new();
	uint8_t d[32];
	unsigned dl = 0;
	assert_non_null(cs);
	assert_true(PKCS7_SIGNER_INFO_set(cs, P.tsa, P.tsa_key, EVP_sha256()));
	assert_true(EVP_Digest(ASN1_STRING_get0_data(si->enc_digest),
			       (size_t)ASN1_STRING_length(si->enc_digest), d, &dl, EVP_sha256(),
			       NULL));
	d[0] ^= bad_digest ? 1 : 0;
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)at);
	assert_true(PKCS7_add0_attrib_signing_time(cs, t));
	assert_true(PKCS7_add1_attrib_digest(cs, d, (int)dl));
	assert_true(PKCS7_SIGNER_INFO_sign(cs) == 1);
	unsigned char *der = NULL;
	int n = i2d_PKCS7_SIGNER_INFO(cs, &der);
	assert_true(n > 0);
	ASN1_STRING *s = ASN1_STRING_new();
	assert_true(ASN1_STRING_set(s, der, n));
	assert_true(PKCS7_add_attribute(si, NID_pkcs9_countersignature, V_ASN1_SEQUENCE, s));
	assert_true(PKCS7_add_certificate(p7, P.tsa));
	OPENSSL_free(der);
	PKCS7_SIGNER_INFO_free(cs);
}

/* Verify p7 (as DER) over fd at T0. */
static enum gate_err verify(PKCS7 *p7, int fd, const struct gate_x509_trust *t, size_t index,
			    struct gate_facts **f, struct gate_error *e)
{
	unsigned char *der = NULL;
	int n = i2d_PKCS7(p7, &der);
	assert_true(n > 0);
	struct gate_cs_input in = {.format = GATE_CS_CMS,
				   .fd = fd,
				   .name = "a",
				   .sig = der,
				   .siglen = (size_t)n,
				   .index = index};
	struct gate_cs_opts o = {.trust = t, .now = T0};
	memset(e, 0, sizeof(*e));
	*f = NULL;
	enum gate_err rc = gate_verify_codesign(&in, &o, f, e);
	OPENSSL_free(der);
	assert_int_equal(ERR_peek_error(), 0);
	return rc;
}

static const char *ext(const struct gate_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n_exts; i++)
		if (strcmp(f->exts[i].name, name) == 0)
			return f->exts[i].value;
	return NULL;
}

static void test_attrs_and_facts(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(true, GATE_CRL_PREFER, NULL);
	PKCS7 *p7 = sign(P.leaf, 0);
	struct gate_facts *f;
	struct gate_error e;
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_int_equal(f->kind, GATE_SIGNER_X509);
	assert_string_equal(f->cs_format, "cms");
	assert_string_equal(f->subject, "CN=cms signer");
	assert_string_equal(f->cert_issuer, "CN=cms root");
	assert_string_equal(f->serial, "0A");
	assert_string_equal(f->anchor_name, "root");
	assert_int_equal(strlen(f->fingerprint), 64);
	assert_true(gate_x509_trust_has_anchor(t, "root", f->anchor_fingerprint));
	assert_false(gate_x509_trust_has_anchor(t, "nope", f->anchor_fingerprint));
	assert_int_equal(f->n_sans, 2);
	assert_string_equal(f->sans[0], "dev@example.com");
	assert_string_equal(f->sans[1], "https://example.com/dev");
	assert_int_equal(f->signing_time, 0);
	assert_string_equal(ext(f, "signed_attributes"), "yes");
	assert_non_null(strstr(ext(f, "revocation"), "unchecked"));
	gate_facts_free(f);
	assert_int_equal(verify(p7, P.changed, t, 0, &f, &e), GATE_E_DIGEST);
	assert_null(f);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

static void test_no_attrs(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(false, GATE_CRL_IGNORE, NULL);
	PKCS7 *p7 = sign(P.leaf, PKCS7_NOATTR);
	struct gate_facts *f;
	struct gate_error e;
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_string_equal(ext(f, "signed_attributes"), "no");
	gate_facts_free(f);
	assert_int_equal(verify(p7, P.changed, t, 0, &f, &e), GATE_E_SIGNATURE);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

static void test_rfc3161(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(true, GATE_CRL_IGNORE, NULL);
	PKCS7 *p7 = sign(P.leaf, 0);
	add_token(p7, T0 - DAY);
	struct gate_facts *f;
	struct gate_error e;
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_int_equal(f->signing_time, T0 - DAY);
	assert_int_equal(f->time_source, GATE_TIME_TSA);
	assert_int_equal(f->n_tsa, 1);
	gate_facts_free(f);
	PKCS7_free(p7);
	/* A TSA the trust does not name: no signing time, said why. */
	struct gate_x509_trust *t2 = trust(false, GATE_CRL_IGNORE, NULL);
	p7 = sign(P.leaf, 0);
	add_token(p7, T0 - DAY);
	assert_int_equal(verify(p7, P.art, t2, 0, &f, &e), GATE_OK);
	assert_int_equal(f->signing_time, 0);
	assert_non_null(strstr(ext(f, "timestamp_rejected"), "no timestamp authority roots"));
	gate_facts_free(f);
	PKCS7_free(p7);
	/* genTime ahead of the clock */
	p7 = sign(P.leaf, 0);
	add_token(p7, T0 + DAY);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_non_null(strstr(ext(f, "timestamp_rejected"), "future"));
	gate_facts_free(f);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
	gate_x509_trust_free(t2);
}

static void test_expired_kept_by_timestamp(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(true, GATE_CRL_IGNORE, NULL);
	struct gate_facts *f;
	struct gate_error e;
	PKCS7 *p7 = sign(P.expired, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	assert_non_null(strstr(e.msg, "expired"));
	add_token(p7, T0 - 45 * DAY); /* inside [T0-60d, T0-30d] */
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_int_equal(f->signing_time, T0 - 45 * DAY);
	gate_facts_free(f);
	PKCS7_free(p7);
	p7 = sign(P.expired, 0);
	add_token(p7, T0 - 10 * DAY); /* after expiry */
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

static void test_countersignature(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(true, GATE_CRL_IGNORE, NULL);
	struct gate_facts *f;
	struct gate_error e;
	PKCS7 *p7 = sign(P.expired, 0);
	add_countersig(p7, T0 - 40 * DAY, false);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_int_equal(f->time_source, GATE_TIME_COUNTERSIG);
	assert_int_equal(f->signing_time, T0 - 40 * DAY);
	gate_facts_free(f);
	PKCS7_free(p7);
	p7 = sign(P.expired, 0);
	add_countersig(p7, T0 - 40 * DAY, true);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	assert_non_null(strstr(e.msg, "countersignature messageDigest"));
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

static void test_profile_and_roots(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(false, GATE_CRL_IGNORE, NULL);
	struct gate_facts *f;
	struct gate_error e;
	PKCS7 *p7 = sign(P.noeku, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	assert_non_null(strstr(e.msg, "codeSigning"));
	PKCS7_free(p7);
	p7 = sign(P.other, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	assert_non_null(strstr(e.msg, "does not verify to a trusted root"));
	PKCS7_free(p7);
	assert_true(gate_x509_trust_has_root_set(t, "root"));
	assert_false(gate_x509_trust_has_root_set(t, "other"));
	assert_int_equal(gate_x509_trust_add_roots(t, "other", P.other_pem, NULL), GATE_OK);
	p7 = sign(P.other, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_string_equal(f->anchor_name, "other");
	gate_facts_free(f);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

/* A CRL of the root revoking the leaf at `revoked` (none when 0), valid
 * until next. */
static void write_crl(long revoked, long next)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_TIME *tu = ASN1_TIME_set(NULL, next - 31 * DAY), *nu = ASN1_TIME_set(NULL, next);
	ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)revoked);
	assert_true(crl && r && tu && nu && rt);
	assert_true(X509_CRL_set_version(crl, 1));
	assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(P.root)));
	assert_true(X509_CRL_set1_lastUpdate(crl, tu));
	assert_true(X509_CRL_set1_nextUpdate(crl, nu));
	assert_true(X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(P.leaf)));
	assert_true(X509_REVOKED_set_revocationDate(r, rt));
	if (revoked)
		assert_true(X509_CRL_add0_revoked(crl, r));
	else
		X509_REVOKED_free(r);
	assert_true(X509_CRL_sort(crl));
	assert_true(X509_CRL_sign(crl, P.root_key, EVP_sha256()) > 0);
	if (P.crl_pem[0])
		unlink(P.crl_pem);
	strcpy(P.crl_pem, "/tmp/gate-test-crl-XXXXXX");
	int fd = mkstemp(P.crl_pem);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(PEM_write_X509_CRL(f, crl));
	assert_int_equal(fclose(f), 0);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	ASN1_TIME_free(rt);
	X509_CRL_free(crl);
}

static void test_revocation(void **state)
{
	(void)state;
	struct gate_facts *f;
	struct gate_error e;
	write_crl(T0 - 10 * DAY, T0 + 30 * DAY);
	struct gate_x509_trust *t = trust(true, GATE_CRL_REQUIRE, P.crl_pem);
	PKCS7 *p7 = sign(P.leaf, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT); /* now: revoked */
	assert_non_null(strstr(e.msg, "revoked on"));
	add_token(p7, T0 - 20 * DAY); /* signed before the revocation */
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_non_null(strstr(ext(f, "revocation"), "after the signing time"));
	gate_facts_free(f);
	PKCS7_free(p7);
	p7 = sign(P.leaf, 0);
	add_token(p7, T0 - 5 * DAY); /* signed after it */
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
	/* a CRL past its nextUpdate proves no absence of revocation */
	write_crl(0, T0 - DAY);
	t = trust(false, GATE_CRL_REQUIRE, P.crl_pem);
	p7 = sign(P.leaf, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	assert_non_null(strstr(e.msg, "past its nextUpdate"));
	PKCS7_free(p7);
	gate_x509_trust_free(t);
	t = trust(false, GATE_CRL_PREFER, P.crl_pem);
	p7 = sign(P.leaf, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	assert_non_null(strstr(ext(f, "revocation"), "past its nextUpdate"));
	gate_facts_free(f);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
	/* required but no CRL at all */
	t = trust(false, GATE_CRL_REQUIRE, NULL);
	p7 = sign(P.leaf, 0);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_CERT);
	assert_non_null(strstr(e.msg, "unknown"));
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

static void test_two_signers(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(false, GATE_CRL_IGNORE, NULL);
	BIO *in = BIO_new_mem_buf("payload\n", 8);
	PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, in, PKCS7_DETACHED | PKCS7_BINARY | PKCS7_PARTIAL);
	assert_non_null(p7);
	assert_non_null(PKCS7_sign_add_signer(p7, P.leaf, P.leaf_key, EVP_sha256(), 0));
	assert_non_null(PKCS7_sign_add_signer(p7, P.noeku, P.leaf_key, EVP_sha384(), 0));
	assert_true(PKCS7_final(p7, in, PKCS7_DETACHED | PKCS7_BINARY));
	BIO_free(in);
	unsigned char *der = NULL;
	int n = i2d_PKCS7(p7, &der);
	struct gate_cs_input ci = {
		.format = GATE_CS_CMS, .fd = P.art, .sig = der, .siglen = (size_t)n};
	size_t count = 0;
	assert_int_equal(gate_codesign_count(&ci, &count, NULL), GATE_OK);
	assert_int_equal(count, 2);
	OPENSSL_free(der);
	struct gate_facts *f;
	struct gate_error e;
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_OK);
	gate_facts_free(f);
	assert_int_equal(verify(p7, P.art, t, 1, &f, &e), GATE_E_CERT); /* no codeSigning EKU */
	assert_int_equal(verify(p7, P.art, t, 2, &f, &e), GATE_E_USAGE);
	PKCS7_free(p7);
	gate_x509_trust_free(t);
}

static void test_malformed(void **state)
{
	(void)state;
	struct gate_x509_trust *t = trust(false, GATE_CRL_IGNORE, NULL);
	struct gate_cs_opts o = {.trust = t, .now = T0};
	PKCS7 *p7 = sign(P.leaf, 0);
	unsigned char *der = NULL;
	int n = i2d_PKCS7(p7, &der);
	uint8_t *buf = malloc((size_t)n + 1);
	memcpy(buf, der, (size_t)n);
	buf[n] = 0;
	struct gate_facts *f = NULL;
	struct gate_error e = {0};
	struct gate_cs_input in = {.format = GATE_CS_CMS, .fd = P.art, .sig = buf};
	/* truncated at every length: an error, never a crash */
	for (int len = 0; len < n; len += 7) {
		in.siglen = (size_t)len;
		assert_int_not_equal(gate_verify_codesign(&in, &o, &f, &e), GATE_OK);
		assert_null(f);
	}
	in.siglen = (size_t)n + 1; /* trailing byte */
	assert_int_equal(gate_verify_codesign(&in, &o, &f, &e), GATE_E_PARSE);
	assert_non_null(strstr(e.msg, "trailing"));
	in.sig = (const uint8_t *)"-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n";
	in.siglen = strlen((const char *)in.sig);
	assert_int_equal(gate_verify_codesign(&in, &o, &f, &e), GATE_E_PARSE);
	OPENSSL_free(der);
	free(buf);
	PKCS7_free(p7);
	/* a signature that embeds its content */
	BIO *bin = BIO_new_mem_buf("payload\n", 8);
	p7 = PKCS7_sign(P.leaf, P.leaf_key, NULL, bin, PKCS7_BINARY);
	BIO_free(bin);
	der = NULL;
	n = i2d_PKCS7(p7, &der);
	in.sig = der;
	in.siglen = (size_t)n;
	assert_int_equal(gate_verify_codesign(&in, &o, &f, &e), GATE_E_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "not a detached signature"));
	OPENSSL_free(der);
	PKCS7_free(p7);
	/* a SHA-1 signer */
	bin = BIO_new_mem_buf("payload\n", 8);
	p7 = PKCS7_sign(NULL, NULL, NULL, bin, PKCS7_DETACHED | PKCS7_BINARY | PKCS7_PARTIAL);
	assert_non_null(PKCS7_sign_add_signer(p7, P.leaf, P.leaf_key, EVP_sha1(), 0));
	assert_true(PKCS7_final(p7, bin, PKCS7_DETACHED | PKCS7_BINARY));
	BIO_free(bin);
	assert_int_equal(verify(p7, P.art, t, 0, &f, &e), GATE_E_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "SHA1"));
	PKCS7_free(p7);
	assert_int_equal(ERR_peek_error(), 0);
	gate_x509_trust_free(t);
}

static void test_trust_files(void **state)
{
	(void)state;
	struct gate_x509_trust *t = NULL;
	struct gate_error e = {0};
	assert_int_equal(gate_x509_trust_new(&t, NULL), GATE_OK);
	assert_int_equal(gate_x509_trust_add_roots(t, "x", "/nonexistent/root.pem", &e), GATE_E_IO);
	assert_int_equal(gate_x509_trust_add_crl(t, P.root_pem, &e), GATE_E_PARSE);
	assert_int_equal(gate_x509_trust_add_crl(t, "/nonexistent.crl", &e), GATE_E_IO);
	gate_x509_trust_free(t);
	gate_x509_trust_free(NULL);
	assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attrs_and_facts),
		cmocka_unit_test(test_no_attrs),
		cmocka_unit_test(test_rfc3161),
		cmocka_unit_test(test_expired_kept_by_timestamp),
		cmocka_unit_test(test_countersignature),
		cmocka_unit_test(test_profile_and_roots),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_two_signers),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_trust_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
