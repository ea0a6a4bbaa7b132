/* dpkg_record.c - recording in the ledger, on the calling thread, the
 * packages the workers of dpkg_import.c have hashed: each one's origin
 * (the first archive of the policy that lists its exact version), its
 * files compared with the cached .deb when asked, its row built and
 * committed in batches, with a report line for whatever is not vouched
 * for. */
#include "dpkg_import_int.h"
#include "apt_origin.h"
#include "deb.h"
#include "gate_int.h"
#include "signer.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_PKGS 64	      /* packages per transaction ... */
#define BATCH_FILES 20000     /* ... or files ... */
#define BATCH_NS 1000000000LL /* ... or time since the first in it */
#define PROGRESS_NS 100000000LL

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void emit(const struct run *r, const struct ipkg *p, const char *path, bool recorded,
		 const char *what, const char *detail)
{
	if (!r->o->event)
		return;
	struct gate_import_event ev = {p->name, p->version,	     p->arch, path, recorded,
				       what,	detail ? detail : ""};
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
		if (gate_apt_origin_find_version(pol, i, p->name, p->version, p->arch, r->o->now,
						 &f, &size, &le) != GATE_OK) {
			if (!why[0] || le.code != GATE_E_DIGEST)
				snprintf(why, sizeof why, "%s", le.msg);
			continue;
		}
		const struct gate_facts *signer = f;
		json_t *arr = gate_facts_signers_json(&signer, 1);
		char origin[512];
		snprintf(origin, sizeof origin, "apt:%s %s/%s/%s", pol->apts[i].name,
			 ext_of(f, "apt_origin"), ext_of(f, "apt_suite"),
			 ext_of(f, "apt_component"));
		lp->signers = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
		json_decref(arr);
		lp->origin = strdup(origin);
		memcpy(lp->deb_sha256, f->digest, sizeof lp->deb_sha256);
		gate_facts_free(f);
		if (!lp->signers || !lp->origin)
			return gate_dpkg_oom(err);
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
		return gate_dpkg_oom(err);
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
		e->state = f->size == e->size && strcmp(f->sha256, e->sha256) == 0
				   ? GATE_FILE_OK
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
	bool pend = e->pkg->pend != NULL;
	switch (e->state) {
	case GATE_FILE_CONFIG:
		return "config file: recorded, not vouched for";
	case GATE_FILE_CHANGED:
		return pend	    ? "changed since unpacked: differs from the verified .deb"
		       : e->by_deb ? "changed since install: differs from the archive's .deb"
				   : "changed since install: differs from the md5sum dpkg kept";
	case GATE_FILE_UNVERIFIED:
		return pend ? "the verified .deb has no digest for it: recorded, not vouched for"
			    : "dpkg kept no md5sum for it: recorded, not vouched for";
	default:
		return "";
	}
}

/* What the apt hook verified of a pending package: it was allowed at
 * install time. rule is borrowed (row_free leaves it), signers and origin
 * copied. */
static enum gate_err from_pending(const struct gate_ledger_pkg *pend, struct gate_ledger_pkg *lp,
				  struct gate_error *err)
{
	lp->source = GATE_LEDGER_INSTALL;
	memcpy(lp->deb_sha256, pend->deb_sha256, sizeof lp->deb_sha256);
	lp->rule = pend->rule;
	lp->time = pend->time;
	if ((pend->signers && !(lp->signers = strdup(pend->signers))) ||
	    (pend->origin && !(lp->origin = strdup(pend->origin))))
		return gate_dpkg_oom(err);
	return GATE_OK;
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
	if (p->pend && (rc = from_pending(p->pend, lp, err)) != GATE_OK)
		return rc;
	if (!p->pend && (rc = find_origin(r, p, lp, err)) != GATE_OK)
		return rc;
	if (r->o->debs && lp->source == GATE_LEDGER_ARCHIVE &&
	    (rc = check_with_deb(r, p, lp, st, err)) != GATE_OK)
		return rc;
	if (!(lp->files = calloc(p->nents ? p->nents : 1, sizeof(*lp->files))))
		return gate_dpkg_oom(err);
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
			snprintf(detail, sizeof detail, "%s%s%s",
				 e->real != e->path ? "diverted to " : "",
				 e->real != e->path ? e->real : "",
				 e->err_no ? (e->real != e->path ? "; " : "") : "");
			if (e->err_no)
				snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
					 "%s", strerror(e->err_no));
			emit(r, p, e->path, false,
			     e->kind == E_PENDING ? "interrupted" : e->problem, detail);
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
		size_t *count[] = {[GATE_FILE_OK] = &st->ok,
				   [GATE_FILE_CONFIG] = &st->config,
				   [GATE_FILE_CHANGED] = &st->changed,
				   [GATE_FILE_UNVERIFIED] = &st->unverified};
		(*count[e->state])++;
		if (e->state != GATE_FILE_OK)
			emit(r, p, e->real, true, gate_ledger_state_name(e->state),
			     state_detail(e));
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

enum gate_err gate_dpkg_record_all(struct run *r, struct gate_ledger *l, size_t queued,
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
