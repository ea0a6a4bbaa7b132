/* util.c - bytes, text, files and certificates helpers for the core. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

enum gate_err gate_b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen,
			      const char *field, struct gate_error *err)
{
	/* OpenSSL's block decoder is lenient (whitespace, stray padding), so
	 * the exact alphabet and padding are checked here first. */
	if (inlen % 4 != 0 || inlen > INT32_MAX)
		return gate_fail(err, GATE_E_PARSE, "S1", field,
				 "base64 length %zu is not a multiple of 4", inlen);
	size_t pad = 0;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=' && i + 2 >= inlen && (i + 1 == inlen || in[i + 1] == '=')) {
			pad++;
			continue;
		}
		if (!b64_char(c) || pad)
			return gate_fail(err, GATE_E_PARSE, "S1", field,
					 "invalid base64 character at offset %zu", i);
	}
	uint8_t *buf = malloc(inlen / 4 * 3 + 1);
	if (!buf)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	int n = inlen ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)inlen) : 0;
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return gate_fail(err, GATE_E_PARSE, "S1", field, "invalid base64");
	}
	*outlen = (size_t)n - pad;
	buf[*outlen] = 0;
	*out = buf;
	return GATE_OK;
}

char *gate_b64_encode(const uint8_t *in, size_t len)
{
	if (len > INT32_MAX / 2)
		return NULL;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

void gate_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool gate_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen != 2 * outlen)
		return false;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

bool gate_ct_eq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), without time_t. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "Z", "+00:00" or (GATE_RFC3339_OFFSET) any "+hh:mm"/"-hh:mm": the offset
 * in seconds east of UTC. */
static bool rfc3339_offset(const char *p, unsigned flags, int64_t *off)
{
	int oh, om;
	*off = 0;
	if (strcmp(p, "Z") == 0 || (strcmp(p, "z") == 0 && !(flags & GATE_RFC3339_UPPER)))
		return true;
	if ((p[0] != '+' && p[0] != '-') || strlen(p) != 6 || !digits(p + 1, 2, &oh) ||
	    p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
		return false;
	/* "-00:00" means "offset unknown" (RFC 3339 4.3): not UTC. */
	if (!(flags & GATE_RFC3339_OFFSET) && (p[0] == '-' || oh || om))
		return false;
	*off = (p[0] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
	return true;
}

bool gate_rfc3339_parse(const char *s, unsigned flags, int64_t *out)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec;
	bool upper = flags & GATE_RFC3339_UPPER, fraction = false;
	int64_t off;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && (upper || s[10] != 't')) ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	/* 31 February does not exist, nor does a leap second (:60) in unix
	 * time. */
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap_year(y)) || h > 23 ||
	    mi > 59 || sec > 59)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return false;
		for (p++; *p >= '0' && *p <= '9'; p++)
			fraction |= *p != '0';
	}
	if (!rfc3339_offset(p, flags, &off))
		return false;
	/* Local time = UTC + offset. */
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*out = t + (fraction && (flags & GATE_RFC3339_CEIL) ? 1 : 0);
	return true;
}

bool gate_parse_rfc3339(const char *s, int64_t *out)
{
	return gate_rfc3339_parse(s, 0, out);
}

bool gate_asn1_time_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

static enum gate_err read_file(const char *path, size_t cap, bool regular, uint8_t **out,
			       size_t *len, struct gate_error *err)
{
	/* O_NONBLOCK: a FIFO planted where a file is expected must not make
	 * the open wait for a writer (forever). A stream the user named
	 * (gate_read_stream) is opened and read as any reader of a pipe
	 * would: waiting for its writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular ? O_NONBLOCK : 0));
	if (fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, path, "cannot open: %s", strerror(errno));
	enum gate_err rc = GATE_E_IO;
	uint8_t *buf = NULL;
	size_t n = 0, alloc = 0;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = gate_fail(err, GATE_E_IO, NULL, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = gate_fail(err, GATE_E_IO, NULL, path, "is a directory");
		goto out;
	}
	if (regular && !S_ISREG(st.st_mode)) {
		rc = gate_fail(err, GATE_E_IO, NULL, path, "not a regular file");
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > cap) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, path,
			       "file is %lld bytes, over the %zu-byte limit", (long long)st.st_size,
			       cap);
		goto out;
	}
	/* Read until EOF even for non-regular files, never past cap. */
	for (;;) {
		if (n == alloc) {
			if (alloc > cap) {
				rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, path,
					       "over the %zu-byte limit", cap);
				goto out;
			}
			size_t want = alloc ? alloc * 2 : 8192;
			if (want > cap + 1)
				want = cap + 1;
			uint8_t *nb = realloc(buf, want + 1);
			if (!nb) {
				rc = gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
				goto out;
			}
			buf = nb;
			alloc = want;
		}
		ssize_t r = read(fd, buf + n, alloc - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = gate_fail(err, GATE_E_IO, NULL, path, "read failed: %s",
				       strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > cap) {
			rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, path, "over the %zu-byte limit",
				       cap);
			goto out;
		}
	}
	if (!buf && !(buf = malloc(1))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
		goto out;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = GATE_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

enum gate_err gate_read_file(const char *path, size_t cap, uint8_t **out, size_t *len,
			     struct gate_error *err)
{
	return read_file(path, cap, true, out, len, err);
}

enum gate_err gate_read_stream(const char *path, size_t cap, uint8_t **out, size_t *len,
			       struct gate_error *err)
{
	return read_file(path, cap, false, out, len, err);
}

int gate_open_regular(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, mode);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -2;
	}
	return fd;
}

/* The failing step of an atomic replacement, with the target as both the
 * field and the file (field alone is too short for long paths). */
static enum gate_err atomic_fail(struct gate_error *err, const char *path, const char *step, int e)
{
	gate_fail(err, GATE_E_IO, NULL, path, "%s: %s", step, strerror(e));
	if (err) {
		size_t j = 0;
		for (const char *c = path; *c && j + 1 < sizeof err->file; c++)
			err->file[j++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
		err->file[j] = '\0';
	}
	return GATE_E_IO;
}

/* dir/tmpl with the six 'X' still in place; tmpl alone without a dir. */
static char *atomic_tmp_name(const char *path, const char *tmpl)
{
	const char *slash = strrchr(path, '/');
	char *out = NULL;
	if (!slash)
		return strdup(tmpl);
	if (asprintf(&out, "%.*s/%s", (int)(slash - path), path, tmpl) < 0)
		return NULL;
	return out;
}

static int atomic_create(char *name, char *x, mode_t mode)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return -1;
		for (size_t i = 0; i < sizeof r; i++)
			x[i] = chars[r[i] % (sizeof chars - 1)];
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

enum gate_err gate_atomic_open(struct gate_atomic *a, const char *path, const char *tmpl,
			       mode_t mode, unsigned flags, struct gate_error *err)
{
	*a = (struct gate_atomic){.fd = -1, .path = path, .flags = flags};
	if (!tmpl)
		tmpl = ".gate-tmp.XXXXXX";
	if (!strstr(tmpl, "XXXXXX") || strchr(tmpl, '/'))
		return gate_fail(err, GATE_E_USAGE, NULL, path,
				 "temporary name \"%s\" is not a base name with XXXXXX", tmpl);
	if (!(a->tmp = atomic_tmp_name(path, tmpl)))
		return gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
	char *x = strstr(a->tmp + strlen(a->tmp) - strlen(tmpl), "XXXXXX");
	a->fd = atomic_create(a->tmp, x, mode);
	if (a->fd < 0) {
		int e = errno;
		gate_atomic_discard(a);
		return atomic_fail(err, path, "cannot create a temporary file beside it", e);
	}
	if (!(flags & GATE_ATOMIC_UMASK) && fchmod(a->fd, mode) != 0) {
		int e = errno;
		gate_atomic_discard(a);
		return atomic_fail(err, path, "cannot set the temporary file's mode", e);
	}
	return GATE_OK;
}

enum gate_err gate_atomic_write(struct gate_atomic *a, const void *data, size_t len,
				struct gate_error *err)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t w = a->fd >= 0 ? write(a->fd, p, len) : (errno = EBADF, -1);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			gate_atomic_discard(a);
			return atomic_fail(err, a->path, "cannot write the temporary file", e);
		}
		p += w;
		len -= (size_t)w;
	}
	return GATE_OK;
}

enum gate_err gate_atomic_sync(struct gate_atomic *a, struct gate_error *err)
{
	if (!a->tmp) /* discarded after an earlier failure */
		return atomic_fail(err, a->path, "nothing to commit", EBADF);
	if (a->fd < 0)
		return GATE_OK;
	const char *step = NULL;
	int e = 0;
	if (fsync(a->fd) != 0) {
		step = "cannot fsync the temporary file";
		e = errno;
	}
	/* close() can report a delayed write error (NFS). */
	if (close(a->fd) != 0 && !step) {
		step = "cannot close the temporary file";
		e = errno;
	}
	a->fd = -1;
	if (step) {
		gate_atomic_discard(a);
		return atomic_fail(err, a->path, step, e);
	}
	return GATE_OK;
}

/* A rename is durable only once its directory is synced. */
static int atomic_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	/* "/x": the root, kept as "/" */
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
	free(dir);
	if (fd < 0)
		return errno;
	if (fsync(fd) != 0 && errno != EINVAL)
		e = errno;
	close(fd);
	return e;
}

enum gate_err gate_atomic_commit(struct gate_atomic *a, struct gate_error *err)
{
	enum gate_err rc = gate_atomic_sync(a, err);
	if (rc != GATE_OK)
		return rc;
	if (rename(a->tmp, a->path) != 0) {
		int e = errno;
		gate_atomic_discard(a);
		return atomic_fail(err, a->path, "cannot rename the temporary file over it", e);
	}
	free(a->tmp);
	a->tmp = NULL;
	int e = (a->flags & GATE_ATOMIC_VOLATILE) ? 0 : atomic_sync_dir(a->path);
	if (e)
		return atomic_fail(err, a->path, "replaced, but cannot fsync its directory", e);
	return GATE_OK;
}

void gate_atomic_discard(struct gate_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp)
		(void)unlink(a->tmp);
	free(a->tmp);
	a->tmp = NULL;
}

enum gate_err gate_atomic_write_file(const char *path, const char *tmpl, const void *data,
				     size_t len, mode_t mode, unsigned flags,
				     struct gate_error *err)
{
	struct gate_atomic a;
	enum gate_err rc = gate_atomic_open(&a, path, tmpl, mode, flags, err);
	if (rc == GATE_OK)
		rc = gate_atomic_write(&a, data, len, err);
	if (rc == GATE_OK)
		rc = gate_atomic_commit(&a, err);
	gate_atomic_discard(&a);
	return rc;
}

void gate_sha256(const void *data, size_t len, uint8_t out[32])
{
	SHA256(data, len, out);
}

void gate_ssl_detail(char *buf, size_t n)
{
	const char *data = NULL;
	int flags = 0;
	unsigned long e = ERR_peek_last_error_data(&data, &flags);
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	bool text = data && (flags & ERR_TXT_STRING) && *data;
	snprintf(buf, n, "%s%s%s", reason ? reason : "no detail", text ? ": " : "",
		 text ? data : "");
	ERR_clear_error();
}

void gate_format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

int gate_x509_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (ok || X509_STORE_CTX_get_error(ctx) != X509_V_ERR_CERT_HAS_EXPIRED)
		return ok;
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
	X509 *x = X509_STORE_CTX_get_current_cert(ctx);
	int64_t na;
	if (!p || !x || !(X509_VERIFY_PARAM_get_flags(p) & X509_V_FLAG_USE_CHECK_TIME) ||
	    !gate_asn1_time_to_unix(X509_get0_notAfter(x), &na) ||
	    na != (int64_t)X509_VERIFY_PARAM_get_time(p))
		return 0;
	X509_STORE_CTX_set_error(ctx, X509_V_OK);
	return 1;
}

X509 *gate_x509_from_der(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	if (len > LONG_MAX)
		return NULL;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x && p != der + len) { /* trailing bytes: not one certificate */
		X509_free(x);
		x = NULL;
	}
	/* A failed decode leaves errors queued; a later gate_fail_ssl() would
	 * report them as its own reason. */
	if (!x)
		ERR_clear_error();
	return x;
}

static const uint8_t *find_bytes(const uint8_t *h, size_t hl, const char *needle)
{
	return memmem(h, hl, needle, strlen(needle));
}

bool gate_pem_decode(const uint8_t *pem, size_t len, const char *label, uint8_t **der, size_t *dlen)
{
	char begin[64], end[64];
	snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
	snprintf(end, sizeof end, "-----END %s-----", label);
	const uint8_t *b = find_bytes(pem, len, begin);
	if (!b || len > INT32_MAX)
		return false;
	const uint8_t *body = b + strlen(begin);
	const uint8_t *e = find_bytes(body, len - (size_t)(body - pem), end);
	if (!e)
		return false;
	/* Only whitespace may surround the one block. */
	for (const uint8_t *p = pem; p < b; p++)
		if (!isspace(*p))
			return false;
	for (const uint8_t *p = e + strlen(end); p < pem + len; p++)
		if (!isspace(*p))
			return false;
	/* EVP_Decode* skips the line breaks of PEM bodies. */
	size_t bl = (size_t)(e - body);
	uint8_t *out = malloc(bl / 4 * 3 + 4);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n1 = 0, n2 = 0;
	bool ok = out && ctx;
	if (ok) {
		EVP_DecodeInit(ctx);
		ok = EVP_DecodeUpdate(ctx, out, &n1, body, (int)bl) >= 0 &&
		     EVP_DecodeFinal(ctx, out + n1, &n2) == 1 && n1 + n2 > 0;
	}
	EVP_ENCODE_CTX_free(ctx);
	if (!ok) {
		free(out);
		return false;
	}
	*der = out;
	*dlen = (size_t)(n1 + n2);
	return true;
}

enum gate_err gate_certs_from_pem(const uint8_t *buf, size_t len, size_t max, STACK_OF(X509) **out,
				  const char *field, struct gate_error *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = NULL;
	enum gate_err rc = GATE_E_PARSE;
	if (!sk || len > INT32_MAX) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	if (len > 0 && buf[0] == 0x30) { /* a single DER certificate */
		X509 *x = gate_x509_from_der(buf, len);
		if (!x || !sk_X509_push(sk, x)) {
			X509_free(x);
			rc = gate_fail(err, GATE_E_PARSE, "S1", field, "not a DER certificate");
			goto out;
		}
	} else {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (!bio)
			goto out;
		X509 *x;
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			if ((size_t)sk_X509_num(sk) >= max || !sk_X509_push(sk, x)) {
				X509_free(x);
				rc = gate_fail(err, GATE_E_TOO_LARGE, "S1", field,
					       "more than %zu certificates", max);
				goto out;
			}
		}
		ERR_clear_error();
		if (sk_X509_num(sk) == 0) {
			rc = gate_fail(err, GATE_E_PARSE, "S1", field, "no PEM certificate found");
			goto out;
		}
	}
	*out = sk;
	sk = NULL;
	rc = GATE_OK;
out:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int gate_mkdirs(const char *path, size_t len, mode_t mode)
{
	char *p = strndup(path, len);
	int rc = 0;
	if (!p)
		return -1;
	for (char *s = p + 1; *s && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		rc = mkdir(p, mode) != 0 && errno != EEXIST ? -1 : 0;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, mode) != 0 && errno != EEXIST)
		rc = -1;
	int saved = errno;
	free(p);
	errno = saved;
	return rc;
}

char *gate_path_join(const char *a, const char *b)
{
	char *p = NULL;
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

char *gate_path_normalize(const char *path, const char *base)
{
	bool rel = path[0] != '/' && base;
	size_t cap = strlen(path) + (rel ? strlen(base) + 1 : 0) + 2;
	char *in = malloc(cap), *out = malloc(cap);
	size_t o = 0, up = 0; /* up: leading ".." kept in a relative result */
	if (!in || !out)
		goto fail;
	snprintf(in, cap, "%s%s%s", rel ? base : "", rel ? "/" : "", path);
	bool abs = in[0] == '/';
	if (abs)
		out[o++] = '/';
	for (char *seg = in, *next; seg; seg = next) {
		next = strchr(seg, '/');
		size_t n = next ? (size_t)(next - seg) : strlen(seg);
		next = next ? next + 1 : NULL;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o > (abs ? 1 : up * 3)) { /* drop the last segment */
				while (o > (abs ? 1 : 0) && out[o - 1] != '/')
					o--;
				if (o > (abs ? 1 : 0))
					o--; /* its separator */
				continue;
			}
			if (abs)
				continue; /* "/.." is "/" */
			if (o)
				out[o++] = '/';
			memcpy(out + o, "..", 2);
			o += 2;
			up++;
			continue;
		}
		if (o && out[o - 1] != '/')
			out[o++] = '/';
		memcpy(out + o, seg, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	free(in);
	return out;
fail:
	free(in);
	free(out);
	return NULL;
}

bool gate_env_lock(const char *const *keep)
{
	enum { KEEP_MAX = 8 };
	char *saved[KEEP_MAX] = {0};
	size_t n = 0;
	bool ok = true;
	for (; keep && keep[n] && n < KEEP_MAX; n++) {
		const char *v = getenv(keep[n]);
		if (v && !(saved[n] = strdup(v)))
			ok = false;
	}
	clearenv();
	if (setenv("PATH", GATE_SAFE_PATH, 1) != 0)
		ok = false;
	for (size_t i = 0; i < n; i++) {
		if (saved[i] && setenv(keep[i], saved[i], 1) != 0)
			ok = false;
		free(saved[i]);
	}
	return ok;
}
