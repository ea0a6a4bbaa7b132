/* conformance_fixture.h - helpers shared by the unit tests that read the
 * Sigstore conformance bundles (test_bundle.c, test_verify.c). Include after
 * <cmocka.h> and "internal.h". */
#ifndef GATE_CONFORMANCE_FIXTURE_H
#define GATE_CONFORMANCE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF GATE_SHARED_DIR "/conformance/sigstore/bundle-verify/"
#define PUBLIC_GOOD GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json"
#define DEFAULT_IDENTITY                                                                           \
	"https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"          \
	".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
#define DEFAULT_ISSUER "https://token.actions.githubusercontent.com"

/* rc must be code with rule, and err must say why. */
static inline void expect_fail(enum gate_err rc, const struct gate_error *err, enum gate_err code,
			       const char *rule, const char *what)
{
	if (rc != code || strcmp(err->rule, rule) != 0)
		print_message("%s: got rc=%d (%s) rule=%s field=%s msg='%s', want rc=%d (%s) "
			      "rule=%s\n",
			      what, (int)rc, gate_err_str(rc), err->rule, err->field, err->msg,
			      (int)code, gate_err_str(code), rule);
	assert_int_equal(rc, code);
	assert_int_equal(err->code, code);
	assert_string_equal(err->rule, rule);
	assert_true(err->msg[0] != '\0');
}

static inline json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		print_message("%s: %s\n", path, je.text);
	assert_non_null(j);
	return j;
}

/* The bundle of one conformance case. */
static inline json_t *case_json(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, CONF "%s/bundle.sigstore.json", name);
	return load_json(path);
}

static inline json_t *vm(json_t *j)
{
	json_t *v = json_object_get(j, "verificationMaterial");
	assert_non_null(v);
	return v;
}

static inline json_t *entry0(json_t *j)
{
	json_t *e = json_array_get(json_object_get(vm(j), "tlogEntries"), 0);
	assert_non_null(e);
	return e;
}

static inline json_t *proof0(json_t *j)
{
	json_t *p = json_object_get(entry0(j), "inclusionProof");
	assert_non_null(p);
	return p;
}

static inline char *b64(const uint8_t *p, size_t n)
{
	char *out = gate_b64_encode(p, n);
	assert_non_null(out);
	return out;
}

static inline uint8_t *unb64(const char *s, size_t *len)
{
	struct gate_error err = {0};
	uint8_t *out = NULL;
	assert_non_null(s);
	assert_int_equal(gate_b64_decode(s, strlen(s), &out, len, "test", &err), GATE_OK);
	return out;
}

static inline X509 *der_cert(const char *b64der)
{
	size_t len = 0;
	uint8_t *der = unb64(b64der, &len);
	X509 *x = gate_x509_from_der(der, len);
	assert_non_null(x);
	free(der);
	return x;
}

#endif
