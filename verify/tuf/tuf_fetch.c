/* tuf_fetch.c - bounded downloads for the TUF client (spec/TUF.md §4-§5:
 * endless data, slow retrieval). Every transfer has a hard byte cap that is
 * enforced while bytes arrive: the transfer is aborted the moment it would
 * cross the cap, nothing past it is ever buffered. */
#include "tuf.h"

#include "gate_util.h"
#include "lazy_curl.h"
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t gate_tuf_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum gate_err gate_tuf_set_aside(const char *path, const char *into, char *aside, size_t cap,
				 struct gate_error *err)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	const char *dir = into ? into : path;
	int keep = into ? (int)strlen(into) : dirlen;
	char *dst = NULL;
	int rc = -1;
	for (int i = 0; i < 100 && rc != 0; i++) {
		free(dst);
		dst = NULL;
		if (asprintf(&dst, "%.*s%s.damaged.%s.%lld.%d", keep, dir,
			     into && keep && into[keep - 1] != '/' ? "/" : "", path + dirlen,
			     (long long)time(NULL), i) < 0)
			return gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
		struct stat st;
		if (lstat(dst, &st) == 0)
			continue; /* never replace an earlier one */
		rc = rename(path, dst);
		if (rc != 0 && errno != EEXIST && errno != ENOTEMPTY)
			break;
	}
	if (rc != 0) {
		int e = errno;
		free(dst);
		return gate_fail(err, GATE_E_IO, NULL, path,
				 "cannot set the damaged entry aside: %s", strerror(e));
	}
	if (aside)
		snprintf(aside, cap, "%s", dst);
	free(dst);
	return GATE_OK;
}

struct xfer {
	gate_tuf_sink sink;
	void *ctx;
	uint64_t cap, got;
	bool too_large, aborted;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	/* Returning anything but n makes libcurl abort with a write error. */
	if (n > x->cap - x->got) {
		x->too_large = true;
		return 0;
	}
	x->got += n;
	if (n && !x->sink(x->ctx, (const uint8_t *)p, n)) {
		x->aborted = true;
		return 0;
	}
	return n;
}

/* The scheme of url if we fetch it ("http", "https", "file"), else NULL. */
static const char *url_scheme(const char *url)
{
	static const char *const schemes[] = {"https", "http", "file"};
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i]);
		if (strncasecmp(url, schemes[i], n) == 0 && strncmp(url + n, "://", 3) == 0)
			return schemes[i];
	}
	return NULL;
}

bool gate_tuf_status_missing(long status)
{
	return status == 403 || status == 404;
}

/* What this transfer may take: total_timeout, and never past the update's
 * deadline. 0 = no limit (libcurl's meaning). */
static long timeout_ms(const struct gate_tuf_fetch_opts *o)
{
	int64_t t = o->total_timeout > 0 ? (int64_t)o->total_timeout * 1000 : 0;
	if (o->deadline_ms) {
		int64_t left = o->deadline_ms - gate_tuf_mono_ms();
		if (left < 1)
			left = 1;
		if (!t || left < t)
			t = left;
	}
	return t > LONG_MAX ? LONG_MAX : (long)t;
}

static bool past_deadline(const struct gate_tuf_fetch_opts *o)
{
	return o->deadline_ms && gate_tuf_mono_ms() >= o->deadline_ms;
}

/* libcurl's timer may fire a few milliseconds before the deadline it was
 * given: a transfer timed out at (about) the deadline ran out of time. */
static bool at_deadline(const struct gate_tuf_fetch_opts *o)
{
	return o->deadline_ms && gate_tuf_mono_ms() >= o->deadline_ms - 250;
}

static bool setup(CURL *c, const char *url, const char *scheme, uint64_t cap,
		  const struct gate_tuf_fetch_opts *o, struct xfer *x, char *errbuf)
{
	bool ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file") == CURLE_OK &&
		  /* Redirects only to the same scheme: an https repository
		   * never becomes plain http or a local file. */
		  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, scheme) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEDATA, x) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_USERAGENT, "gate-tuf/1") == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->low_speed_time) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms(o)) == CURLE_OK;
	/* A declared Content-Length over the cap fails before any byte. */
	if (ok && cap <= (uint64_t)INT64_MAX)
		ok = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap) == CURLE_OK;
	return ok;
}

static enum gate_err deadline_fail(const struct gate_tuf_fetch_opts *o, const char *url,
				   struct gate_error *err)
{
	return gate_fail(err, GATE_E_IO, NULL, url, "ran out of time: %ld s for the whole %s",
			 o->deadline_s,
			 o->deadline_of ? o->deadline_of : "update (GATE_TUF_TIMEOUT)");
}

static int unhex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* file:// is read here, not by libcurl: libcurl opens the path blocking,
 * so a FIFO in a local repository would hang the update past every
 * timeout. Only regular files, opened O_NONBLOCK; "file://localhost/p"
 * and "file:///p". */
static enum gate_err fetch_file(const char *rest, struct xfer *x, long *status,
				struct gate_error *err)
{
	enum gate_err rc = GATE_OK;
	size_t n = strlen(rest), j = 0;
	char *path = malloc(n + 1);
	uint8_t buf[65536];
	if (!path)
		return gate_fail(err, GATE_E_NOMEM, NULL, rest, "out of memory");
	if (strncasecmp(rest, "localhost/", 10) == 0)
		rest += 9;
	for (size_t i = 0; rest[i]; i++) {
		int h, l;
		if (rest[i] == '%' && (h = unhex(rest[i + 1])) >= 0 &&
		    (l = unhex(rest[i + 2])) >= 0 && (h || l)) {
			path[j++] = (char)(h * 16 + l);
			i += 2;
		} else if (rest[i] == '?' || rest[i] == '#') {
			break;
		} else {
			path[j++] = rest[i];
		}
	}
	path[j] = '\0';
	int fd = path[0] == '/' ? gate_open_regular(path, O_RDONLY, 0) : -1;
	if (fd < 0) {
		if (fd == -1 && (errno == ENOENT || errno == ENOTDIR) && status)
			*status = 404;
		const char *why = path[0] != '/' ? "not an absolute file URL"
				  : fd == -2	 ? "not a regular file"
						 : strerror(errno);
		rc = gate_fail(err, GATE_E_IO, NULL, path, "%s", why);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = gate_fail(err, GATE_E_IO, NULL, path, "read failed: %s",
				       strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (on_data((char *)buf, 1, (size_t)r, x) != (size_t)r) {
			rc = x->too_large ? gate_fail(err, GATE_E_TOO_LARGE, NULL, path,
						      "more than the %llu bytes allowed",
						      (unsigned long long)x->cap)
					  : gate_fail(err, GATE_E_IO, NULL, path,
						      "could not store the download");
			break;
		}
	}
	close(fd);
out:
	free(path);
	return rc;
}

enum gate_err gate_tuf_fetch(const char *url, uint64_t cap, const struct gate_tuf_fetch_opts *o,
			     gate_tuf_sink sink, void *ctx, long *status, struct gate_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct xfer x = {.sink = sink, .ctx = ctx, .cap = cap};
	const char *scheme = url_scheme(url);
	long code = 0;
	if (status)
		*status = 0;
	if (!scheme)
		return gate_fail(err, GATE_E_USAGE, "T25", url, "only http, https and file URLs");
	if (past_deadline(o))
		return deadline_fail(o, url, err);
	if (o->file_regular && strcmp(scheme, "file") == 0)
		return fetch_file(url + strlen("file://"), &x, status, err);
	CURL *c = curl_easy_init();
	if (!c)
		return gate_fail(err, GATE_E_NOMEM, NULL, url, "cannot start a transfer");
	if (!setup(c, url, scheme, cap, o, &x, errbuf)) {
		curl_easy_cleanup(c);
		return gate_fail(err, GATE_E_INTERNAL, NULL, url, "libcurl refused an option");
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (cc == CURLE_FILE_COULDNT_READ_FILE)
		code = 404;
	if (status)
		*status = code;
	if (x.too_large || cc == CURLE_FILESIZE_EXCEEDED)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, url,
				 "more than the %llu bytes allowed", (unsigned long long)cap);
	if (x.aborted)
		return gate_fail(err, GATE_E_IO, NULL, url, "could not store the download");
	if (cc == CURLE_HTTP_RETURNED_ERROR || (cc == CURLE_OK && code >= 300))
		return gate_fail(err, GATE_E_IO, NULL, url, "HTTP status %ld", code);
	if (cc == CURLE_FILE_COULDNT_READ_FILE)
		return gate_fail(err, GATE_E_IO, NULL, url, "no such file");
	if (cc == CURLE_OPERATION_TIMEDOUT && at_deadline(o))
		return deadline_fail(o, url, err);
	if (cc != CURLE_OK)
		return gate_fail(err, GATE_E_IO, NULL, url, "%s%s%s", curl_easy_strerror(cc),
				 errbuf[0] ? ": " : "", errbuf);
	return GATE_OK;
}

struct membuf {
	uint8_t *p;
	size_t n, alloc;
};

static bool mem_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct membuf *m = ctx;
	/* n is at most the cap left (on_data checked), so no overflow. */
	if (n + 1 > m->alloc - m->n) {
		size_t na = m->alloc ? m->alloc : 4096;
		while (na - m->n < n + 1)
			na *= 2;
		uint8_t *np = realloc(m->p, na);
		if (!np)
			return false;
		m->p = np;
		m->alloc = na;
	}
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return true;
}

enum gate_err gate_tuf_fetch_buf(const char *url, size_t cap, const struct gate_tuf_fetch_opts *o,
				 uint8_t **out, size_t *len, long *status, struct gate_error *err)
{
	struct membuf m = {0};
	if (cap > SIZE_MAX / 4)
		cap = SIZE_MAX / 4;
	enum gate_err rc = gate_tuf_fetch(url, cap, o, mem_sink, &m, status, err);
	if (rc == GATE_OK && !m.p && !(m.p = malloc(1)))
		rc = gate_fail(err, GATE_E_NOMEM, NULL, url, "out of memory");
	if (rc != GATE_OK) {
		free(m.p);
		return rc;
	}
	m.p[m.n] = 0;
	*out = m.p;
	*len = m.n;
	return GATE_OK;
}
