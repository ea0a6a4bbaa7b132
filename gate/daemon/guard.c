/* guard.c - gated's rules for what runs without being exec'd as itself:
 * the dynamic loader run as a program (loader.h) and interpreters known by
 * content, the opens of theirs that are decided, and code they are given
 * on the command line or standard input (interp.h). fan.c calls these at
 * a few points; everything here is fail-closed. */
#include "gated.h"
#include "elfinfo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>

enum gate_err gated_guard_setup(struct gated *g, bool reload, struct gate_error *err)
{
	enum gate_err rc = GATE_OK;
	if (!g->loaders && !(g->loaders = gated_loaders_new()))
		return gate_fail(err, GATE_E_NOMEM, NULL, "loaders", "out of memory");
	gated_loaders_scan(g->loaders, g->cfg.interpreters, g->cfg.ninterpreters);
	if (!g->cfg.ninterpreters)
		return GATE_OK;
	if (reload && g->interps)
		rc = gated_interps_rehash(g->interps, g->cfg.interpreters, g->cfg.ninterpreters,
					  err);
	else if (!g->interps)
		rc = gated_interps_new(g->cfg.interpreters, g->cfg.ninterpreters, GATED_EXE_CACHE,
				       &g->interps, err);
	return rc;
}

void gated_guard_free(struct gated *g)
{
	gated_loaders_free(g->loaders);
	gated_interps_free(g->interps);
	g->loaders = NULL;
	g->interps = NULL;
}

/* ---- the loader ---- */

/* Audit mode logs what these rules would deny and allows it (so does
 * --loader-as-program log for the loader rule). */
static bool enforcing(const struct gated *g)
{
	return atomic_load(&g->mode) == GATE_MODE_ENFORCE;
}

bool gated_guard_cached(struct gated *g, pid_t pid, int fd, const struct gate_vcache_val *v,
			const char **why)
{
	*why = NULL;
	if (v->flags & GATE_VCACHE_F_LOADER) {
		*why = gated_loaders_check(g->loaders, pid, fd, gate_now_ns());
		return *why && enforcing(g) && !g->cfg.loader_log ? false : v->allowed;
	}
	gated_loaders_program(g->loaders, pid, v->allowed ? v->interp : 0, gate_now_ns());
	return v->allowed;
}

const char *gated_guard_loader(struct gated *g, const struct gated_event *ev, const uint8_t *sha256,
			       struct gate_vcache_val *cv)
{
	if (!sha256 || !gated_loaders_is_loader(g->loaders, sha256))
		return NULL;
	cv->flags |= GATE_VCACHE_F_LOADER;
	return gated_loaders_check(g->loaders, ev->pid, ev->fd, gate_now_ns());
}

void gated_guard_program(struct gated *g, const struct gated_event *ev, bool allowed,
			 struct gate_vcache_val *cv, bool *learn)
{
	struct gated_elf e;
	*learn = false;
	if (cv->flags & GATE_VCACHE_F_LOADER)
		return;
	gated_elf_from_fd(ev->fd, &e);
	if (e.kind == GATED_ELF_DYNAMIC)
		cv->interp = gated_loaders_intern(g->loaders, e.interp, learn);
	/* A full interpreter table leaves id 0: that program's loader event
	 * is then denied (fail closed; GATED_LOADER_PATHS is far above what a
	 * system has). */
	gated_loaders_program(g->loaders, ev->pid, allowed ? cv->interp : 0, gate_now_ns());
}

void gated_guard_learn(struct gated *g, const struct gate_vcache_val *cv)
{
	gated_loaders_learn(g->loaders, cv->interp);
}

/* ---- interpreters ---- */

int gated_guard_open_fast(struct gated *g, pid_t pid)
{
	if (!g->interps)
		return 0;
	enum gated_family fam = gated_interps_peek(g->interps, pid);
	if (fam == GATED_FAM_NONE)
		return 0;
	/* Command lines are read by a worker: with the inline rule on, every
	 * open by an interpreter goes there. */
	return fam != GATED_FAM_UNKNOWN && g->cfg.interp_inline == GATED_INLINE_ALLOW ? 1 : 2;
}

static const char *inline_reason(enum gated_argv a)
{
	switch (a) {
	case GATED_ARGV_INLINE:
		return "interpreter given code on its command line (-c/-e)";
	case GATED_ARGV_STDIN:
		return "interpreter reading code from standard input (no script operand)";
	default:
		return "interpreter command line unreadable or over 64 KiB";
	}
}

enum gated_guard gated_guard_open(struct gated *g, const struct gated_event *ev, const char **why)
{
	char *operand = NULL;
	*why = NULL;
	if (ev->mask & FAN_OPEN_EXEC_PERM || !g->interps)
		return GATED_GUARD_DECIDE;
	enum gated_family fam = gated_interps_resolve(g->interps, ev->pid);
	if (fam == GATED_FAM_NONE || fam == GATED_FAM_UNKNOWN)
		return GATED_GUARD_PASS;
	enum gated_argv a = gated_interps_argv(ev->pid, fam, &operand);
	enum gated_guard r = GATED_GUARD_DECIDE;
	if (g->cfg.interp_inline == GATED_INLINE_DENY && a != GATED_ARGV_SCRIPT &&
	    a != GATED_ARGV_MODULE) {
		*why = inline_reason(a);
		r = GATED_GUARD_DENY;
		goto out;
	}
	/* UNREAD: every regular file is decided, as if all were scripts. */
	if (a != GATED_ARGV_UNREAD && !gated_interps_is_script(fam, ev->pid, ev->fd, operand))
		r = GATED_GUARD_PASS;
out:
	free(operand);
	return r;
}
