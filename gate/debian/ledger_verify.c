/* ledger_verify.c - checking the files the install ledger records against
 * the disk (gate_ledger_verify, ledger.h): each one, or those at or under
 * the paths asked, is missing, replaced, modified or as recorded. */
#include "ledger_int.h"
#include "gate_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include "lazy_sqlite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_CHUNK (64u * 1024)

struct verify_run {
	const char *root;
	size_t rootlen;
	gate_ledger_verify_fn fn;
	void *ctx;
	size_t *checked, *bad;
	EVP_MD_CTX *md;
	uint8_t *buf;
};

/* Hash an open regular file; NULL when it matches, else a status. */
static const char *hash_matches(struct verify_run *r, int fd, const struct gate_ledger_file *f)
{
	uint8_t dig[32];
	char hex[65];
	uint64_t total = 0;
	if (EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
		return "unreadable";
	for (;;) {
		ssize_t n = read(fd, r->buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return "unreadable";
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > f->size)
			return "modified"; /* grew while we read */
		if (EVP_DigestUpdate(r->md, r->buf, (size_t)n) != 1)
			return "unreadable";
	}
	if (EVP_DigestFinal_ex(r->md, dig, NULL) != 1)
		return "unreadable";
	gate_hex_encode(dig, 32, hex);
	return total == f->size && strcmp(hex, f->sha256) == 0 ? NULL : "modified";
}

static const char *check_one(struct verify_run *r, const struct gate_ledger_file *f)
{
	char full[PATH_MAX];
	struct stat st;
	if (snprintf(full, sizeof full, "%s%s", r->root, f->path) >= (int)sizeof full)
		return "unreadable";
	if (lstat(full, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
	if (S_ISLNK(st.st_mode))
		return "replaced by a link";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	/* O_NOFOLLOW closes the race with a link swapped in after lstat;
	 * O_NONBLOCK keeps a FIFO swapped in from blocking the walk. */
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP	 ? "replaced by a link"
		       : errno == ENOENT ? "missing"
					 : "unreadable";
	const char *status = NULL;
	if (fstat(fd, &st) != 0)
		status = "unreadable";
	else if (!S_ISREG(st.st_mode))
		status = "not a regular file";
	else if ((uint64_t)st.st_size != f->size)
		status = "modified";
	else
		status = hash_matches(r, fd, f);
	close(fd);
	return status;
}

static void verify_row(void *ctx, const struct gate_ledger_pkg *p, const struct gate_ledger_file *f)
{
	struct verify_run *r = ctx;
	const char *status = f->path ? check_one(r, f) : "missing";
	if (status) {
		(*r->bad)++;
		if (r->fn)
			r->fn(r->ctx, p, f, status);
	}
}

static int verify_rows(struct verify_run *r, sqlite3_stmt *s)
{
	return gate_ledger_each_file(s, verify_row, r, r->checked);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Absolute, without trailing slashes ("" is the whole tree), sorted and
 * with paths under an earlier one dropped, so no file is checked twice. */
static enum gate_err norm_paths(const char *const *paths, size_t n, char ***out, size_t *nout,
				struct gate_error *err)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (paths[i][0] != '/') {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return gate_fail(err, GATE_E_USAGE, NULL, "path",
					 "'%s' is not an absolute path", paths[i]);
		}
		if (!(v[i] = strdup(paths[i]))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		}
		size_t len = strlen(v[i]);
		while (len > 0 && v[i][len - 1] == '/')
			v[i][--len] = '\0';
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t pl = k ? strlen(v[k - 1]) : 0;
		if (k && strncmp(v[i], v[k - 1], pl) == 0 &&
		    (v[i][pl] == '\0' || v[i][pl] == '/')) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	*nout = k;
	return GATE_OK;
}

static int verify_under(struct verify_run *r, sqlite3_stmt *s, const char *p)
{
	size_t len = strlen(p);
	char *lo = malloc(len + 2), *hi = malloc(len + 2);
	int rc = SQLITE_NOMEM;
	if (lo && hi) {
		memcpy(lo, p, len);
		memcpy(hi, p, len);
		lo[len] = '/';
		hi[len] = '0';
		lo[len + 1] = hi[len + 1] = '\0';
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, hi, -1, SQLITE_STATIC);
		rc = verify_rows(r, s);
	}
	free(lo);
	free(hi);
	return rc;
}

enum gate_err gate_ledger_verify(struct gate_ledger *l, const char *root, const char *const *paths,
				 size_t npaths, gate_ledger_verify_fn fn, void *ctx,
				 size_t *checked, size_t *bad, struct gate_error *err)
{
	struct verify_run r = {
		.root = root ? root : "", .fn = fn, .ctx = ctx, .checked = checked, .bad = bad};
	char **v = NULL, *rootcopy = NULL;
	size_t nv = 0;
	enum gate_err e;
	int rc = SQLITE_DONE;
	*checked = *bad = 0;
	if ((e = norm_paths(paths, npaths, &v, &nv, err)) != GATE_OK)
		return e;
	/* "/srv/root/" + "/usr/bin/x": drop the root's trailing slashes. */
	if (!(rootcopy = strdup(r.root)) || !(r.md = EVP_MD_CTX_new()) ||
	    !(r.buf = malloc(HASH_CHUNK))) {
		e = gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		goto out;
	}
	r.rootlen = strlen(rootcopy);
	while (r.rootlen > 0 && rootcopy[r.rootlen - 1] == '/')
		rootcopy[--r.rootlen] = '\0';
	r.root = rootcopy;
	if (npaths == 0 || (nv > 0 && v[0][0] == '\0'))
		rc = verify_rows(&r, l->st[ST_ALL_FILES]);
	else
		for (size_t i = 0; i < nv && rc == SQLITE_DONE; i++)
			rc = verify_under(&r, l->st[ST_UNDER], v[i]);
	e = rc == SQLITE_DONE ? GATE_OK : gate_ledger_db_fail(l, rc, "reading files", err);
out:
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	free(rootcopy);
	free(r.buf);
	EVP_MD_CTX_free(r.md);
	return e;
}
