/* tuf_download.c - TUF target files (spec/TUF.md §4, T25): the copy in a
 * target directory when its length and hashes match, else a download of
 * at most the signed length, checked against the exact length and every
 * listed hash before it takes its name (written atomically). */
#include "tuf_client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- target files (T25) ---- */

struct hasher {
	EVP_MD_CTX *ctx[GATE_TUF_MAX_HASHES];
	size_t n;
};

static void hasher_free(struct hasher *h)
{
	for (size_t i = 0; i < h->n; i++)
		EVP_MD_CTX_free(h->ctx[i]);
	h->n = 0;
}

/* Every listed algorithm must be one we know (T25). */
static enum gate_err hasher_init(struct hasher *h, const struct gate_tuf_target *t,
				 struct gate_error *err)
{
	h->n = 0;
	if (t->nhashes == 0 || t->nhashes > GATE_TUF_MAX_HASHES)
		return gate_fail(err, GATE_E_DIGEST, "T25", t->path, "no usable hashes");
	for (size_t i = 0; i < t->nhashes; i++) {
		const EVP_MD *md = gate_tuf_hash_md(t->hashes[i].alg);
		if (!md) {
			hasher_free(h);
			return gate_fail(err, GATE_E_DIGEST, "T25", t->path,
					 "unsupported hash algorithm \"%.32s\"", t->hashes[i].alg);
		}
		if (!(h->ctx[h->n] = EVP_MD_CTX_new()) ||
		    !EVP_DigestInit_ex(h->ctx[h->n], md, NULL)) {
			EVP_MD_CTX_free(h->ctx[h->n]);
			hasher_free(h);
			return gate_fail(err, GATE_E_INTERNAL, "T25", t->path, "digest failed");
		}
		h->n++;
	}
	return GATE_OK;
}

static bool hasher_update(struct hasher *h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < h->n; i++)
		if (!EVP_DigestUpdate(h->ctx[i], p, n))
			return false;
	return true;
}

static bool hasher_match(struct hasher *h, const struct gate_tuf_target *t)
{
	uint8_t got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;
	for (size_t i = 0; i < h->n; i++) {
		const char *hex = t->hashes[i].hex;
		if (!EVP_DigestFinal_ex(h->ctx[i], got, &glen) ||
		    !gate_hex_decode(hex, strlen(hex), want, glen) || !gate_ct_eq(got, want, glen))
			return false;
	}
	return true;
}

/* dir/<quoted path>: one flat file per target path, the same name every
 * time the target changes. */
static char *target_file(const char *dir, const struct gate_tuf_target *t)
{
	char *q = gate_tuf_quote(t->path);
	char *p = q ? gate_tuf_xasprintf("%s/%s", dir, q) : NULL;
	free(q);
	return p;
}

static bool file_matches(const char *path, const struct gate_tuf_target *t)
{
	struct hasher h;
	uint8_t buf[65536];
	uint64_t total = 0;
	bool ok = false;
	/* Non-blocking, regular only: a FIFO here must not hang a reader. */
	int fd = gate_open_regular(path, O_RDONLY, 0);
	struct stat st;
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != t->length ||
	    hasher_init(&h, t, NULL) != GATE_OK) {
		close(fd);
		return false;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > t->length || !hasher_update(&h, buf, (size_t)r))
			goto out;
	}
	ok = total == t->length && hasher_match(&h, t);
out:
	hasher_free(&h);
	close(fd);
	return ok;
}

enum gate_err gate_tuf_find_cached_target(struct gate_tuf_updater *u,
					  const struct gate_tuf_target *t, const char *target_dir,
					  char **path_out, struct gate_error *err)
{
	(void)u;
	char *p = target_file(target_dir, t);
	*path_out = NULL;
	if (!p)
		return gate_fail(err, GATE_E_NOMEM, NULL, t->path, "out of memory");
	if (file_matches(p, t))
		*path_out = p;
	else
		free(p);
	return GATE_OK;
}

/* Target URL: base + path, with consistent snapshots dir/HASH.name where
 * HASH is the first listed hash (T25). Bytes that cannot appear in a URL
 * path are percent-encoded; '/' separates directories. */
static char *target_url(const struct gate_tuf_updater *u, const struct gate_tuf_target *t)
{
	static const char hexd[] = "0123456789ABCDEF";
	const char *slash = strrchr(t->path, '/');
	size_t dirlen = slash ? (size_t)(slash - t->path) + 1 : 0;
	const char *prefix = u->root->consistent_snapshot ? t->hashes[0].hex : NULL;
	size_t n =
		strlen(u->tgturl) + 3 * strlen(t->path) + (prefix ? 3 * strlen(prefix) + 1 : 0) + 1;
	char *url = malloc(n), *o = url;
	if (!url)
		return NULL;
	o += sprintf(o, "%s", u->tgturl);
	for (size_t pass = 0; pass < 3; pass++) {
		const char *s = pass == 0 ? t->path : pass == 1 ? prefix : t->path + dirlen;
		size_t len = pass == 0 ? dirlen : s ? strlen(s) : 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/", c)) {
				*o++ = (char)c;
			} else {
				*o++ = '%';
				*o++ = hexd[c >> 4];
				*o++ = hexd[c & 15];
			}
		}
		if (pass == 1 && prefix)
			*o++ = '.';
	}
	*o = '\0';
	return url;
}

struct dl {
	struct gate_atomic out;
	struct hasher h;
};

static bool dl_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct dl *d = ctx;
	return hasher_update(&d->h, p, n) && gate_atomic_write(&d->out, p, n, NULL) == GATE_OK;
}

/* Download t into dst (a name in its target directory). */
static enum gate_err download(struct gate_tuf_updater *u, const struct gate_tuf_target *t,
			      const char *dst, struct gate_error *err)
{
	struct dl d = {.out = {.fd = -1}};
	char *url = target_url(u, t);
	enum gate_err rc;
	struct stat st = {0};
	if (!url) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, t->path, "out of memory");
		goto out;
	}
	if ((rc = hasher_init(&d.h, t, err)) != GATE_OK ||
	    (rc = gate_atomic_open(&d.out, dst, ".gate-tuf-XXXXXX", 0644, 0, err)) != GATE_OK)
		goto out;
	/* At most the signed length; exactly it, and every hash, before the
	 * file takes its name. */
	rc = gate_tuf_fetch(url, t->length, &u->caps.fetch, dl_sink, &d, NULL, err);
	if (rc == GATE_OK && (fstat(d.out.fd, &st) != 0 || (uint64_t)st.st_size != t->length))
		rc = gate_fail(err, GATE_E_DIGEST, "T25", t->path, "length %lld, expected %llu",
			       (long long)st.st_size, (unsigned long long)t->length);
	if (rc == GATE_OK && !hasher_match(&d.h, t))
		rc = gate_fail(err, GATE_E_DIGEST, "T25", t->path, "hash mismatch");
	/* A folder (or anything but a file) in the way: set aside, so the
	 * verified file can take its name (a rename cannot replace it). */
	if (rc == GATE_OK && lstat(dst, &st) == 0 && !S_ISREG(st.st_mode))
		rc = gate_tuf_set_aside(dst, NULL, NULL, 0, err);
	if (rc == GATE_OK)
		rc = gate_atomic_commit(&d.out, err);
out:
	hasher_free(&d.h);
	gate_atomic_discard(&d.out);
	free(url);
	return rc;
}

enum gate_err gate_tuf_download_target(struct gate_tuf_updater *u, const struct gate_tuf_target *t,
				       const char *target_dir, char **path_out, bool *downloaded,
				       struct gate_error *err)
{
	char *dst = NULL;
	enum gate_err rc;
	if (path_out)
		*path_out = NULL;
	if (downloaded)
		*downloaded = false;
	if ((rc = gate_tuf_find_cached_target(u, t, target_dir, &dst, err)) != GATE_OK)
		return rc;
	if (!dst) {
		if (!u->tgturl)
			return gate_fail(err, GATE_E_USAGE, "T25", t->path, "no target base URL");
		if (!(dst = target_file(target_dir, t)))
			return gate_fail(err, GATE_E_NOMEM, NULL, t->path, "out of memory");
		if ((rc = download(u, t, dst, err)) != GATE_OK) {
			free(dst);
			return rc;
		}
		if (downloaded)
			*downloaded = true;
	}
	if (path_out)
		*path_out = dst;
	else
		free(dst);
	return GATE_OK;
}
