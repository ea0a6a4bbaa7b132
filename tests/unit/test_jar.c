/* test_jar.c - the bounded ZIP reader (verify/x509/zip.c) and signed JARs
 * (verify/x509/jar.c) built here: stored entries, the central directory
 * cross-checked with local headers (duplicates, wrong offsets, names,
 * ZIP64, encryption, CRC), and manifests / signature files signed with a
 * throwaway code-signing certificate: continuation lines, changed and
 * unsigned entries, a missing signed entry, per-section digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codesign.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T0 1750000000
#define DAY 86400

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

struct zent {
	const char *name;
	const uint8_t *data;
	size_t len;
};

struct zbuf {
	uint8_t b[1 << 16];
	size_t n;
};

static void put16(struct zbuf *z, uint32_t v)
{
	z->b[z->n++] = (uint8_t)v;
	z->b[z->n++] = (uint8_t)(v >> 8);
}

static void put32(struct zbuf *z, uint32_t v)
{
	put16(z, v & 0xffff);
	put16(z, v >> 16);
}

static void put(struct zbuf *z, const void *p, size_t n)
{
	assert_true(z->n + n <= sizeof z->b);
	memcpy(z->b + z->n, p, n);
	z->n += n;
}

/* A stored ZIP; hook (may be NULL) may damage fields of entry i's central
 * record (h points at its fixed part). */
typedef void (*zhook)(size_t i, uint8_t *h);

static void build_zip(struct zbuf *z, const struct zent *e, size_t n, zhook hook)
{
	uint32_t off[32];
	memset(z, 0, sizeof(*z));
	for (size_t i = 0; i < n; i++) {
		off[i] = (uint32_t)z->n;
		put(z, "PK\x03\x04", 4);
		put16(z, 10);
		put16(z, 0);
		put16(z, 0);
		put32(z, 0);
		put32(z, crc32_of(e[i].data, e[i].len));
		put32(z, (uint32_t)e[i].len);
		put32(z, (uint32_t)e[i].len);
		put16(z, (uint32_t)strlen(e[i].name));
		put16(z, 0);
		put(z, e[i].name, strlen(e[i].name));
		put(z, e[i].data, e[i].len);
	}
	size_t cd = z->n;
	for (size_t i = 0; i < n; i++) {
		size_t h = z->n;
		put(z, "PK\x01\x02", 4);
		put16(z, 20);
		put16(z, 10);
		put16(z, 0);
		put16(z, 0);
		put32(z, 0);
		put32(z, crc32_of(e[i].data, e[i].len));
		put32(z, (uint32_t)e[i].len);
		put32(z, (uint32_t)e[i].len);
		put16(z, (uint32_t)strlen(e[i].name));
		put16(z, 0);
		put16(z, 0);
		put16(z, 0);
		put16(z, 0);
		put32(z, 0);
		put32(z, off[i]);
		put(z, e[i].name, strlen(e[i].name));
		if (hook)
			hook(i, z->b + h);
	}
	size_t cdlen = z->n - cd;
	put(z, "PK\x05\x06", 4);
	put16(z, 0);
	put16(z, 0);
	put16(z, (uint32_t)n);
	put16(z, (uint32_t)n);
	put32(z, (uint32_t)cdlen);
	put32(z, (uint32_t)cd);
	put16(z, 0);
}

static int fd_of(const struct zbuf *z)
{
	int fd = memfd_create("zip", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, z->b, z->n), (ssize_t)z->n);
	return fd;
}

#define E(n, s)                                                                                    \
	{                                                                                          \
		n, (const uint8_t *)(s), sizeof(s) - 1                                             \
	}

static const struct zent plain[] = {E("a.txt", "alpha\n"), E("dir/", ""), E("dir/b.txt", "beta\n")};

static void test_zip_ok(void **state)
{
	(void)state;
	struct zbuf z;
	struct gate_zip zip;
	build_zip(&z, plain, 3, NULL);
	int fd = fd_of(&z);
	assert_int_equal(gate_zip_open(fd, &zip, NULL), GATE_OK);
	assert_int_equal(zip.n, 3);
	long i = gate_zip_find(&zip, "dir/b.txt");
	assert_int_equal(i, 2);
	assert_int_equal(gate_zip_find(&zip, "nope"), -1);
	uint8_t *d = NULL;
	size_t len = 0;
	assert_int_equal(gate_zip_read_mem(&zip, (size_t)i, 100, &d, &len, NULL), GATE_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(d, "beta\n", 5);
	free(d);
	struct gate_error e = {0};
	assert_int_equal(gate_zip_read_mem(&zip, (size_t)i, 2, &d, &len, &e), GATE_E_TOO_LARGE);
	gate_zip_close(&zip);
	assert_int_equal(gate_cs_sniff(fd), GATE_CS_NONE); /* no manifest: not a JAR */
	close(fd);
}

static void expect_open(const struct zbuf *z, enum gate_err code, const char *what)
{
	struct gate_zip zip;
	struct gate_error e = {0};
	int fd = fd_of(z);
	assert_int_equal(gate_zip_open(fd, &zip, &e), code);
	if (!strstr(e.msg, what))
		fail_msg("'%s' lacks '%s'", e.msg, what);
	close(fd);
}

static void hook_encrypted(size_t i, uint8_t *h)
{
	if (i == 1)
		h[8] |= 1;
}

static void hook_method(size_t i, uint8_t *h)
{
	if (i == 0)
		h[10] = 12; /* bzip2 */
}

static void hook_zip64(size_t i, uint8_t *h)
{
	if (i == 2)
		memset(h + 20, 0xff, 4);
}

static void hook_offset(size_t i, uint8_t *h)
{
	if (i == 2)
		h[42] += 1; /* local header offset off by one */
}

static void hook_crc(size_t i, uint8_t *h)
{
	if (i == 0)
		h[16] ^= 1;
}

static void hook_name_case(size_t i, uint8_t *h)
{
	if (i == 0)
		h[46] = 'A'; /* the central name differs from the local one */
}

static void test_zip_errors(void **state)
{
	(void)state;
	struct zbuf z;
	const struct zent dup[] = {E("a.txt", "1"), E("a.txt", "2")};
	build_zip(&z, dup, 2, NULL);
	expect_open(&z, GATE_E_PARSE, "duplicate entry name 'a.txt'");
	build_zip(&z, plain, 3, hook_encrypted);
	expect_open(&z, GATE_E_UNSUPPORTED, "encrypted");
	build_zip(&z, plain, 3, hook_method);
	expect_open(&z, GATE_E_UNSUPPORTED, "compression method 12");
	build_zip(&z, plain, 3, hook_zip64);
	expect_open(&z, GATE_E_UNSUPPORTED, "ZIP64");
	build_zip(&z, plain, 3, hook_offset);
	expect_open(&z, GATE_E_PARSE, "no local header");
	build_zip(&z, plain, 3, hook_name_case);
	expect_open(&z, GATE_E_PARSE, "names another file");
	build_zip(&z, plain, 3, NULL);
	z.b[z.n - 6] += 1; /* central directory offset */
	expect_open(&z, GATE_E_PARSE, "does not end at the end record");
	build_zip(&z, plain, 3, NULL);
	z.b[z.n++] = 'x'; /* a byte after the end record, not in its comment */
	expect_open(&z, GATE_E_PARSE, "no end of central directory");
	build_zip(&z, plain, 3, NULL);
	z.b[z.n - 12] = 0xff; /* 0xffff entries: ZIP64 */
	z.b[z.n - 11] = 0xff;
	z.b[z.n - 14] = 0xff;
	z.b[z.n - 13] = 0xff;
	expect_open(&z, GATE_E_UNSUPPORTED, "ZIP64");
	/* CRC checked when read */
	build_zip(&z, plain, 3, hook_crc);
	struct gate_zip zip;
	int fd = fd_of(&z);
	uint8_t *d = NULL;
	size_t len;
	struct gate_error e = {0};
	assert_int_equal(gate_zip_open(fd, &zip, NULL), GATE_OK);
	assert_int_equal(gate_zip_read_mem(&zip, 0, 100, &d, &len, &e), GATE_E_PARSE);
	assert_non_null(strstr(e.msg, "CRC-32"));
	gate_zip_close(&zip);
	close(fd);
	/* every truncation is an error, never a crash */
	build_zip(&z, plain, 3, NULL);
	size_t full = z.n;
	for (size_t n = 0; n < full; n += 3) {
		z.n = n;
		fd = fd_of(&z);
		assert_int_not_equal(gate_zip_open(fd, &zip, NULL), GATE_OK);
		close(fd);
	}
}

/* ---- signed JARs ---- */

static EVP_PKEY *key;
static X509 *root, *leaf;
static char root_pem[64];

static X509 *cert(X509 *issuer, EVP_PKEY *k, const char *cn, bool ca)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_NAME *name = X509_NAME_new();
	assert_true(x && name);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2));
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
					       -1, -1, 0));
	assert_true(X509_set_subject_name(x, name));
	assert_true(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name));
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), T0 - 10 * DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), T0 + 10 * DAY);
	assert_true(X509_set_pubkey(x, k));
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	const char *exts[][2] = {{"basicConstraints", ca ? "critical,CA:TRUE" : "CA:FALSE"},
				 {"keyUsage", ca ? "keyCertSign" : "digitalSignature"},
				 {"extendedKeyUsage", "codeSigning"}};
	for (size_t i = 0; i < (ca ? 2u : 3u); i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	root = cert(NULL, key, "jar root", true);
	leaf = cert(root, key, "jar signer", false);
	strcpy(root_pem, "/tmp/gate-test-jar-XXXXXX");
	FILE *f = fdopen(mkstemp(root_pem), "w");
	assert_true(f && PEM_write_X509(f, root));
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	X509_free(root);
	X509_free(leaf);
	unlink(root_pem);
	return 0;
}

static char *b64_sha256(const void *p, size_t n)
{
	uint8_t d[32];
	gate_sha256(p, n, d);
	return gate_b64_encode(d, 32);
}

/* 4 MiB of zero bytes, raw deflate as zlib (level 9) writes it: a short
 * head and tail around 4063 zero bytes. */
static void zeros_deflated(uint8_t out[4080])
{
	static const uint8_t head[] = {0xed, 0xc1, 0x01, 0x01, 0x00, 0x00, 0x00, 0x82,
				       0x20, 0xff, 0xaf, 0x6e, 0x48, 0x40, 0x01};
	memcpy(out, head, sizeof head);
	memset(out + sizeof head, 0, 4063);
	out[4078] = 0x7c;
	out[4079] = 0x1b;
}

static bool count_sink(void *ctx, const uint8_t *p, size_t n)
{
	(void)p;
	*(size_t *)ctx += n;
	return true;
}

/* C12: an entry that claims 10 bytes and inflates to 4 MiB is stopped at
 * its declared size, not inflated whole before the sizes are compared. */
static void test_zip_inflate_bound(void **state)
{
	(void)state;
	struct zbuf z;
	uint8_t bomb_data[4080];
	zeros_deflated(bomb_data);
	const struct zent bomb[] = {{"bomb.bin", bomb_data, sizeof bomb_data}};
	build_zip(&z, bomb, 1, NULL);
	size_t cd = z.n - 22 - 46 - strlen("bomb.bin");
	/* deflated, to 10 bytes, say both headers */
	z.b[8] = 8;
	memset(z.b + 22, 0, 4);
	z.b[22] = 10;
	z.b[cd + 10] = 8;
	memset(z.b + cd + 24, 0, 4);
	z.b[cd + 24] = 10;
	struct gate_zip zip;
	struct gate_error e = {0};
	int fd = fd_of(&z);
	assert_int_equal(gate_zip_open(fd, &zip, &e), GATE_OK);
	size_t got = 0;
	assert_int_equal(gate_zip_read(&zip, 0, 1u << 30, count_sink, &got, &e), GATE_E_PARSE);
	assert_string_equal(e.rule, "C12");
	if (!strstr(e.msg, "entry 'bomb.bin' inflates to more than its declared 10 bytes"))
		fail_msg("%s", e.msg);
	assert_true(got <= 10);
	/* over the caller's cap: refused before a byte is read */
	assert_int_equal(gate_zip_read(&zip, 0, 5, count_sink, &got, &e), GATE_E_TOO_LARGE);
	assert_non_null(strstr(e.msg, "is 10 bytes, over the 5-byte limit"));
	gate_zip_close(&zip);
	close(fd);
}

struct jar {
	char mf[4096], sf[4096];
	uint8_t *blk;
	size_t blkl;
};

/* Manifest and signature file for the entries, the .SF signed (detached
 * PKCS#7). A 90-character name exercises continuation lines. sf_whole:
 * the .SF has a whole-manifest digest (else only section digests). */
static void make_jar(struct jar *j, const struct zent *e, size_t n, bool sf_whole)
{
	size_t mo = (size_t)snprintf(j->mf, sizeof j->mf,
				     "Manifest-Version: 1.0\r\nCreated-By: test\r\n\r\n");
	char sections[16][600];
	for (size_t i = 0; i < n; i++) {
		char *d = b64_sha256(e[i].data, e[i].len);
		char line[600];
		int l = snprintf(line, sizeof line, "Name: %s", e[i].name);
		/* lines of at most 72 bytes; continuations start with a space */
		char *w = sections[i];
		for (int at = 0; at < l;) {
			int take = at == 0 ? 72 : 71;
			w += sprintf(w, "%s%.*s\r\n", at ? " " : "", take, line + at);
			at += take;
		}
		sprintf(w, "SHA-256-Digest: %s\r\n\r\n", d);
		mo += (size_t)snprintf(j->mf + mo, sizeof j->mf - mo, "%s", sections[i]);
		free(d);
	}
	char *whole = b64_sha256(j->mf, mo);
	size_t so = (size_t)snprintf(j->sf, sizeof j->sf, "Signature-Version: 1.0\r\n%s%s%s\r\n",
				     sf_whole ? "SHA-256-Digest-Manifest: " : "",
				     sf_whole ? whole : "", sf_whole ? "\r\n" : "");
	free(whole);
	for (size_t i = 0; i < n; i++) {
		char *d = b64_sha256(sections[i], strlen(sections[i]));
		so += (size_t)snprintf(j->sf + so, sizeof j->sf - so,
				       "Name: %s\r\nSHA-256-Digest: %s\r\n\r\n", e[i].name, d);
		free(d);
	}
	BIO *in = BIO_new_mem_buf(j->sf, (int)so);
	PKCS7 *p7 = PKCS7_sign(leaf, key, NULL, in, PKCS7_DETACHED | PKCS7_BINARY);
	assert_non_null(p7);
	unsigned char *der = NULL;
	int l = i2d_PKCS7(p7, &der);
	j->blk = malloc((size_t)l);
	memcpy(j->blk, der, (size_t)l);
	j->blkl = (size_t)l;
	OPENSSL_free(der);
	PKCS7_free(p7);
	BIO_free(in);
}

static enum gate_err verify_jar(const struct zent *e, size_t n, bool allow_unsigned,
				struct gate_facts **f, struct gate_error *err)
{
	struct zbuf *z = malloc(sizeof(*z));
	struct gate_x509_trust *t = NULL;
	assert_int_equal(gate_x509_trust_new(&t, NULL), GATE_OK);
	assert_int_equal(gate_x509_trust_add_roots(t, "root", root_pem, NULL), GATE_OK);
	assert_int_equal(gate_x509_trust_set_revocation(t, GATE_CRL_IGNORE, false, NULL, NULL),
			 GATE_OK);
	build_zip(z, e, n, NULL);
	int fd = fd_of(z);
	assert_int_equal(gate_cs_sniff(fd), GATE_CS_JAR);
	struct gate_cs_input in = {.format = GATE_CS_JAR, .fd = fd};
	struct gate_cs_opts o = {.trust = t, .now = T0, .allow_unsigned_entries = allow_unsigned};
	memset(err, 0, sizeof(*err));
	*f = NULL;
	enum gate_err rc = gate_verify_codesign(&in, &o, f, err);
	close(fd);
	free(z);
	gate_x509_trust_free(t);
	assert_int_equal(ERR_peek_error(), 0);
	return rc;
}

#define LONG_NAME "com/example/a/really/long/package/name/that/needs/continuation/lines/Main.class"

static void test_signed_jar(void **state)
{
	(void)state;
	const struct zent files[] = {E("a.txt", "alpha\n"), E(LONG_NAME, "class bytes")};
	for (int whole = 0; whole < 2; whole++) {
		struct jar j;
		make_jar(&j, files, 2, whole);
		struct zent all[] = {{"META-INF/MANIFEST.MF", (uint8_t *)j.mf, strlen(j.mf)},
				     {"META-INF/T.SF", (uint8_t *)j.sf, strlen(j.sf)},
				     {"META-INF/T.EC", j.blk, j.blkl},
				     {"META-INF/", (const uint8_t *)"", 0},
				     files[0],
				     files[1]};
		struct gate_facts *f;
		struct gate_error e;
		assert_int_equal(verify_jar(all, 6, false, &f, &e), GATE_OK);
		assert_string_equal(f->cs_format, "jar");
		assert_string_equal(f->subject, "CN=jar signer");
		assert_int_equal(f->n_unsigned, 0);
		gate_facts_free(f);
		/* an entry changed */
		struct zent changed[6];
		memcpy(changed, all, sizeof all);
		changed[4].data = (const uint8_t *)"alphA\n";
		assert_int_equal(verify_jar(changed, 6, false, &f, &e), GATE_E_DIGEST);
		assert_non_null(strstr(e.msg, "entry 'a.txt' does not match"));
		/* an entry added */
		struct zent added[7];
		memcpy(added, all, sizeof all);
		added[6] = (struct zent)E("extra.txt", "x");
		assert_int_equal(verify_jar(added, 7, false, &f, &e), GATE_E_SIGNATURE);
		assert_non_null(strstr(e.msg, "1 entry is not covered"));
		assert_int_equal(verify_jar(added, 7, true, &f, &e), GATE_OK);
		assert_int_equal(f->n_unsigned, 1);
		gate_facts_free(f);
		/* a signed entry removed */
		assert_int_equal(verify_jar(all, 5, false, &f, &e), GATE_E_DIGEST);
		assert_non_null(strstr(e.msg, "is missing from the archive"));
		/* C12: a folder entry that holds data, skipped as a folder it
		 * would be unsigned bytes */
		struct zent folder[7];
		memcpy(folder, all, sizeof all);
		folder[6] = (struct zent)E("evil/", "payload");
		assert_int_equal(verify_jar(folder, 7, true, &f, &e), GATE_E_PARSE);
		assert_string_equal(e.rule, "C12");
		if (!strstr(e.msg, "entry 'evil/' is named as a folder but holds 7 bytes"))
			fail_msg("%s", e.msg);
		/* the block removed */
		struct zent noblk[5] = {all[0], all[1], all[3], all[4], all[5]};
		assert_int_equal(verify_jar(noblk, 5, false, &f, &e), GATE_E_SIGNATURE);
		assert_non_null(strstr(e.msg, "no signature block"));
		free(j.blk);
	}
}

static void test_manifest_changed(void **state)
{
	(void)state;
	const struct zent files[] = {E("a.txt", "alpha\n"), E("b.txt", "beta\n")};
	struct jar j;
	make_jar(&j, files, 2, false);
	/* The manifest section of b.txt now vouches for other bytes: the .SF's
	 * section digest catches it. */
	char *at = strstr(j.mf, "Name: b.txt");
	assert_non_null(at);
	char *d = strstr(at, "Digest: ") + 8;
	char *nd = b64_sha256("other\n", 6);
	memcpy(d, nd, strlen(nd));
	free(nd);
	struct zent all[] = {{"META-INF/MANIFEST.MF", (uint8_t *)j.mf, strlen(j.mf)},
			     {"META-INF/T.SF", (uint8_t *)j.sf, strlen(j.sf)},
			     {"META-INF/T.EC", j.blk, j.blkl},
			     E("a.txt", "alpha\n"),
			     E("b.txt", "other\n")};
	struct gate_facts *f;
	struct gate_error e;
	assert_int_equal(verify_jar(all, 5, false, &f, &e), GATE_E_DIGEST);
	assert_non_null(strstr(e.msg, "manifest section of 'b.txt' differs"));
	/* The .SF changed: the signature over it fails. */
	free(j.blk);
	make_jar(&j, files, 2, true);
	struct zent sfc[] = {{"META-INF/MANIFEST.MF", (uint8_t *)j.mf, strlen(j.mf)},
			     {"META-INF/T.SF", (uint8_t *)j.sf, strlen(j.sf)},
			     {"META-INF/T.EC", j.blk, j.blkl},
			     files[0],
			     files[1]};
	j.sf[5] ^= 0x20;
	assert_int_equal(verify_jar(sfc, 5, false, &f, &e), GATE_E_DIGEST);
	free(j.blk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zip_ok),
		cmocka_unit_test(test_zip_errors),
		cmocka_unit_test(test_zip_inflate_bound),
		cmocka_unit_test(test_signed_jar),
		cmocka_unit_test(test_manifest_changed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
