/* test_pe.c - the PE reader for Authenticode (verify/x509/pe.c): headers of
 * PE32 and PE32+ images built here, every offset and size checked against
 * the file (overlapping sections, a certificate table outside the file,
 * huge counts, truncation), the Authenticode digest's skipped fields, and
 * malformed certificate tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codesign.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FILE_SIZE 0x600
#define PE_OFF 0x40

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

struct img {
	uint8_t b[FILE_SIZE + 4096];
	size_t len;
	bool plus;
	size_t opt, dd, sec; /* offsets of the optional header, data directories, sections */
};

/* Two sections: raw data [0x200,0x400) and [0x400,0x600). */
static void build(struct img *m, bool plus)
{
	memset(m, 0, sizeof(*m));
	m->plus = plus;
	m->len = FILE_SIZE;
	m->b[0] = 'M';
	m->b[1] = 'Z';
	put32(m->b + 0x3c, PE_OFF);
	memcpy(m->b + PE_OFF, "PE\0\0", 4);
	put16(m->b + PE_OFF + 4, 0x8664);
	put16(m->b + PE_OFF + 6, 2);
	size_t optsz = plus ? 240 : 224;
	put16(m->b + PE_OFF + 20, (uint32_t)optsz);
	m->opt = PE_OFF + 24;
	put16(m->b + m->opt, plus ? 0x20b : 0x10b);
	put32(m->b + m->opt + 60, 0x200);      /* SizeOfHeaders */
	put32(m->b + m->opt + 64, 0x12345678); /* CheckSum */
	put32(m->b + m->opt + (plus ? 108 : 92), 16);
	m->dd = m->opt + (plus ? 112 : 96);
	m->sec = m->opt + optsz;
	for (int i = 0; i < 2; i++) {
		uint8_t *s = m->b + m->sec + 40 * (size_t)i;
		memcpy(s, i ? ".data" : ".text", 5);
		put32(s + 16, 0x200);
		put32(s + 20, 0x200 + 0x200 * (uint32_t)i);
	}
	for (size_t i = 0x200; i < FILE_SIZE; i++)
		m->b[i] = (uint8_t)(i * 7);
}

static int fd_of(const struct img *m)
{
	int fd = memfd_create("pe", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, m->b, m->len), (ssize_t)m->len);
	return fd;
}

static enum gate_err parse(const struct img *m, struct gate_pe *pe, struct gate_error *e)
{
	int fd = fd_of(m);
	memset(e, 0, sizeof(*e));
	enum gate_err rc = gate_pe_parse(fd, pe, e);
	close(fd);
	return rc;
}

static void expect_error(const struct img *m, enum gate_err code, const char *what)
{
	struct gate_pe pe;
	struct gate_error e;
	assert_int_equal(parse(m, &pe, &e), code);
	if (!strstr(e.msg, what))
		fail_msg("'%s' lacks '%s'", e.msg, what);
}

static void test_parse_both_kinds(void **state)
{
	(void)state;
	for (int plus = 0; plus < 2; plus++) {
		struct img m;
		struct gate_pe pe;
		struct gate_error e;
		build(&m, plus);
		assert_int_equal(parse(&m, &pe, &e), GATE_OK);
		assert_int_equal(pe.pe32plus, plus);
		assert_int_equal(pe.checksum_off, m.opt + 64);
		assert_int_equal(pe.certdir_off, m.dd + 32);
		assert_int_equal(pe.cert_len, 0);
		assert_int_equal(pe.nsections, 2);
		int fd = fd_of(&m);
		assert_true(gate_pe_sniff(fd));
		assert_int_equal(gate_cs_sniff(fd), GATE_CS_PE);
		struct gate_cs_input in = {.format = GATE_CS_PE, .fd = fd};
		size_t n = 9;
		assert_int_equal(gate_codesign_count(&in, &n, NULL), GATE_OK);
		assert_int_equal(n, 0);
		/* nothing signed, nothing to hash ahead */
		assert_null(gate_pe_prehash(fd));
		close(fd);
	}
}

static void digest_of(const struct img *m, uint8_t out[32])
{
	struct gate_pe pe;
	unsigned len = 0;
	int fd = fd_of(m);
	assert_int_equal(gate_pe_parse(fd, &pe, NULL), GATE_OK);
	assert_int_equal(gate_pe_digest(fd, &pe, EVP_sha256(), out, &len, NULL), GATE_OK);
	assert_int_equal(len, 32);
	close(fd);
}

static void test_digest_skips_fields(void **state)
{
	(void)state;
	struct img m;
	uint8_t a[32], b[32], want[32];
	build(&m, true);
	digest_of(&m, a);
	/* by hand: everything but the CheckSum and the certificate entry */
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	assert_true(EVP_DigestInit_ex(c, EVP_sha256(), NULL));
	EVP_DigestUpdate(c, m.b, m.opt + 64);
	EVP_DigestUpdate(c, m.b + m.opt + 68, m.dd + 32 - (m.opt + 68));
	EVP_DigestUpdate(c, m.b + m.dd + 40, FILE_SIZE - (m.dd + 40));
	EVP_DigestFinal_ex(c, want, NULL);
	EVP_MD_CTX_free(c);
	assert_memory_equal(a, want, 32);
	put32(m.b + m.opt + 64, 0); /* CheckSum is not covered */
	digest_of(&m, b);
	assert_memory_equal(a, b, 32);
	m.b[0x300] ^= 1; /* code is */
	digest_of(&m, b);
	assert_memory_not_equal(a, b, 32);
}

static void test_header_errors(void **state)
{
	(void)state;
	struct img m;
	build(&m, false);
	m.b[0] = 'X';
	expect_error(&m, GATE_E_PARSE, "no MZ header");
	build(&m, false);
	put32(m.b + 0x3c, FILE_SIZE - 10);
	expect_error(&m, GATE_E_PARSE, "outside the file");
	build(&m, false);
	put32(m.b + 0x3c, 0xfffffff0u);
	expect_error(&m, GATE_E_PARSE, "outside the file");
	build(&m, false);
	m.b[PE_OFF + 1] = 'X';
	expect_error(&m, GATE_E_PARSE, "no PE signature");
	build(&m, false);
	put16(m.b + PE_OFF + 6, 0xffff);
	expect_error(&m, GATE_E_PARSE, "65535 sections, more than 96");
	build(&m, false);
	put16(m.b + PE_OFF + 20, 0xffff);
	expect_error(&m, GATE_E_PARSE, "does not fit in the file");
	build(&m, false);
	put16(m.b + PE_OFF + 20, 40);
	expect_error(&m, GATE_E_PARSE, "too short");
	build(&m, false);
	put16(m.b + m.opt, 0x107);
	expect_error(&m, GATE_E_PARSE, "neither PE32 nor PE32+");
	build(&m, true);
	put32(m.b + m.opt + 108, 4);
	expect_error(&m, GATE_E_PARSE, "no certificate table directory entry");
	build(&m, true);
	put32(m.b + m.opt + 108, 0xffffffffu);
	expect_error(&m, GATE_E_PARSE, "do not fit the optional header");
	build(&m, false);
	put32(m.b + m.opt + 60, 0x10000);
	expect_error(&m, GATE_E_PARSE, "SizeOfHeaders");
}

static void test_section_errors(void **state)
{
	(void)state;
	struct img m;
	build(&m, false);
	put32(m.b + m.sec + 40 + 16, 0x1000); /* section 1 runs past the end */
	expect_error(&m, GATE_E_PARSE, "section 1 raw data");
	build(&m, false);
	put32(m.b + m.sec + 40 + 20, 0x300); /* section 1 inside section 0 */
	expect_error(&m, GATE_E_PARSE, "sections 0 and 1 overlap");
	build(&m, false);
	put32(m.b + m.sec + 40 + 20, 0xffffff00u); /* offset + size overflows 32 bits */
	expect_error(&m, GATE_E_PARSE, "runs past the end");
	build(&m, false);
	put16(m.b + PE_OFF + 6, 96); /* the section table runs out of the file */
	m.len = m.sec + 40 * 50;
	expect_error(&m, GATE_E_PARSE, "section table runs past the end");
}

/* A certificate table of len bytes at the end of the file. */
static void with_table(struct img *m, const uint8_t *t, size_t len)
{
	memcpy(m->b + m->len, t, len);
	put32(m->b + m->dd + 32, (uint32_t)m->len);
	put32(m->b + m->dd + 36, (uint32_t)len);
	m->len += len;
}

static void expect_count_error(const struct img *m, enum gate_err code, const char *what)
{
	int fd = fd_of(m);
	struct gate_cs_input in = {.format = GATE_CS_PE, .fd = fd};
	struct gate_error e = {0};
	size_t n = 0;
	assert_int_equal(gate_codesign_count(&in, &n, &e), code);
	if (!strstr(e.msg, what))
		fail_msg("'%s' lacks '%s'", e.msg, what);
	close(fd);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_certificate_table(void **state)
{
	(void)state;
	struct img m;
	uint8_t t[64] = {0};
	build(&m, false);
	put32(m.b + m.dd + 32, FILE_SIZE - 4);
	put32(m.b + m.dd + 36, 64);
	expect_error(&m, GATE_E_PARSE, "points outside the");
	build(&m, false);
	put32(m.b + m.dd + 32, 0xfffffff8u);
	put32(m.b + m.dd + 36, 0xfffffff8u);
	expect_error(&m, GATE_E_PARSE, "points outside the");
	build(&m, false);
	put32(m.b + m.dd + 32, 0x100); /* inside the headers */
	put32(m.b + m.dd + 36, 16);
	expect_error(&m, GATE_E_PARSE, "overlaps the headers");
	build(&m, false);
	put32(m.b + m.dd + 32, 0x500); /* inside section 1 */
	put32(m.b + m.dd + 36, 16);
	expect_error(&m, GATE_E_PARSE, "overlaps section 1");
	/* WIN_CERTIFICATE entries */
	build(&m, false);
	put32(t, 4);
	with_table(&m, t, 16);
	expect_count_error(&m, GATE_E_PARSE, "WIN_CERTIFICATE length 4");
	build(&m, false);
	put32(t, 16);
	put16(t + 4, 0x0200);
	put16(t + 6, 1); /* X.509, not PKCS#7 */
	with_table(&m, t, 16);
	expect_count_error(&m, GATE_E_UNSUPPORTED, "not PKCS#7");
	build(&m, false);
	put16(t + 6, 2);
	memset(t + 8, 0xff, 8);
	with_table(&m, t, 16);
	expect_count_error(&m, GATE_E_PARSE, "does not hold DER");
	build(&m, false);
	put32(t, 16);
	t[8] = 0x30; /* an empty SEQUENCE: not a SignedData */
	t[9] = 0x00;
	memset(t + 10, 0, 6);
	with_table(&m, t, 16);
	expect_count_error(&m, GATE_E_PARSE, "PKCS#7");
	build(&m, false);
	t[10] = 1; /* non-zero padding */
	with_table(&m, t, 16);
	expect_count_error(&m, GATE_E_PARSE, "non-zero padding");
}

static void test_truncations(void **state)
{
	(void)state;
	struct img m;
	build(&m, true);
	size_t full = m.len;
	for (size_t len = 0; len < full; len += 13) {
		struct gate_pe pe;
		struct gate_error e;
		m.len = len;
		assert_int_not_equal(parse(&m, &pe, &e), GATE_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_both_kinds),
		cmocka_unit_test(test_digest_skips_fields),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_certificate_table),
		cmocka_unit_test(test_truncations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
