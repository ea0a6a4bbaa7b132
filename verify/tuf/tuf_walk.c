/* tuf_walk.c - walking the delegations of a TUF repository (spec/TUF.md
 * §4): the search for one target path in priority order, with terminating
 * delegations and hash bins (T22, T23), and the enumeration of every role
 * reachable from "targets" (allowlists by digest). Roles load through
 * gate_tuf_load_role() (tuf_client.c), so each one is verified as in T17-T21, T24. */
#include "tuf_client_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- target search (T22, T23) ---- */

/* Names on the stack are borrowed: from the delegating metadata (alive as
 * long as the updater keeps it loaded) or from w->names for computed
 * hash-bin names, so a large delegation list costs pointers, not copies. */
struct frame {
	const char *role;
	const char *parent; /* NULL: delegated by root */
};

struct walk {
	struct frame *stack;
	size_t n, alloc;
	const char **visited;
	size_t nvisited;
	char **names; /* owned: hash-bin role names */
	size_t nnames;
};

static void walk_free(struct walk *w)
{
	free(w->stack);
	free(w->visited);
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
}

static bool walk_push(struct walk *w, const char *role, const char *parent)
{
	if (w->n == w->alloc) {
		size_t na = w->alloc ? w->alloc * 2 : 16;
		struct frame *ns = realloc(w->stack, na * sizeof(*ns));
		if (!ns)
			return false;
		w->stack = ns;
		w->alloc = na;
	}
	w->stack[w->n].role = role;
	w->stack[w->n].parent = parent;
	w->n++;
	return true;
}

/* Keep a computed name alive for the rest of the walk. */
static const char *walk_name(struct walk *w, const char *name)
{
	char **nn = realloc(w->names, (w->nnames + 1) * sizeof(*nn));
	if (!nn)
		return NULL;
	w->names = nn;
	if (!(w->names[w->nnames] = strdup(name)))
		return NULL;
	return w->names[w->nnames++];
}

static bool walk_visited(const struct walk *w, const char *role)
{
	for (size_t i = 0; i < w->nvisited; i++)
		if (strcmp(w->visited[i], role) == 0)
			return true;
	return false;
}

/* Keys and role entry with which parent delegates role. */
static enum gate_err delegation_of(struct gate_tuf_updater *u, const struct frame *f,
				   const struct gate_tuf_keys **keys,
				   const struct gate_tuf_role **role, struct gate_error *err)
{
	if (!f->parent) {
		*keys = &u->root->keys;
		*role = &u->root->roles[GATE_TUF_TARGETS];
		return GATE_OK;
	}
	const struct gate_tuf_md *p = gate_tuf_find_loaded(u, f->parent);
	if (p && p->has_succinct && gate_tuf_succinct_has(&p->succinct, f->role)) {
		*keys = &p->dkeys;
		*role = &p->succinct.role;
		return GATE_OK;
	}
	for (size_t i = 0; p && i < p->ndroles; i++) {
		if (strcmp(p->droles[i].name, f->role) == 0) {
			*keys = &p->dkeys;
			*role = &p->droles[i].role;
			return GATE_OK;
		}
	}
	return gate_fail(err, GATE_E_INTERNAL, "T22", f->role, "delegation vanished");
}

/* T22: push the delegations of md that match path, in priority order
 * (pushed reversed so the first is popped first); a terminating match
 * stops collecting and drops everything still on the stack. */
static bool push_children(struct walk *w, const struct gate_tuf_md *md, const char *name,
			  const char *path)
{
	size_t base = w->n;
	if (md->has_succinct) {
		char bin[GATE_TUF_MAX_NAME + 16];
		const char *b;
		if (!gate_tuf_succinct_role(&md->succinct, path, bin, sizeof bin))
			return true;
		if (!(b = walk_name(w, bin)))
			return false;
		/* Every bin is terminating. */
		w->n = 0;
		return walk_push(w, b, name);
	}
	for (size_t i = 0; i < md->ndroles; i++) {
		const struct gate_tuf_delegation *d = &md->droles[i];
		if (!gate_tuf_delegation_matches(d, path))
			continue;
		if (d->terminating) {
			/* Keep what this role collected so far, drop the rest
			 * of the stack. */
			memmove(w->stack, w->stack + base, (w->n - base) * sizeof(*w->stack));
			w->n -= base;
			base = 0;
			if (!walk_push(w, d->name, name))
				return false;
			break;
		}
		if (!walk_push(w, d->name, name))
			return false;
	}
	/* Reverse the collected run so the first delegation is on top. */
	for (size_t a = base, b = w->n; b > a + 1; a++, b--) {
		struct frame t = w->stack[a];
		w->stack[a] = w->stack[b - 1];
		w->stack[b - 1] = t;
	}
	return true;
}

static enum gate_err make_target(struct gate_tuf_updater *u, const struct gate_tuf_file *f,
				 const char *role, const struct gate_tuf_target **out,
				 struct gate_error *err)
{
	struct gate_tuf_target *t = calloc(1, sizeof(*t));
	struct gate_tuf_target **nf = realloc(u->found, (u->nfound + 1) * sizeof(*nf));
	if (!t || !nf) {
		free(t);
		if (nf)
			u->found = nf;
		return gate_fail(err, GATE_E_NOMEM, NULL, f->name, "out of memory");
	}
	u->found = nf;
	t->path = f->name;
	t->length = (uint64_t)f->length;
	t->hashes = f->hashes;
	t->nhashes = f->nhashes;
	t->custom = f->custom;
	/* The role name lives as long as the updater (loaded list). */
	for (size_t i = 0; i < u->nroles; i++)
		if (strcmp(u->roles[i].name, role) == 0)
			t->role = u->roles[i].name;
	u->found[u->nfound++] = t;
	*out = t;
	return GATE_OK;
}

enum gate_err gate_tuf_find_target(struct gate_tuf_updater *u, const char *path,
				   const struct gate_tuf_target **out, struct gate_error *err)
{
	struct walk w = {0};
	enum gate_err rc = GATE_OK;
	*out = NULL;
	if (u->state == REFRESH_NONE && (rc = gate_tuf_refresh(u, err)) != GATE_OK)
		return rc;
	if (u->state != REFRESH_OK)
		return gate_fail(err, GATE_E_USAGE, NULL, path, "the refresh failed");
	if (!walk_push(&w, "targets", NULL)) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
		goto out;
	}
	while (w.n > 0 && w.nvisited <= u->caps.max_delegations) {
		struct frame f = w.stack[--w.n];
		const struct gate_tuf_keys *keys = NULL;
		const struct gate_tuf_role *role = NULL;
		struct gate_tuf_md *md = NULL;
		const struct gate_tuf_file *tf = NULL;
		const char **nv;
		if (walk_visited(&w, f.role))
			continue;
		if ((rc = delegation_of(u, &f, &keys, &role, err)) != GATE_OK ||
		    (rc = gate_tuf_load_role(u, f.role, keys, role, &md, err)) != GATE_OK)
			goto out;
		if ((tf = gate_tuf_find_file(md, path))) {
			rc = make_target(u, tf, f.role, out, err);
			goto out;
		}
		/* Visited after the pre-order check (as the reference). The
		 * loaded list's copy of the name outlives the walk. */
		const char *self = NULL;
		for (size_t i = 0; i < u->nroles && !self; i++)
			if (u->roles[i].md == md)
				self = u->roles[i].name;
		if (!self || !(nv = realloc(w.visited, (w.nvisited + 1) * sizeof(*nv)))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
			goto out;
		}
		w.visited = nv;
		w.visited[w.nvisited++] = self;
		if (md->has_delegations && !push_children(&w, md, self, path)) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
			goto out;
		}
	}
out:
	walk_free(&w);
	return rc;
}

/* ---- enumeration (allowlists by digest) ---- */

/* Push the children of md (delegated by role "self") so that the first
 * delegation is popped first. Hash bins are taken from the snapshot: a bin
 * it does not list cannot be loaded anyway (T17). */
static bool walk_push_all(struct gate_tuf_updater *u, struct walk *w, const struct gate_tuf_md *md,
			  const char *self)
{
	if (md->has_succinct) {
		for (size_t i = u->snapshot->nmeta; i-- > 0;) {
			const char *n = u->snapshot->meta[i].name;
			size_t len = strlen(n);
			char bin[GATE_TUF_MAX_NAME + 1];
			const char *b;
			if (len <= 5 || len - 5 > GATE_TUF_MAX_NAME ||
			    strcmp(n + len - 5, ".json") != 0)
				continue;
			memcpy(bin, n, len - 5);
			bin[len - 5] = '\0';
			if (!gate_tuf_succinct_has(&md->succinct, bin))
				continue;
			if (!(b = walk_name(w, bin)) || !walk_push(w, b, self))
				return false;
		}
		return true;
	}
	for (size_t i = md->ndroles; i-- > 0;)
		if (!walk_push(w, md->droles[i].name, self))
			return false;
	return true;
}

enum gate_err gate_tuf_walk_targets(struct gate_tuf_updater *u, size_t max_roles,
				    gate_tuf_target_fn fn, void *ctx,
				    struct gate_tuf_walk_stats *st, struct gate_error *err)
{
	struct walk w = {0};
	enum gate_err rc = GATE_OK;
	memset(st, 0, sizeof(*st));
	if (u->state == REFRESH_NONE && (rc = gate_tuf_refresh(u, err)) != GATE_OK)
		return rc;
	if (u->state != REFRESH_OK)
		return gate_fail(err, GATE_E_USAGE, NULL, NULL, "the refresh failed");
	if (!walk_push(&w, "targets", NULL)) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	while (w.n > 0) {
		struct frame f = w.stack[--w.n];
		const struct gate_tuf_keys *keys = NULL;
		const struct gate_tuf_role *role = NULL;
		struct gate_tuf_md *md = NULL;
		struct gate_error re = {0};
		const char **nv;
		if (walk_visited(&w, f.role))
			continue;
		if (w.nvisited >= max_roles) {
			st->truncated = true;
			break;
		}
		/* A delegated role that does not load (not cached offline, bad
		 * signature, expired) hides its own targets only; the top-level
		 * role must load (the refresh already did). */
		if (delegation_of(u, &f, &keys, &role, &re) != GATE_OK ||
		    gate_tuf_load_role(u, f.role, keys, role, &md, &re) != GATE_OK) {
			if (!f.parent) {
				if (err)
					*err = re;
				rc = re.code ? re.code : GATE_E_INTERNAL;
				goto out;
			}
			if (st->skipped++ == 0)
				st->first_skip = re;
			/* Never retried under another delegator in this walk. */
			if (!(nv = realloc(w.visited, (w.nvisited + 1) * sizeof(*nv))) ||
			    !(nv[w.nvisited] = walk_name(&w, f.role))) {
				if (nv)
					w.visited = nv;
				rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
				goto out;
			}
			w.visited = nv;
			w.nvisited++;
			continue;
		}
		const char *self = NULL;
		for (size_t i = 0; i < u->nroles && !self; i++)
			if (u->roles[i].md == md)
				self = u->roles[i].name;
		if (!self || !(nv = realloc(w.visited, (w.nvisited + 1) * sizeof(*nv)))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			goto out;
		}
		w.visited = nv;
		w.visited[w.nvisited++] = self;
		st->roles++;
		for (size_t i = 0; i < md->ntargets; i++) {
			st->targets++;
			if (!fn(ctx, &md->targets[i], self)) {
				st->stopped = true;
				goto out;
			}
		}
		if (md->has_delegations && !walk_push_all(u, &w, md, self)) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			goto out;
		}
	}
out:
	walk_free(&w);
	return rc;
}
