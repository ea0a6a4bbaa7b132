/* test_tsa.c - RFC 3161 timestamp verification (S12): the conformance
 * bundles' tokens, a throwaway TSA built here, and malformed responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pki_fixture.h"

#include "internal.h"

#include <openssl/err.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CASES GATE_SHARED_DIR "/conformance/sigstore/bundle-verify/"
#define PUBLIC_GOOD GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json"

/* ---- conformance bundles ---- */

struct tcase {
	struct gate_trusted_root *root;
	uint8_t *ts; /* first signedTimestamp, DER */
	size_t ts_len;
	uint8_t *sig; /* raw message or DSSE signature */
	size_t sig_len;
};

/* One conformance token (rekor2-timestamp-with-incorrect-time_fail) was
 * pasted from `base64` with line breaks; the bundle parser rejects that (S1),
 * but its timestamp is what S14 is tested with, so line breaks are dropped
 * here. */
static uint8_t *b64(const char *s, size_t *len)
{
	uint8_t *out = NULL;
	assert_non_null(s);
	char *clean = strdup(s), *w = clean;
	assert_non_null(clean);
	for (const char *r = s; *r; r++)
		if (*r != '\n')
			*w++ = *r;
	*w = '\0';
	assert_int_equal(gate_b64_decode(clean, strlen(clean), &out, len, "test", NULL), GATE_OK);
	free(clean);
	return out;
}

static void case_load(const char *name, struct tcase *c)
{
	char path[512];
	json_error_t jerr;
	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, CASES "%s/bundle.sigstore.json", name);
	json_t *j = json_load_file(path, 0, &jerr);
	assert_non_null(j);
	json_t *vm = json_object_get(j, "verificationMaterial");
	json_t *ts =
		json_array_get(json_object_get(json_object_get(vm, "timestampVerificationData"),
					       "rfc3161Timestamps"),
			       0);
	c->ts = b64(json_string_value(json_object_get(ts, "signedTimestamp")), &c->ts_len);
	json_t *ms = json_object_get(j, "messageSignature");
	const char *sig =
		ms ? json_string_value(json_object_get(ms, "signature"))
		   : json_string_value(json_object_get(
			     json_array_get(json_object_get(json_object_get(j, "dsseEnvelope"),
							    "signatures"),
					    0),
			     "sig"));
	c->sig = b64(sig, &c->sig_len);
	json_decref(j);
	snprintf(path, sizeof path, CASES "%s/trusted_root.json", name);
	if (access(path, R_OK) != 0)
		snprintf(path, sizeof path, "%s", PUBLIC_GOOD);
	assert_int_equal(gate_trusted_root_load(path, &c->root, NULL), GATE_OK);
}

static void case_free(struct tcase *c)
{
	gate_trusted_root_free(c->root);
	free(c->ts);
	free(c->sig);
}

static int64_t utc(const char *s)
{
	int64_t t = 0;
	assert_true(gate_parse_rfc3339(s, &t));
	return t;
}

static enum gate_err verify_case(struct tcase *c, int64_t *gen, size_t *idx, struct gate_error *err)
{
	return gate_rfc3161_verify(c->ts, c->ts_len, c->sig, c->sig_len, c->root, gen, idx, err);
}

/* Cases whose timestamp must verify, with the genTime it carries. The _fail
 * ones among them fail elsewhere (their README says the timestamp is
 * valid). */
static const struct {
	const char *name;
	const char *gen;
} good_cases[] = {
	{"rekor2-happy-path", "2025-06-12T12:02:20Z"},
	{"rekor2-timestamp-with-embedded-cert", "2025-08-06T18:51:36Z"},
	{"rekor2-timestamp-without-embedded-cert", "2025-08-06T19:03:51Z"},
	{"rekor2-timestamp-with-expired-cert-chain", "2025-08-07T15:32:26Z"},
	{"trust-root-tsa-validity-end-inclusive", "2025-06-12T12:02:20Z"},
	{"rekor2-dsse-happy-path", NULL},
	{"rekor2-checkpoint-cosigned", NULL},
	{"bundle-with-sct-with-extensions", NULL},
	{"intoto-with-custom-trust-root", NULL},
	{"rekor2-timestamp-with-incorrect-time_fail", NULL},	   /* S14 fails, not S12 */
	{"intoto-tsa-timestamp-outside-cert-validity_fail", NULL}, /* ditto */
	{"rekor2-dsse-invalid-sig_fail", NULL},			   /* S18 fails */
	{"rekor2-dsse-mismatch-sig_fail", NULL},		   /* S6 fails */
};

static void test_conformance_pass(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
		struct tcase c;
		struct gate_error err = {0};
		int64_t gen = 0;
		size_t idx = 99;
		case_load(good_cases[i].name, &c);
		enum gate_err rc = verify_case(&c, &gen, &idx, &err);
		if (rc != GATE_OK)
			print_error("%s: %s\n", good_cases[i].name, err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_true(idx < c.root->ntsas);
		if (good_cases[i].gen)
			assert_int_equal(gen, utc(good_cases[i].gen));
		assert_true(gate_validity_contains(&c.root->tsas[idx].valid, gen));
		case_free(&c);
	}
}

/* The timestamp part of these must be rejected, for the reason given. */
static const struct {
	const char *name;
	const char *why;
} bad_cases[] = {
	{"rekor2-timestamp-outside-trust-root-tsa-validity_fail",
	 "outside the validity of timestampAuthorities[0]"},
	{"rekor2-timestamp-outside-tsa-cert-validity_fail", "certificate has expired"},
	{"rekor2-timestamp-payload-mismatch_fail", "imprint is not the hash of the signature"},
	{"rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
	 "no timestamp authority in the trusted root verified the token"},
	{"rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
	 "no timestamp authority in the trusted root verified the token"},
};

static void test_conformance_fail(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct tcase c;
		struct gate_error err = {0};
		int64_t gen = 42;
		size_t idx = 99;
		case_load(bad_cases[i].name, &c);
		enum gate_err rc = verify_case(&c, &gen, &idx, &err);
		if (rc != GATE_E_TIMESTAMP || !strstr(err.msg, bad_cases[i].why))
			print_error("%s: %d %s\n", bad_cases[i].name, rc, err.msg);
		assert_int_equal(rc, GATE_E_TIMESTAMP);
		assert_int_equal(err.code, GATE_E_TIMESTAMP);
		assert_string_equal(err.rule, "S12");
		assert_non_null(strstr(err.msg, bad_cases[i].why));
		/* outputs untouched on failure */
		assert_int_equal(gen, 42);
		assert_int_equal(idx, 99);
		case_free(&c);
	}
}

/* One bit of the signature changed: the imprint no longer matches. */
static void test_signature_flipped(void **state)
{
	(void)state;
	struct tcase c;
	struct gate_error err = {0};
	int64_t gen;
	size_t idx;
	case_load("rekor2-happy-path", &c);
	c.sig[c.sig_len / 2] ^= 1;
	assert_int_equal(verify_case(&c, &gen, &idx, &err), GATE_E_TIMESTAMP);
	assert_string_equal(err.rule, "S12");
	assert_non_null(strstr(err.msg, "imprint"));
	case_free(&c);
}

/* The TSA validity window is closed: end == genTime passes, end one second
 * before fails, start after genTime fails; a root with no TSA fails. */
static void test_tsa_window(void **state)
{
	(void)state;
	struct tcase c;
	struct gate_error err = {0};
	int64_t gen, t = utc("2025-06-12T12:02:20Z");
	size_t idx;
	case_load("rekor2-happy-path", &c);
	struct gate_validity saved = c.root->tsas[0].valid;
	c.root->tsas[0].valid.has_end = true;
	c.root->tsas[0].valid.end = t;
	assert_int_equal(verify_case(&c, &gen, &idx, &err), GATE_OK);
	c.root->tsas[0].valid.end = t - 1;
	assert_int_equal(verify_case(&c, &gen, &idx, &err), GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "genTime 2025-06-12T12:02:20Z outside"));
	c.root->tsas[0].valid = saved;
	c.root->tsas[0].valid.start = t + 1;
	assert_int_equal(verify_case(&c, &gen, &idx, &err), GATE_E_TIMESTAMP);
	c.root->tsas[0].valid = saved;
	size_t n = c.root->ntsas;
	c.root->ntsas = 0;
	assert_int_equal(verify_case(&c, &gen, &idx, &err), GATE_E_TIMESTAMP);
	assert_string_equal(err.rule, "S12");
	c.root->ntsas = n;
	case_free(&c);
}

/* Untrusted bytes: truncations, trailing bytes, random bytes, a changed
 * byte inside the signed content, an oversized buffer. */
static void test_garbage(void **state)
{
	(void)state;
	struct tcase c;
	struct gate_error err = {0};
	int64_t gen;
	size_t idx;
	case_load("rekor2-happy-path", &c);
	size_t cuts[] = {0, 1, 2, 10, c.ts_len / 2, c.ts_len - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(gate_rfc3161_verify(c.ts, cuts[i], c.sig, c.sig_len, c.root, &gen,
						     &idx, &err),
				 GATE_E_TIMESTAMP);
		assert_string_equal(err.rule, "S12");
	}
	uint8_t *more = malloc(c.ts_len + 1);
	assert_non_null(more);
	memcpy(more, c.ts, c.ts_len);
	more[c.ts_len] = 0;
	assert_int_equal(
		gate_rfc3161_verify(more, c.ts_len + 1, c.sig, c.sig_len, c.root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "trailing"));
	free(more);

	/* BER that OpenSSL would decode: the outer SEQUENCE with an
	 * indefinite length, then with a non-minimal long-form length */
	assert_true(c.ts_len > 300 && c.ts_len < 65536 && c.ts[0] == 0x30 && c.ts[1] == 0x82);
	size_t body = c.ts_len - 4;
	uint8_t *ber = malloc(c.ts_len + 4);
	assert_non_null(ber);
	ber[0] = 0x30;
	ber[1] = 0x80;
	memcpy(ber + 2, c.ts + 4, body);
	ber[2 + body] = 0;
	ber[3 + body] = 0;
	assert_int_equal(
		gate_rfc3161_verify(ber, body + 4, c.sig, c.sig_len, c.root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "not DER"));
	ber[1] = 0x83;
	ber[2] = 0;
	ber[3] = (uint8_t)(body >> 8);
	ber[4] = (uint8_t)body;
	memcpy(ber + 5, c.ts + 4, body);
	assert_int_equal(
		gate_rfc3161_verify(ber, body + 5, c.sig, c.sig_len, c.root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "not DER"));
	free(ber);

	/* every single-byte change in the token is caught somewhere */
	uint8_t *mod = malloc(c.ts_len);
	assert_non_null(mod);
	for (size_t i = 0; i < c.ts_len; i += 7) {
		memcpy(mod, c.ts, c.ts_len);
		mod[i] ^= 0x40;
		enum gate_err rc = gate_rfc3161_verify(mod, c.ts_len, c.sig, c.sig_len, c.root,
						       &gen, &idx, NULL);
		if (rc == GATE_OK) {
			/* only unsigned parts (status text, unsigned attrs, cert
			 * padding) may change without effect */
			continue;
		}
		assert_int_equal(rc, GATE_E_TIMESTAMP);
	}
	free(mod);

	uint8_t rnd[512];
	srand(1234);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand() % (int)sizeof rnd);
		for (size_t i = 0; i < n; i++)
			rnd[i] = (uint8_t)rand();
		if (round % 2)
			rnd[0] = 0x30; /* look like a SEQUENCE */
		assert_int_equal(
			gate_rfc3161_verify(rnd, n, c.sig, c.sig_len, c.root, &gen, &idx, NULL),
			GATE_E_TIMESTAMP);
	}

	uint8_t *big = calloc(1, 64 * 1024 + 1);
	assert_non_null(big);
	memcpy(big, c.ts, c.ts_len);
	assert_int_equal(
		gate_rfc3161_verify(big, 64 * 1024 + 1, c.sig, c.sig_len, c.root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "limit"));
	free(big);
	case_free(&c);
}

/* ---- a throwaway TSA ---- */

static const struct ext ca_exts[] = {
	{NID_basic_constraints, "critical,CA:TRUE"},
	{NID_key_usage, "critical,keyCertSign,cRLSign"},
	{NID_subject_key_identifier, "hash"},
	{0, NULL},
};
static const struct ext tsa_exts[] = {
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "critical,timeStamping"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};
static const struct ext signing_exts[] = {
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "critical,codeSigning"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

#define T0 1750000000 /* 2025-06-15 */
#define DAY 86400

struct pki {
	EVP_PKEY *ca_key, *tsa_key;
	X509 *ca, *tsa, *bad_tsa;
};

static void pki_make(struct pki *p)
{
	p->ca_key = new_key();
	p->tsa_key = new_key();
	p->ca = make_cert(NULL, p->ca_key, p->ca_key, "test tsa root", T0 - 100 * DAY,
			  T0 + 100 * DAY, 1, ca_exts, NULL);
	p->tsa = make_cert(p->ca, p->ca_key, p->tsa_key, "test tsa", T0 - DAY, T0 + DAY, 2,
			   tsa_exts, NULL);
	/* same issuer, serial and key, but a code-signing EKU */
	p->bad_tsa = make_cert(p->ca, p->ca_key, p->tsa_key, "test tsa", T0 - DAY, T0 + DAY, 2,
			       signing_exts, NULL);
}

static void pki_free(struct pki *p)
{
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->tsa_key);
	X509_free(p->ca);
	X509_free(p->tsa);
	X509_free(p->bad_tsa);
}

static int fixed_time(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = *(long *)data;
	*usec = 0;
	return 1;
}

/* A TimeStampResp over msg with genTime gen, signed by signer/key. With
 * embed, the token carries the signer certificate. */
static uint8_t *make_resp(X509 *signer, EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
			  size_t msglen, long gen, int embed, size_t *outlen)
{
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	BIO *bio = BIO_new(BIO_s_mem());
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	ASN1_OBJECT *policy = OBJ_txt2obj("1.3.6.1.4.1.57264.2", 1);
	assert_true(req && mi && alg && bio && ctx && policy);
	assert_true(EVP_Digest(msg, msglen, dgst, &dlen, md, NULL));
	assert_true(X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL));
	assert_true(TS_MSG_IMPRINT_set_algo(mi, alg));
	assert_true(TS_MSG_IMPRINT_set_msg(mi, dgst, (int)dlen));
	assert_true(TS_REQ_set_version(req, 1));
	assert_true(TS_REQ_set_msg_imprint(req, mi));
	assert_true(TS_REQ_set_cert_req(req, embed));
	assert_true(i2d_TS_REQ_bio(bio, req));
	assert_true(TS_RESP_CTX_set_signer_cert(ctx, signer));
	assert_true(TS_RESP_CTX_set_signer_key(ctx, key));
	assert_true(TS_RESP_CTX_set_def_policy(ctx, policy));
	assert_true(TS_RESP_CTX_add_md(ctx, md));
	TS_RESP_CTX_set_time_cb(ctx, fixed_time, &gen);
	TS_RESP *resp = TS_RESP_create_response(ctx, bio);
	assert_non_null(resp);
	assert_int_equal(
		ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))),
		TS_STATUS_GRANTED);
	unsigned char *der = NULL;
	int n = i2d_TS_RESP(resp, &der);
	assert_true(n > 0);
	uint8_t *out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	*outlen = (size_t)n;
	OPENSSL_free(der);
	TS_RESP_free(resp);
	TS_RESP_CTX_free(ctx);
	ASN1_OBJECT_free(policy);
	BIO_free(bio);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return out;
}

/* A root with one TSA per chain given (each chain NULL-terminated). */
static struct gate_trusted_root *root_with(X509 *const *chains[], size_t n)
{
	struct gate_trusted_root *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->tsas = calloc(n, sizeof *r->tsas);
	assert_non_null(r->tsas);
	r->ntsas = n;
	for (size_t i = 0; i < n; i++) {
		r->tsas[i].uri = strdup("https://tsa.test");
		r->tsas[i].chain = sk_X509_new_null();
		assert_true(r->tsas[i].uri && r->tsas[i].chain);
		for (size_t k = 0; chains[i][k]; k++) {
			assert_true(X509_up_ref(chains[i][k]));
			assert_true(sk_X509_push(r->tsas[i].chain, chains[i][k]));
		}
		r->tsas[i].valid.start = T0 - 10 * DAY;
	}
	return r;
}

static const uint8_t sig_bytes[] = "pretend this is an ECDSA signature";

static void test_synthetic_digests(void **state)
{
	(void)state;
	struct pki p;
	pki_make(&p);
	X509 *chain[] = {p.tsa, p.ca, NULL};
	X509 *const *chains[] = {chain};
	struct gate_trusted_root *root = root_with(chains, 1);
	const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		int64_t gen = 0;
		size_t idx = 9;
		struct gate_error err = {0};
		uint8_t *der = make_resp(p.tsa, p.tsa_key, mds[i], sig_bytes, sizeof sig_bytes, T0,
					 1, &len);
		enum gate_err rc = gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, root,
						       &gen, &idx, &err);
		if (rc != GATE_OK)
			print_error("%s\n", err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_int_equal(gen, T0);
		assert_int_equal(idx, 0);
		/* a different signature gives a different imprint */
		assert_int_equal(gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes - 1,
						     root, &gen, &idx, &err),
				 GATE_E_TIMESTAMP);
		assert_non_null(strstr(err.msg, "imprint is not the hash of the signature"));
		free(der);
	}
	/* SHA-1 imprints are not accepted */
	size_t len;
	int64_t gen;
	size_t idx;
	struct gate_error err = {0};
	uint8_t *der =
		make_resp(p.tsa, p.tsa_key, EVP_sha1(), sig_bytes, sizeof sig_bytes, T0, 1, &len);
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "unsupported message imprint algorithm"));
	free(der);
	gate_trusted_root_free(root);
	pki_free(&p);
}

/* Without an embedded certificate the signer comes from the authority's
 * chain; a chain that lacks it cannot verify the token. */
static void test_synthetic_no_embedded_cert(void **state)
{
	(void)state;
	struct pki p;
	pki_make(&p);
	size_t len, idx = 9;
	int64_t gen = 0;
	struct gate_error err = {0};
	uint8_t *der =
		make_resp(p.tsa, p.tsa_key, EVP_sha256(), sig_bytes, sizeof sig_bytes, T0, 0, &len);
	X509 *full[] = {p.tsa, p.ca, NULL};
	X509 *anchor_only[] = {p.ca, NULL};
	X509 *const *c1[] = {full};
	X509 *const *c2[] = {anchor_only};
	struct gate_trusted_root *r1 = root_with(c1, 1), *r2 = root_with(c2, 1);
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, r1, &gen, &idx, &err),
		GATE_OK);
	assert_int_equal(gen, T0);
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, r2, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_string_equal(err.rule, "S12");
	/* the TSA certificate alone can anchor the chain */
	X509 *tsa_only[] = {p.tsa, NULL};
	X509 *const *c3[] = {tsa_only};
	struct gate_trusted_root *r3 = root_with(c3, 1);
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, r3, &gen, &idx, &err),
		GATE_OK);
	free(der);
	gate_trusted_root_free(r1);
	gate_trusted_root_free(r2);
	gate_trusted_root_free(r3);
	pki_free(&p);
}

/* The first authority that verifies wins and its index is returned. */
static void test_synthetic_second_authority(void **state)
{
	(void)state;
	struct pki p, other;
	pki_make(&p);
	pki_make(&other);
	size_t len, idx = 9;
	int64_t gen = 0;
	struct gate_error err = {0};
	uint8_t *der =
		make_resp(p.tsa, p.tsa_key, EVP_sha256(), sig_bytes, sizeof sig_bytes, T0, 1, &len);
	X509 *a[] = {other.tsa, other.ca, NULL};
	X509 *b[] = {p.tsa, p.ca, NULL};
	X509 *const *chains[] = {a, b};
	struct gate_trusted_root *root = root_with(chains, 2);
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, root, &gen, &idx, &err),
		GATE_OK);
	assert_int_equal(idx, 1);
	/* an authority whose window misses genTime is skipped; the window
	 * reason is reported when none verifies */
	root->tsas[1].valid.start = T0 + 1;
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_non_null(strstr(err.msg, "outside the validity of timestampAuthorities[1]"));
	free(der);
	gate_trusted_root_free(root);
	pki_free(&p);
	pki_free(&other);
}

/* Path validation happens at genTime: at the TSA certificate's notBefore
 * and notAfter (inclusive) it passes; one second outside it fails. */
static void test_synthetic_cert_validity(void **state)
{
	(void)state;
	struct pki p;
	pki_make(&p);
	X509 *chain[] = {p.tsa, p.ca, NULL};
	X509 *const *chains[] = {chain};
	struct gate_trusted_root *root = root_with(chains, 1);
	const struct {
		long gen;
		enum gate_err rc;
	} cases[] = {
		{T0 - DAY, GATE_OK},
		{T0 + DAY, GATE_OK},
		{T0 - DAY - 1, GATE_E_TIMESTAMP},
		{T0 + DAY + 1, GATE_E_TIMESTAMP},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len, idx;
		int64_t gen = 0;
		struct gate_error err = {0};
		uint8_t *der = make_resp(p.tsa, p.tsa_key, EVP_sha256(), sig_bytes,
					 sizeof sig_bytes, cases[i].gen, 1, &len);
		enum gate_err rc = gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, root,
						       &gen, &idx, &err);
		if (rc != cases[i].rc)
			print_error("case %zu: %s\n", i, err.msg);
		assert_int_equal(rc, cases[i].rc);
		if (rc == GATE_OK)
			assert_int_equal(gen, cases[i].gen);
		else
			assert_string_equal(err.rule, "S12");
		free(der);
	}
	gate_trusted_root_free(root);
	pki_free(&p);
}

/* A signer without the timeStamping EKU is refused even when its key made
 * the signature: the token names issuer and serial, which the root's
 * (code-signing) certificate also has. */
static void test_synthetic_signer_eku(void **state)
{
	(void)state;
	struct pki p;
	pki_make(&p);
	size_t len, idx;
	int64_t gen;
	struct gate_error err = {0};
	uint8_t *der =
		make_resp(p.tsa, p.tsa_key, EVP_sha256(), sig_bytes, sizeof sig_bytes, T0, 0, &len);
	X509 *chain[] = {p.bad_tsa, p.ca, NULL};
	X509 *const *chains[] = {chain};
	struct gate_trusted_root *root = root_with(chains, 1);
	assert_int_equal(
		gate_rfc3161_verify(der, len, sig_bytes, sizeof sig_bytes, root, &gen, &idx, &err),
		GATE_E_TIMESTAMP);
	assert_string_equal(err.rule, "S12");
	assert_non_null(strstr(err.msg, "purpose"));
	free(der);
	gate_trusted_root_free(root);
	pki_free(&p);
}

/* Status: grantedWithMods passes (the status is outside the signature),
 * rejection and waiting do not. */
static void test_synthetic_status(void **state)
{
	(void)state;
	struct pki p;
	pki_make(&p);
	X509 *chain[] = {p.tsa, p.ca, NULL};
	X509 *const *chains[] = {chain};
	struct gate_trusted_root *root = root_with(chains, 1);
	size_t len, idx;
	int64_t gen;
	struct gate_error err = {0};
	uint8_t *der =
		make_resp(p.tsa, p.tsa_key, EVP_sha256(), sig_bytes, sizeof sig_bytes, T0, 1, &len);
	const struct {
		int status;
		enum gate_err rc;
	} cases[] = {
		{TS_STATUS_GRANTED_WITH_MODS, GATE_OK},
		{TS_STATUS_REJECTION, GATE_E_TIMESTAMP},
		{TS_STATUS_WAITING, GATE_E_TIMESTAMP},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const unsigned char *q = der;
		TS_RESP *resp = d2i_TS_RESP(NULL, &q, (long)len);
		assert_non_null(resp);
		assert_true(
			TS_STATUS_INFO_set_status(TS_RESP_get_status_info(resp), cases[i].status));
		unsigned char *mod = NULL;
		int n = i2d_TS_RESP(resp, &mod);
		assert_true(n > 0);
		assert_int_equal(gate_rfc3161_verify(mod, (size_t)n, sig_bytes, sizeof sig_bytes,
						     root, &gen, &idx, &err),
				 cases[i].rc);
		/* OpenSSL's decoder already refuses a token beside a
		 * non-granted status */
		if (cases[i].rc != GATE_OK)
			assert_non_null(strstr(err.msg, "not a DER TimeStampResp"));
		OPENSSL_free(mod);
		TS_RESP_free(resp);
	}
	/* a rejection without a token */
	TS_RESP *resp = TS_RESP_new();
	TS_STATUS_INFO *si = TS_STATUS_INFO_new();
	assert_true(resp && si);
	assert_true(TS_STATUS_INFO_set_status(si, TS_STATUS_REJECTION));
	assert_true(TS_RESP_set_status_info(resp, si));
	unsigned char *rej = NULL;
	int n = i2d_TS_RESP(resp, &rej);
	assert_true(n > 0);
	assert_int_equal(gate_rfc3161_verify(rej, (size_t)n, sig_bytes, sizeof sig_bytes, root,
					     &gen, &idx, &err),
			 GATE_E_TIMESTAMP);
	assert_string_equal(err.rule, "S12");
	assert_non_null(strstr(err.msg, "status is 2, not granted"));
	OPENSSL_free(rej);
	TS_STATUS_INFO_free(si);
	TS_RESP_free(resp);
	free(der);
	gate_trusted_root_free(root);
	pki_free(&p);
}

static void test_null_err(void **state)
{
	(void)state;
	struct tcase c;
	int64_t gen;
	size_t idx;
	case_load("rekor2-timestamp-payload-mismatch_fail", &c);
	assert_int_equal(verify_case(&c, &gen, &idx, NULL), GATE_E_TIMESTAMP);
	case_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_pass),
		cmocka_unit_test(test_conformance_fail),
		cmocka_unit_test(test_signature_flipped),
		cmocka_unit_test(test_tsa_window),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_synthetic_digests),
		cmocka_unit_test(test_synthetic_no_embedded_cert),
		cmocka_unit_test(test_synthetic_second_authority),
		cmocka_unit_test(test_synthetic_cert_validity),
		cmocka_unit_test(test_synthetic_signer_eku),
		cmocka_unit_test(test_synthetic_status),
		cmocka_unit_test(test_null_err),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
