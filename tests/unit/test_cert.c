/* test_cert.c - Fulcio leaf certificates: chain and profile (S4, S14),
 * embedded SCTs (S15), identity and extensions (S16). Conformance bundles
 * plus a throwaway CA, CT log and leaves built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pki_fixture.h"

#include "internal.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CASES GATE_SHARED_DIR "/conformance/sigstore/bundle-verify/"
#define PUBLIC_GOOD GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json"

/* ---- conformance bundles ---- */

struct bcase {
	X509 *leaf;
	STACK_OF(X509) *rest; /* bundle chain after the leaf; NULL if none */
	int64_t integrated_time;
	struct gate_trusted_root *root;
};

static X509 *cert_b64(const char *s)
{
	uint8_t *der = NULL;
	size_t len = 0;
	assert_non_null(s);
	assert_int_equal(gate_b64_decode(s, strlen(s), &der, &len, "test", NULL), GATE_OK);
	X509 *x = gate_x509_from_der(der, len);
	free(der);
	assert_non_null(x);
	return x;
}

/* Returns false when the bundle holds no certificate (managed key) or is
 * not JSON. */
static bool bcase_load(const char *name, struct bcase *c)
{
	char path[512];
	json_error_t jerr;
	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, CASES "%s/bundle.sigstore.json", name);
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		return false;
	json_t *vm = json_object_get(j, "verificationMaterial");
	json_t *cert = json_object_get(vm, "certificate");
	json_t *certs =
		json_object_get(json_object_get(vm, "x509CertificateChain"), "certificates");
	if (cert) {
		c->leaf = cert_b64(json_string_value(json_object_get(cert, "rawBytes")));
	} else if (json_array_size(certs) > 0) {
		c->leaf = cert_b64(
			json_string_value(json_object_get(json_array_get(certs, 0), "rawBytes")));
		for (size_t i = 1; i < json_array_size(certs); i++) {
			if (!c->rest)
				assert_non_null(c->rest = sk_X509_new_null());
			X509 *x = cert_b64(json_string_value(
				json_object_get(json_array_get(certs, i), "rawBytes")));
			assert_true(sk_X509_push(c->rest, x));
		}
	} else {
		json_decref(j);
		return false;
	}
	const char *it = json_string_value(json_object_get(
		json_array_get(json_object_get(vm, "tlogEntries"), 0), "integratedTime"));
	c->integrated_time = it ? strtoll(it, NULL, 10) : 0;
	json_decref(j);
	snprintf(path, sizeof path, CASES "%s/trusted_root.json", name);
	if (access(path, R_OK) != 0)
		snprintf(path, sizeof path, "%s", PUBLIC_GOOD);
	if (gate_trusted_root_load(path, &c->root, NULL) != GATE_OK)
		c->root = NULL;
	return true;
}

static void bcase_free(struct bcase *c)
{
	X509_free(c->leaf);
	sk_X509_pop_free(c->rest, X509_free);
	gate_trusted_root_free(c->root);
}

static int64_t not_before(X509 *x)
{
	int64_t t = 0;
	assert_true(gate_asn1_time_to_unix(X509_get0_notBefore(x), &t));
	return t;
}

static int64_t not_after(X509 *x)
{
	int64_t t = 0;
	assert_true(gate_asn1_time_to_unix(X509_get0_notAfter(x), &t));
	return t;
}

static bool has_cn(X509 *x, const char *cn)
{
	char buf[256];
	return X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
					 sizeof buf) > 0 &&
	       strcmp(buf, cn) == 0;
}

/* ---- S14 on conformance data ---- */

static void test_chain_happy_paths(void **state)
{
	(void)state;
	const char *names[] = {"happy-path-v0.1", "happy-path-v0.2", "happy-path-v0.3",
			       "happy-path-v0.3-new-mediaType", "happy-path-intoto-in-dsse-v3"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct bcase c;
		struct gate_error err = {0};
		X509 *issuer = NULL;
		assert_true(bcase_load(names[i], &c));
		enum gate_err rc = gate_cert_verify_chain(c.leaf, c.rest, c.root, c.integrated_time,
							  &issuer, &err);
		if (rc != GATE_OK)
			print_error("%s: %s\n", names[i], err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_non_null(issuer);
		assert_true(has_cn(issuer, "sigstore-intermediate"));
		X509_free(issuer);
		/* issuer is optional */
		assert_int_equal(gate_cert_verify_chain(c.leaf, c.rest, c.root, c.integrated_time,
							NULL, &err),
				 GATE_OK);
		bcase_free(&c);
	}
}

/* Validity is closed at both ends: notBefore and notAfter pass, one second
 * outside fails. */
static void test_chain_leaf_validity(void **state)
{
	(void)state;
	struct bcase c;
	struct gate_error err = {0};
	X509 *issuer = (X509 *)0x1;
	assert_true(bcase_load("happy-path-v0.3", &c));
	int64_t nb = not_before(c.leaf), na = not_after(c.leaf);
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, c.root, nb, NULL, &err), GATE_OK);
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, c.root, na, NULL, &err), GATE_OK);
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, c.root, nb - 1, &issuer, &err),
			 GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	assert_non_null(strstr(err.msg, "certificate is not yet valid"));
	assert_non_null(strstr(err.msg, "2024-03-19T17:26:25Z"));
	assert_ptr_equal(issuer, (X509 *)0x1); /* untouched on failure */
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, c.root, na + 1, NULL, &err),
			 GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	assert_non_null(strstr(err.msg, "certificate has expired"));
	/* before any CA's validFor */
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, c.root, 1000, NULL, &err),
			 GATE_E_CERT);
	assert_non_null(strstr(err.msg, "no certificate authority"));
	/* no CAs at all */
	size_t n = c.root->ncas;
	c.root->ncas = 0;
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, c.root, nb, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	c.root->ncas = n;
	/* a root whose CAs do not issue this leaf */
	struct gate_trusted_root *other = NULL;
	assert_int_equal(gate_trusted_root_load(CASES
						"intoto-expired-certificate_fail/trusted_root.json",
						&other, NULL),
			 GATE_OK);
	assert_int_equal(gate_cert_verify_chain(c.leaf, NULL, other, nb, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	assert_non_null(strstr(err.msg, "unable to get local issuer certificate"));
	gate_trusted_root_free(other);
	bcase_free(&c);
}

static void test_chain_expired_ca(void **state)
{
	(void)state;
	struct bcase c;
	struct gate_error err = {0};
	assert_true(bcase_load("intoto-expired-certificate_fail", &c));
	assert_int_equal(
		gate_cert_verify_chain(c.leaf, c.rest, c.root, c.integrated_time, NULL, &err),
		GATE_E_CERT);
	assert_int_equal(err.code, GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	/* nor at the leaf's own lifetime: the CA has expired by then */
	assert_int_equal(
		gate_cert_verify_chain(c.leaf, c.rest, c.root, not_before(c.leaf), NULL, &err),
		GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	bcase_free(&c);
}

static void test_chain_root_in_bundle(void **state)
{
	(void)state;
	struct bcase c;
	struct gate_error err = {0};
	assert_true(bcase_load("bundle-with-root-cert_fail", &c));
	assert_non_null(c.rest);
	assert_int_equal(
		gate_cert_verify_chain(c.leaf, c.rest, c.root, c.integrated_time, NULL, &err),
		GATE_E_CERT);
	assert_string_equal(err.rule, "S4");
	assert_non_null(strstr(err.msg, "self-signed"));
	/* without the root the intermediate is a harmless hint */
	X509 *root_cert = sk_X509_delete(c.rest, 0);
	assert_true(X509_self_signed(root_cert, 0) == 1);
	X509_free(root_cert);
	assert_int_equal(
		gate_cert_verify_chain(c.leaf, c.rest, c.root, c.integrated_time, NULL, &err),
		GATE_OK);
	bcase_free(&c);
}

/* ---- S15 on conformance data ---- */

static X509 *issuer_at(struct bcase *c, int64_t t)
{
	X509 *issuer = NULL;
	struct gate_error err = {0};
	enum gate_err rc = gate_cert_verify_chain(c->leaf, c->rest, c->root, t, &issuer, &err);
	if (rc != GATE_OK)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, GATE_OK);
	return issuer;
}

static void test_sct_conformance(void **state)
{
	(void)state;
	const char *good[] = {"happy-path-v0.1", "happy-path-v0.3",
			      "bundle-with-sct-with-extensions"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct bcase c;
		struct gate_error err = {0};
		assert_true(bcase_load(good[i], &c));
		/* the Rekor v2 bundle has no integratedTime: use the leaf's
		 * notBefore, inside its CA's window */
		X509 *issuer =
			issuer_at(&c, c.integrated_time ? c.integrated_time : not_before(c.leaf));
		enum gate_err rc = gate_sct_verify(c.leaf, issuer, c.root, &err);
		if (rc != GATE_OK)
			print_error("%s: %s\n", good[i], err.msg);
		assert_int_equal(rc, GATE_OK);
		/* the issuer key hash is part of the signed data */
		assert_int_equal(gate_sct_verify(c.leaf, c.leaf, c.root, &err), GATE_E_SCT);
		assert_string_equal(err.rule, "S15");
		/* CT log window must contain the SCT time */
		for (size_t k = 0; k < c.root->nctlogs; k++)
			c.root->ctlogs[k].valid.start = INT64_MAX / 2;
		assert_int_equal(gate_sct_verify(c.leaf, issuer, c.root, &err), GATE_E_SCT);
		/* no CT logs at all */
		size_t n = c.root->nctlogs;
		c.root->nctlogs = 0;
		assert_int_equal(gate_sct_verify(c.leaf, issuer, c.root, &err), GATE_E_SCT);
		assert_non_null(strstr(err.msg, "no SCT from a CT log in the trusted root"));
		c.root->nctlogs = n; /* so that the root frees its logs */
		X509_free(issuer);
		bcase_free(&c);
	}
}

static void test_sct_invalid_ct_key(void **state)
{
	(void)state;
	struct bcase c;
	struct gate_error err = {0};
	assert_true(bcase_load("invalid-ct-key_fail", &c));
	X509 *issuer = issuer_at(&c, c.integrated_time);
	assert_int_equal(gate_sct_verify(c.leaf, issuer, c.root, &err), GATE_E_SCT);
	assert_int_equal(err.code, GATE_E_SCT);
	assert_string_equal(err.rule, "S15");
	X509_free(issuer);
	bcase_free(&c);
}

/* ---- S16 on conformance data ---- */

static const char *ext_value(const struct gate_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n_exts; i++)
		if (strcmp(f->exts[i].name, name) == 0)
			return f->exts[i].value;
	return NULL;
}

static void facts_clear(struct gate_facts *f)
{
	free(f->identity);
	free(f->issuer);
	free(f->subject);
	for (size_t i = 0; i < f->n_exts; i++)
		free(f->exts[i].value);
	memset(f, 0, sizeof *f);
}

#define BEACON                                                                                     \
	"https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"          \
	".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"

static void test_identity_happy_path(void **state)
{
	(void)state;
	struct bcase c;
	struct gate_facts f = {0};
	struct gate_error err = {0};
	assert_true(bcase_load("happy-path-v0.3", &c));
	assert_int_equal(gate_cert_identity(c.leaf, &f, &err), GATE_OK);
	assert_string_equal(f.identity, BEACON);
	assert_string_equal(f.issuer, "https://token.actions.githubusercontent.com");
	assert_string_equal(f.subject, "");
	assert_int_equal(f.n_exts, 19);
	assert_string_equal(ext_value(&f, "source_repository_ref"), "refs/heads/main");
	assert_string_equal(ext_value(&f, "github_workflow_ref"), "refs/heads/main");
	assert_string_equal(ext_value(&f, "github_workflow_trigger"), "workflow_dispatch");
	assert_string_equal(ext_value(&f, "build_signer_uri"), BEACON);
	assert_string_equal(ext_value(&f, "source_repository_visibility_at_signing"), "public");
	assert_string_equal(ext_value(&f, "runner_environment"), "github-hosted");
	assert_string_equal(ext_value(&f, "source_repository_identifier"), "632596897");
	assert_string_equal(ext_value(&f, "source_repository_digest"),
			    "c7b3dfb335f051e1c86bda4c716fac97df62ad81");
	assert_string_equal(
		ext_value(&f, "run_invocation_uri"),
		"https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
		"actions/runs/8347481628/attempts/1");
	/* a second call replaces, not leaks */
	assert_int_equal(gate_cert_identity(c.leaf, &f, &err), GATE_OK);
	assert_int_equal(f.n_exts, 19);
	facts_clear(&f);
	bcase_free(&c);
}

/* Every leaf certificate in the conformance suite yields an identity and an
 * issuer. */
static void test_identity_all_conformance(void **state)
{
	(void)state;
	DIR *d = opendir(CASES);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		struct bcase c;
		struct gate_facts f = {0};
		struct gate_error err = {0};
		if (e->d_name[0] == '.' || !bcase_load(e->d_name, &c))
			continue;
		enum gate_err rc = gate_cert_identity(c.leaf, &f, &err);
		if (rc != GATE_OK)
			print_error("%s: %s\n", e->d_name, err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_true(f.identity[0] && f.issuer[0]);
		facts_clear(&f);
		bcase_free(&c);
		n++;
	}
	closedir(d);
	assert_true(n > 30);
}

/* ---- a throwaway PKI ---- */

#define T0 1750000000 /* 2025-06-15 */
#define DAY 86400

static const struct ext ca_exts[] = {
	{NID_basic_constraints, "critical,CA:TRUE"},
	{NID_key_usage, "critical,keyCertSign,cRLSign"},
	{NID_subject_key_identifier, "hash"},
	{0, NULL},
};

/* X509_STRICT wants an authority key identifier below the root */
static const struct ext inter_exts[] = {
	{NID_basic_constraints, "critical,CA:TRUE"},
	{NID_key_usage, "critical,keyCertSign,cRLSign"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

static const uint8_t issuer_v2[] = "\x0c\x1bhttps://issuer.example.test";
static const uint8_t ref_v2[] = "\x0c\x0frefs/heads/main";
static const uint8_t legacy_issuer[] = "https://issuer.example.test";

static const struct raw_ext fulcio_raws[] = {
	{"1.3.6.1.4.1.57264.1.8", issuer_v2, sizeof issuer_v2 - 1},
	{"1.3.6.1.4.1.57264.1.1", legacy_issuer, sizeof legacy_issuer - 1},
	{"1.3.6.1.4.1.57264.1.14", ref_v2, sizeof ref_v2 - 1},
	{NULL, NULL, 0},
};

struct pki {
	EVP_PKEY *root_key, *inter_key, *leaf_key;
	X509 *root, *inter;
};

static void pki_make(struct pki *p)
{
	p->root_key = new_key();
	p->inter_key = new_key();
	p->leaf_key = new_key();
	p->root = make_cert(NULL, p->root_key, p->root_key, "test root", T0 - 100 * DAY,
			    T0 + 100 * DAY, 1, ca_exts, NULL);
	p->inter = make_cert(p->root, p->root_key, p->inter_key, "test intermediate", T0 - 50 * DAY,
			     T0 + 50 * DAY, 2, inter_exts, NULL);
}

static void pki_free(struct pki *p)
{
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->inter_key);
	EVP_PKEY_free(p->leaf_key);
	X509_free(p->root);
	X509_free(p->inter);
}

/* A leaf under the intermediate, valid T0-600 .. T0+600. */
static X509 *make_leaf(struct pki *p, const char *ku, const char *eku, const char *san,
		       const struct raw_ext *raws)
{
	struct ext exts[5];
	size_t n = 0;
	if (ku)
		exts[n++] = (struct ext){NID_key_usage, ku};
	if (eku)
		exts[n++] = (struct ext){NID_ext_key_usage, eku};
	if (san)
		exts[n++] = (struct ext){NID_subject_alt_name, san};
	exts[n++] = (struct ext){NID_authority_key_identifier, "keyid:always"};
	exts[n] = (struct ext){0, NULL};
	return make_cert(p->inter, p->inter_key, p->leaf_key, NULL, T0 - 600, T0 + 600, 3, exts,
			 raws);
}

static X509 *good_leaf(struct pki *p)
{
	return make_leaf(p, "critical,digitalSignature", "codeSigning",
			 "critical,URI:https://example.test/workflow", fulcio_raws);
}

/* A root with one CA whose chain is the given certificates (NULL-ended). */
static struct gate_trusted_root *root_with_ca(X509 *const *chain)
{
	struct gate_trusted_root *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->cas = calloc(1, sizeof *r->cas);
	assert_non_null(r->cas);
	r->ncas = 1;
	r->cas[0].uri = strdup("https://ca.test");
	r->cas[0].chain = sk_X509_new_null();
	assert_true(r->cas[0].uri && r->cas[0].chain);
	for (size_t i = 0; chain[i]; i++) {
		assert_true(X509_up_ref(chain[i]));
		assert_true(sk_X509_push(r->cas[0].chain, chain[i]));
	}
	r->cas[0].valid.start = T0 - 10 * DAY;
	return r;
}

static void test_synthetic_chain(void **state)
{
	(void)state;
	struct pki p;
	struct gate_error err = {0};
	X509 *issuer = NULL;
	pki_make(&p);
	X509 *leaf = good_leaf(&p);
	X509 *full[] = {p.inter, p.root, NULL};
	struct gate_trusted_root *root = root_with_ca(full);
	assert_int_equal(gate_cert_verify_chain(leaf, NULL, root, T0, &issuer, &err), GATE_OK);
	assert_ptr_equal(issuer, p.inter);
	X509_free(issuer);

	/* the intermediate alone may anchor (partial chain) */
	X509 *inter_only[] = {p.inter, NULL};
	struct gate_trusted_root *r2 = root_with_ca(inter_only);
	assert_int_equal(gate_cert_verify_chain(leaf, NULL, r2, T0, NULL, &err), GATE_OK);

	/* the root alone needs the intermediate from the bundle */
	X509 *root_only[] = {p.root, NULL};
	struct gate_trusted_root *r3 = root_with_ca(root_only);
	assert_int_equal(gate_cert_verify_chain(leaf, NULL, r3, T0, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	STACK_OF(X509) *hints = sk_X509_new_null();
	assert_non_null(hints);
	assert_true(X509_up_ref(p.inter) && sk_X509_push(hints, p.inter));
	assert_int_equal(gate_cert_verify_chain(leaf, hints, r3, T0, &issuer, &err), GATE_OK);
	assert_ptr_equal(issuer, p.inter);
	X509_free(issuer);

	/* S4: a self-signed certificate among the hints */
	assert_true(X509_up_ref(p.root) && sk_X509_push(hints, p.root));
	assert_int_equal(gate_cert_verify_chain(leaf, hints, r3, T0, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S4");
	sk_X509_pop_free(hints, X509_free);

	/* the CA's validFor must contain t (closed interval) */
	root->cas[0].valid.has_end = true;
	root->cas[0].valid.end = T0;
	assert_int_equal(gate_cert_verify_chain(leaf, NULL, root, T0, NULL, &err), GATE_OK);
	root->cas[0].valid.end = T0 - 1;
	assert_int_equal(gate_cert_verify_chain(leaf, NULL, root, T0, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	assert_non_null(strstr(err.msg, "no certificate authority"));

	/* a leaf from another CA */
	struct pki q;
	pki_make(&q);
	X509 *stranger = good_leaf(&q);
	X509 *q_full[] = {q.inter, q.root, NULL};
	struct gate_trusted_root *rq = root_with_ca(q_full);
	assert_int_equal(gate_cert_verify_chain(stranger, NULL, rq, T0, NULL, &err), GATE_OK);
	assert_int_equal(gate_cert_verify_chain(stranger, NULL, r3, T0, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S14");

	/* an issuer without CA:TRUE cannot issue */
	EVP_PKEY *k2 = new_key();
	X509 *fake_ca =
		make_cert(p.inter, p.inter_key, p.leaf_key, "not a CA", T0 - 600, T0 + 600, 6,
			  (const struct ext[]){{NID_key_usage, "critical,digitalSignature"},
					       {NID_ext_key_usage, "codeSigning"},
					       {NID_subject_key_identifier, "hash"},
					       {NID_authority_key_identifier, "keyid:always"},
					       {0, NULL}},
			  NULL);
	X509 *victim = make_cert(
		fake_ca, p.leaf_key, k2, NULL, T0 - 600, T0 + 600, 7,
		(const struct ext[]){{NID_key_usage, "critical,digitalSignature"},
				     {NID_ext_key_usage, "codeSigning"},
				     {NID_subject_alt_name, "critical,URI:https://x.test"},
				     {NID_authority_key_identifier, "keyid:always"},
				     {0, NULL}},
		fulcio_raws);
	hints = sk_X509_new_null();
	assert_non_null(hints);
	assert_true(X509_up_ref(fake_ca) && sk_X509_push(hints, fake_ca));
	root->cas[0].valid.has_end = false;
	assert_int_equal(gate_cert_verify_chain(victim, hints, root, T0, NULL, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S14");
	assert_non_null(strstr(err.msg, "invalid CA certificate"));
	sk_X509_pop_free(hints, X509_free);
	X509_free(victim);
	X509_free(fake_ca);
	EVP_PKEY_free(k2);

	/* X509_STRICT: an intermediate without an authority key identifier */
	EVP_PKEY *k3 = new_key();
	X509 *sloppy = make_cert(p.root, p.root_key, k3, "sloppy intermediate", T0 - DAY, T0 + DAY,
				 8, ca_exts, NULL);
	X509 *under = make_cert(
		sloppy, k3, p.leaf_key, NULL, T0 - 600, T0 + 600, 9,
		(const struct ext[]){{NID_key_usage, "critical,digitalSignature"},
				     {NID_ext_key_usage, "codeSigning"},
				     {NID_subject_alt_name, "critical,URI:https://x.test"},
				     {NID_authority_key_identifier, "keyid:always"},
				     {0, NULL}},
		NULL);
	/* Every certificate of a trusted-root chain is an anchor, so the strict
	 * profile applies to what the bundle brings: a sloppy intermediate
	 * offered as a hint is refused. */
	X509 *anchor_only[] = {p.root, NULL};
	struct gate_trusted_root *rs = root_with_ca(anchor_only);
	STACK_OF(X509) *sloppy_hints = sk_X509_new_null();
	assert_non_null(sloppy_hints);
	assert_true(sk_X509_push(sloppy_hints, sloppy));
	assert_int_equal(gate_cert_verify_chain(under, sloppy_hints, rs, T0, NULL, &err),
			 GATE_E_CERT);
	sk_X509_free(sloppy_hints);
	assert_string_equal(err.rule, "S14");
	assert_non_null(strstr(err.msg, "Missing Authority Key Identifier"));
	gate_trusted_root_free(rs);
	X509_free(under);
	X509_free(sloppy);
	EVP_PKEY_free(k3);

	/* a CA chain with no certificates is skipped, not a crash */
	struct gate_trusted_root *empty = root_with_ca((X509 *const[]){NULL});
	assert_int_equal(gate_cert_verify_chain(leaf, NULL, empty, T0, NULL, &err), GATE_E_CERT);

	gate_trusted_root_free(empty);
	gate_trusted_root_free(rq);
	X509_free(stranger);
	pki_free(&q);
	gate_trusted_root_free(r3);
	gate_trusted_root_free(r2);
	gate_trusted_root_free(root);
	X509_free(leaf);
	pki_free(&p);
}

static void test_synthetic_profile(void **state)
{
	(void)state;
	struct pki p;
	pki_make(&p);
	X509 *full[] = {p.inter, p.root, NULL};
	struct gate_trusted_root *root = root_with_ca(full);
	const char *san = "critical,URI:https://example.test/w";
	const struct {
		const char *ku, *eku, *why;
	} cases[] = {
		{"critical,digitalSignature", "serverAuth", "codeSigning"},
		{"critical,digitalSignature", NULL, "codeSigning"},
		{"critical,keyEncipherment", "codeSigning", "digitalSignature"},
		{NULL, "codeSigning", "digitalSignature"},
		{"critical,digitalSignature", "codeSigning,serverAuth", NULL},
		{"critical,digitalSignature,nonRepudiation", "codeSigning", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gate_error err = {0};
		X509 *issuer = NULL;
		X509 *leaf = make_leaf(&p, cases[i].ku, cases[i].eku, san, fulcio_raws);
		enum gate_err rc = gate_cert_verify_chain(leaf, NULL, root, T0, &issuer, &err);
		if (!cases[i].why) {
			assert_int_equal(rc, GATE_OK);
			X509_free(issuer);
		} else {
			assert_int_equal(rc, GATE_E_CERT);
			assert_null(issuer);
			assert_string_equal(err.rule, "S14");
			assert_non_null(strstr(err.msg, cases[i].why));
		}
		X509_free(leaf);
	}
	gate_trusted_root_free(root);
	pki_free(&p);
}

/* ---- S15 on a throwaway CT log ---- */

struct sct_opts {
	EVP_PKEY *key;
	uint8_t log_id[32];
	uint64_t ts;
	const uint8_t *ext;
	size_t ext_len;
	bool sign_no_ext; /* sign as if the extensions were empty */
	bool corrupt_sig;
	uint8_t version;
};

static size_t put(uint8_t *p, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	return width;
}

/* One serialized SCT over leaf (which has no SCT list yet) issued by
 * issuer. */
static size_t make_sct(X509 *leaf, X509 *issuer, const struct sct_opts *o, uint8_t *out)
{
	unsigned char *tbs = NULL, *spki = NULL;
	int tbs_len = i2d_re_X509_tbs(leaf, &tbs);
	int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki);
	assert_true(tbs_len > 0 && spki_len > 0);
	size_t ext_len = o->sign_no_ext ? 0 : o->ext_len;
	uint8_t *msg = malloc((size_t)tbs_len + ext_len + 64), *m = msg;
	assert_non_null(msg);
	m += put(m, 0, 1);
	m += put(m, 0, 1);
	m += put(m, o->ts, 8);
	m += put(m, 1, 2);
	gate_sha256(spki, (size_t)spki_len, m);
	m += 32;
	m += put(m, (uint64_t)tbs_len, 3);
	memcpy(m, tbs, (size_t)tbs_len);
	m += tbs_len;
	m += put(m, ext_len, 2);
	if (ext_len)
		memcpy(m, o->ext, ext_len);
	m += ext_len;
	uint8_t sig[128];
	size_t sig_len = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, o->key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, msg, (size_t)(m - msg)), 1);
	EVP_MD_CTX_free(md);
	if (o->corrupt_sig)
		sig[sig_len - 1] ^= 1;
	uint8_t *p = out;
	p += put(p, o->version, 1);
	memcpy(p, o->log_id, 32);
	p += 32;
	p += put(p, o->ts, 8);
	p += put(p, o->ext_len, 2);
	if (o->ext_len)
		memcpy(p, o->ext, o->ext_len);
	p += o->ext_len;
	p += put(p, 4, 1);
	p += put(p, 3, 1);
	p += put(p, sig_len, 2);
	memcpy(p, sig, sig_len);
	p += sig_len;
	free(msg);
	OPENSSL_free(tbs);
	OPENSSL_free(spki);
	return (size_t)(p - out);
}

/* Wrap a TLS list in the extension's OCTET STRING and re-sign the leaf. */
static void attach_list(X509 *leaf, EVP_PKEY *issuer_key, const uint8_t *list, size_t len)
{
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	assert_non_null(inner);
	assert_true(ASN1_OCTET_STRING_set(inner, list, (int)len));
	int n = i2d_ASN1_OCTET_STRING(inner, &der);
	assert_true(n > 0);
	add_raw(leaf, "1.3.6.1.4.1.11129.2.4.2", der, (size_t)n);
	assert_true(X509_sign(leaf, issuer_key, EVP_sha256()) > 0);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(inner);
}

/* A list of the SCTs described by opts (n of them). */
static size_t make_list(X509 *leaf, X509 *issuer, const struct sct_opts *opts, size_t n,
			uint8_t *out)
{
	size_t off = 2;
	for (size_t i = 0; i < n; i++) {
		size_t len = make_sct(leaf, issuer, &opts[i], out + off + 2);
		put(out + off, len, 2);
		off += 2 + len;
	}
	put(out, off - 2, 2);
	return off;
}

struct ct {
	struct pki p;
	EVP_PKEY *log_key;
	uint8_t log_id[32];
	struct gate_trusted_root *root;
};

static void ct_make(struct ct *ct)
{
	pki_make(&ct->p);
	ct->log_key = new_key();
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	assert_int_equal(gate_pkey_spki(ct->log_key, &spki, &spki_len), GATE_OK);
	gate_sha256(spki, spki_len, ct->log_id);
	free(spki);
	X509 *full[] = {ct->p.inter, ct->p.root, NULL};
	ct->root = root_with_ca(full);
	ct->root->ctlogs = calloc(1, sizeof *ct->root->ctlogs);
	assert_non_null(ct->root->ctlogs);
	ct->root->nctlogs = 1;
	struct gate_log *l = &ct->root->ctlogs[0];
	assert_true(EVP_PKEY_up_ref(ct->log_key));
	assert_int_equal(gate_pubkey_wrap(ct->log_key, GATE_ALG_ECDSA_P256_SHA256, &l->key, NULL),
			 GATE_OK);
	memcpy(l->log_id, ct->log_id, 32);
	l->valid.start = T0 - DAY;
}

static void ct_free(struct ct *ct)
{
	gate_trusted_root_free(ct->root);
	EVP_PKEY_free(ct->log_key);
	pki_free(&ct->p);
}

static struct sct_opts good_sct(struct ct *ct)
{
	struct sct_opts o = {.key = ct->log_key, .ts = (uint64_t)T0 * 1000 + 123};
	memcpy(o.log_id, ct->log_id, 32);
	return o;
}

/* Build a leaf carrying the SCTs and run gate_sct_verify. */
static enum gate_err run_scts(struct ct *ct, const struct sct_opts *opts, size_t n,
			      struct gate_error *err)
{
	uint8_t list[4096];
	X509 *leaf = good_leaf(&ct->p);
	size_t len = make_list(leaf, ct->p.inter, opts, n, list);
	attach_list(leaf, ct->p.inter_key, list, len);
	enum gate_err rc = gate_sct_verify(leaf, ct->p.inter, ct->root, err);
	X509_free(leaf);
	return rc;
}

static void test_synthetic_sct(void **state)
{
	(void)state;
	struct ct ct;
	struct gate_error err = {0};
	static const uint8_t ext[] = {0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x70};
	ct_make(&ct);

	struct sct_opts o = good_sct(&ct);
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_OK);

	/* non-empty extensions are part of the signed data */
	o.ext = ext;
	o.ext_len = sizeof ext;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_OK);
	o.sign_no_ext = true;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	assert_string_equal(err.rule, "S15");

	/* a bad signature, an unknown log, a log outside its window */
	o = good_sct(&ct);
	o.corrupt_sig = true;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	o = good_sct(&ct);
	o.log_id[0] ^= 1;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	o = good_sct(&ct);
	ct.root->ctlogs[0].valid.has_end = true;
	ct.root->ctlogs[0].valid.end = T0; /* the SCT is at T0.123: same second */
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_OK);
	ct.root->ctlogs[0].valid.end = T0 - 1;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	ct.root->ctlogs[0].valid.has_end = false;
	ct.root->ctlogs[0].valid.start = T0 + 1;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	ct.root->ctlogs[0].valid.start = T0 - DAY;

	/* one good SCT among bad ones is enough */
	struct sct_opts two[2] = {good_sct(&ct), good_sct(&ct)};
	two[0].corrupt_sig = true;
	assert_int_equal(run_scts(&ct, two, 2, &err), GATE_OK);

	/* a log whose key was unusable in the root */
	struct gate_pubkey *saved = ct.root->ctlogs[0].key;
	ct.root->ctlogs[0].key = NULL;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	ct.root->ctlogs[0].key = saved;

	/* a bounded number of SCTs */
	struct sct_opts many[17];
	for (size_t i = 0; i < 17; i++) {
		many[i] = good_sct(&ct);
		many[i].corrupt_sig = i < 16;
	}
	assert_int_equal(run_scts(&ct, many, 16, &err), GATE_E_SCT);
	assert_int_equal(run_scts(&ct, many, 17, &err), GATE_E_SCT);
	assert_non_null(strstr(err.msg, "more than 16 SCTs"));
	many[15].corrupt_sig = false;
	assert_int_equal(run_scts(&ct, many, 16, &err), GATE_OK);

	/* an SCT version other than v1 is malformed */
	o.version = 1;
	assert_int_equal(run_scts(&ct, &o, 1, &err), GATE_E_SCT);
	assert_non_null(strstr(err.msg, "malformed SCT"));
	ct_free(&ct);
}

/* Malformed TLS lists: every truncation and a few length lies. */
static void test_synthetic_sct_malformed(void **state)
{
	(void)state;
	struct ct ct;
	struct gate_error err = {0};
	uint8_t list[1024];
	ct_make(&ct);
	struct sct_opts o = good_sct(&ct);
	X509 *base = good_leaf(&ct.p);
	size_t len = make_list(base, ct.p.inter, &o, 1, list);
	for (size_t cut = 0; cut < len; cut++) {
		X509 *leaf = X509_dup(base);
		uint8_t mod[1024];
		memcpy(mod, list, cut);
		if (cut >= 2)
			put(mod, cut - 2, 2); /* keep the outer length honest */
		attach_list(leaf, ct.p.inter_key, mod, cut);
		memset(&err, 0, sizeof err);
		assert_int_equal(gate_sct_verify(leaf, ct.p.inter, ct.root, &err), GATE_E_SCT);
		assert_string_equal(err.rule, "S15");
		X509_free(leaf);
	}
	const struct {
		size_t off;
		uint8_t val;
	} lies[] = {{0, 0xff}, {1, 0x00}, {2, 0xff}, {3, 0x00}, {3, 0xff}};
	for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
		X509 *leaf = X509_dup(base);
		uint8_t mod[1024];
		memcpy(mod, list, len);
		mod[lies[i].off] = lies[i].val;
		attach_list(leaf, ct.p.inter_key, mod, len);
		assert_int_equal(gate_sct_verify(leaf, ct.p.inter, ct.root, &err), GATE_E_SCT);
		X509_free(leaf);
	}
	/* trailing garbage after the one SCT */
	{
		X509 *leaf = X509_dup(base);
		uint8_t mod[1024];
		memcpy(mod, list, len);
		mod[len] = 0;
		put(mod, len - 1, 2);
		put(mod + 2, len - 3, 2);
		attach_list(leaf, ct.p.inter_key, mod, len + 1);
		assert_int_equal(gate_sct_verify(leaf, ct.p.inter, ct.root, &err), GATE_E_SCT);
		X509_free(leaf);
	}
	/* no SCT extension at all; extension that is not an OCTET STRING */
	assert_int_equal(gate_sct_verify(base, ct.p.inter, ct.root, &err), GATE_E_SCT);
	assert_non_null(strstr(err.msg, "no embedded SCT list"));
	{
		X509 *leaf = X509_dup(base);
		static const uint8_t notos[] = {0x0c, 0x01, 'x'};
		add_raw(leaf, "1.3.6.1.4.1.11129.2.4.2", notos, sizeof notos);
		assert_int_equal(gate_sct_verify(leaf, ct.p.inter, ct.root, &err), GATE_E_SCT);
		assert_non_null(strstr(err.msg, "not an OCTET STRING"));
		X509_free(leaf);
	}
	X509_free(base);
	ct_free(&ct);
}

/* ---- S16 on throwaway leaves ---- */

static enum gate_err identity_of(struct pki *p, const char *san, const struct raw_ext *raws,
				 struct gate_facts *f, struct gate_error *err)
{
	X509 *leaf = make_leaf(p, "critical,digitalSignature", "codeSigning", san, raws);
	enum gate_err rc = gate_cert_identity(leaf, f, err);
	X509_free(leaf);
	return rc;
}

static void test_synthetic_identity(void **state)
{
	(void)state;
	struct pki p;
	struct gate_facts f = {0};
	struct gate_error err = {0};
	pki_make(&p);

	assert_int_equal(
		identity_of(&p, "critical,URI:https://example.test/w", fulcio_raws, &f, &err),
		GATE_OK);
	assert_string_equal(f.identity, "https://example.test/w");
	assert_string_equal(f.issuer, "https://issuer.example.test");
	assert_int_equal(f.n_exts, 1);
	assert_string_equal(f.exts[0].name, "source_repository_ref");
	assert_string_equal(f.exts[0].value, "refs/heads/main");
	facts_clear(&f);

	/* email; URI wins over email whatever the order */
	assert_int_equal(identity_of(&p, "email:someone@example.test", fulcio_raws, &f, &err),
			 GATE_OK);
	assert_string_equal(f.identity, "someone@example.test");
	facts_clear(&f);
	assert_int_equal(
		identity_of(&p, "email:a@example.test,URI:https://u.test", fulcio_raws, &f, &err),
		GATE_OK);
	assert_string_equal(f.identity, "https://u.test");
	facts_clear(&f);

	/* Fulcio otherName (username identities) */
	assert_int_equal(identity_of(&p, "otherName:1.3.6.1.4.1.57264.1.7;UTF8:user!example.test",
				     fulcio_raws, &f, &err),
			 GATE_OK);
	assert_string_equal(f.identity, "user!example.test");
	facts_clear(&f);
	assert_int_equal(identity_of(&p, "otherName:1.3.6.1.4.1.57264.1.7;IA5STRING:user",
				     fulcio_raws, &f, &err),
			 GATE_E_CERT);
	assert_string_equal(err.rule, "S16");
	/* other kinds of names are not identities */
	assert_int_equal(identity_of(&p, "DNS:example.test", fulcio_raws, &f, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S16");
	assert_int_equal(identity_of(&p, "otherName:1.2.3.4;UTF8:x", fulcio_raws, &f, &err),
			 GATE_E_CERT);
	/* no SAN at all */
	assert_int_equal(identity_of(&p, NULL, fulcio_raws, &f, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S16");
	assert_non_null(strstr(err.msg, "no subjectAltName"));
	/* control characters in the identity */
	assert_int_equal(identity_of(&p,
				     "URI:https://example.test/a\x01"
				     "b",
				     fulcio_raws, &f, &err),
			 GATE_E_CERT);
	assert_string_equal(err.rule, "S16");
	assert_null(f.identity); /* nothing committed on failure */
	facts_clear(&f);

	/* issuer: legacy only, v2 only, missing, disagreeing, not DER, NUL,
	 * control characters, invalid UTF-8 */
	const char *san = "URI:https://example.test/w";
	struct raw_ext r[3] = {{NULL, NULL, 0}};
	r[0] = fulcio_raws[1];
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_OK);
	assert_string_equal(f.issuer, "https://issuer.example.test");
	facts_clear(&f);
	r[0] = fulcio_raws[0];
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_OK);
	assert_string_equal(f.issuer, "https://issuer.example.test");
	facts_clear(&f);
	r[0] = fulcio_raws[2];
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_E_CERT);
	assert_non_null(strstr(err.msg, "no OIDC issuer"));
	static const uint8_t other_issuer[] = "https://other.test";
	r[0] = fulcio_raws[0];
	r[1] = (struct raw_ext){"1.3.6.1.4.1.57264.1.1", other_issuer, sizeof other_issuer - 1};
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_E_CERT);
	assert_non_null(strstr(err.msg, "disagree"));
	r[1] = (struct raw_ext){NULL, NULL, 0};
	static const uint8_t bad_der[][8] = {
		{0x0c, 0x05, 'a', 'b'},	      /* length past the end */
		{0x13, 0x02, 'a', 'b'},	      /* PrintableString */
		{0x0c, 0x02, 'a', 'b', 0x00}, /* trailing byte */
		{0x0c, 0x03, 'a', 0x00, 'b'}, /* NUL */
		{0x0c, 0x03, 'a', 0x1b, 'b'}, /* ESC */
		{0x0c, 0x03, 'a', 0xc3, 'b'}, /* broken UTF-8 */
	};
	static const size_t bad_len[] = {4, 4, 5, 5, 5, 5};
	for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
		r[0] = (struct raw_ext){"1.3.6.1.4.1.57264.1.8", bad_der[i], bad_len[i]};
		memset(&err, 0, sizeof err);
		assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_E_CERT);
		assert_string_equal(err.rule, "S16");
		assert_null(f.issuer);
	}
	static const uint8_t legacy_nul[] = {'h', 't', 0x00, 'p'};
	r[0] = (struct raw_ext){"1.3.6.1.4.1.57264.1.1", legacy_nul, sizeof legacy_nul};
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_E_CERT);
	assert_string_equal(err.rule, "S16");
	/* a repeated Fulcio extension is ambiguous */
	r[0] = fulcio_raws[0];
	r[1] = fulcio_raws[0];
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_E_CERT);
	assert_non_null(strstr(err.msg, "twice"));
	/* UTF-8 text is fine */
	static const uint8_t utf8_ref[] = "\x0c\x0arefs/\xc3\xa9t\xc3\xa9";
	r[0] = fulcio_raws[0];
	r[1] = (struct raw_ext){"1.3.6.1.4.1.57264.1.14", utf8_ref, sizeof utf8_ref - 1};
	assert_int_equal(identity_of(&p, san, r, &f, &err), GATE_OK);
	assert_string_equal(ext_value(&f, "source_repository_ref"), "refs/\xc3\xa9t\xc3\xa9");
	facts_clear(&f);

	/* subject printed on one line */
	X509 *leaf = make_cert(p.inter, p.inter_key, p.leaf_key, "line\nbreak", T0 - 600, T0 + 600,
			       9, (const struct ext[]){{NID_subject_alt_name, san}, {0, NULL}},
			       fulcio_raws);
	assert_int_equal(gate_cert_identity(leaf, &f, &err), GATE_OK);
	assert_null(strchr(f.subject, '\n'));
	assert_non_null(strstr(f.subject, "CN=line"));
	facts_clear(&f);
	X509_free(leaf);
	pki_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_happy_paths),
		cmocka_unit_test(test_chain_leaf_validity),
		cmocka_unit_test(test_chain_expired_ca),
		cmocka_unit_test(test_chain_root_in_bundle),
		cmocka_unit_test(test_sct_conformance),
		cmocka_unit_test(test_sct_invalid_ct_key),
		cmocka_unit_test(test_identity_happy_path),
		cmocka_unit_test(test_identity_all_conformance),
		cmocka_unit_test(test_synthetic_chain),
		cmocka_unit_test(test_synthetic_profile),
		cmocka_unit_test(test_synthetic_sct),
		cmocka_unit_test(test_synthetic_sct_malformed),
		cmocka_unit_test(test_synthetic_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
