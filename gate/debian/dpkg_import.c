/* dpkg_import.c - `gate ledger import dpkg` (dpkg_import.h).
 *
 * The calling thread reads dpkg's database (status, diversions, each
 * package's .list and .md5sums) into one flat array of entries; worker
 * threads claim entries in chunks and hash them (SHA-256 and, where dpkg
 * kept one, MD5 in the same pass); the last entry of a package to finish
 * hands the package to the calling thread, which looks up its origin and
 * records it. The ledger (one SQLite connection) is only touched by the
 * calling thread. The parsers of dpkg's files are in dpkg_parse.c, the
 * recording in dpkg_record.c (dpkg_import_int.h). */
#include "dpkg_import_int.h"
#include "deb822.h"
#include "gate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BUF (256u * 1024)
#define CLAIM 8 /* entries a worker claims at a time */

enum gate_err gate_dpkg_oom(struct gate_error *err)
{
	return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
}

/* ---- dpkg's database ---- */

static enum gate_err admin_path(char path[PATH_MAX], const char *admindir, const char *name,
				struct gate_error *err)
{
	int w = snprintf(path, PATH_MAX, "%s/%s", admindir, name);
	if (w < 0 || w >= PATH_MAX)
		return gate_fail(err, GATE_E_USAGE, NULL, FIELD, "%s: path too long", admindir);
	return GATE_OK;
}

static bool selected(const struct gate_import_opts *o, const char *name, const char *arch)
{
	if (!o->nonly)
		return true;
	size_t nl = strlen(name);
	for (size_t i = 0; i < o->nonly; i++) {
		const char *s = o->only[i];
		if (strcmp(s, name) == 0 ||
		    (strncmp(s, name, nl) == 0 && s[nl] == ':' && strcmp(s + nl + 1, arch) == 0))
			return true;
	}
	return false;
}

/* The pending row of exactly this package, name, arch and version. */
static const struct gate_ledger_pkg *pending_of(const struct gate_import_opts *o,
						const struct gate_dpkg_stanza *s)
{
	for (size_t i = 0; i < o->npending; i++)
		if (strcmp(o->pending[i].name, s->name) == 0 &&
		    strcmp(o->pending[i].arch, s->arch) == 0 &&
		    strcmp(o->pending[i].version, s->version) == 0)
			return &o->pending[i];
	return NULL;
}

/* Takes the strings of installed, selected packages. */
static enum gate_err take_stanza(void *ctx, struct gate_dpkg_stanza *s, struct gate_error *err)
{
	struct run *r = ctx;
	const struct gate_ledger_pkg *pend = r->o->npending ? pending_of(r->o, s) : NULL;
	if (!selected(r->o, s->name, s->arch) || (r->o->npending && !pend))
		return GATE_OK;
	if (r->npkgs == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 256;
		struct ipkg *np = realloc(r->pkgs, nc * sizeof(*np));
		if (!np)
			return gate_dpkg_oom(err);
		r->pkgs = np;
		r->cap = nc;
	}
	struct ipkg *p = &r->pkgs[r->npkgs++];
	memset(p, 0, sizeof(*p));
	p->name = s->name;
	p->version = s->version;
	p->arch = s->arch;
	p->conffiles = s->conffiles;
	p->pend = pend;
	free(s->status);
	memset(s, 0, sizeof(*s));
	return GATE_OK;
}

static enum gate_err read_status_file(struct run *r, const char *path, struct gate_error *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(path, GATE_DPKG_MAX_STATUS, &text, &len, err);
	if (rc == GATE_OK)
		rc = gate_dpkg_parse_status((const char *)text, len, path, take_stanza, r, err);
	free(text);
	return rc;
}

static enum gate_err read_status(struct run *r, const char *admindir, struct gate_error *err)
{
	char path[PATH_MAX];
	enum gate_err rc = admin_path(path, admindir, "status", err);
	return rc == GATE_OK ? read_status_file(r, path, err) : rc;
}

/* /var/lib/dpkg/diversions, when there is one. */
static enum gate_err read_diversions(struct run *r, const char *admindir, struct gate_error *err)
{
	char path[PATH_MAX];
	uint8_t *text = NULL;
	size_t len = 0;
	enum gate_err rc = admin_path(path, admindir, "diversions", err);
	if (rc != GATE_OK || access(path, F_OK) != 0)
		return rc; /* none */
	if ((rc = gate_read_file(path, GATE_DPKG_MAX_LIST, &text, &len, err)) == GATE_OK)
		rc = gate_dpkg_parse_diversions((const char *)text, len, path, &r->div, &r->ndiv,
						err);
	free(text);
	return rc;
}

/* Where package pkg's file listed as path really is. */
static const char *divert(const struct run *r, const char *pkg, const char *path)
{
	for (size_t i = 0; i < r->ndiv; i++)
		if (strcmp(r->div[i].from, path) == 0)
			return strcmp(r->div[i].pkg, pkg) == 0 ? path : r->div[i].to;
	return path;
}

/* info/NAME:ARCH.EXT (multi-arch: same) or info/NAME.EXT; NULL text when
 * neither exists. */
static enum gate_err read_info(const char *admindir, const struct ipkg *p, const char *ext,
			       uint8_t **text, size_t *len, struct gate_error *err)
{
	char path[PATH_MAX];
	*text = NULL;
	*len = 0;
	for (int pass = 0; pass < 2; pass++) {
		int w = pass == 0 ? snprintf(path, sizeof path, "%s/info/%s:%s.%s", admindir,
					     p->name, p->arch, ext)
				  : snprintf(path, sizeof path, "%s/info/%s.%s", admindir, p->name,
					     ext);
		if (w < 0 || (size_t)w >= sizeof path)
			return gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD, "%s: path too long",
					 p->name);
		if (access(path, F_OK) == 0)
			return gate_read_file(path, GATE_DPKG_MAX_LIST, text, len, err);
	}
	return GATE_OK;
}

static int cmp_ledger_path(const void *a, const void *b)
{
	return strcmp(((const struct gate_ledger_file *)a)->path,
		      ((const struct gate_ledger_file *)b)->path);
}

/* What the verified .deb of a pending package ships for e (its files are
 * sorted by path): an MD5, a SHA-256, or nothing. */
static void digest_from_deb(const struct gate_ledger_pkg *pend, struct ient *e)
{
	struct gate_ledger_file key = {.path = (char *)e->path};
	const struct gate_ledger_file *f =
		pend->nfiles ? bsearch(&key, pend->files, pend->nfiles, sizeof(*pend->files),
				       cmp_ledger_path)
			     : NULL;
	if (!f)
		return;
	e->has_md5 = f->md5[0] && gate_hex_decode(f->md5, 32, e->md5, 16);
	e->has_sha = f->sha256[0] && gate_hex_decode(f->sha256, 64, e->want_sha, 32);
	e->deb_size = f->size;
	e->by_deb = true;
}

static enum gate_err load_pkg(struct run *r, const char *admindir, struct ipkg *p,
			      struct gate_error *err)
{
	uint8_t *list = NULL, *sums = NULL;
	size_t ll = 0, sl = 0, nmd5 = 0;
	struct gate_dpkg_md5 *md5 = NULL;
	enum gate_err rc = read_info(admindir, p, "list", &list, &ll, err);
	if (rc != GATE_OK)
		return rc;
	if (!list) {
		p->list_problem = "dpkg keeps no file list for it";
		return GATE_OK;
	}
	if (!p->pend && (rc = read_info(admindir, p, "md5sums", &sums, &sl, err)) != GATE_OK) {
		free(list);
		return rc;
	}
	if (sums)
		nmd5 = gate_dpkg_parse_md5sums((char *)sums, sl, &md5);
	p->list = (char *)list;
	size_t lines = 1;
	for (size_t i = 0; i < ll; i++)
		lines += list[i] == '\n';
	if (!(p->ents = calloc(lines, sizeof(*p->ents)))) {
		rc = gate_dpkg_oom(err);
		goto out;
	}
	const char *q = p->list, *end = p->list + ll, *l;
	size_t len;
	while (gate_d822_value_line(&q, end, &l, &len)) {
		if (len == 0 || (len == 2 && l[0] == '/' && l[1] == '.'))
			continue;
		((char *)l)[len] = '\0';
		struct ient *e = &p->ents[p->nents++];
		e->pkg = p;
		e->path = l;
		e->real = divert(r, p->name, l);
		if (l[0] != '/' || strlen(l) != len || e->real[0] != '/') {
			e->kind = E_PROBLEM;
			e->problem = l[0] != '/'	? "not an absolute path"
				     : strlen(l) != len ? "contains a NUL byte"
							: "diverted to a relative path";
			continue;
		}
		e->conf = gate_dpkg_is_conffile(p->conffiles, l);
		if (p->pend) {
			digest_from_deb(p->pend, e);
			continue;
		}
		struct gate_dpkg_md5 key = {.path = l + 1}, *hit;
		hit = nmd5 ? bsearch(&key, md5, nmd5, sizeof(*md5), gate_dpkg_cmp_md5ent) : NULL;
		if (hit) {
			memcpy(e->md5, hit->md5, 16);
			e->has_md5 = true;
		}
	}
out:
	free(md5);
	free(sums);
	return rc;
}

/* ---- hashing (workers) ---- */

struct hasher {
	EVP_MD_CTX *sha, *md5;
	uint8_t *buf;
};

static void hash_fd(struct run *r, struct hasher *h, int fd, struct ient *e)
{
	uint8_t d[32], m[16];
	uint64_t total = 0;
	bool md5 = e->has_md5 && r->md5;
	if (EVP_DigestInit_ex(h->sha, r->sha256, NULL) != 1 ||
	    (md5 && EVP_DigestInit_ex(h->md5, r->md5, NULL) != 1))
		goto fail;
	for (;;) {
		ssize_t n = read(fd, h->buf, HASH_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e->err_no = errno;
			goto fail;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (EVP_DigestUpdate(h->sha, h->buf, (size_t)n) != 1 ||
		    (md5 && EVP_DigestUpdate(h->md5, h->buf, (size_t)n) != 1))
			goto fail;
	}
	if (EVP_DigestFinal_ex(h->sha, d, NULL) != 1 ||
	    (md5 && EVP_DigestFinal_ex(h->md5, m, NULL) != 1))
		goto fail;
	gate_hex_encode(d, 32, e->sha256);
	e->size = total;
	e->kind = E_FILE;
	atomic_fetch_add(&r->bytes, total);
	if (e->conf)
		e->state = GATE_FILE_CONFIG;
	else if (!md5 && !e->has_sha)
		e->state = GATE_FILE_UNVERIFIED;
	else if ((md5 && memcmp(m, e->md5, 16) != 0) ||
		 (e->has_sha && memcmp(d, e->want_sha, 32) != 0))
		e->state = GATE_FILE_CHANGED;
	else
		e->state = GATE_FILE_OK;
	return;
fail:
	e->kind = E_PROBLEM;
	e->problem = "unreadable";
}

/* A file of a pending package whose .deb's data.tar was read (apt_ledger.h):
 * recorded with the digest the verified .deb ships, which dpkg has just
 * unpacked; not read again (gate ledger verify does that). A size that
 * differs is a change. */
static void take_from_deb(struct run *r, struct ient *e, const struct stat *st)
{
	gate_hex_encode(e->want_sha, 32, e->sha256);
	e->size = (uint64_t)st->st_size;
	e->kind = E_FILE;
	atomic_fetch_add(&r->bytes, e->size);
	e->state = e->conf			   ? GATE_FILE_CONFIG
		   : e->size == e->deb_size ? GATE_FILE_OK
					    : GATE_FILE_CHANGED;
}

static void hash_entry(struct run *r, struct hasher *h, struct ient *e)
{
	char full[PATH_MAX];
	struct stat st;
	if (e->kind != E_PENDING)
		return; /* decided while loading */
	size_t rl = strlen(e->real);
	if (r->rootlen + rl >= sizeof full) {
		e->kind = E_PROBLEM;
		e->problem = "path too long";
		return;
	}
	memcpy(full, r->root, r->rootlen);
	memcpy(full + r->rootlen, e->real, rl + 1);
	if (lstat(full, &st) != 0) {
		e->kind = E_PROBLEM;
		e->err_no = errno;
		e->problem = errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		e->kind = E_DIR;
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		e->kind = E_LINK;
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		e->kind = E_PROBLEM;
		e->problem = "not a regular file";
		return;
	}
	if (e->has_sha) {
		take_from_deb(r, e, &st);
		return;
	}
	/* O_NOFOLLOW: a link swapped in after lstat is not followed;
	 * O_NONBLOCK: nor does a FIFO swapped in block the worker. */
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e->kind = E_PROBLEM;
		e->err_no = errno;
		e->problem = errno == ENOENT ? "missing" : "unreadable";
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e->kind = E_PROBLEM;
		e->problem = "not a regular file";
	} else {
		hash_fd(r, h, fd, e);
	}
	close(fd);
}

static void finish_entry(struct run *r, struct ient *e)
{
	struct ipkg *p = e->pkg;
	if (atomic_fetch_sub(&p->left, 1) != 1)
		return;
	pthread_mutex_lock(&r->lock);
	p->next_done = r->done_head;
	r->done_head = p;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	struct hasher h = {EVP_MD_CTX_new(), EVP_MD_CTX_new(), malloc(HASH_BUF)};
	for (;;) {
		size_t i = atomic_fetch_add(&r->next, CLAIM);
		if (i >= r->nall)
			break;
		size_t end = i + CLAIM < r->nall ? i + CLAIM : r->nall;
		for (; i < end; i++) {
			struct ient *e = r->all[i];
			if (!h.sha || !h.md5 || !h.buf) {
				e->kind = E_PROBLEM;
				e->problem = "out of memory";
			} else if (!atomic_load(&r->stop)) {
				hash_entry(r, &h, e);
			}
			finish_entry(r, e);
		}
	}
	EVP_MD_CTX_free(h.sha);
	EVP_MD_CTX_free(h.md5);
	free(h.buf);
	return NULL;
}

/* ---- forgetting what is no longer installed ---- */

struct stale {
	struct run *r;
	char **key; /* installed "name\tarch\tversion", sorted */
	size_t nkey;
	char **name, **arch, **version; /* recorded, not installed */
	size_t n, cap;
	bool oom;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "name\tarch\tversion": a package recorded at another version than
 * the one installed is stale too (its files were replaced). */
static char *pkg_key(const char *name, const char *arch, const char *version)
{
	char *k = NULL;
	return asprintf(&k, "%s\t%s\t%s", name, arch, version) < 0 ? NULL : k;
}

static void stale_row(void *ctx, const struct gate_ledger_pkg *p)
{
	struct stale *s = ctx;
	char *k = pkg_key(p->name, p->arch, p->version);
	if (!k) {
		s->oom = true;
		return;
	}
	bool installed = s->nkey && bsearch(&k, s->key, s->nkey, sizeof(*s->key), cmp_key);
	free(k);
	if (installed)
		return;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		char **a = realloc(s->name, nc * sizeof(char *)), **b, **c;
		if (a)
			s->name = a;
		b = a ? realloc(s->arch, nc * sizeof(char *)) : NULL;
		if (b)
			s->arch = b;
		c = b ? realloc(s->version, nc * sizeof(char *)) : NULL;
		if (c)
			s->version = c;
		if (!c) {
			s->oom = true;
			return;
		}
		s->cap = nc;
	}
	s->name[s->n] = strdup(p->name);
	s->arch[s->n] = strdup(p->arch);
	s->version[s->n] = strdup(p->version);
	if (!s->name[s->n] || !s->arch[s->n] || !s->version[s->n]) {
		free(s->name[s->n]);
		free(s->arch[s->n]);
		free(s->version[s->n]);
		s->oom = true;
		return;
	}
	s->n++;
}

/* The ledger mirrors what is installed: packages recorded (by the hook or
 * an earlier import) that dpkg no longer lists as installed are forgotten,
 * in one transaction. Only after a whole-database import. */
static enum gate_err forget_stale(struct run *r, struct gate_ledger *l,
				  struct gate_import_stats *st, struct gate_error *err)
{
	struct stale s = {.r = r};
	enum gate_err rc = GATE_OK;
	if (!(s.key = calloc(r->npkgs ? r->npkgs : 1, sizeof(*s.key))))
		return gate_dpkg_oom(err);
	for (; s.nkey < r->npkgs; s.nkey++)
		if (!(s.key[s.nkey] = pkg_key(r->pkgs[s.nkey].name, r->pkgs[s.nkey].arch,
					      r->pkgs[s.nkey].version))) {
			rc = gate_dpkg_oom(err);
			goto out;
		}
	qsort(s.key, s.nkey, sizeof(*s.key), cmp_key);
	if ((rc = gate_ledger_list(l, stale_row, &s, err)) != GATE_OK)
		goto out;
	if (s.oom) {
		rc = gate_dpkg_oom(err);
		goto out;
	}
	if (s.n && (rc = gate_ledger_forget(l, (const char *const *)s.name,
					    (const char *const *)s.arch, s.n, err)) != GATE_OK)
		goto out;
	st->forgotten = s.n;
	for (size_t i = 0; i < s.n && r->o->event; i++) {
		struct gate_import_event ev = {s.name[i],
					       s.version[i],
					       s.arch[i],
					       NULL,
					       false,
					       "forgotten",
					       "recorded, but no longer installed"};
		r->o->event(r->o->ctx, &ev);
	}
out:
	for (size_t i = 0; i < s.nkey; i++)
		free(s.key[i]);
	for (size_t i = 0; i < s.n; i++) {
		free(s.name[i]);
		free(s.arch[i]);
		free(s.version[i]);
	}
	free(s.key);
	free(s.name);
	free(s.arch);
	free(s.version);
	return rc;
}

/* ---- the run ---- */

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->npkgs; i++) {
		struct ipkg *p = &r->pkgs[i];
		free(p->name);
		free(p->version);
		free(p->arch);
		free(p->conffiles);
		free(p->list);
		free(p->ents);
	}
	free(r->pkgs);
	gate_dpkg_diversions_free(r->div, r->ndiv);
	free(r->all);
	EVP_MD_free((EVP_MD *)r->sha256);
	EVP_MD_free((EVP_MD *)r->md5);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

enum gate_err gate_ledger_prune_dpkg(struct gate_ledger *l, const char *status, size_t *forgotten,
				     struct gate_error *err)
{
	static const struct gate_import_opts all = {0};
	struct run r = {.o = &all};
	struct gate_import_stats st = {0};
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	enum gate_err rc =
		read_status_file(&r, status ? status : GATE_DPKG_ADMINDIR "/status", err);
	if (rc == GATE_OK)
		rc = forget_stale(&r, l, &st, err);
	*forgotten = st.forgotten;
	run_free(&r);
	return rc;
}

/* Skip what is already recorded at this version; load the rest. Returns
 * the number of packages queued for hashing (moved to the front). */
static enum gate_err plan(struct run *r, struct gate_ledger *l, const char *admindir,
			  size_t *queued, struct gate_import_stats *st, struct gate_error *err)
{
	bool archives = r->o->policy && r->o->policy->napts;
	size_t k = 0;
	enum gate_err rc;
	for (size_t i = 0; i < r->npkgs; i++) {
		struct ipkg *p = &r->pkgs[i];
		bool have = false;
		enum gate_ledger_source src = GATE_LEDGER_DPKG;
		if (!r->o->force && !r->o->npending && (rc = gate_ledger_has_version(l, p->name, p->arch, p->version,
								  &have, &src, err)) != GATE_OK)
			return rc;
		if (have && !(src == GATE_LEDGER_DPKG && archives)) {
			st->skipped++;
			st->done++;
			continue;
		}
		if (k != i) {
			struct ipkg t = r->pkgs[k];
			r->pkgs[k] = *p;
			*p = t;
		}
		if ((rc = load_pkg(r, admindir, &r->pkgs[k], err)) != GATE_OK)
			return rc;
		r->nall += r->pkgs[k].nents;
		k++;
	}
	*queued = k;
	return GATE_OK;
}

enum gate_err gate_import_dpkg(struct gate_ledger *l, const struct gate_import_opts *o,
			       struct gate_import_stats *st, struct gate_error *err)
{
	struct run r = {.o = o};
	char admindir[PATH_MAX];
	pthread_t tid[GATE_DPKG_MAX_JOBS];
	unsigned nt = 0, jobs = o->jobs;
	size_t queued = 0;
	enum gate_err rc;
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	r.root = o->root ? o->root : "";
	r.rootlen = strlen(r.root);
	while (r.rootlen > 0 && r.root[r.rootlen - 1] == '/')
		r.rootlen--;
	if (o->admindir)
		snprintf(admindir, sizeof admindir, "%s", o->admindir);
	else
		snprintf(admindir, sizeof admindir, "%.*s%s", (int)r.rootlen, r.root,
			 GATE_DPKG_ADMINDIR);
	r.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	r.md5 = EVP_MD_fetch(NULL, "MD5", NULL); /* NULL (FIPS): files stay unverified */
	if (!r.sha256) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "SHA-256 is not available");
		goto out;
	}
	if ((rc = read_status(&r, admindir, err)) != GATE_OK ||
	    (rc = read_diversions(&r, admindir, err)) != GATE_OK)
		goto out;
	for (size_t i = 0; i < o->nonly; i++) {
		bool found = false;
		for (size_t k = 0; k < r.npkgs && !found; k++)
			found = selected(
				&(struct gate_import_opts){.only = &o->only[i], .nonly = 1},
				r.pkgs[k].name, r.pkgs[k].arch);
		if (!found) {
			rc = gate_fail(err, GATE_E_USAGE, NULL, FIELD,
				       "%s: not installed (according to %s/status)", o->only[i],
				       admindir);
			goto out;
		}
	}
	st->packages = r.npkgs;
	if ((rc = plan(&r, l, admindir, &queued, st, err)) != GATE_OK)
		goto out;
	if (!(r.all = calloc(r.nall ? r.nall : 1, sizeof(*r.all)))) {
		rc = gate_dpkg_oom(err);
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < queued; i++) {
		struct ipkg *p = &r.pkgs[i];
		atomic_init(&p->left, p->nents);
		for (size_t j = 0; j < p->nents; j++)
			r.all[n++] = &p->ents[j];
		if (!p->nents) { /* nothing to hash: ready now */
			p->next_done = r.done_head;
			r.done_head = p;
		}
	}
	if (!jobs) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (unsigned)c : 1;
	}
	if (jobs > GATE_DPKG_MAX_JOBS)
		jobs = GATE_DPKG_MAX_JOBS;
	for (; nt < jobs && r.nall; nt++)
		if (pthread_create(&tid[nt], NULL, worker, &r) != 0)
			break;
	if (r.nall && nt == 0) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "cannot start a hashing thread");
		goto out;
	}
	rc = gate_dpkg_record_all(&r, l, queued, st, err);
	atomic_store(&r.stop, true);
	if (rc == GATE_OK && !o->nonly && !o->npending)
		rc = forget_stale(&r, l, st, err);
out:
	for (unsigned i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	run_free(&r);
	return rc;
}
