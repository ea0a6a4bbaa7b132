/* test_policy_x509.c - X.509 code-signing trust and signers in the policy
 * (policy/load.c, policy/eval.c): trust.x509_roots / tsa_roots / crl,
 * `x509:` signer entries (root, subject, SAN, fingerprint; exact or
 * anchored regexp), thresholds across kinds over in-memory facts, distinct
 * signers by fingerprint, JAR coverage, and the loader's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy_model.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/gate-test-polx509-XXXXXX";
static char root_fp[65];

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	assert_true(k && x && n);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"policy root", -1,
				   -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	uint8_t md[32];
	unsigned len = 0;
	assert_true(X509_digest(x, EVP_sha256(), md, &len));
	for (int i = 0; i < 32; i++)
		sprintf(root_fp + 2 * i, "%02x", md[i]);
	char path[128];
	snprintf(path, sizeof path, "%s/root.pem", dir);
	FILE *f = fopen(path, "w");
	assert_true(f && PEM_write_X509(f, x));
	fclose(f);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/root.pem", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static struct gate_policy *load(const char *yaml, struct gate_error *e)
{
	char name[128];
	struct gate_policy *p = NULL;
	snprintf(name, sizeof name, "%s/policy.yaml", dir);
	memset(e, 0, sizeof(*e));
	if (gate_policy_parse(name, (const uint8_t *)yaml, strlen(yaml), &p, e) != GATE_OK)
		return NULL;
	return p;
}

#define TRUST                                                                                      \
	"version: 1\n"                                                                             \
	"trust:\n"                                                                                 \
	"  x509_roots:\n"                                                                          \
	"    corp: { file: root.pem }\n"                                                           \
	"  tsa_roots:\n"                                                                           \
	"    tsa: { file: root.pem }\n"                                                            \
	"  crl: { mode: require, fetch: false }\n"

static void expect_bad(const char *yaml, const char *msg)
{
	struct gate_error e;
	struct gate_policy *p = load(yaml, &e);
	assert_null(p);
	assert_int_equal(e.code, GATE_E_POLICY);
	if (!strstr(e.msg, msg))
		fail_msg("'%s' lacks '%s'", e.msg, msg);
}

static void test_load_errors(void **state)
{
	(void)state;
	expect_bad("version: 1\nsigners:\n  s:\n    - x509: { root: corp }\nrules: []\n",
		   "unknown X.509 root 'corp'");
	expect_bad(TRUST "signers:\n  s:\n    - x509: { subject: x }\nrules: []\n",
		   "x509 needs root");
	expect_bad(TRUST
		   "signers:\n  s:\n    - x509: { root: corp, subject: a, subject_regex: b }\n"
		   "rules: []\n",
		   "subject or subject_regex, not both");
	expect_bad(TRUST "signers:\n  s:\n    - x509: { root: corp, san_regex: '(' }\nrules: []\n",
		   "regexp");
	expect_bad(TRUST
		   "signers:\n  s:\n    - x509: { root: corp, fingerprint: 'zz' }\nrules: []\n",
		   "64 hex digits");
	expect_bad(TRUST "signers:\n  s:\n    - x509: { root: corp, issuer: x }\nrules: []\n",
		   "unknown key 'issuer'");
	expect_bad("version: 1\ntrust:\n  x509_roots:\n    c: { file: nope.pem }\nrules: []\n",
		   "nope.pem");
	expect_bad("version: 1\ntrust:\n  x509_roots:\n    c: {}\nrules: []\n", "needs a file");
	expect_bad("version: 1\ntrust:\n  crl: { mode: sometimes }\nrules: []\n",
		   "require, prefer or ignore");
	expect_bad("version: 1\ntrust:\n  crl: { fetch: yes }\nrules: []\n", "true or false");
	expect_bad("version: 1\ntrust:\n  crl: { files: [missing.crl] }\nrules: []\n",
		   "missing.crl");
	expect_bad(TRUST "signers:\n  s:\n    - x509: { root: corp }\n"
			 "rules:\n  - name: r\n    require: { signers: s, coverage: most }\n",
		   "coverage must be full or partial");
}

static struct gate_facts x509_facts(const char *fp, const char *subject, const char *san)
{
	static char *sans[1];
	struct gate_facts f;
	memset(&f, 0, sizeof f);
	f.kind = GATE_SIGNER_X509;
	snprintf(f.fingerprint, sizeof f.fingerprint, "%s", fp);
	snprintf(f.anchor_fingerprint, sizeof f.anchor_fingerprint, "%s", root_fp);
	f.subject = (char *)subject;
	sans[0] = (char *)san;
	f.sans = sans;
	f.n_sans = 1;
	return f;
}

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_matching(void **state)
{
	(void)state;
	struct gate_error e;
	struct gate_policy *p = load(
		TRUST
		"signers:\n"
		"  s:\n"
		"    - x509: { root: corp, subject: 'O=Ex,CN=Rel', san: rel@example.com }\n"
		"    - x509: { root: corp, subject_regex: 'O=Ex,CN=Dev.*' }\n"
		"    - x509: { root: corp, san_regex: '.*@ci\\.example\\.com' }\n"
		"    - x509: { root: corp, fingerprint: "
		"'SHA256:BB:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }\n"
		"rules: []\n",
		&e);
	if (!p)
		fail_msg("%s:%u:%u: %s", e.file, e.line, e.column, e.msg);
	struct gate_signer_entry *en = p->sets[0].entries;
	assert_string_equal(en[3].m.fingerprint, FP_B);
	struct gate_facts f = x509_facts(FP_A, "O=Ex,CN=Rel", "rel@example.com");
	assert_true(gate_signer_matches(&en[0].m, &f));
	assert_false(gate_signer_matches(&en[1].m, &f));
	f.sans[0] = "other@example.com";
	assert_false(gate_signer_matches(&en[0].m, &f));
	f = x509_facts(FP_A, "O=Ex,CN=Dev 7", "x@ci.example.com");
	assert_true(gate_signer_matches(&en[1].m, &f));
	assert_true(gate_signer_matches(&en[2].m, &f));
	assert_false(gate_signer_matches(&en[3].m, &f));
	f = x509_facts(FP_B, "O=Ex,CN=Whoever", "x@example.org");
	assert_true(gate_signer_matches(&en[3].m, &f));
	/* another anchor: nothing matches */
	memset(f.anchor_fingerprint, 'c', 64);
	for (int i = 0; i < 4; i++)
		assert_false(gate_signer_matches(&en[i].m, &f));
	/* a keyless fact never matches an x509 entry */
	f = x509_facts(FP_B, "O=Ex,CN=Rel", "rel@example.com");
	f.kind = GATE_SIGNER_KEYLESS;
	assert_false(gate_signer_matches(&en[3].m, &f));
	gate_policy_free(p);
}

static void test_threshold_across_kinds(void **state)
{
	(void)state;
	struct gate_error e;
	struct gate_policy *p =
		load(TRUST "signers:\n"
			   "  s:\n"
			   "    - x509: { root: corp, subject_regex: 'O=Ex,CN=.*' }\n"
			   "    - x509: { root: corp, fingerprint: " FP_B " }\n"
			   "    - keyless: { issuer: https://iss, identity: me@example.com }\n"
			   "rules:\n"
			   "  - name: two\n"
			   "    require: { signers: s, threshold: 2 }\n"
			   "  - name: jars\n"
			   "    require: { signers: s, coverage: partial }\n",
		     &e);
	if (!p)
		fail_msg("%s:%u:%u: %s", e.file, e.line, e.column, e.msg);
	struct gate_facts a = x509_facts(FP_A, "O=Ex,CN=Rel", "r@example.com");
	struct gate_facts a2 = a; /* the same certificate again */
	struct gate_facts k;
	memset(&k, 0, sizeof k);
	k.kind = GATE_SIGNER_KEYLESS;
	k.identity = "me@example.com";
	k.issuer = "https://iss";
	struct gate_eval ev;
	struct gate_facts *one[] = {&a, &a2};
	gate_policy_evaluate(p, &p->rules[0], one, 2, 1000, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	struct gate_facts *two[] = {&a, &k};
	gate_policy_evaluate(p, &p->rules[0], two, 2, 1000, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	/* two certificates, each matching a different member */
	struct gate_facts b = x509_facts(FP_B, "O=Other,CN=B", "b@example.com");
	struct gate_facts *xx[] = {&a, &b};
	gate_policy_evaluate(p, &p->rules[0], xx, 2, 1000, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_ALLOW);
	/* JAR coverage: unsigned entries count only where the rule allows */
	a.n_unsigned = 3;
	struct gate_facts *partial[] = {&a, &k};
	gate_policy_evaluate(p, &p->rules[0], partial, 2, 1000, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_DENY);
	bool coverage_line = false;
	for (size_t i = 0; i < ev.nreqs; i++)
		coverage_line |= strcmp(ev.reqs[i].what, "coverage") == 0;
	assert_true(coverage_line);
	struct gate_facts *only[] = {&a};
	gate_policy_evaluate(p, &p->rules[1], only, 1, 1000, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_ALLOW);
	gate_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_threshold_across_kinds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
