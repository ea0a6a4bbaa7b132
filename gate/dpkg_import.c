/* dpkg_import.c - `gate ledger import dpkg` (dpkg_import.h).
 *
 * The calling thread reads dpkg's database (status, diversions, each
 * package's .list and .md5sums) into one flat array of entries; worker
 * threads claim entries in chunks and hash them (SHA-256 and, where dpkg
 * kept one, MD5 in the same pass); the last entry of a package to finish
 * hands the package to the calling thread, which looks up its origin and
 * records it. The ledger (one SQLite connection) is only touched by the
 * calling thread. */
#include "dpkg_import.h"
#include "apt_origin.h"
#include "deb.h"
#include "deb822.h"
#include "gate_int.h"
#include "signer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FIELD "dpkg"
#define HASH_BUF (256u * 1024)
#define CLAIM 8			 /* entries a worker claims at a time */
#define BATCH_PKGS 64		 /* packages per transaction ... */
#define BATCH_FILES 20000	 /* ... or files ... */
#define BATCH_NS 1000000000LL	 /* ... or time since the first in it */
#define PROGRESS_NS 100000000LL

enum ekind { E_PENDING, E_DIR, E_LINK, E_FILE, E_PROBLEM };

struct ipkg;

struct ient {
	struct ipkg *pkg;
	const char *path; /* as listed (points into the package's .list text) */
	const char *real; /* where the file is when diverted, else path */
	uint8_t md5[16];
	bool has_md5, conf;
	/* filled by a worker */
	enum ekind kind;
	enum gate_ledger_state state;
	uint64_t size;
	char sha256[65];
	const char *problem; /* static text */
	int err_no;
	bool by_deb; /* state decided against the archive's .deb, not dpkg's md5sum */
};

struct ipkg {
	char *name, *version, *arch, *conffiles; /* conffiles: the raw field, may be NULL */
	char *list;				 /* .list text; entries point into it */
	struct ient *ents;
	size_t nents;
	atomic_size_t left;
	struct ipkg *next_done;
	const char *list_problem; /* static: why there are no entries */
};

struct run {
	const struct gate_import_opts *o;
	const char *root;
	size_t rootlen;
	struct ipkg *pkgs;
	size_t npkgs, cap;
	struct gate_dpkg_diversion *div;
	size_t ndiv;
	struct ient **all;
	size_t nall;
	atomic_size_t next;
	atomic_uint_least64_t bytes;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ipkg *done_head;
	const EVP_MD *sha256, *md5;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static enum gate_err oom(struct gate_error *err)
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

static bool field_dup(char **out, const char *v, size_t vl)
{
	gate_d822_trim(&v, &vl);
	free(*out);
	return (*out = strndup(v, vl)) != NULL;
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

/* "install ok installed": the third word is the state. */
static bool is_installed(const char *status)
{
	const char *sp = strrchr(status, ' ');
	return sp && strcmp(sp + 1, "installed") == 0;
}

static void stanza_clear(struct gate_dpkg_stanza *s)
{
	free(s->name);
	free(s->version);
	free(s->arch);
	free(s->status);
	free(s->conffiles);
	memset(s, 0, sizeof(*s));
}

enum gate_err gate_dpkg_parse_status(const char *text, size_t len, const char *label,
				     gate_dpkg_stanza_fn fn, void *ctx, struct gate_error *err)
{
	struct gate_d822 d = {text, text + len};
	struct gate_dpkg_stanza s = {0};
	enum gate_err rc = GATE_OK;
	size_t line = 1;
	for (;;) {
		const char *k, *v;
		size_t kl, vl;
		bool eof;
		const char *at = d.p;
		int f = gate_d822_field(&d, &k, &kl, &v, &vl, &eof);
		for (const char *q = at; q < d.p; q++)
			line += *q == '\n';
		if (f < 0) {
			/* the offending line is the last one read */
			if (d.p > text && d.p[-1] == '\n')
				line--;
			rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s:%zu: malformed field", label,
				       line);
			break;
		}
		if (f == 1) {
			bool ok = true;
			if (gate_d822_key_is(k, kl, "Package"))
				ok = field_dup(&s.name, v, vl);
			else if (gate_d822_key_is(k, kl, "Version"))
				ok = field_dup(&s.version, v, vl);
			else if (gate_d822_key_is(k, kl, "Architecture"))
				ok = field_dup(&s.arch, v, vl);
			else if (gate_d822_key_is(k, kl, "Status"))
				ok = field_dup(&s.status, v, vl);
			else if (gate_d822_key_is(k, kl, "Conffiles"))
				ok = field_dup(&s.conffiles, v, vl);
			if (!ok) {
				rc = oom(err);
				break;
			}
			continue;
		}
		/* end of a stanza: hand over installed packages */
		if (s.name && s.status && is_installed(s.status)) {
			if (!s.version || !*s.version || !s.arch || !*s.arch || !*s.name) {
				rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					       "%s:%zu: installed package '%s' without a version "
					       "or architecture",
					       label, line, s.name);
				break;
			}
			/* They name files (info/NAME:ARCH.list, NAME_VERSION_ARCH.deb):
			 * Debian's own character sets only, never a '/'. */
			if (strspn(s.name, "abcdefghijklmnopqrstuvwxyz0123456789+-.") !=
				    strlen(s.name) ||
			    strspn(s.arch, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s.arch) ||
			    strchr(s.version, '/') || s.name[0] == '.') {
				rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					       "%s:%zu: installed package '%s': not a valid package "
					       "name, version or architecture",
					       label, line, s.name);
				break;
			}
			if ((rc = fn(ctx, &s, err)) != GATE_OK)
				break;
		}
		stanza_clear(&s);
		if (eof)
			break;
	}
	stanza_clear(&s);
	return rc;
}

/* Takes the strings of installed, selected packages. */
static enum gate_err take_stanza(void *ctx, struct gate_dpkg_stanza *s, struct gate_error *err)
{
	struct run *r = ctx;
	if (!selected(r->o, s->name, s->arch))
		return GATE_OK;
	if (r->npkgs == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 256;
		struct ipkg *np = realloc(r->pkgs, nc * sizeof(*np));
		if (!np)
			return oom(err);
		r->pkgs = np;
		r->cap = nc;
	}
	struct ipkg *p = &r->pkgs[r->npkgs++];
	memset(p, 0, sizeof(*p));
	p->name = s->name;
	p->version = s->version;
	p->arch = s->arch;
	p->conffiles = s->conffiles;
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

void gate_dpkg_diversions_free(struct gate_dpkg_diversion *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].from);
		free(d[i].to);
		free(d[i].pkg);
	}
	free(d);
}

enum gate_err gate_dpkg_parse_diversions(const char *text, size_t len, const char *label,
					 struct gate_dpkg_diversion **out, size_t *nout,
					 struct gate_error *err)
{
	const char *p = text, *end = text + len, *l;
	struct gate_dpkg_diversion *v = NULL;
	size_t ll, n = 0, k = 0;
	char *trip[3];
	enum gate_err rc = GATE_OK;
	while (gate_d822_value_line(&p, end, &l, &ll)) {
		if (!(trip[k] = strndup(l, ll))) {
			rc = oom(err);
			break;
		}
		if (++k < 3)
			continue;
		k = 0;
		struct gate_dpkg_diversion *nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv) {
			k = 3;
			rc = oom(err);
			break;
		}
		v = nv;
		v[n++] = (struct gate_dpkg_diversion){trip[0], trip[1], trip[2]};
	}
	for (size_t i = 0; i < k; i++)
		free(trip[i]);
	if (rc == GATE_OK && k != 0)
		rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
			       "%s: not a whole number of (from, to, package) triples", label);
	if (rc != GATE_OK) {
		gate_dpkg_diversions_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return GATE_OK;
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

static int cmp_md5ent(const void *a, const void *b)
{
	return strcmp(((const struct gate_dpkg_md5 *)a)->path,
		      ((const struct gate_dpkg_md5 *)b)->path);
}

size_t gate_dpkg_parse_md5sums(char *text, size_t len, struct gate_dpkg_md5 **out)
{
	size_t n = 0, cap = 0;
	struct gate_dpkg_md5 *v = NULL;
	const char *p = text, *end = text + len, *l;
	size_t ll;
	while (gate_d822_value_line(&p, end, &l, &ll)) {
		if (ll < 35 || l[32] != ' ' || l[33] != ' ')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct gate_dpkg_md5 *nv = realloc(v, nc * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		if (!gate_hex_decode(l, 32, v[n].md5, 16))
			continue;
		((char *)l)[ll] = '\0'; /* the newline (or the buffer's NUL) */
		v[n++].path = l + 34;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_md5ent);
	*out = v;
	return n;
}

bool gate_dpkg_is_conffile(const char *conffiles, const char *path)
{
	size_t pl = strlen(path);
	if (!pl)
		return false; /* strstr would find "" everywhere, forever */
	for (const char *c = conffiles; c && (c = strstr(c, path)) != NULL; c += pl) {
		bool start = c == conffiles || c[-1] == ' ' || c[-1] == '\n';
		if (start && c[pl] == ' ')
			return true;
	}
	return false;
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
	if ((rc = read_info(admindir, p, "md5sums", &sums, &sl, err)) != GATE_OK) {
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
		rc = oom(err);
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
			e->problem = l[0] != '/'	   ? "not an absolute path"
				     : strlen(l) != len ? "contains a NUL byte"
							: "diverted to a relative path";
			continue;
		}
		e->conf = gate_dpkg_is_conffile(p->conffiles, l);
		struct gate_dpkg_md5 key = {.path = l + 1}, *hit;
		hit = nmd5 ? bsearch(&key, md5, nmd5, sizeof(*md5), cmp_md5ent) : NULL;
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
	else if (!md5)
		e->state = GATE_FILE_UNVERIFIED;
	else
		e->state = memcmp(m, e->md5, 16) == 0 ? GATE_FILE_OK : GATE_FILE_CHANGED;
	return;
fail:
	e->kind = E_PROBLEM;
	e->problem = "unreadable";
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

/* ---- recording (the calling thread) ---- */

static void emit(const struct run *r, const struct ipkg *p, const char *path, bool recorded,
		 const char *what, const char *detail)
{
	if (!r->o->event)
		return;
	struct gate_import_event ev = {p->name, p->version, p->arch, path, recorded, what,
				       detail ? detail : ""};
	r->o->event(r->o->ctx, &ev);
}

static const char *ext_of(const struct gate_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n_exts; i++)
		if (strcmp(f->exts[i].name, name) == 0)
			return f->exts[i].value;
	return "";
}

/* The first archive of the policy that lists this exact version. */
static enum gate_err find_origin(struct run *r, struct ipkg *p, struct gate_ledger_pkg *lp,
				 struct gate_error *err)
{
	const struct gate_policy *pol = r->o->policy;
	char why[512] = "";
	if (!pol || !pol->napts)
		return GATE_OK;
	for (size_t i = 0; i < pol->napts; i++) {
		struct gate_facts *f = NULL;
		struct gate_error le = {0};
		uint64_t size = 0;
		if (gate_apt_origin_find_version(pol, i, p->name, p->version, p->arch, r->o->now, &f,
						 &size, &le) != GATE_OK) {
			if (!why[0] || le.code != GATE_E_DIGEST)
				snprintf(why, sizeof why, "%s", le.msg);
			continue;
		}
		const struct gate_facts *signer = f;
		json_t *arr = gate_facts_signers_json(&signer, 1);
		char origin[512];
		snprintf(origin, sizeof origin, "apt:%s %s/%s/%s", pol->apts[i].name,
			 ext_of(f, "apt_origin"), ext_of(f, "apt_suite"), ext_of(f, "apt_component"));
		lp->signers = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
		json_decref(arr);
		lp->origin = strdup(origin);
		memcpy(lp->deb_sha256, f->digest, sizeof lp->deb_sha256);
		gate_facts_free(f);
		if (!lp->signers || !lp->origin)
			return oom(err);
		lp->source = GATE_LEDGER_ARCHIVE;
		return GATE_OK;
	}
	emit(r, p, NULL, true, "no origin", why);
	return GATE_OK;
}

/* apt's cache names a .deb NAME_VERSION_ARCH.deb, the epoch's ':' as %3a. */
static bool deb_name(const struct run *r, const struct ipkg *p, char *out, size_t cap)
{
	int w = snprintf(out, cap, "%s/%s_", r->o->debs, p->name);
	if (w < 0 || (size_t)w >= cap)
		return false;
	size_t n = (size_t)w;
	for (const char *v = p->version; *v; v++) {
		if (n + 4 >= cap)
			return false;
		if (*v == ':') {
			memcpy(out + n, "%3a", 3);
			n += 3;
		} else {
			out[n++] = *v;
		}
	}
	w = snprintf(out + n, cap - n, "_%s.deb", p->arch);
	return w >= 0 && (size_t)w < cap - n;
}

static int cmp_ledger_file(const void *a, const void *b)
{
	return strcmp(((const struct gate_ledger_file *)a)->path,
		      ((const struct gate_ledger_file *)b)->path);
}

/* With a .deb in the cache that is exactly the one the verified index
 * lists (same SHA-256), compare every hashed file with the .deb's own
 * content: SHA-256 against a signed chain, where dpkg's md5sums are
 * neither signed nor collision-resistant. A match vouches even without an
 * md5sum; a difference is a change, whatever the md5sum said. */
static enum gate_err check_with_deb(struct run *r, struct ipkg *p, struct gate_ledger_pkg *lp,
				    struct gate_import_stats *st, struct gate_error *err)
{
	char path[PATH_MAX];
	struct gate_ledger_pkg deb = {0};
	struct gate_error le = {0};
	if (!deb_name(r, p, path, sizeof path) || access(path, F_OK) != 0)
		return GATE_OK; /* not cached: dpkg's md5sums are all there is */
	enum gate_err rc = gate_deb_read(path, -1, &deb, &le);
	if (rc == GATE_E_NOMEM)
		return oom(err);
	if (rc != GATE_OK || strcmp(deb.deb_sha256, lp->deb_sha256) != 0 ||
	    strcmp(deb.name, p->name) != 0 || strcmp(deb.version, p->version) != 0 ||
	    strcmp(deb.arch, p->arch) != 0) {
		emit(r, p, NULL, true, "not checked against its .deb",
		     rc != GATE_OK ? le.msg : "the cached .deb is not the one the archive lists");
		gate_ledger_pkg_clear(&deb);
		return GATE_OK;
	}
	for (size_t i = 0; i < p->nents; i++) {
		struct ient *e = &p->ents[i];
		struct gate_ledger_file key = {.path = (char *)e->path}, *f;
		if (e->kind != E_FILE || e->conf)
			continue;
		f = bsearch(&key, deb.files, deb.nfiles, sizeof(*deb.files), cmp_ledger_file);
		if (!f)
			continue; /* not shipped in the .deb: as dpkg's records say */
		e->by_deb = true;
		e->state = f->size == e->size && strcmp(f->sha256, e->sha256) == 0 ? GATE_FILE_OK
										: GATE_FILE_CHANGED;
	}
	st->deb_checked++;
	gate_ledger_pkg_clear(&deb);
	return GATE_OK;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct gate_ledger_file *)a)->path,
		      ((const struct gate_ledger_file *)b)->path);
}

static const char *state_detail(const struct ient *e)
{
	switch (e->state) {
	case GATE_FILE_CONFIG:
		return "config file: recorded, not vouched for";
	case GATE_FILE_CHANGED:
		return e->by_deb ? "changed since install: differs from the archive's .deb"
				 : "changed since install: differs from the md5sum dpkg kept";
	case GATE_FILE_UNVERIFIED:
		return "dpkg kept no md5sum for it: recorded, not vouched for";
	default:
		return "";
	}
}

/* The ledger row of a hashed package (strings borrowed, files owned). */
static enum gate_err build_row(struct run *r, struct ipkg *p, struct gate_ledger_pkg *lp,
			       struct gate_import_stats *st, struct gate_error *err)
{
	memset(lp, 0, sizeof(*lp));
	lp->name = p->name;
	lp->version = p->version;
	lp->arch = p->arch;
	lp->source = GATE_LEDGER_DPKG;
	enum gate_err rc;
	if (p->list_problem)
		emit(r, p, NULL, true, "no file list", p->list_problem);
	if ((rc = find_origin(r, p, lp, err)) != GATE_OK)
		return rc;
	if (r->o->debs && lp->source == GATE_LEDGER_ARCHIVE &&
	    (rc = check_with_deb(r, p, lp, st, err)) != GATE_OK)
		return rc;
	if (!(lp->files = calloc(p->nents ? p->nents : 1, sizeof(*lp->files))))
		return oom(err);
	for (size_t i = 0; i < p->nents; i++) {
		struct ient *e = &p->ents[i];
		char detail[256];
		switch (e->kind) {
		case E_DIR:
			st->dirs++;
			continue;
		case E_LINK:
			st->links++;
			continue;
		case E_PROBLEM:
		case E_PENDING:
			st->problems++;
			snprintf(detail, sizeof detail, "%s%s%s", e->real != e->path ? "diverted to " : "",
				 e->real != e->path ? e->real : "",
				 e->err_no ? (e->real != e->path ? "; " : "") : "");
			if (e->err_no)
				snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s",
					 strerror(e->err_no));
			emit(r, p, e->path, false, e->kind == E_PENDING ? "interrupted" : e->problem,
			     detail);
			continue;
		case E_FILE:
			break;
		}
		struct gate_ledger_file *f = &lp->files[lp->nfiles++];
		f->path = (char *)e->real;
		memcpy(f->sha256, e->sha256, sizeof f->sha256);
		f->size = e->size;
		f->state = e->state;
		st->files++;
		size_t *count[] = {[GATE_FILE_OK] = &st->ok, [GATE_FILE_CONFIG] = &st->config,
				   [GATE_FILE_CHANGED] = &st->changed,
				   [GATE_FILE_UNVERIFIED] = &st->unverified};
		(*count[e->state])++;
		if (e->state != GATE_FILE_OK)
			emit(r, p, e->real, true, gate_ledger_state_name(e->state), state_detail(e));
	}
	/* Two listed paths diverted onto one file: record it once. */
	qsort(lp->files, lp->nfiles, sizeof(*lp->files), cmp_file);
	size_t k = 0;
	for (size_t i = 0; i < lp->nfiles; i++)
		if (!k || strcmp(lp->files[k - 1].path, lp->files[i].path) != 0)
			lp->files[k++] = lp->files[i];
	lp->nfiles = k;
	return GATE_OK;
}

static void row_free(struct gate_ledger_pkg *lp)
{
	free(lp->files);
	free(lp->signers);
	free(lp->origin);
	memset(lp, 0, sizeof(*lp));
}

/* Commit a batch; when a package breaks a constraint, record the others
 * one by one so that one bad package does not lose the rest. */
static enum gate_err commit(struct run *r, struct gate_ledger *l, struct gate_ledger_pkg *b,
			    struct ipkg **bp, size_t n, struct gate_import_stats *st,
			    struct gate_error *err)
{
	struct gate_error le = {0};
	enum gate_err rc = n ? gate_ledger_record(l, b, n, &le) : GATE_OK;
	if (rc == GATE_OK) {
		st->imported += n;
		for (size_t i = 0; i < n; i++)
			st->archive += b[i].source == GATE_LEDGER_ARCHIVE;
	} else if (rc == GATE_E_PARSE || rc == GATE_E_USAGE) {
		for (size_t i = 0; i < n; i++) {
			if ((rc = gate_ledger_record(l, &b[i], 1, &le)) == GATE_OK) {
				st->imported++;
				st->archive += b[i].source == GATE_LEDGER_ARCHIVE;
			} else if (rc == GATE_E_PARSE || rc == GATE_E_USAGE) {
				emit(r, bp[i], NULL, false, "not recorded", le.msg);
			} else {
				break;
			}
		}
		if (rc == GATE_E_PARSE || rc == GATE_E_USAGE)
			rc = GATE_OK;
	}
	for (size_t i = 0; i < n; i++)
		row_free(&b[i]);
	if (rc != GATE_OK) {
		*err = le;
		return rc;
	}
	return GATE_OK;
}

static void progress(struct run *r, struct gate_import_stats *st)
{
	if (!r->o->progress)
		return;
	st->bytes = atomic_load(&r->bytes);
	r->o->progress(r->o->ctx, st);
}

static enum gate_err record_all(struct run *r, struct gate_ledger *l, size_t queued,
				struct gate_import_stats *st, struct gate_error *err)
{
	struct gate_ledger_pkg batch[BATCH_PKGS];
	struct ipkg *bp[BATCH_PKGS];
	size_t nb = 0, nfiles = 0, handled = 0;
	int64_t first = 0, last_progress = 0;
	enum gate_err rc = GATE_OK;
	while (handled < queued) {
		pthread_mutex_lock(&r->lock);
		if (!r->done_head) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += PROGRESS_NS;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
		}
		struct ipkg *done = r->done_head;
		r->done_head = NULL;
		pthread_mutex_unlock(&r->lock);
		for (struct ipkg *p = done; p; p = p->next_done) {
			handled++;
			st->done++;
			if (rc != GATE_OK)
				continue; /* drain: the workers stop soon */
			if ((rc = build_row(r, p, &batch[nb], st, err)) != GATE_OK) {
				row_free(&batch[nb]);
				continue;
			}
			if (!nb)
				first = mono_ns();
			nfiles += batch[nb].nfiles;
			bp[nb++] = p;
			if (nb == BATCH_PKGS || nfiles >= BATCH_FILES ||
			    mono_ns() - first >= BATCH_NS) {
				rc = commit(r, l, batch, bp, nb, st, err);
				nb = nfiles = 0;
			}
		}
		if (rc != GATE_OK)
			atomic_store(&r->stop, true);
		if (nb && (rc != GATE_OK || mono_ns() - first >= BATCH_NS)) {
			if (rc == GATE_OK)
				rc = commit(r, l, batch, bp, nb, st, err);
			else
				for (size_t i = 0; i < nb; i++)
					row_free(&batch[i]);
			nb = nfiles = 0;
		}
		if (mono_ns() - last_progress >= PROGRESS_NS) {
			progress(r, st);
			last_progress = mono_ns();
		}
	}
	if (rc == GATE_OK)
		rc = commit(r, l, batch, bp, nb, st, err);
	else
		for (size_t i = 0; i < nb; i++)
			row_free(&batch[i]);
	progress(r, st);
	return rc;
}

/* ---- forgetting what is no longer installed ---- */

struct stale {
	struct run *r;
	char **key;	 /* installed "name\tarch", sorted */
	size_t nkey;
	char **name, **arch, **version; /* recorded, not installed */
	size_t n, cap;
	bool oom;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *pkg_key(const char *name, const char *arch)
{
	size_t nl = strlen(name), al = strlen(arch);
	char *k = malloc(nl + al + 2);
	if (k) {
		memcpy(k, name, nl);
		k[nl] = '\t';
		memcpy(k + nl + 1, arch, al + 1);
	}
	return k;
}

static void stale_row(void *ctx, const struct gate_ledger_pkg *p)
{
	struct stale *s = ctx;
	char *k = pkg_key(p->name, p->arch);
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
		return oom(err);
	for (; s.nkey < r->npkgs; s.nkey++)
		if (!(s.key[s.nkey] = pkg_key(r->pkgs[s.nkey].name, r->pkgs[s.nkey].arch))) {
			rc = oom(err);
			goto out;
		}
	qsort(s.key, s.nkey, sizeof(*s.key), cmp_key);
	if ((rc = gate_ledger_list(l, stale_row, &s, err)) != GATE_OK)
		goto out;
	if (s.oom) {
		rc = oom(err);
		goto out;
	}
	if (s.n && (rc = gate_ledger_forget(l, (const char *const *)s.name,
					    (const char *const *)s.arch, s.n, err)) != GATE_OK)
		goto out;
	st->forgotten = s.n;
	for (size_t i = 0; i < s.n && r->o->event; i++) {
		struct gate_import_event ev = {s.name[i], s.version[i], s.arch[i], NULL, false,
					       "forgotten", "recorded, but no longer installed"};
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

enum gate_err gate_ledger_prune_dpkg(struct gate_ledger *l, const char *status,
				     size_t *forgotten, struct gate_error *err)
{
	static const struct gate_import_opts all = {0};
	struct run r = {.o = &all};
	struct gate_import_stats st = {0};
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	enum gate_err rc = read_status_file(&r, status ? status : GATE_DPKG_ADMINDIR "/status", err);
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
		if (!r->o->force &&
		    (rc = gate_ledger_has_version(l, p->name, p->arch, p->version, &have, &src,
						  err)) != GATE_OK)
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
			found = selected(&(struct gate_import_opts){.only = &o->only[i], .nonly = 1},
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
		rc = oom(err);
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
	rc = record_all(&r, l, queued, st, err);
	atomic_store(&r.stop, true);
	if (rc == GATE_OK && !o->nonly)
		rc = forget_stale(&r, l, st, err);
out:
	for (unsigned i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	run_free(&r);
	return rc;
}
