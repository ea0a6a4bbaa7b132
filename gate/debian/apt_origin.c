/* apt_origin.c - apt-origin evidence (apt_origin.h). The chain of trust:
 * keyring (policy) -> InRelease (gpgv; only the signed text it outputs is
 * read), or Release + Release.gpg (read once; gpgv checks the bytes that
 * are then parsed) -> SHA256 of a Packages index -> SHA256 and Size of the
 * .deb, or its name, version and architecture. This file holds the
 * decision: the walk of an archive's lists dir along that chain. The
 * parsers are in apt_parse.c, gpgv in apt_gpgv.c, the cached files in
 * apt_cache.c. */
#include "apt_origin_int.h"
#include "gate_int.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the decision ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is path (as a Release lists it) a Packages index, and of which
 * component? COMPONENT/binary-ARCH/Packages[.gz|.xz] gives COMPONENT; the
 * top-level Packages[.gz|.xz] of a flat repository ("deb URI DIR/", apt's
 * list file <prefix>Packages) gives "": apt gives a flat repository's
 * index targets no Component (apt-get indextargets lists none), so a policy
 * component constraint never matches a flat repository. */
static bool packages_path(const char *path, char *comp, size_t cap)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(base, "Packages") != 0 && strcmp(base, "Packages.gz") != 0 &&
	    strcmp(base, "Packages.xz") != 0)
		return false;
	if (base == path) {
		if (!cap)
			return false;
		comp[0] = '\0';
		return true;
	}
	const char *b = strstr(path, "/binary-");
	if (!b || b == path || b >= base)
		return false;
	if ((size_t)(b - path) >= cap || strstr(path, "..") || path[0] == '/')
		return false;
	memcpy(comp, path, (size_t)(b - path));
	comp[b - path] = '\0';
	return true;
}

struct best {
	int rank;
	enum gate_err rc;
	char msg[sizeof(((struct gate_error *)0)->msg)];
};

static void note(struct best *b, int rank, enum gate_err rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct best *b, int rank, enum gate_err rc, const char *fmt, ...)
{
	if (rank <= b->rank)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof b->msg, fmt, ap);
	va_end(ap);
	b->rank = rank;
	b->rc = rc;
}

static bool add_ext(struct gate_facts *f, const char *name, const char *v)
{
	if (!v || f->n_exts >= GATE_MAX_FACT_EXTS)
		return true;
	if (!(f->exts[f->n_exts].value = strdup(v)))
		return false;
	f->exts[f->n_exts++].name = name;
	return true;
}

static enum gate_err make_facts(const struct gate_policy_apt *a, const struct rel_ent *re,
				const char *comp, const struct gate_apt_pkg *pk,
				struct gate_facts **out, struct gate_error *err)
{
	struct gate_facts *f = calloc(1, sizeof(*f));
	if (!f)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	f->kind = GATE_SIGNER_APT;
	snprintf(f->fingerprint, sizeof f->fingerprint, "%s", re->fpr);
	snprintf(f->key_id, sizeof f->key_id, "%s", re->fpr);
	gate_hex_encode(pk->sha256, 32, f->digest);
	if (!(f->anchor_name = strdup(a->name)) || !add_ext(f, "apt_origin", re->rel.origin) ||
	    !add_ext(f, "apt_suite", re->rel.suite ? re->rel.suite : re->rel.codename) ||
	    !add_ext(f, "apt_component", comp[0] ? comp : NULL) ||
	    !add_ext(f, "apt_package", pk->name) || !add_ext(f, "apt_version", pk->version) ||
	    !add_ext(f, "apt_architecture", pk->arch)) {
		gate_facts_free(f);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	*out = f;
	return GATE_OK;
}

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)t);
}

/* What a walk looks for in one verified index of the archive (local names
 * its file): the entry, or NULL, after a note in b when the index has
 * something to say about it. */
typedef const struct gate_apt_pkg *(*match_fn)(const struct gate_apt_index *ix, const char *local,
					       const void *ctx, struct best *b);

/* What a walk found: the entry, the Release that vouches for its index,
 * and the index's component ("" for a flat repository). */
struct hit {
	const struct rel_ent *re;
	const struct gate_apt_pkg *pk;
	char comp[256];
};

/* A Release of a lists dir: <prefix>InRelease, or <prefix>Release whose
 * signature is <prefix>Release.gpg (detached). */
static bool release_name(const char *name, bool *detached, size_t *prefix)
{
	size_t l = strlen(name);
	if (l >= 9 && strcmp(name + l - 9, "InRelease") == 0) {
		*detached = false;
		*prefix = l - 9;
		return true;
	}
	if (l >= 7 && strcmp(name + l - 7, "Release") == 0) {
		*detached = true;
		*prefix = l - 7;
		return true;
	}
	return false;
}

/* Is there an InRelease for this prefix among the sorted names? It takes
 * precedence over the Release + Release.gpg, as for apt. */
static bool has_inrelease(char *const *names, size_t nn, const char *name, size_t prefix)
{
	char want[512];
	if (prefix + sizeof "InRelease" > sizeof want)
		return false;
	memcpy(want, name, prefix);
	memcpy(want + prefix, "InRelease", sizeof "InRelease");
	const char *key = want;
	return bsearch(&key, names, nn, sizeof(*names), cmp_str) != NULL;
}

/* The Releases of the lists dir, sorted by name (more than
 * GATE_APT_MAX_INRELEASE is an error). */
static enum gate_err list_releases(const struct gate_policy_apt *a, const char *dir, char ***names,
				   size_t *nn, struct gate_error *err)
{
	DIR *d = opendir(dir);
	enum gate_err rc = GATE_OK;
	*nn = 0;
	if (!d)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "archive '%s': %s: %s", a->name, dir,
				 strerror(errno));
	if (!(*names = calloc(GATE_APT_MAX_INRELEASE, sizeof(**names)))) {
		closedir(d);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	for (struct dirent *de; (de = readdir(d));) {
		bool detached;
		size_t prefix;
		if (!release_name(de->d_name, &detached, &prefix))
			continue;
		if (*nn == GATE_APT_MAX_INRELEASE) {
			/* Never decide on a part of the lists chosen by readdir. */
			rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
				       "archive '%s': %s holds more than %u Release files", a->name,
				       dir, GATE_APT_MAX_INRELEASE);
			break;
		}
		if (!((*names)[*nn] = strdup(de->d_name))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			break;
		}
		(*nn)++;
	}
	closedir(d);
	qsort(*names, *nn, sizeof(**names), cmp_str);
	return rc;
}

static void free_names(char **names, size_t nn)
{
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
}

/* Walk the verified Releases of archive a (per lists prefix its InRelease,
 * else its Release + Release.gpg; in name order) that pass the policy's
 * origin and suite, and their Packages indexes of the policy's component
 * that are there and match their SHA256; the first entry match gives
 * under a current Release (Valid-Until) ends the walk in *h. GATE_OK with
 * h->pk NULL: not found, best says why when it can. */
static enum gate_err walk_locked(const struct gate_policy_apt *a, int64_t now, match_fn match,
				 const void *ctx, struct hit *h, struct best *best,
				 struct gate_error *err)
{
	const char *dir = a->lists ? a->lists : GATE_APT_DEFAULT_LISTS;
	char **names = NULL;
	size_t nn = 0;
	h->re = NULL;
	h->pk = NULL;
	h->comp[0] = '\0';
	enum gate_err rc = list_releases(a, dir, &names, &nn, err);
	for (size_t i = 0; rc == GATE_OK && i < nn && !h->pk; i++) {
		char path[4096];
		struct gate_error le = {0};
		bool detached = false;
		size_t prefix = 0;
		release_name(names[i], &detached, &prefix);
		if (detached && has_inrelease(names, nn, names[i], prefix))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		const struct rel_ent *re = gate_apt_get_release(path, detached, a->keyring, &le);
		if (!re) {
			note(best, 2, le.code ? le.code : GATE_E_SIGNATURE, "%s", le.msg);
			continue;
		}
		const struct gate_apt_release *r = &re->rel;
		if (a->origin && !(r->origin && strcmp(a->origin, r->origin) == 0)) {
			note(best, 1, GATE_E_IDENTITY, "%s: origin '%s', the policy wants '%s'",
			     path, r->origin ? r->origin : "", a->origin);
			continue;
		}
		if (a->suite && !(r->suite && strcmp(a->suite, r->suite) == 0) &&
		    !(r->codename && strcmp(a->suite, r->codename) == 0)) {
			note(best, 1, GATE_E_IDENTITY, "%s: suite '%s', the policy wants '%s'",
			     path, r->suite ? r->suite : "", a->suite);
			continue;
		}
		for (size_t k = 0; k < r->nfiles && !h->pk; k++) {
			const struct gate_apt_relfile *rf = &r->files[k];
			char comp[sizeof h->comp], local[4096];
			if (!packages_path(rf->path, comp, sizeof comp))
				continue;
			if (a->component && strcmp(a->component, comp) != 0)
				continue;
			int w = snprintf(local, sizeof local, "%s/%.*s%s", dir, (int)prefix,
					 names[i], rf->path);
			if (w < 0 || (size_t)w >= sizeof local)
				continue;
			for (char *p = local + strlen(dir) + 1 + prefix; *p; p++)
				if (*p == '/')
					*p = '_';
			/* An uncompressed entry of the Release also vouches for
			 * apt's recompressed copy of it, by the decompressed text. */
			bool plain = !gate_apt_ends_with(rf->path, ".gz") &&
				     !gate_apt_ends_with(rf->path, ".xz");
			static const char *const apt_copies[] = {"", ".lz4", ".zst", ".gz", ".xz"};
			size_t ll = strlen(local), c = 0;
			for (; c < (plain ? 5u : 1u); c++) {
				if (ll + strlen(apt_copies[c]) >= sizeof local)
					continue;
				strcpy(local + ll, apt_copies[c]);
				if (access(local, F_OK) == 0)
					break;
			}
			if (c == (plain ? 5u : 1u))
				continue;
			const struct idx_ent *ix = gate_apt_get_index(local, &le);
			if (!ix) {
				note(best, 3, le.code, "%s", le.msg);
				continue;
			}
			const uint8_t *got = plain ? ix->plain_sha256 : ix->sha256;
			if ((plain ? ix->plain_size : ix->size) != rf->size ||
			    memcmp(got, rf->sha256, 32) != 0) {
				note(best, 3, GATE_E_DIGEST,
				     "%s does not match its SHA256 in %s (tampered or out of date)",
				     local, path);
				continue;
			}
			const struct gate_apt_pkg *pk = match(&ix->ix, local, ctx, best);
			if (!pk)
				continue;
			if (r->valid_until && now > r->valid_until) {
				char when[64];
				fmt_time(r->valid_until, when, sizeof when);
				note(best, 5, GATE_E_EXPIRED, "Release is stale since %s (%s)",
				     when, path);
				continue;
			}
			h->re = re;
			h->pk = pk;
			memcpy(h->comp, comp, sizeof comp);
		}
	}
	free_names(names, nn);
	return rc;
}

struct by_digest {
	const uint8_t *sha256;
	uint64_t size;
};

static const struct gate_apt_pkg *match_digest(const struct gate_apt_index *ix, const char *local,
					       const void *ctx, struct best *b)
{
	const struct by_digest *q = ctx;
	const struct gate_apt_pkg *pk = gate_apt_index_find(ix, q->sha256);
	if (pk && pk->size != q->size) {
		note(b, 4, GATE_E_DIGEST, "%s lists this SHA-256 with size %llu, the file has %llu",
		     local, (unsigned long long)pk->size, (unsigned long long)q->size);
		return NULL;
	}
	return pk;
}

struct by_version {
	const char *name, *version, *arch;
};

static const struct gate_apt_pkg *match_version(const struct gate_apt_index *ix, const char *local,
						const void *ctx, struct best *b)
{
	const struct by_version *q = ctx;
	size_t n;
	struct gate_apt_pkg *const *m =
		gate_apt_index_find_version(ix, q->name, q->version, q->arch, &n);
	if (!m)
		return NULL;
	/* sorted by sha256 within the package: the first and the last differ
	 * when any do */
	if (memcmp(m[0]->sha256, m[n - 1]->sha256, 32) != 0) {
		note(b, 4, GATE_E_DIGEST,
		     "%s lists %.80s %.80s %.20s more than once with different SHA-256s", local,
		     q->name, q->version, q->arch);
		return NULL;
	}
	for (size_t i = 1; i < n; i++)
		if (m[i]->size != m[0]->size) {
			note(b, 4, GATE_E_DIGEST,
			     "%s lists %.80s %.80s %.20s more than once with different sizes",
			     local, q->name, q->version, q->arch);
			return NULL;
		}
	return m[0];
}

static const struct gate_policy_apt *archive_of(const struct gate_policy *p, size_t archive,
						struct gate_error *err)
{
	if (archive >= p->napts) {
		gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "no such archive");
		return NULL;
	}
	return &p->apts[archive];
}

enum gate_err gate_apt_origin_verify(const struct gate_policy *p, size_t archive,
				     const uint8_t sha256[32], uint64_t size, int64_t now,
				     struct gate_facts **out, struct gate_error *err)
{
	const struct gate_policy_apt *a = archive_of(p, archive, err);
	struct by_digest q = {sha256, size};
	struct best best = {0};
	struct hit h;
	*out = NULL;
	if (!a)
		return GATE_E_INTERNAL;
	pthread_mutex_lock(&gate_apt_cache_lock);
	enum gate_err rc = walk_locked(a, now, match_digest, &q, &h, &best, err);
	if (rc == GATE_OK && h.pk)
		rc = make_facts(a, h.re, h.comp, h.pk, out, err);
	pthread_mutex_unlock(&gate_apt_cache_lock);
	if (rc != GATE_OK || *out)
		return rc;
	if (best.rank)
		return gate_fail(err, best.rc, NULL, "apt", "archive '%s': %s", a->name, best.msg);
	char hex[65];
	gate_hex_encode(sha256, 32, hex);
	return gate_fail(err, GATE_E_DIGEST, NULL, "apt",
			 "archive '%s': sha256 %s is not listed in a verified Packages index of %s",
			 a->name, hex, a->lists ? a->lists : GATE_APT_DEFAULT_LISTS);
}

enum gate_err gate_apt_origin_find_version(const struct gate_policy *p, size_t archive,
					   const char *name, const char *version, const char *arch,
					   int64_t now, struct gate_facts **out, uint64_t *size,
					   struct gate_error *err)
{
	const struct gate_policy_apt *a = archive_of(p, archive, err);
	struct by_version q = {name, version, arch};
	struct best best = {0};
	struct hit h;
	*out = NULL;
	*size = 0;
	if (!a)
		return GATE_E_INTERNAL;
	if (!name || !version || !arch || !name[0] || !version[0] || !arch[0])
		return gate_fail(err, GATE_E_USAGE, NULL, "apt",
				 "archive '%s': a package needs a name, version and architecture",
				 a->name);
	pthread_mutex_lock(&gate_apt_cache_lock);
	enum gate_err rc = walk_locked(a, now, match_version, &q, &h, &best, err);
	if (rc == GATE_OK && h.pk) {
		rc = make_facts(a, h.re, h.comp, h.pk, out, err);
		*size = h.pk->size;
	}
	pthread_mutex_unlock(&gate_apt_cache_lock);
	if (rc != GATE_OK || *out) {
		if (rc != GATE_OK)
			*size = 0;
		return rc;
	}
	if (best.rank)
		return gate_fail(err, best.rc, NULL, "apt", "archive '%s': %s", a->name, best.msg);
	return gate_fail(err, GATE_E_DIGEST, NULL, "apt",
			 "archive '%s': %.80s %.80s %.20s is not listed in a verified Packages "
			 "index of %s",
			 a->name, name, version, arch,
			 a->lists ? a->lists : GATE_APT_DEFAULT_LISTS);
}
