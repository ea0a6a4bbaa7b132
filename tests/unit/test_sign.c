/* test_sign.c - gate_keygen_write and gate_sign_file: key files and their
 * modes, refusal to overwrite, encrypted keys, and every signature checked
 * back through the verifier (bundle and detached) as `gate verify --key
 * --insecure-ignore-tlog` does, plus one-byte-changed must-fail cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "../../gate/sign.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const algs[] = {"ecdsa-p256", "ecdsa-p384", "ed25519"};
static const enum gate_keyalg alg_ids[] = {GATE_ALG_ECDSA_P256_SHA256, GATE_ALG_ECDSA_P384_SHA384,
					   GATE_ALG_ED25519};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* ------------------------------------------------------------------ */
/* fixture: a fresh directory per test                                */

struct env {
	char dir[64];
	struct test_paths paths;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	if (!e || !test_mkdtemp(e->dir, sizeof e->dir, "sign")) {
		free(e);
		return -1;
	}
	umask(022);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	test_rmtree(e->dir);
	free(e);
	return 0;
}

/* A path inside the test directory (tmpdir.h). */
static const char *P(struct env *e, const char *name)
{
	return test_path(&e->paths, e->dir, name);
}

static void write_str(const char *path, const char *s)
{
	test_write_file(path, s, strlen(s));
}

static char *read_str(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct gate_error err = {0};
	assert_int_equal(gate_read_file(path, 1u << 20, &buf, &len, &err), GATE_OK);
	return (char *)buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

/* No temporary file may be left behind in the test directory. */
static void assert_no_temp(struct env *e)
{
	DIR *d = opendir(e->dir);
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".gate-sign.", 11) == 0)
			fail_msg("temporary file left behind: %s", de->d_name);
	closedir(d);
}

static void keygen_ok(const char *priv, const char *pub, const char *alg, const char *pass)
{
	struct gate_error err = {0};
	enum gate_err rc = gate_keygen_write(priv, pub, alg, pass, &err);
	if (rc != GATE_OK)
		print_message("keygen %s: %s: %s: %s\n", alg ? alg : "(default)", err.file,
			      err.field, err.msg);
	assert_int_equal(rc, GATE_OK);
}

static void sign_ok(const char *key, const char *pass, const char *art, const char *bundle,
		    const char *sig)
{
	struct gate_error err = {0};
	enum gate_err rc = gate_sign_file(key, pass, art, bundle, sig, &err);
	if (rc != GATE_OK)
		print_message("sign: %s: %s: %s\n", err.file, err.field, err.msg);
	assert_int_equal(rc, GATE_OK);
}

/* Verify as `gate verify --key PUB --insecure-ignore-tlog` does, from a
 * bundle file or (detached) a .sig file. */
static enum gate_err verify(const char *evidence, bool detached, const char *pub, const char *art,
			    struct gate_facts **facts_out, struct gate_error *err)
{
	struct gate_trusted_root *root = NULL;
	struct gate_pubkey *key = NULL;
	struct gate_bundle *b = NULL;
	struct gate_artifact *a = NULL;
	struct gate_facts *facts = NULL;
	enum gate_err rc;
	assert_int_equal(gate_trusted_root_default(&root, err), GATE_OK);
	assert_int_equal(gate_pubkey_load(pub, &key, err), GATE_OK);
	if (detached) {
		char *sig = read_str(evidence);
		rc = gate_bundle_from_detached((const uint8_t *)sig, strlen(sig), NULL, 0, NULL, 0,
					       &b, err);
		free(sig);
	} else {
		rc = gate_bundle_load(evidence, &b, err);
	}
	assert_int_equal(rc, GATE_OK);
	assert_int_equal(gate_artifact_open(art, &a, err), GATE_OK);
	struct gate_verify_opts opts = {.root = root, .key = key, .require_tlog = false};
	rc = gate_verify_bundle(b, a, &opts, &facts, err);
	if (facts_out)
		*facts_out = facts;
	else
		gate_facts_free(facts);
	gate_artifact_free(a);
	gate_bundle_free(b);
	gate_pubkey_free(key);
	gate_trusted_root_free(root);
	return rc;
}

static void verify_ok(const char *evidence, bool detached, const char *pub, const char *art)
{
	struct gate_error err = {0};
	enum gate_err rc = verify(evidence, detached, pub, art, NULL, &err);
	if (rc != GATE_OK)
		print_message("verify %s: [%s] %s: %s\n", evidence, err.rule, err.field, err.msg);
	assert_int_equal(rc, GATE_OK);
}

static void verify_fails(const char *evidence, bool detached, const char *pub, const char *art,
			 enum gate_err want, const char *rule)
{
	struct gate_error err = {0};
	enum gate_err rc = verify(evidence, detached, pub, art, NULL, &err);
	if (rc != want || strcmp(err.rule, rule) != 0)
		print_message("verify %s: got %d [%s] %s, want %d [%s]\n", evidence, (int)rc,
			      err.rule, err.msg, (int)want, rule);
	assert_int_equal(rc, want);
	assert_string_equal(err.rule, rule);
}

/* One key pair per algorithm, named k-ALG.{key,pub}. */
static void keygen_all(struct env *e)
{
	for (size_t i = 0; i < NALGS; i++) {
		char priv[64], pub[64];
		snprintf(priv, sizeof priv, "k-%s.key", algs[i]);
		snprintf(pub, sizeof pub, "k-%s.pub", algs[i]);
		keygen_ok(P(e, priv), P(e, pub), algs[i], NULL);
	}
}

static const char *key_of(struct env *e, size_t i, const char *ext)
{
	char name[64];
	snprintf(name, sizeof name, "k-%s.%s", algs[i], ext);
	return P(e, name);
}

/* ------------------------------------------------------------------ */
/* keygen                                                             */

static void test_keygen_each_alg(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < NALGS; i++) {
		const char *priv = key_of(e, i, "key"), *pub = key_of(e, i, "pub");
		keygen_ok(priv, pub, algs[i], NULL);
		assert_int_equal(mode_of(priv), 0600);
		assert_int_equal(mode_of(pub), 0644);
		char *text = read_str(priv);
		assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----"));
		free(text);
		struct gate_pubkey *k = NULL;
		struct gate_error err = {0};
		assert_int_equal(gate_pubkey_load(pub, &k, &err), GATE_OK);
		assert_int_equal(k->alg, alg_ids[i]);
		gate_pubkey_free(k);
	}
}

static void test_keygen_default_alg(void **state)
{
	struct env *e = *state;
	struct gate_pubkey *k = NULL;
	struct gate_error err = {0};
	keygen_ok(P(e, "d.key"), P(e, "d.pub"), NULL, NULL);
	assert_int_equal(gate_pubkey_load(P(e, "d.pub"), &k, &err), GATE_OK);
	assert_int_equal(k->alg, GATE_ALG_ECDSA_P256_SHA256);
	gate_pubkey_free(k);
}

/* The private key mode is 0600 whatever the umask. */
static void test_keygen_mode_ignores_umask(void **state)
{
	struct env *e = *state;
	mode_t old = umask(0);
	keygen_ok(P(e, "u.key"), P(e, "u.pub"), "ed25519", NULL);
	umask(old);
	assert_int_equal(mode_of(P(e, "u.key")), 0600);
	assert_int_equal(mode_of(P(e, "u.pub")), 0644);
}

static void test_keygen_refuses_existing(void **state)
{
	struct env *e = *state;
	struct gate_error err = {0};
	/* an existing private key is kept, and no public key is made */
	write_str(P(e, "x.key"), "keep me");
	assert_int_equal(gate_keygen_write(P(e, "x.key"), P(e, "x.pub"), NULL, NULL, &err),
			 GATE_E_IO);
	assert_string_equal(err.file, P(e, "x.key"));
	assert_non_null(strstr(err.msg, "refusing to overwrite"));
	char *text = read_str(P(e, "x.key"));
	assert_string_equal(text, "keep me");
	free(text);
	assert_false(exists(P(e, "x.pub")));
	/* an existing public key: the new private key is not left behind */
	write_str(P(e, "y.pub"), "keep me too");
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_keygen_write(P(e, "y.key"), P(e, "y.pub"), NULL, NULL, &err),
			 GATE_E_IO);
	assert_string_equal(err.file, P(e, "y.pub"));
	assert_false(exists(P(e, "y.key")));
	text = read_str(P(e, "y.pub"));
	assert_string_equal(text, "keep me too");
	free(text);
	/* a second keygen over a whole pair */
	keygen_ok(P(e, "z.key"), P(e, "z.pub"), NULL, NULL);
	char *before = read_str(P(e, "z.key"));
	assert_int_equal(gate_keygen_write(P(e, "z.key"), P(e, "z.pub"), NULL, NULL, &err),
			 GATE_E_IO);
	char *after = read_str(P(e, "z.key"));
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A planted symlink is neither followed nor replaced (O_NOFOLLOW|O_EXCL). */
static void test_keygen_refuses_symlink(void **state)
{
	struct env *e = *state;
	struct gate_error err = {0};
	assert_int_equal(symlink(P(e, "target"), P(e, "s.key")), 0);
	assert_int_equal(gate_keygen_write(P(e, "s.key"), P(e, "s.pub"), NULL, NULL, &err),
			 GATE_E_IO);
	assert_false(exists(P(e, "target")));
	assert_false(exists(P(e, "s.pub")));
}

static void test_keygen_bad_args(void **state)
{
	struct env *e = *state;
	struct gate_error err = {0};
	assert_int_equal(gate_keygen_write(P(e, "b.key"), P(e, "b.pub"), "rsa", NULL, &err),
			 GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "rsa"));
	assert_int_equal(gate_keygen_write(P(e, "b.key"), P(e, "b.pub"), "ecdsa-p521", NULL, &err),
			 GATE_E_USAGE);
	assert_int_equal(gate_keygen_write(P(e, "b.key"), P(e, "b.pub"), NULL, "", &err),
			 GATE_E_USAGE);
	assert_int_equal(gate_keygen_write(P(e, "b.key"), P(e, "b.key"), NULL, NULL, &err),
			 GATE_E_USAGE);
	assert_int_equal(gate_keygen_write(NULL, P(e, "b.pub"), NULL, NULL, &err), GATE_E_USAGE);
	char longpass[1100];
	memset(longpass, 'p', sizeof longpass - 1);
	longpass[sizeof longpass - 1] = 0;
	assert_int_equal(gate_keygen_write(P(e, "b.key"), P(e, "b.pub"), NULL, longpass, &err),
			 GATE_E_USAGE);
	assert_false(exists(P(e, "b.key")));
	assert_false(exists(P(e, "b.pub")));
	/* a directory that does not exist */
	assert_int_equal(gate_keygen_write(P(e, "no/b.key"), P(e, "no/b.pub"), NULL, NULL, &err),
			 GATE_E_IO);
}

/* ------------------------------------------------------------------ */
/* encrypted keys                                                     */

static void test_encrypted_roundtrip(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < NALGS; i++) {
		const char *priv = key_of(e, i, "key"), *pub = key_of(e, i, "pub");
		keygen_ok(priv, pub, algs[i], "correct horse");
		char *text = read_str(priv);
		assert_non_null(strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
		free(text);
		/* OpenSSL agrees: PBES2 with AES-256-CBC, and the passphrase opens it */
		FILE *f = fopen(priv, "r");
		assert_non_null(f);
		X509_SIG *p8 = PEM_read_PKCS8(f, NULL, NULL, NULL);
		fclose(f);
		assert_non_null(p8);
		const X509_ALGOR *alg = NULL;
		X509_SIG_get0(p8, &alg, NULL);
		assert_int_equal(OBJ_obj2nid(alg->algorithm), NID_pbes2);
		X509_SIG_free(p8);
		write_str(P(e, "art"), "signed with an encrypted key\n");
		sign_ok(priv, "correct horse", P(e, "art"), P(e, "art.bundle"), P(e, "art.sig"));
		verify_ok(P(e, "art.bundle"), false, pub, P(e, "art"));
		verify_ok(P(e, "art.sig"), true, pub, P(e, "art"));
	}
}

static void test_wrong_passphrase(void **state)
{
	struct env *e = *state;
	struct gate_error err = {0};
	keygen_ok(P(e, "w.key"), P(e, "w.pub"), "ecdsa-p256", "right");
	write_str(P(e, "art"), "x");
	assert_int_equal(gate_sign_file(P(e, "w.key"), "wrong", P(e, "art"), P(e, "art.bundle"),
					P(e, "art.sig"), &err),
			 GATE_E_KEY);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	assert_string_equal(err.file, P(e, "w.key"));
	/* encrypted and no passphrase: asks for one, never prompts */
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_sign_file(P(e, "w.key"), NULL, P(e, "art"), P(e, "art.bundle"),
					P(e, "art.sig"), &err),
			 GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "encrypted"));
	assert_false(exists(P(e, "art.bundle")));
	assert_false(exists(P(e, "art.sig")));
	assert_no_temp(e);
	/* a passphrase given for an unencrypted key is harmless */
	keygen_ok(P(e, "plain.key"), P(e, "plain.pub"), "ed25519", NULL);
	sign_ok(P(e, "plain.key"), "unused", P(e, "art"), P(e, "art.bundle"), NULL);
}

/* ------------------------------------------------------------------ */
/* sign + verify                                                      */

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		print_message("%s: %s\n", path, je.text);
	assert_non_null(j);
	return j;
}

static const char *jstr(json_t *j, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* The v0.3 shape: media type, publicKey hint = key id, empty tlogEntries,
 * messageDigest of the right algorithm, and the .sig is the same signature. */
static void check_bundle_shape(struct env *e, size_t i, const char *art, const char *bundle,
			       const char *sigpath)
{
	json_t *j = load_json(bundle);
	struct gate_pubkey *k = NULL;
	struct gate_error err = {0};
	char id[65];
	assert_string_equal(jstr(j, "mediaType", NULL, NULL),
			    "application/vnd.dev.sigstore.bundle.v0.3+json");
	json_t *vm = json_object_get(j, "verificationMaterial");
	assert_int_equal(json_object_size(vm), 2);
	assert_true(json_is_array(json_object_get(vm, "tlogEntries")));
	assert_int_equal(json_array_size(json_object_get(vm, "tlogEntries")), 0);
	assert_int_equal(gate_pubkey_load(key_of(e, i, "pub"), &k, &err), GATE_OK);
	gate_pubkey_id(k, id);
	gate_pubkey_free(k);
	assert_string_equal(jstr(vm, "publicKey", "hint", NULL), id);
	const char *md = jstr(j, "messageSignature", "messageDigest", "algorithm");
	assert_string_equal(md, alg_ids[i] == GATE_ALG_ECDSA_P384_SHA384 ? "SHA2_384" : "SHA2_256");
	/* the digest is the file's */
	struct gate_artifact *a = NULL;
	uint8_t d[EVP_MAX_MD_SIZE], *got = NULL;
	size_t dl = 0, gl = 0;
	assert_int_equal(gate_artifact_open(art, &a, &err), GATE_OK);
	const EVP_MD *want_md = strcmp(md, "SHA2_384") == 0 ? EVP_sha384() : EVP_sha256();
	assert_int_equal(gate_artifact_digest(a, want_md, d, &dl, &err), GATE_OK);
	gate_artifact_free(a);
	const char *d64 = jstr(j, "messageSignature", "messageDigest", "digest");
	assert_int_equal(gate_b64_decode(d64, strlen(d64), &got, &gl, "digest", &err), GATE_OK);
	assert_int_equal(gl, dl);
	assert_memory_equal(got, d, dl);
	free(got);
	/* .sig: the same base64 signature, no newline */
	char *sig = read_str(sigpath);
	assert_string_equal(sig, jstr(j, "messageSignature", "signature", NULL));
	assert_null(strchr(sig, '\n'));
	free(sig);
	json_decref(j);
}

static void test_sign_verify_each_alg(void **state)
{
	struct env *e = *state;
	keygen_all(e);
	write_str(P(e, "art"), "the artifact\n");
	for (size_t i = 0; i < NALGS; i++) {
		const char *pub = key_of(e, i, "pub");
		sign_ok(key_of(e, i, "key"), NULL, P(e, "art"), P(e, "art.sigstore.json"),
			P(e, "art.sig"));
		assert_int_equal(mode_of(P(e, "art.sigstore.json")), 0644);
		assert_int_equal(mode_of(P(e, "art.sig")), 0644);
		check_bundle_shape(e, i, P(e, "art"), P(e, "art.sigstore.json"), P(e, "art.sig"));
		struct gate_facts *f = NULL;
		struct gate_error err = {0};
		enum gate_err rc =
			verify(P(e, "art.sigstore.json"), false, pub, P(e, "art"), &f, &err);
		assert_int_equal(rc, GATE_OK);
		assert_int_equal(f->kind, GATE_SIGNER_KEY);
		assert_int_equal(f->n_tlog, 0);
		gate_facts_free(f);
		verify_ok(P(e, "art.sig"), true, pub, P(e, "art"));
		/* the other algorithms' keys do not verify it */
		for (size_t k = 0; k < NALGS; k++)
			if (k != i) {
				verify_fails(P(e, "art.sigstore.json"), false, key_of(e, k, "pub"),
					     P(e, "art"), GATE_E_SIGNATURE, "S17");
				verify_fails(P(e, "art.sig"), true, key_of(e, k, "pub"),
					     P(e, "art"), GATE_E_SIGNATURE, "S17");
			}
	}
	assert_no_temp(e);
}

/* Another key of the same algorithm does not verify. */
static void test_other_key_rejected(void **state)
{
	struct env *e = *state;
	keygen_all(e);
	keygen_ok(P(e, "o.key"), P(e, "o.pub"), "ecdsa-p256", NULL);
	write_str(P(e, "art"), "a");
	sign_ok(key_of(e, 0, "key"), NULL, P(e, "art"), P(e, "art.bundle"), P(e, "art.sig"));
	verify_fails(P(e, "art.bundle"), false, P(e, "o.pub"), P(e, "art"), GATE_E_SIGNATURE,
		     "S17");
	verify_fails(P(e, "art.sig"), true, P(e, "o.pub"), P(e, "art"), GATE_E_SIGNATURE, "S17");
}

static void flip_byte(const char *path, long at)
{
	int fd = open(path, O_RDWR);
	uint8_t c;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* One byte of the artifact changed: the bundle fails on its digest (S17),
 * the detached signature on the signature. */
static void test_tampered_artifact_rejected(void **state)
{
	struct env *e = *state;
	keygen_all(e);
	for (size_t i = 0; i < NALGS; i++) {
		const char *pub = key_of(e, i, "pub");
		write_str(P(e, "art"), "some bytes that matter\n");
		sign_ok(key_of(e, i, "key"), NULL, P(e, "art"), P(e, "art.bundle"),
			P(e, "art.sig"));
		verify_ok(P(e, "art.bundle"), false, pub, P(e, "art"));
		flip_byte(P(e, "art"), 5);
		verify_fails(P(e, "art.bundle"), false, pub, P(e, "art"), GATE_E_DIGEST, "S17");
		verify_fails(P(e, "art.sig"), true, pub, P(e, "art"), GATE_E_SIGNATURE, "S17");
		/* an appended byte too */
		flip_byte(P(e, "art"), 5);
		verify_ok(P(e, "art.bundle"), false, pub, P(e, "art"));
		FILE *f = fopen(P(e, "art"), "ab");
		assert_non_null(f);
		fputc('\n', f);
		fclose(f);
		verify_fails(P(e, "art.bundle"), false, pub, P(e, "art"), GATE_E_DIGEST, "S17");
	}
}

/* One byte of the signature changed, and a bundle whose messageDigest
 * matches but whose signature does not. */
static void test_tampered_signature_rejected(void **state)
{
	struct env *e = *state;
	keygen_all(e);
	write_str(P(e, "art"), "x");
	for (size_t i = 0; i < NALGS; i++) {
		const char *pub = key_of(e, i, "pub");
		sign_ok(key_of(e, i, "key"), NULL, P(e, "art"), P(e, "art.bundle"),
			P(e, "art.sig"));
		json_t *j = load_json(P(e, "art.bundle"));
		json_t *ms = json_object_get(j, "messageSignature");
		const char *s64 = json_string_value(json_object_get(ms, "signature"));
		uint8_t *raw = NULL;
		size_t n = 0;
		struct gate_error err = {0};
		assert_int_equal(gate_b64_decode(s64, strlen(s64), &raw, &n, "sig", &err), GATE_OK);
		raw[n - 1] ^= 0x01;
		char *bad = gate_b64_encode(raw, n);
		assert_non_null(bad);
		json_object_set_new(ms, "signature", json_string(bad));
		assert_int_equal(json_dump_file(j, P(e, "bad.bundle"), JSON_COMPACT), 0);
		write_str(P(e, "bad.sig"), bad);
		verify_fails(P(e, "bad.bundle"), false, pub, P(e, "art"), GATE_E_SIGNATURE, "S17");
		verify_fails(P(e, "bad.sig"), true, pub, P(e, "art"), GATE_E_SIGNATURE, "S17");
		free(bad);
		free(raw);
		json_decref(j);
	}
}

static void test_empty_artifact(void **state)
{
	struct env *e = *state;
	keygen_all(e);
	test_write_file(P(e, "empty"), "", 0);
	for (size_t i = 0; i < NALGS; i++) {
		sign_ok(key_of(e, i, "key"), NULL, P(e, "empty"), P(e, "empty.bundle"),
			P(e, "empty.sig"));
		check_bundle_shape(e, i, P(e, "empty"), P(e, "empty.bundle"), P(e, "empty.sig"));
		verify_ok(P(e, "empty.bundle"), false, key_of(e, i, "pub"), P(e, "empty"));
		verify_ok(P(e, "empty.sig"), true, key_of(e, i, "pub"), P(e, "empty"));
	}
}

/* Bigger than the 256 KiB read chunk and not a multiple of it: streamed
 * digests and the mapped Ed25519 message cover the whole file. */
static void test_large_artifact(void **state)
{
	struct env *e = *state;
	size_t n = 3u * 1024 * 1024 + 17;
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	for (size_t k = 0; k < n; k++)
		buf[k] = (uint8_t)(k * 131 + 7);
	test_write_file(P(e, "big"), buf, n);
	free(buf);
	keygen_all(e);
	for (size_t i = 0; i < NALGS; i++) {
		sign_ok(key_of(e, i, "key"), NULL, P(e, "big"), P(e, "big.bundle"),
			P(e, "big.sig"));
		verify_ok(P(e, "big.bundle"), false, key_of(e, i, "pub"), P(e, "big"));
		verify_ok(P(e, "big.sig"), true, key_of(e, i, "pub"), P(e, "big"));
		flip_byte(P(e, "big"), (long)n - 1);
		verify_fails(P(e, "big.sig"), true, key_of(e, i, "pub"), P(e, "big"),
			     GATE_E_SIGNATURE, "S17");
		flip_byte(P(e, "big"), (long)n - 1);
	}
}

/* ------------------------------------------------------------------ */
/* outputs                                                            */

static void test_output_symlink_refused(void **state)
{
	struct env *e = *state;
	struct gate_error err = {0};
	keygen_all(e);
	write_str(P(e, "art"), "a");
	assert_int_equal(symlink(P(e, "target"), P(e, "link")), 0);
	assert_int_equal(gate_sign_file(key_of(e, 0, "key"), NULL, P(e, "art"), P(e, "link"),
					P(e, "art.sig"), &err),
			 GATE_E_IO);
	assert_string_equal(err.file, P(e, "link"));
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_false(exists(P(e, "target")));
	assert_false(exists(P(e, "art.sig"))); /* nothing written at all */
	/* the .sig output through a symlink too, even to an existing file */
	write_str(P(e, "target"), "keep");
	assert_int_equal(gate_sign_file(key_of(e, 0, "key"), NULL, P(e, "art"), P(e, "art.bundle"),
					P(e, "link"), &err),
			 GATE_E_IO);
	char *t = read_str(P(e, "target"));
	assert_string_equal(t, "keep");
	free(t);
	assert_false(exists(P(e, "art.bundle")));
	/* a directory is not replaced either */
	assert_int_equal(mkdir(P(e, "dir"), 0755), 0);
	assert_int_equal(
		gate_sign_file(key_of(e, 0, "key"), NULL, P(e, "art"), P(e, "dir"), NULL, &err),
		GATE_E_IO);
	assert_no_temp(e);
}

static void test_output_overwrite_atomic(void **state)
{
	struct env *e = *state;
	keygen_all(e);
	write_str(P(e, "art"), "a");
	write_str(P(e, "art.bundle"), "old bundle");
	write_str(P(e, "art.sig"), "old sig");
	sign_ok(key_of(e, 2, "key"), NULL, P(e, "art"), P(e, "art.bundle"), P(e, "art.sig"));
	verify_ok(P(e, "art.bundle"), false, key_of(e, 2, "pub"), P(e, "art"));
	verify_ok(P(e, "art.sig"), true, key_of(e, 2, "pub"), P(e, "art"));
	assert_no_temp(e);
	/* one output only */
	assert_int_equal(unlink(P(e, "art.sig")), 0);
	sign_ok(key_of(e, 0, "key"), NULL, P(e, "art"), P(e, "art.bundle"), NULL);
	assert_false(exists(P(e, "art.sig")));
	sign_ok(key_of(e, 0, "key"), NULL, P(e, "art"), NULL, P(e, "art.sig"));
	verify_ok(P(e, "art.sig"), true, key_of(e, 0, "pub"), P(e, "art"));
	/* a failure after staging leaves the old outputs untouched: the .sig
	 * goes to a directory that does not exist */
	char *before = read_str(P(e, "art.bundle"));
	struct gate_error err = {0};
	assert_int_equal(gate_sign_file(key_of(e, 1, "key"), NULL, P(e, "art"), P(e, "art.bundle"),
					P(e, "nodir/art.sig"), &err),
			 GATE_E_IO);
	char *after = read_str(P(e, "art.bundle"));
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_no_temp(e);
}

static void test_sign_errors(void **state)
{
	struct env *e = *state;
	struct gate_error err = {0};
	char key[512];
	keygen_all(e);
	snprintf(key, sizeof key, "%s", key_of(e, 0, "key"));
	write_str(P(e, "art"), "a");
	/* key problems */
	assert_int_equal(gate_sign_file(P(e, "nokey"), NULL, P(e, "art"), P(e, "b"), NULL, &err),
			 GATE_E_IO);
	assert_string_equal(err.file, P(e, "nokey"));
	assert_int_equal(
		gate_sign_file(key_of(e, 0, "pub"), NULL, P(e, "art"), P(e, "b"), NULL, &err),
		GATE_E_PARSE);
	write_str(P(e, "junk.key"),
		  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
	assert_int_equal(gate_sign_file(P(e, "junk.key"), NULL, P(e, "art"), P(e, "b"), NULL, &err),
			 GATE_E_PARSE);
	assert_int_equal(gate_sign_file(e->dir, NULL, P(e, "art"), P(e, "b"), NULL, &err),
			 GATE_E_IO);
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(rsa);
	FILE *f = fopen(P(e, "rsa.key"), "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, rsa, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(rsa);
	assert_int_equal(gate_sign_file(P(e, "rsa.key"), NULL, P(e, "art"), P(e, "b"), NULL, &err),
			 GATE_E_UNSUPPORTED);
	/* artifact problems */
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_sign_file(key, NULL, P(e, "noart"), P(e, "b"), NULL, &err),
			 GATE_E_IO);
	assert_string_equal(err.file, P(e, "noart"));
	assert_int_equal(gate_sign_file(key, NULL, e->dir, P(e, "b"), NULL, &err), GATE_E_IO);
	/* usage */
	assert_int_equal(gate_sign_file(key, NULL, P(e, "art"), NULL, NULL, &err), GATE_E_USAGE);
	assert_int_equal(gate_sign_file(key, NULL, P(e, "art"), P(e, "b"), P(e, "b"), &err),
			 GATE_E_USAGE);
	assert_int_equal(gate_sign_file(key, NULL, P(e, "art"), P(e, "art"), NULL, &err),
			 GATE_E_USAGE);
	assert_int_equal(gate_sign_file(key, NULL, P(e, "art"), P(e, "b"), key, &err),
			 GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "private key"));
	assert_int_equal(gate_sign_file(NULL, NULL, P(e, "art"), P(e, "b"), NULL, &err),
			 GATE_E_USAGE);
	/* same file under two names */
	write_str(P(e, "b"), "");
	assert_int_equal(link(P(e, "b"), P(e, "b2")), 0);
	assert_int_equal(gate_sign_file(key, NULL, P(e, "art"), P(e, "b"), P(e, "b2"), &err),
			 GATE_E_USAGE);
	/* err may be NULL */
	assert_int_equal(gate_sign_file(key, NULL, P(e, "noart"), P(e, "b"), NULL, NULL),
			 GATE_E_IO);
	char *t = read_str(P(e, "art"));
	assert_string_equal(t, "a");
	free(t);
	assert_no_temp(e);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_keygen_each_alg),
		T(test_keygen_default_alg),
		T(test_keygen_mode_ignores_umask),
		T(test_keygen_refuses_existing),
		T(test_keygen_refuses_symlink),
		T(test_keygen_bad_args),
		T(test_encrypted_roundtrip),
		T(test_wrong_passphrase),
		T(test_sign_verify_each_alg),
		T(test_other_key_rejected),
		T(test_tampered_artifact_rejected),
		T(test_tampered_signature_rejected),
		T(test_empty_artifact),
		T(test_large_artifact),
		T(test_output_symlink_refused),
		T(test_output_overwrite_atomic),
		T(test_sign_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
