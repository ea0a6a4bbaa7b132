/* test_one_read.c - the digest reported is the bytes verified: for each key
 * type (ECDSA P-256, P-384, Ed25519, RSA), a file whose content changes
 * between the artifact's SHA-256 pass and the signature check is never
 * verified. The file first holds unsigned content U, its artifact is
 * opened (SHA-256 of U), then one byte is rewritten so that it holds the
 * signed content S, and the signature over S is checked: a verifier that
 * reads the file again (SHA-384 for P-384, the message for Ed25519) must
 * see the change and refuse, not report U's digest for S's signature; one
 * that uses the first pass's digest (P-256, RSA) checks the signature over
 * U's digest, which fails. Without the change each verifies.
 *
 * Why this and not a race: the change is made at a fixed point (between
 * two passes, through the same descriptor, with the real verifier and
 * real OpenSSL keys), so it is deterministic; a file changed while the
 * first pass reads it is the same case for every later pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"
#include "tmpdir.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define SIZE (1u << 20)

struct keycase {
	const char *name;
	const char *type, *param; /* EVP_PKEY_Q_keygen */
	const char *md;		  /* signing digest; NULL: pure (Ed25519) */
	bool reads_again;	  /* verifying reads the file a second time */
};

static const struct keycase cases[] = {
	{"ECDSA P-256", "EC", "P-256", "SHA256", false},
	{"ECDSA P-384", "EC", "P-384", "SHA384", true},
	{"Ed25519", "ED25519", NULL, NULL, true},
	{"RSA 2048", "RSA", NULL, "SHA256", false},
};

static EVP_PKEY *keygen(const struct keycase *k)
{
	EVP_PKEY *p = NULL;
	if (strcmp(k->type, "EC") == 0)
		p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", k->param);
	else if (strcmp(k->type, "RSA") == 0)
		p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		p = EVP_PKEY_Q_keygen(NULL, NULL, k->type);
	assert_non_null(p);
	return p;
}

/* base64 of the signature over msg */
static char *sign_b64(EVP_PKEY *key, const char *md, const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sl = 0;
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &sl, msg, len), 1);
	uint8_t *sig = malloc(sl);
	char *out = malloc(4 * sl / 3 + 8);
	assert_non_null(sig);
	assert_non_null(out);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sl, msg, len), 1);
	EVP_EncodeBlock((unsigned char *)out, sig, (int)sl);
	free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

static struct gate_pubkey *pubkey_of(EVP_PKEY *k)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	struct gate_pubkey *pk = NULL;
	struct gate_error err = {0};
	assert_true(n > 0);
	assert_int_equal(gate_pubkey_parse(der, (size_t)n, &pk, &err), GATE_OK);
	OPENSSL_free(der);
	return pk;
}

/* Verify the signature over S of a file that holds U when the artifact is
 * opened and S when it is verified (flip), or S throughout. */
static enum gate_err run(const struct keycase *kc, bool flip, char *hex, struct gate_error *err)
{
	char dir[256], path[300];
	uint8_t *s = malloc(SIZE);
	EVP_PKEY *k = keygen(kc);
	struct gate_pubkey *pk = pubkey_of(k);
	struct gate_trusted_root *root = NULL;
	struct gate_bundle *b = NULL;
	struct gate_artifact *a = NULL;
	struct gate_facts *f = NULL;
	assert_non_null(s);
	for (size_t i = 0; i < SIZE; i++)
		s[i] = (uint8_t)(i * 131u + 7u);
	char *sig = sign_b64(k, kc->md, s, SIZE);
	assert_true(test_mkdtemp(dir, sizeof dir, "one-read"));
	snprintf(path, sizeof path, "%s/artifact", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	s[0] ^= (uint8_t)flip; /* U: not what was signed */
	assert_int_equal(pwrite(fd, s, SIZE, 0), (ssize_t)SIZE);
	s[0] ^= (uint8_t)flip;
	assert_int_equal(gate_artifact_from_fd(fd, path, &a, err), GATE_OK);
	gate_artifact_sha256_hex(a, hex);
	assert_int_equal(pwrite(fd, s, 1, 0), 1); /* now S */
	assert_int_equal(gate_trusted_root_default(&root, err), GATE_OK);
	assert_int_equal(gate_bundle_from_detached((const uint8_t *)sig, strlen(sig), NULL, 0, NULL,
						   0, &b, err),
			 GATE_OK);
	struct gate_verify_opts o = {.root = root, .key = pk};
	enum gate_err rc = gate_verify_bundle(b, a, &o, &f, err);
	if (rc == GATE_OK) /* what is reported is what was opened */
		assert_string_equal(f->digest, hex);
	gate_facts_free(f);
	gate_artifact_free(a);
	gate_bundle_free(b);
	gate_trusted_root_free(root);
	gate_pubkey_free(pk);
	EVP_PKEY_free(k);
	close(fd);
	test_rmtree(dir);
	free(sig);
	free(s);
	return rc;
}

static void test_changed_between_passes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gate_error err = {0};
		char hex[65];
		enum gate_err rc = run(&cases[i], true, hex, &err);
		print_message("%s: %s %s\n", cases[i].name, gate_err_str(rc), err.msg);
		assert_int_not_equal(rc, GATE_OK);
		if (cases[i].reads_again) {
			assert_int_equal(rc, GATE_E_IO);
			assert_non_null(strstr(err.msg, "changed while it was verified"));
			assert_non_null(strstr(err.msg, hex)); /* the digest first read */
		} else {
			assert_int_equal(rc, GATE_E_SIGNATURE);
			assert_string_equal(err.rule, "S17");
		}
	}
}

static void test_unchanged_verifies(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gate_error err = {0};
		char hex[65];
		enum gate_err rc = run(&cases[i], false, hex, &err);
		if (rc != GATE_OK)
			print_message("%s: %s %s\n", cases[i].name, gate_err_str(rc), err.msg);
		assert_int_equal(rc, GATE_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changed_between_passes),
		cmocka_unit_test(test_unchanged_verifies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
