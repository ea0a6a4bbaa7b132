/* evidence_url.c - evidence stores reached by URL (an evidence.dirs entry
 * "https://..." or "file://...").
 *
 * Layout: one Sigstore bundle per artifact digest at
 *     URL/sha256/<hex digest>.sigstore.json
 * (a static web server or a mounted directory serves it). Threshold rules
 * that need several signers list several stores, one per signer.
 *
 * A fetched bundle is written atomically into a cache and the cached file
 * becomes an ordinary bundle item: it is verified exactly like a sidecar,
 * so the cache (and the server) are trusted for availability only. The
 * cache directory is $GATE_CACHE_DIR, else /var/cache/gate for root, else
 * $XDG_CACHE_HOME/gate or ~/.cache/gate; below it evidence/<first 32 hex
 * digits of SHA-256(URL)>/<hex digest>.sigstore.json. A cached copy younger
 * than GATE_EVIDENCE_URL_TTL seconds is used without the network; an older
 * one is refreshed, and still used when the server cannot be reached.
 *
 * Missing (HTTP 403/404, no such file) is "no evidence from this store",
 * and drops a cached copy. Any other failure - network, size cap, another
 * scheme - is a GATE_EV_FAILED item that says why, so the decision names
 * the store instead of reporting a bare "no signature found". */
#include "gate_int.h"
#include "tuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GATE_EVIDENCE_URL_MAX (16u * 1024 * 1024) /* one fetched bundle */
#define GATE_EVIDENCE_URL_TTL 3600		  /* seconds a cached copy is fresh */
#define GATE_EVIDENCE_URL_CONNECT 10		  /* connect timeout, seconds */
#define GATE_EVIDENCE_URL_TOTAL 60		  /* whole transfer, seconds */
#define GATE_EVIDENCE_URL_MAX_LEN 2048		  /* store URL */

bool gate_evidence_is_url(const char *dir)
{
	const char *s = strstr(dir, "://");
	if (!s || s == dir)
		return false;
	for (const char *p = dir; p < s; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (p > dir && ((*p >= '0' && *p <= '9') || strchr("+-.", *p)))))
			return false;
	return true;
}

static bool scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return strncasecmp(url, scheme, n) == 0 && strncmp(url + n, "://", 3) == 0;
}

static enum gate_err add(struct gate_evidence_list *l, enum gate_evidence_kind kind,
			 const char *file, const char *why)
{
	if (l->n >= GATE_MAX_EVIDENCE) {
		l->truncated = true;
		return GATE_OK;
	}
	struct gate_evidence_item *it = &l->items[l->n];
	it->kind = kind;
	it->file = strdup(file);
	it->cert = why ? strdup(why) : NULL;
	if (!it->file || (why && !it->cert)) {
		free(it->file);
		free(it->cert);
		it->file = it->cert = NULL;
		return GATE_E_NOMEM;
	}
	l->n++;
	return GATE_OK;
}

/* ---- the cache ---- */

/* The cache directory for one store (its URL without trailing slashes),
 * created 0700. Malloc'd; NULL with *why set when there is none. */
static char *cache_dir_for(const char *store, const char **why)
{
	const char *base = getenv("GATE_CACHE_DIR"), *home;
	char *root = NULL, *dir = NULL, id[65];
	uint8_t h[32];
	if (base && base[0] == '/')
		root = strdup(base);
	else if (geteuid() == 0)
		root = strdup("/var/cache/gate");
	else if ((base = getenv("XDG_CACHE_HOME")) && base[0] == '/') {
		if (asprintf(&root, "%s/gate", base) < 0)
			root = NULL;
	} else if ((home = getenv("HOME")) && home[0] == '/') {
		if (asprintf(&root, "%s/.cache/gate", home) < 0)
			root = NULL;
	} else {
		*why = "no cache directory (set GATE_CACHE_DIR; --cache-dir for the hook and gated)";
		return NULL;
	}
	gate_sha256(store, strlen(store), h);
	gate_hex_encode(h, 16, id);
	if (!root || asprintf(&dir, "%s/evidence/%s", root, id) < 0)
		dir = NULL;
	free(root);
	if (!dir)
		*why = "out of memory";
	else if (gate_mkdirs(dir, strlen(dir), 0700) != 0) {
		*why = "cannot create the cache directory";
		free(dir);
		dir = NULL;
	}
	return dir;
}

static bool fresh(const char *path, bool *exists)
{
	struct stat st;
	*exists = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
	return *exists && time(NULL) - st.st_mtime < GATE_EVIDENCE_URL_TTL &&
	       st.st_mtime <= time(NULL) + 60;
}

static bool atomic_sink(void *ctx, const uint8_t *p, size_t n)
{
	return gate_atomic_write(ctx, p, n, NULL) == GATE_OK;
}

/* GET url into dst atomically (gate_atomic): a reader never sees half a
 * bundle. */
static enum gate_err fetch_to(const struct gate_ctx *c, const char *url, const char *dst,
			      long *status, struct gate_error *err)
{
	struct gate_tuf_fetch_opts o = {.connect_timeout = GATE_EVIDENCE_URL_CONNECT,
					.low_speed_limit = 1024,
					.low_speed_time = 15,
					.total_timeout = GATE_EVIDENCE_URL_TOTAL,
					.deadline_ms = c->fetch_deadline_ms,
					.deadline_s = c->fetch_budget_s,
					.deadline_of = "transaction's evidence fetches"};
	struct gate_atomic a;
	enum gate_err rc = gate_atomic_open(&a, dst, NULL, 0600, 0, err);
	if (rc == GATE_OK)
		rc = gate_tuf_fetch(url, GATE_EVIDENCE_URL_MAX, &o, atomic_sink, &a, status, err);
	if (rc == GATE_OK)
		rc = gate_atomic_commit(&a, err);
	gate_atomic_discard(&a);
	return rc;
}

static enum gate_err add_fetched(const struct gate_ctx *c, struct gate_evidence_list *l,
				 const char *url, const char *dir, const char *hex)
{
	char *cached = NULL, why[GATE_ERR_MSG_MAX + 32];
	struct gate_error e = {0};
	bool exists;
	long status = 0;
	enum gate_err rc = GATE_OK;
	if (asprintf(&cached, "%s/%s.sigstore.json", dir, hex) < 0)
		return GATE_E_NOMEM;
	if (fresh(cached, &exists)) {
		rc = add(l, GATE_EV_BUNDLE, cached, NULL);
	} else if (fetch_to(c, url, cached, &status, &e) == GATE_OK) {
		rc = add(l, GATE_EV_BUNDLE, cached, NULL);
	} else if (gate_tuf_status_missing(status)) {
		if (exists)
			unlink(cached); /* withdrawn from the store */
	} else if (exists) {
		rc = add(l, GATE_EV_BUNDLE, cached, NULL); /* offline: the older copy */
	} else {
		snprintf(why, sizeof why, "cannot fetch: %s", e.msg);
		rc = add(l, GATE_EV_FAILED, url, why);
	}
	free(cached);
	return rc;
}

enum gate_err gate_evidence_add_url(const struct gate_ctx *c, struct gate_evidence_list *l,
				    const char *store, const char *hex)
{
	char *url = NULL;
	const char *why = NULL;
	size_t n = strlen(store);
	enum gate_err rc;
	while (n > 0 && store[n - 1] == '/')
		n--;
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return GATE_E_INTERNAL; /* our own digest: never happens */
	if (n > GATE_EVIDENCE_URL_MAX_LEN)
		return add(l, GATE_EV_FAILED, "evidence store URL", "the URL is too long");
	if (asprintf(&url, "%.*s/sha256/%s.sigstore.json", (int)n, store, hex) < 0)
		return GATE_E_NOMEM;
	if (!scheme_is(store, "https") && !scheme_is(store, "file")) {
		rc = add(l, GATE_EV_FAILED, url,
			 "evidence stores are fetched over https:// or file:// only");
		free(url);
		return rc;
	}
	char *base = strndup(store, n);
	char *dir = base ? cache_dir_for(base, &why) : NULL;
	if (!base)
		why = "out of memory";
	free(base);
	rc = dir ? add_fetched(c, l, url, dir, hex) : add(l, GATE_EV_FAILED, url, why);
	free(dir);
	free(url);
	return rc;
}
