/* tuf_fetch.c - bounded downloads for the TUF client (spec/TUF.md §4-§5:
 * endless data, slow retrieval). Every transfer has a hard byte cap that is
 * enforced while bytes arrive: the transfer is aborted the moment it would
 * cross the cap, nothing past it is ever buffered. */
#include "tuf.h"

#include "lazy_curl.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
		  curl_easy_setopt(c, CURLOPT_TIMEOUT, o->total_timeout) == CURLE_OK;
	/* A declared Content-Length over the cap fails before any byte. */
	if (ok && cap <= (uint64_t)INT64_MAX)
		ok = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap) == CURLE_OK;
	return ok;
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
