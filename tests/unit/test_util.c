/* test_util.c - verify/util.c, verify/err.c and the regexp helper: strict
 * base64, hex, constant-time compare, RFC 3339, bounded file reads,
 * certificate lists, validity intervals, anchored regexps and error text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PUBLIC_GOOD GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json"

/* ------------------------------------------------------------------ */
/* helpers                                                            */

/* A failure must carry the exact code and echo the field. */
static void expect_err(enum gate_err rc, const struct gate_error *err, enum gate_err code,
		       const char *field)
{
	if (rc != code)
		print_message("got rc=%d field='%s' msg='%s'\n", (int)rc, err->field, err->msg);
	assert_int_equal(rc, code);
	assert_int_equal(err->code, code);
	assert_true(err->msg[0] != '\0');
	if (field)
		assert_string_equal(err->field, field);
}

/* One scratch directory under /tmp for the whole run, made by the group
 * setup and removed by the group teardown (which runs even when a test
 * fails). Each test uses its own subdirectory. */
static char scratch[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof scratch, "/tmp/gate-test-util-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	if (!scratch[0])
		return 0;
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

static char *make_scratch(const char *name)
{
	size_t n = strlen(scratch) + strlen(name) + 2;
	char *dir = malloc(n);
	assert_non_null(dir);
	snprintf(dir, n, "%s/%s", scratch, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	return dir;
}

static void rm_scratch(char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* DER certificates of the public-good root's current CA chain
 * (intermediate, then root), read with jansson and OpenSSL directly. */
static X509 *ca_cert(size_t which)
{
	json_error_t je;
	json_t *root = json_load_file(PUBLIC_GOOD, 0, &je);
	assert_non_null(root);
	json_t *cas = json_object_get(root, "certificateAuthorities");
	assert_true(json_array_size(cas) >= 2);
	json_t *certs = json_object_get(json_object_get(json_array_get(cas, 1), "certChain"),
					"certificates");
	assert_int_equal(json_array_size(certs), 2);
	const char *b64 =
		json_string_value(json_object_get(json_array_get(certs, which), "rawBytes"));
	assert_non_null(b64);
	unsigned char *der = malloc(strlen(b64));
	assert_non_null(der);
	int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
	assert_true(n > 0);
	/* strip the zero bytes EVP_DecodeBlock adds for padding */
	size_t len = (size_t)n;
	for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--)
		len--;
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)len);
	assert_non_null(x);
	free(der);
	json_decref(root);
	return x;
}

/* PEM text of the given certificates, malloc'd. */
static char *pem_of(X509 **certs, size_t n, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(PEM_write_bio_X509(bio, certs[i]), 1);
	char *data = NULL;
	long l = BIO_get_mem_data(bio, &data);
	assert_true(l > 0);
	char *out = malloc((size_t)l + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)l);
	out[l] = '\0';
	*len = (size_t)l;
	BIO_free(bio);
	return out;
}

/* ------------------------------------------------------------------ */
/* base64                                                             */

static void b64_ok(const char *in, const char *want, size_t wantlen)
{
	struct gate_error err = {0};
	uint8_t *out = NULL;
	size_t len = 12345;
	assert_int_equal(gate_b64_decode(in, strlen(in), &out, &len, "f", &err), GATE_OK);
	assert_non_null(out);
	assert_int_equal(len, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[len], 0); /* NUL-terminated for convenience */
	free(out);
}

static void test_b64_decode_valid(void **state)
{
	(void)state;
	b64_ok("", "", 0);
	b64_ok("Zm9v", "foo", 3);	/* no padding */
	b64_ok("Zm9vYmE=", "fooba", 5); /* one '=' */
	b64_ok("Zm9vYg==", "foob", 4);	/* two '=' */
	b64_ok("Zm9vYmFy", "foobar", 6);
	b64_ok("AAA=", "\0\0", 2);
	b64_ok("+/+/", "\xfb\xff\xbf", 3);
}

static void b64_bad(const char *in, size_t inlen, const char *why)
{
	struct gate_error err = {0};
	uint8_t *out = NULL;
	size_t len = 0;
	enum gate_err rc =
		gate_b64_decode(in, inlen, &out, &len, "messageSignature.signature", &err);
	if (rc != GATE_E_PARSE)
		print_message("case '%s' was accepted\n", why);
	expect_err(rc, &err, GATE_E_PARSE, "messageSignature.signature");
	assert_string_equal(err.rule, "S1");
	assert_null(out); /* *out set only on success */
}

static void test_b64_decode_rejects(void **state)
{
	(void)state;
	b64_bad("Zm9vY", 5, "length 5");
	b64_bad("Zm9vYmE", 7, "length 7, unpadded");
	b64_bad("Zm9v!A==", 8, "bad char");
	b64_bad("Zm9v-_==", 8, "URL-safe alphabet");
	b64_bad("Zm=vYmE=", 8, "'=' in the middle");
	b64_bad("Zg==Zm9v", 8, "padding then more data");
	b64_bad("===", 3, "===");
	b64_bad("A===", 4, "three pads");
	b64_bad("====", 4, "only pads");
	b64_bad("Zm9v\nYmE", 8, "newline");
	b64_bad("Zm 9", 4, "space");
	b64_bad("Zm9\t", 4, "tab");
	b64_bad("Zm9v\0YmE", 8, "NUL");
	b64_bad("Z=9v", 4, "pad then data in a quad");
}

static void test_b64_encode_roundtrip(void **state)
{
	(void)state;
	char *s = gate_b64_encode((const uint8_t *)"foobar", 6);
	assert_string_equal(s, "Zm9vYmFy");
	free(s);
	s = gate_b64_encode((const uint8_t *)"", 0);
	assert_string_equal(s, "");
	free(s);
	uint8_t buf[70];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof buf; n++) {
		struct gate_error err = {0};
		char *enc = gate_b64_encode(buf, n);
		assert_non_null(enc);
		assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
		uint8_t *dec = NULL;
		size_t dl = 0;
		assert_int_equal(gate_b64_decode(enc, strlen(enc), &dec, &dl, "rt", &err), GATE_OK);
		assert_int_equal(dl, n);
		if (n)
			assert_memory_equal(dec, buf, n);
		free(dec);
		free(enc);
	}
}

/* ------------------------------------------------------------------ */
/* hex and constant-time compare                                      */

static void test_hex(void **state)
{
	(void)state;
	const uint8_t in[] = {0x00, 0xab, 0xff, 0x10};
	char out[9];
	memset(out, 'x', sizeof out);
	gate_hex_encode(in, sizeof in, out);
	assert_string_equal(out, "00abff10");

	uint8_t d[4] = {0};
	assert_true(gate_hex_decode("00ABff10", 8, d, 4));
	assert_memory_equal(d, in, 4);
	assert_true(gate_hex_decode("", 0, d, 0));
	assert_false(gate_hex_decode("00abff1", 7, d, 4));     /* odd */
	assert_false(gate_hex_decode("00abff", 6, d, 4));      /* short */
	assert_false(gate_hex_decode("00abff1000", 10, d, 4)); /* long */
	assert_false(gate_hex_decode("00abfg10", 8, d, 4));    /* non-hex */
	assert_false(gate_hex_decode("00ab ff1", 8, d, 4));    /* space */
	assert_false(gate_hex_decode("0xabff10", 8, d, 4));    /* prefix */
}

static void test_ct_eq(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	for (int i = 0; i < 32; i++)
		a[i] = b[i] = (uint8_t)i;
	assert_true(gate_ct_eq(a, b, 32));
	assert_true(gate_ct_eq(a, b, 0));
	b[0] ^= 1;
	assert_false(gate_ct_eq(a, b, 32));
	b[0] ^= 1;
	b[31] ^= 0x80;
	assert_false(gate_ct_eq(a, b, 32));
	assert_true(gate_ct_eq(a, b, 31));
}

/* ------------------------------------------------------------------ */
/* RFC 3339                                                           */

static void t3339(const char *s, int64_t want)
{
	int64_t got = 42;
	if (!gate_parse_rfc3339(s, &got))
		print_message("'%s' was rejected\n", s);
	assert_true(gate_parse_rfc3339(s, &got));
	assert_int_equal(got, want);
}

static void t3339_bad(const char *s)
{
	int64_t got = 42;
	bool ok = gate_parse_rfc3339(s, &got);
	if (ok)
		print_message("'%s' was accepted as %lld\n", s, (long long)got);
	assert_false(ok);
}

static void test_rfc3339_values(void **state)
{
	(void)state;
	t3339("1970-01-01T00:00:00Z", 0);
	t3339("1970-01-01T00:00:01Z", 1);
	t3339("2024-03-19T17:26:26Z", 1710869186);     /* happy-path-v0.3 integratedTime */
	t3339("2024-03-19T17:26:26.999Z", 1710869186); /* fraction dropped */
	t3339("2024-03-19T17:26:26.5+00:00", 1710869186);
	t3339("2024-03-19T17:26:26+00:00", 1710869186);
	t3339("2000-02-29T12:00:00Z", 951825600); /* leap day */
	t3339("2022-12-31T23:59:59.999Z", 1672531199);
	t3339("2038-01-19T03:14:08Z", 2147483648LL); /* past 32-bit time_t */
	t3339("1969-12-31T23:59:59Z", -1);
}

static void test_rfc3339_rejects(void **state)
{
	(void)state;
	t3339_bad("2024-13-01T00:00:00Z");
	t3339_bad("2024-00-01T00:00:00Z");
	t3339_bad("2024-01-00T00:00:00Z");
	t3339_bad("2024-01-32T00:00:00Z");
	t3339_bad("2024-01-01T24:00:00Z");
	t3339_bad("2024-01-01T00:60:00Z");
	t3339_bad("2024-03-19T17:26:26");      /* missing Z */
	t3339_bad("2024-03-19T17:26:26.123");  /* missing Z after fraction */
	t3339_bad("2024-03-19T17:26:26Zjunk"); /* trailing junk */
	t3339_bad("2024-03-19T17:26:26Z ");
	t3339_bad("2024-03-19T17:26:26.Z");	/* empty fraction */
	t3339_bad("2024-03-19T17:26:26+01:00"); /* not UTC */
	t3339_bad("2024-03-19X17:26:26Z");
	t3339_bad("2024-3-19T17:26:26Z");
	t3339_bad("garbage");
	t3339_bad("");
	t3339_bad("-024-03-19T17:26:26Z");
}

/* Day-of-month must exist in that month: timegm would silently normalise
 * Feb 30 to Mar 2. */
static void test_rfc3339_rejects_impossible_dates(void **state)
{
	(void)state;
	t3339_bad("2023-02-29T00:00:00Z"); /* not a leap year */
	t3339_bad("2024-02-30T00:00:00Z");
	t3339_bad("2024-04-31T00:00:00Z");
	t3339_bad("2100-02-29T00:00:00Z"); /* century, not a leap year */
}

/* s parsed with flags: ok and, when ok, the value. */
static void t3339f(const char *s, unsigned flags, bool ok, int64_t want)
{
	int64_t got = 42;
	bool r = gate_rfc3339_parse(s, flags, &got);
	if (r != ok)
		print_message("'%s' with flags %#x: %s\n", s, flags, r ? "accepted" : "rejected");
	assert_int_equal(r, ok);
	assert_int_equal(got, ok ? want : 42);
}

/* One parser for both former behaviours: no flags is gate_parse_rfc3339
 * (UTC only, either case, fraction dropped), GATE_RFC3339_TUF the TUF
 * "expires" one (any offset, uppercase only, fraction rounded up); each
 * flag alone changes only its own part. */
static void test_rfc3339_flags(void **state)
{
	(void)state;
	const unsigned tuf = GATE_RFC3339_TUF, off = GATE_RFC3339_OFFSET;
	const unsigned ceil = GATE_RFC3339_CEIL, up = GATE_RFC3339_UPPER;
	const int64_t z = 1639855692; /* 2021-12-18T19:28:12Z */
	/* Offsets. */
	t3339f("2021-12-18T13:28:12-06:00", 0, false, 0);
	t3339f("2021-12-18T13:28:12-06:00", off, true, z);
	t3339f("2021-12-19T00:58:12+05:30", off, true, z);
	t3339f("2021-12-18T19:28:12+00:00", 0, true, z);
	t3339f("2021-12-18T19:28:12-00:00", 0, false, 0); /* offset unknown */
	t3339f("2021-12-18T19:28:12-00:00", off, true, z);
	t3339f("2021-12-18T19:28:12+24:00", tuf, false, 0);
	t3339f("2021-12-18T19:28:12+01:60", tuf, false, 0);
	t3339f("2021-12-18T19:28:12+0100", tuf, false, 0);
	/* Fractions. */
	t3339f("2021-12-18T19:28:12.5Z", 0, true, z);
	t3339f("2021-12-18T19:28:12.5Z", ceil, true, z + 1);
	t3339f("2021-12-18T19:28:12.000Z", ceil, true, z);
	t3339f("2021-12-18T19:28:12.Z", ceil, false, 0);
	/* Case. */
	t3339f("2021-12-18t19:28:12z", 0, true, z);
	t3339f("2021-12-18t19:28:12Z", up, false, 0);
	t3339f("2021-12-18T19:28:12z", up, false, 0);
	t3339f("2021-12-18T19:28:12Z", up, true, z);
	/* Sigstore root v1's "expires". */
	t3339f("2021-12-18T13:28:12.99008-06:00", tuf, true, z + 1);
	t3339f("2021-12-18T13:28:12.99008-06:00", 0, false, 0);
	/* What no combination accepts; what every one reads the same. */
	for (unsigned f = 0; f <= tuf; f++) {
		t3339f("2024-12-31T23:59:60Z", f, false, 0);
		t3339f("2023-02-29T00:00:00Z", f, false, 0);
		t3339f("2024-02-29T12:00:00 Z", f, false, 0);
		t3339f("1970-01-01T00:00:00Z", f, true, 0);
		t3339f("1969-12-31T23:59:59Z", f, true, -1);
		t3339f("0000-01-01T00:00:00Z", f, true, -62167219200LL);
		t3339f("9999-12-31T23:59:59Z", f, true, 253402300799LL);
	}
}

/* ------------------------------------------------------------------ */
/* gate_read_file                                                     */

static void test_read_file_errors(void **state)
{
	(void)state;
	char *dir = make_scratch("errors");
	struct gate_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;

	char *missing = path_in(dir, "missing.json");
	expect_err(gate_read_file(missing, 1024, &buf, &len, &err), &err, GATE_E_IO, missing);
	assert_null(buf);

	memset(&err, 0, sizeof err);
	expect_err(gate_read_file(dir, 1024, &buf, &len, &err), &err, GATE_E_IO, dir);
	assert_null(buf);

	char *big = path_in(dir, "big");
	char data[100];
	memset(data, 'x', sizeof data);
	write_file(big, data, sizeof data);
	memset(&err, 0, sizeof err);
	expect_err(gate_read_file(big, 99, &buf, &len, &err), &err, GATE_E_TOO_LARGE, big);
	assert_null(buf);
	/* exactly the cap is fine */
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_read_file(big, 100, &buf, &len, &err), GATE_OK);
	assert_int_equal(len, 100);
	assert_memory_equal(buf, data, 100);
	assert_int_equal(buf[100], 0);
	free(buf);
	buf = NULL;

	char *empty = path_in(dir, "empty");
	write_file(empty, "", 0);
	len = 77;
	assert_int_equal(gate_read_file(empty, 10, &buf, &len, &err), GATE_OK);
	assert_int_equal(len, 0);
	assert_non_null(buf);
	assert_int_equal(buf[0], 0);
	free(buf);

	free(missing);
	free(big);
	free(empty);
	rm_scratch(dir);
}

static void test_read_file_dev_zero(void **state)
{
	(void)state;
	struct gate_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	alarm(20); /* an endless device must not hang the read */
	/* where a file is expected, a device is refused unread */
	expect_err(gate_read_file("/dev/zero", 4096, &buf, &len, &err), &err, GATE_E_IO,
		   "/dev/zero");
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_null(buf);
	/* a stream the user named is read, never past the cap */
	memset(&err, 0, sizeof err);
	expect_err(gate_read_stream("/dev/zero", 4096, &buf, &len, &err), &err, GATE_E_TOO_LARGE,
		   "/dev/zero");
	assert_null(buf);
	/* bigger than the first 8 KiB chunk, to exercise growth */
	memset(&err, 0, sizeof err);
	expect_err(gate_read_stream("/dev/zero", 100000, &buf, &len, &err), &err, GATE_E_TOO_LARGE,
		   "/dev/zero");
	alarm(0);
}

/* A writer that keeps writing until the reader goes away. */
static pid_t fifo_writer(const char *path, size_t total)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30); /* never outlive a failed test blocked in open() */
		signal(SIGPIPE, SIG_IGN);
		int fd = open(path, O_WRONLY);
		if (fd < 0)
			_exit(1);
		char chunk[4096];
		memset(chunk, 'y', sizeof chunk);
		size_t done = 0;
		while (done < total) {
			size_t n = total - done < sizeof chunk ? total - done : sizeof chunk;
			ssize_t w = write(fd, chunk, n);
			if (w <= 0)
				break;
			done += (size_t)w;
		}
		close(fd);
		_exit(0);
	}
	return pid;
}

static void test_read_file_fifo(void **state)
{
	(void)state;
	char *dir = make_scratch("fifo");
	char *fifo = path_in(dir, "fifo");
	struct gate_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	int status = 0;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(20);

	/* where a file is expected: refused at once, with no writer */
	expect_err(gate_read_file(fifo, 1000, &buf, &len, &err), &err, GATE_E_IO, fifo);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_null(buf);

	/* a stream the user named: endless-ish, over the cap */
	memset(&err, 0, sizeof err);
	pid_t pid = fifo_writer(fifo, 10u * 1024 * 1024);
	expect_err(gate_read_stream(fifo, 1000, &buf, &len, &err), &err, GATE_E_TOO_LARGE, fifo);
	assert_null(buf);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	/* a short stream under the cap is read whole */
	pid = fifo_writer(fifo, 300);
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_read_stream(fifo, 1000, &buf, &len, &err), GATE_OK);
	assert_int_equal(len, 300);
	assert_int_equal(buf[0], 'y');
	assert_int_equal(buf[299], 'y');
	assert_int_equal(buf[300], 0);
	free(buf);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	alarm(0);
	free(fifo);
	rm_scratch(dir);
}

/* ------------------------------------------------------------------ */
/* certificates                                                       */

static void test_certs_from_pem(void **state)
{
	(void)state;
	X509 *certs[3] = {ca_cert(0), ca_cert(1), NULL};
	certs[2] = certs[0];
	struct gate_error err = {0};
	STACK_OF(X509) *sk = NULL;
	size_t plen = 0;

	/* two PEM certificates, in order */
	char *pem = pem_of(certs, 2, &plen);
	assert_int_equal(gate_certs_from_pem((const uint8_t *)pem, plen, 10, &sk, "chain", &err),
			 GATE_OK);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), certs[0]), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), certs[1]), 0);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;

	/* exactly max is fine; one more is too many */
	assert_int_equal(gate_certs_from_pem((const uint8_t *)pem, plen, 2, &sk, "chain", &err),
			 GATE_OK);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;
	free(pem);
	pem = pem_of(certs, 3, &plen);
	memset(&err, 0, sizeof err);
	expect_err(gate_certs_from_pem((const uint8_t *)pem, plen, 2, &sk, "chain", &err), &err,
		   GATE_E_TOO_LARGE, "chain");
	assert_null(sk);
	free(pem);

	/* one DER certificate */
	unsigned char *der = NULL;
	int dl = i2d_X509(certs[0], &der);
	assert_true(dl > 0);
	assert_int_equal(gate_certs_from_pem(der, (size_t)dl, 1, &sk, "certificate", &err),
			 GATE_OK);
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), certs[0]), 0);
	sk_X509_pop_free(sk, X509_free);
	sk = NULL;

	/* DER with a trailing byte is not one certificate */
	unsigned char *der2 = malloc((size_t)dl + 1);
	assert_non_null(der2);
	memcpy(der2, der, (size_t)dl);
	der2[dl] = 0;
	memset(&err, 0, sizeof err);
	expect_err(gate_certs_from_pem(der2, (size_t)dl + 1, 1, &sk, "certificate", &err), &err,
		   GATE_E_PARSE, "certificate");
	/* truncated DER */
	memset(&err, 0, sizeof err);
	expect_err(gate_certs_from_pem(der, (size_t)dl - 1, 1, &sk, "certificate", &err), &err,
		   GATE_E_PARSE, "certificate");
	assert_null(sk);
	free(der2);
	OPENSSL_free(der);

	/* garbage and empty input */
	const char *junk = "this is not a certificate\n";
	memset(&err, 0, sizeof err);
	expect_err(gate_certs_from_pem((const uint8_t *)junk, strlen(junk), 5, &sk, "certificate",
				       &err),
		   &err, GATE_E_PARSE, "certificate");
	assert_string_equal(err.rule, "S1");
	memset(&err, 0, sizeof err);
	expect_err(gate_certs_from_pem((const uint8_t *)"", 0, 5, &sk, "certificate", &err), &err,
		   GATE_E_PARSE, "certificate");
	const char *badpem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	memset(&err, 0, sizeof err);
	expect_err(gate_certs_from_pem((const uint8_t *)badpem, strlen(badpem), 5, &sk,
				       "certificate", &err),
		   &err, GATE_E_PARSE, "certificate");
	assert_null(sk);

	X509_free(certs[0]);
	X509_free(certs[1]);
}

/* ------------------------------------------------------------------ */
/* validity, regexps, errors                                          */

static void test_validity_contains(void **state)
{
	(void)state;
	struct gate_validity closed = {.start = 100, .end = 200, .has_end = true};
	assert_false(gate_validity_contains(&closed, 99));
	assert_true(gate_validity_contains(&closed, 100)); /* inclusive start */
	assert_true(gate_validity_contains(&closed, 150));
	assert_true(gate_validity_contains(&closed, 200)); /* inclusive end */
	assert_false(gate_validity_contains(&closed, 201));
	struct gate_validity open = {.start = 100, .end = 0, .has_end = false};
	assert_false(gate_validity_contains(&open, 99));
	assert_true(gate_validity_contains(&open, 100));
	assert_true(gate_validity_contains(&open, INT64_MAX));
	struct gate_validity point = {.start = 5, .end = 5, .has_end = true};
	assert_true(gate_validity_contains(&point, 5));
	assert_false(gate_validity_contains(&point, 4));
	assert_false(gate_validity_contains(&point, 6));
}

static void re_is(const char *pattern, const char *value, enum gate_err want)
{
	struct gate_error err = {0};
	enum gate_err rc = gate_regex_full_match(pattern, value, &err);
	if (rc != want)
		print_message("pattern '%s' on '%s': got %d want %d\n", pattern, value, (int)rc,
			      (int)want);
	assert_int_equal(rc, want);
}

static void test_regex_anchoring(void **state)
{
	(void)state;
	const char *wf = "https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main";
	re_is("https://github.com/org/repo/", wf, GATE_E_IDENTITY); /* a prefix only */
	re_is("github.com/org/repo/.github/workflows/x.yml@refs/heads/main", wf,
	      GATE_E_IDENTITY); /* a suffix only */
	re_is("https://github.com/org/repo/.*", wf, GATE_OK);
	re_is("https://github\\.com/org/repo/\\.github/workflows/x\\.yml@refs/heads/main", wf,
	      GATE_OK);
	re_is("a|b", "ab", GATE_E_IDENTITY);
	re_is("a|b", "a", GATE_OK);
	re_is("a|b", "b", GATE_OK);
	re_is(".*@example\\.com", "x@example.com", GATE_OK);
	re_is(".*@example\\.com", "x@example.com.evil", GATE_E_IDENTITY);
	re_is(".*@example\\.com", "x@exampleXcom", GATE_E_IDENTITY);
	re_is("", "", GATE_OK);
	re_is("", "x", GATE_E_IDENTITY);
	/* a whole-value match exists even when a shorter one comes first */
	re_is("a|ab", "ab", GATE_OK);
	re_is("(a|ab)(c|bcd)", "abcd", GATE_OK);
	re_is("x*", "xxx", GATE_OK);
	re_is("(x|xy)z?", "xyz", GATE_OK);
	re_is("^https://x$", "https://x", GATE_OK); /* explicit anchors still work */
	re_is("b", "ab", GATE_E_IDENTITY);	    /* a match not at the start */

	struct gate_error err = {0};
	expect_err(gate_regex_full_match("(", "x", &err), &err, GATE_E_USAGE, NULL);
	assert_non_null(strstr(err.msg, "("));
	memset(&err, 0, sizeof err);
	expect_err(gate_regex_full_match("a{2", "aa", &err), &err, GATE_E_USAGE, NULL);
}

/* A pattern that is not a valid regexp on its own must not become one (and
 * an unanchored one) once wrapped: "p)|(q" wrapped as "^(p)|(q)$" would
 * match any value that merely starts with p. */
static void test_regex_wrapping_cannot_unanchor(void **state)
{
	(void)state;
	const char *wf = "https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main";
	struct gate_error err = {0};
	enum gate_err rc = gate_regex_full_match("https://github.com/org/)|(nothing", wf, &err);
	if (rc == GATE_OK)
		print_message(
			"BUG: 'https://github.com/org/)|(nothing' matched a longer identity\n");
	assert_int_not_equal(rc, GATE_OK);
	rc = gate_regex_full_match("x)|(.*", "anything at all", &err);
	assert_int_not_equal(rc, GATE_OK);
}

static void test_err_str(void **state)
{
	(void)state;
	/* Every code up to the last one known here has its own text; codes
	 * appended later are covered as long as they are contiguous. */
	const char *seen[64];
	int n = 0;
	for (; n < 64; n++) {
		const char *s = gate_err_str((enum gate_err)n);
		assert_non_null(s);
		assert_true(s[0] != '\0');
		if (strcmp(s, "unknown error") == 0)
			break;
		for (int k = 0; k < n; k++)
			assert_string_not_equal(s, seen[k]);
		seen[n] = s;
	}
	assert_true(n > GATE_E_DENIED);
	assert_true(n < 64);
	assert_string_equal(gate_err_str(GATE_OK), "ok");
	assert_non_null(gate_err_str((enum gate_err)999));
	assert_non_null(gate_err_str((enum gate_err) - 1));
	assert_string_not_equal(gate_err_str(GATE_E_SIGNATURE), gate_err_str(GATE_E_DIGEST));
	assert_string_not_equal(gate_err_str(GATE_E_CHECKPOINT), gate_err_str(GATE_E_INCLUSION));

	/* exit 2 versus exit 1 */
	assert_true(gate_err_is_input(GATE_E_USAGE));
	assert_true(gate_err_is_input(GATE_E_IO));
	assert_true(gate_err_is_input(GATE_E_PARSE));
	assert_true(gate_err_is_input(GATE_E_TOO_LARGE));
	assert_false(gate_err_is_input(GATE_OK));
	assert_false(gate_err_is_input(GATE_E_SIGNATURE));
	assert_false(gate_err_is_input(GATE_E_IDENTITY));
	assert_false(gate_err_is_input(GATE_E_TLOG));
	assert_false(gate_err_is_input(GATE_E_DIGEST));
}

static void test_fail_escapes(void **state)
{
	(void)state;
	struct gate_error err = {0};
	assert_int_equal(gate_fail(&err, GATE_E_PARSE, "S1", "f\tx", "bad %s",
				   "value\n\x1b[31mred\x7f\xc3\xa9"),
			 GATE_E_PARSE);
	assert_int_equal(err.code, GATE_E_PARSE);
	assert_string_equal(err.rule, "S1");
	assert_string_equal(err.field, "f?x");
	assert_string_equal(err.msg, "bad value??[31mred???");
	assert_null(strchr(err.msg, '\n'));
	assert_null(strchr(err.msg, '\x1b'));

	/* NULL rule and field become empty strings; NULL err is allowed */
	memset(&err, 'z', sizeof err);
	assert_int_equal(gate_fail(&err, GATE_E_IO, NULL, NULL, "%s", "m"), GATE_E_IO);
	assert_string_equal(err.rule, "");
	assert_string_equal(err.field, "");
	assert_string_equal(err.msg, "m");
	assert_int_equal(gate_fail(NULL, GATE_E_KEY, "S4", "k", "x"), GATE_E_KEY);

	/* overlong text is cut, never overflowed */
	char longmsg[1000];
	memset(longmsg, 'a', sizeof longmsg - 1);
	longmsg[sizeof longmsg - 1] = '\0';
	gate_fail(&err, GATE_E_PARSE, "S1234567890", longmsg, "%s", longmsg);
	assert_int_equal(strlen(err.msg), GATE_ERR_MSG_MAX - 1);
	assert_int_equal(strlen(err.field), sizeof err.field - 1);
	assert_int_equal(strlen(err.rule), sizeof err.rule - 1);
}

/* gate_hash_fd: the same digest as one EVP_Digest over the bytes, on the
 * read-ahead path (>= 8 MiB) and the plain one, for whole files and inner
 * ranges; a range past the end stops at the end; a read error says so. */
static void hash_expect(int fd, const uint8_t *data, uint64_t from, uint64_t to, uint64_t size)
{
	uint8_t want[32], got[32];
	unsigned len = 0;
	uint64_t done = 0, end = to < size ? to : size;
	int e = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(gate_hash_fd(fd, ctx, from, to, &done, &e), GATE_HASH_OK);
	assert_int_equal(EVP_DigestFinal_ex(ctx, got, &len), 1);
	EVP_MD_CTX_free(ctx);
	assert_true(done == (end > from ? end - from : 0));
	gate_sha256(data + from, (size_t)(end > from ? end - from : 0), want);
	assert_memory_equal(got, want, 32);
}

static void test_hash_fd(void **state)
{
	(void)state;
	const size_t big = 20u * 1024 * 1024 + 12345, small = 70000;
	uint8_t *data = malloc(big);
	char path[] = "/tmp/gate-test-hashfd.XXXXXX";
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, big), (ssize_t)big);
	hash_expect(fd, data, 0, UINT64_MAX, big);	      /* read ahead, to the end */
	hash_expect(fd, data, 3, big - 5, big);		      /* read ahead, inner range */
	hash_expect(fd, data, 1u << 20, (9u << 20) + 1, big); /* just over 8 MiB */
	hash_expect(fd, data, 5, 5 + small, big);	      /* plain */
	hash_expect(fd, data, big - 10, big + 100, big);      /* past the end: stops there */
	hash_expect(fd, data, 7, 7, big);		      /* empty */
	/* a file shorter than the range it should have */
	assert_int_equal(ftruncate(fd, (off_t)small), 0);
	hash_expect(fd, data, 0, big, small);
	close(fd);
	/* a read error: a directory */
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	uint64_t done = 0;
	int e = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(gate_hash_fd(dfd, ctx, 0, 100, &done, &e), GATE_HASH_READ);
	assert_int_equal(e, EISDIR);
	EVP_MD_CTX_free(ctx);
	close(dfd);
	free(data);
}

/* gate_hash_fd_cancel: asked before every chunk; the first yes stops it
 * with GATE_HASH_CANCELLED, on both paths; never asked, it hashes all. */
static bool stop_after(void *arg)
{
	unsigned *left = arg;
	return (*left)-- == 0;
}

static void cancel_expect(int fd, uint64_t size, unsigned chunks)
{
	unsigned left = chunks;
	struct gate_cancel c = {.fn = stop_after, .arg = &left};
	uint64_t done = 0;
	int e = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(gate_hash_fd_cancel(fd, ctx, 0, UINT64_MAX, &c, &done, &e),
			 GATE_HASH_CANCELLED);
	assert_true(done < size);
	assert_true(done <= (uint64_t)chunks * 256 * 1024);
	EVP_MD_CTX_free(ctx);
}

static void test_hash_fd_cancel(void **state)
{
	(void)state;
	char path[] = "/tmp/gate-test-hashcancel.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 20 << 20), 0); /* read ahead */
	cancel_expect(fd, 20 << 20, 0);
	cancel_expect(fd, 20 << 20, 3);
	assert_int_equal(ftruncate(fd, 1 << 20), 0); /* plain */
	cancel_expect(fd, 1 << 20, 0);
	cancel_expect(fd, 1 << 20, 2);
	close(fd);
}

/* Every spelling of a path is one path before rules see it. */
static void test_path_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *in, *base, *want;
	} cases[] = {
		{"ord/sub/evil.sh", "/w", "/w/ord/sub/evil.sh"},
		{"./ord/sub/evil.sh", "/w", "/w/ord/sub/evil.sh"},
		{"ord//sub/evil.sh", "/w", "/w/ord/sub/evil.sh"},
		{"ord/./sub/evil.sh", "/w", "/w/ord/sub/evil.sh"},
		{"x/../ord/sub/evil.sh", "/w", "/w/ord/sub/evil.sh"},
		{"/w/ord/sub/evil.sh", "/elsewhere", "/w/ord/sub/evil.sh"},
		{"./sub/evil.sh", "/w/ord", "/w/ord/sub/evil.sh"},
		{"../../../..", "/w/a", "/"},
		{"/..//./a/", NULL, "/a"},
		{"", "/w", "/w"},
		{".", NULL, "."},
		{"", NULL, "."},
		{"a/..", NULL, "."},
		{"./a//b/../c", NULL, "a/c"},
		{"../x", NULL, "../x"},
		{"../../x/..", NULL, "../.."},
		{"a/../../b", NULL, "../b"},
		{"/", NULL, "/"},
		{"//", "/w", "/"},
		{"...", NULL, "..."},
		{"a/.../..", NULL, "a"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = gate_path_normalize(cases[i].in, cases[i].base);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s' under '%s': got '%s', want '%s'", cases[i].in,
				 cases[i].base ? cases[i].base : "(none)", got, cases[i].want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_fd),
		cmocka_unit_test(test_hash_fd_cancel),
		cmocka_unit_test(test_b64_decode_valid),
		cmocka_unit_test(test_b64_decode_rejects),
		cmocka_unit_test(test_b64_encode_roundtrip),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_ct_eq),
		cmocka_unit_test(test_rfc3339_values),
		cmocka_unit_test(test_rfc3339_rejects),
		cmocka_unit_test(test_rfc3339_rejects_impossible_dates),
		cmocka_unit_test(test_rfc3339_flags),
		cmocka_unit_test(test_read_file_errors),
		cmocka_unit_test(test_read_file_dev_zero),
		cmocka_unit_test(test_read_file_fifo),
		cmocka_unit_test(test_certs_from_pem),
		cmocka_unit_test(test_validity_contains),
		cmocka_unit_test(test_regex_anchoring),
		cmocka_unit_test(test_regex_wrapping_cannot_unanchor),
		cmocka_unit_test(test_err_str),
		cmocka_unit_test(test_fail_escapes),
		cmocka_unit_test(test_path_normalize),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
