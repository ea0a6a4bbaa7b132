/* load.c - the policy schema (version 1): a strict walk over the YAML tree.
 * Unknown keys, wrong types, bad regexps or durations, dangling and
 * duplicate names are errors at file:line:column. This file holds the
 * readers of YAML nodes every section uses and the top level; the sections
 * trust, signers and rules are in load_trust.c, load_signers.c and
 * load_rules.c. */
#include "load_int.h"
#include "policy_tuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(const struct gate_ynode *n)
{
	return n->type == GATE_Y_MAP ? "a mapping" : n->type == GATE_Y_SEQ ? "a list" : "a scalar";
}

enum gate_err gate_pl_want(struct lctx *c, const struct gate_ynode *n, enum gate_ynode_type t,
			   const char *what)
{
	if (n->type == t)
		return GATE_OK;
	return FAILN(c, n, "%s must be %s, not %s", what,
		     t == GATE_Y_MAP   ? "a mapping"
		     : t == GATE_Y_SEQ ? "a list"
				       : "a scalar",
		     type_name(n));
}

/* Map keys are scalars; duplicates are errors (the second one wins in many
 * YAML readers, which hides mistakes). */
enum gate_err gate_pl_check_map(struct lctx *c, const struct gate_ynode *m, const char *what,
				const char *const *allowed)
{
	enum gate_err rc = gate_pl_want(c, m, GATE_Y_MAP, what);
	if (rc != GATE_OK)
		return rc;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *k = m->kids[i];
		if (k->type != GATE_Y_SCALAR)
			return FAILN(c, k, "keys of %s must be scalars", what);
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(m->kids[j]->s, k->s) == 0)
				return FAILN(c, k, "duplicate key '%s' in %s", k->s, what);
		if (!allowed)
			continue;
		bool ok = false;
		for (size_t a = 0; allowed[a] && !ok; a++)
			ok = strcmp(allowed[a], k->s) == 0;
		if (!ok)
			return FAILN(c, k, "unknown key '%s' in %s", k->s, what);
	}
	return GATE_OK;
}

const struct gate_ynode *gate_pl_get(const struct gate_ynode *m, const char *key)
{
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (strcmp(m->kids[i]->s, key) == 0)
			return m->kids[i + 1];
	return NULL;
}

enum gate_err gate_pl_scalar(struct lctx *c, const struct gate_ynode *n, const char *what,
			     const char **out)
{
	enum gate_err rc = gate_pl_want(c, n, GATE_Y_SCALAR, what);
	if (rc == GATE_OK && n->len == 0)
		rc = FAILN(c, n, "%s must not be empty", what);
	if (rc == GATE_OK)
		*out = n->s;
	return rc;
}

enum gate_err gate_pl_dup_str(struct lctx *c, const struct gate_ynode *n, const char *what,
			      char **out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc == GATE_OK && !(*out = strdup(s)))
		rc = gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	return rc;
}

/* Relative paths are relative to the policy file's directory. */
enum gate_err gate_pl_path_str(struct lctx *c, const struct gate_ynode *n, const char *what,
			       char **out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	if (s[0] == '/' || !c->dir)
		*out = strdup(s);
	else if (asprintf(out, "%s/%s", c->dir, s) < 0)
		*out = NULL;
	return *out ? GATE_OK : gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

bool gate_parse_duration(const char *s, int64_t *out)
{
	char *end;
	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	int64_t unit;
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return false;
	}
	if (end[1] != '\0' || v == 0 || v > (unsigned long long)(INT64_MAX / unit))
		return false;
	*out = (int64_t)v * unit;
	return true;
}

/* A scalar or a list of scalars. */
enum gate_err gate_pl_str_list(struct lctx *c, const struct gate_ynode *n, const char *what,
			       char ***out, size_t *count)
{
	enum gate_err rc;
	if (n->type == GATE_Y_SCALAR) {
		if (!(*out = calloc(1, sizeof(char *))))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		*count = 1;
		return gate_pl_dup_str(c, n, what, &(*out)[0]);
	}
	if ((rc = gate_pl_want(c, n, GATE_Y_SEQ, what)) != GATE_OK)
		return rc;
	if (n->n == 0)
		return FAILN(c, n, "%s must not be an empty list", what);
	if (!(*out = calloc(n->n, sizeof(char *))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		*count = i + 1;
		if ((rc = gate_pl_dup_str(c, n->kids[i], what, &(*out)[i])) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

/* ---- top level ---- */

static enum gate_err load_evidence(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"dirs", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "evidence", keys);
	if (rc != GATE_OK || !(n = gate_pl_get(m, "dirs")))
		return rc;
	if ((rc = gate_pl_str_list(c, n, "evidence.dirs", &c->p->evidence_dirs,
				   &c->p->nevidence_dirs)) != GATE_OK)
		return rc;
	/* Resolve relative directories against the policy's own folder. */
	for (size_t i = 0; i < c->p->nevidence_dirs; i++) {
		char *d = c->p->evidence_dirs[i], *abs = NULL;
		if (d[0] == '/' || !c->dir || strstr(d, "://")) /* a URL store */
			continue;
		if (asprintf(&abs, "%s/%s", c->dir, d) < 0)
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		free(d);
		c->p->evidence_dirs[i] = abs;
	}
	return GATE_OK;
}

static enum gate_err load_audit(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"log", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "audit", keys);
	if (rc != GATE_OK || !(n = gate_pl_get(m, "log")))
		return rc;
	const char *s;
	if ((rc = gate_pl_scalar(c, n, "audit.log", &s)) != GATE_OK)
		return rc;
	if (strcmp(s, "stderr") == 0 || strcmp(s, "syslog") == 0)
		return gate_pl_dup_str(c, n, "audit.log", &c->p->audit_log);
	return gate_pl_path_str(c, n, "audit.log", &c->p->audit_log);
}

static enum gate_err mode_value(struct lctx *c, const struct gate_ynode *n, const char *what,
			       enum gate_mode *out)
{
	static const char *const names[] = {"enforce", "audit", "off"}; /* enum order */
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum gate_mode)i;
			return GATE_OK;
		}
	return FAILN(c, n, "%s must be enforce, audit or off, not '%s'", what, s);
}

/* Index of a single caller in gate_policy::modes, -1 for any other value. */
static int caller_index(enum gate_caller k)
{
	return k == GATE_CALLER_APT ? 0 : k == GATE_CALLER_EXEC ? 1 : k == GATE_CALLER_CI ? 2 : -1;
}

/* mode: a scalar for every caller, or a mapping caller -> mode; a caller
 * the mapping leaves out is enforce (fail closed). */
static enum gate_err load_modes(struct lctx *c, const struct gate_ynode *n)
{
	enum gate_mode *modes = c->p->modes;
	enum gate_err rc;
	if (n->type != GATE_Y_MAP) {
		if ((rc = mode_value(c, n, "mode", &modes[0])) == GATE_OK)
			modes[1] = modes[2] = modes[0];
		return rc;
	}
	if ((rc = gate_pl_check_map(c, n, "mode", NULL)) != GATE_OK)
		return rc;
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct gate_ynode *k = n->kids[i];
		int idx = caller_index(gate_pl_caller(k->s));
		char what[48];
		if (idx < 0)
			return FAILN(c, k, "unknown caller '%s' in mode: callers are apt, exec and ci",
				     k->s);
		snprintf(what, sizeof what, "mode.%s", k->s);
		if ((rc = mode_value(c, n->kids[i + 1], what, &modes[idx])) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

enum gate_mode gate_policy_mode(const struct gate_policy *p, enum gate_caller c)
{
	int idx = caller_index(c);
	if (idx >= 0)
		return p->modes[idx];
	enum gate_mode m = GATE_MODE_OFF; /* the strictest: enforce is 0 */
	for (size_t i = 0; i < GATE_POLICY_NCALLERS; i++)
		if (p->modes[i] < m)
			m = p->modes[i];
	return m;
}

enum gate_caller gate_pl_caller(const char *name)
{
	static const enum gate_caller all[] = {GATE_CALLER_APT, GATE_CALLER_EXEC, GATE_CALLER_CI};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(name, gate_caller_name(all[i])) == 0)
			return all[i];
	return GATE_CALLER_ANY;
}

static enum gate_err load_top(struct lctx *c, const struct gate_ynode *root)
{
	static const char *const keys[] = {"version",  "mode",	"trust",   "signers", "rules",
					   "evidence", "audit", "digests", NULL};
	const struct gate_ynode *n;
	const char *s;
	enum gate_err rc = gate_pl_check_map(c, root, "the policy", keys);
	if (rc != GATE_OK)
		return rc;
	if (!(n = gate_pl_get(root, "version")))
		return FAILN(c, root, "the policy needs version: 1");
	if ((rc = gate_pl_scalar(c, n, "version", &s)) != GATE_OK)
		return rc;
	if (strcmp(s, "1") != 0)
		return FAILN(c, n, "unsupported policy version '%s' (this gate reads version 1)",
			     s);
	if ((n = gate_pl_get(root, "mode")) && (rc = load_modes(c, n)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(root, "trust")) && (rc = gate_pl_load_trust(c, n)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(root, "signers")) && (rc = gate_pl_load_signers(c, n)) != GATE_OK)
		return rc;
	if (!(n = gate_pl_get(root, "rules")))
		return FAILN(c, root, "the policy needs rules");
	if ((rc = gate_pl_load_rules(c, n)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(root, "evidence")) && (rc = load_evidence(c, n)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(root, "audit")) && (rc = load_audit(c, n)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(root, "digests")) && (rc = gate_pl_load_digests(c, n)) != GATE_OK)
		return rc;
	return GATE_OK;
}

void gate_policy_free(struct gate_policy *p)
{
	if (!p)
		return;
	gate_policy_tuf_free(p);
	free(p->file);
	free(p->trusted_root_file);
	gate_trusted_root_free(p->root);
	for (size_t i = 0; i < p->nkeys; i++) {
		free(p->keys[i].name);
		free(p->keys[i].file);
		gate_pubkey_free(p->keys[i].key);
	}
	free(p->keys);
	for (size_t i = 0; i < p->nsets; i++) {
		for (size_t k = 0; k < p->sets[i].n; k++) {
			gate_signer_match_clear(&p->sets[i].entries[k].m);
		}
		free(p->sets[i].entries);
		free(p->sets[i].name);
	}
	free(p->sets);
	for (size_t i = 0; i < p->nrules; i++) {
		struct gate_rule *r = &p->rules[i];
		for (size_t k = 0; k < r->ntypes; k++)
			free(r->types[k]);
		for (size_t k = 0; k < r->npaths; k++)
			free(r->paths[k]);
		free(r->types);
		free(r->paths);
		free(r->name);
		free(r->predicate_type);
		for (size_t k = 0; k < r->npred_conds && k < GATE_MAX_FACT_PREDICATE; k++)
			gate_claim_match_clear(&r->pred_conds[k]);
	}
	free(p->rules);
	for (size_t i = 0; i < p->nevidence_dirs; i++)
		free(p->evidence_dirs[i]);
	free(p->evidence_dirs);
	for (size_t i = 0; i < p->napts; i++) {
		free(p->apts[i].name);
		free(p->apts[i].keyring);
		free(p->apts[i].lists);
		free(p->apts[i].origin);
		free(p->apts[i].suite);
		free(p->apts[i].component);
	}
	free(p->apts);
	free(p->audit_log);
	free(p->deny_digests.v);
	free(p->allow_digests.v);
	gate_x509_trust_free(p->x509);
	free(p);
}

/* What decisions under p need, worked out once: the file type (libmagic)
 * only when some rule matches on it; per rule, the evidence sources its
 * requirements read. */
static void plan(struct gate_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		struct gate_rule *r = &p->rules[i];
		p->uses_types |= r->ntypes > 0;
		r->sources = (r->has_signers ? GATE_SOURCE_FILES : 0) |
			     (r->has_tuf ? GATE_SOURCE_TUF : 0);
		for (size_t k = 0; r->has_signers && k < p->sets[r->signers].n; k++)
			if (p->sets[r->signers].entries[k].m.kind == GATE_SIGNER_APT)
				r->sources |= GATE_SOURCE_APT;
	}
}

enum gate_err gate_policy_parse(const char *name, const uint8_t *yaml, size_t len,
				struct gate_policy **out, struct gate_error *err)
{
	struct lctx c = {.file = name, .err = err};
	struct gate_ynode *root = NULL;
	enum gate_err rc;
	if (!(c.p = calloc(1, sizeof(*c.p))) || !(c.p->file = strdup(name))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	const char *slash = strrchr(name, '/');
	if (slash && !(c.dir = strndup(name, (size_t)(slash - name) + (slash == name)))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	if ((rc = gate_yaml_load(name, yaml, len, &root, err)) != GATE_OK ||
	    (rc = load_top(&c, root)) != GATE_OK)
		goto out;
	/* The cached Sigstore root when it verifies offline, else the
	 * embedded one (tuf_trust.h); never the network. */
	if (!c.p->root && (rc = gate_trusted_root_best(NULL, 0, &c.p->root, NULL, err)) != GATE_OK)
		goto out;
	plan(c.p);
	*out = c.p;
	c.p = NULL;
out:
	gate_ynode_free(root);
	gate_policy_free(c.p);
	free(c.dir);
	return rc;
}

enum gate_err gate_policy_load(const char *path, struct gate_policy **out, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(path, GATE_POLICY_MAX_SIZE, &buf, &len, err);
	if (rc != GATE_OK) {
		if (err) {
			snprintf(err->file, sizeof err->file, "%s", path);
			err->code = rc = (rc == GATE_E_NOMEM ? rc : GATE_E_POLICY);
		}
		return rc;
	}
	rc = gate_policy_parse(path, buf, len, out, err);
	free(buf);
	return rc;
}

enum gate_err gate_policy_default(struct gate_policy **out, struct gate_error *err)
{
	static const char def[] = "version: 1\n"
				  "mode: enforce\n"
				  "rules:\n"
				  "  - name: \"no policy file: the built-in policy denies "
				  "everything\"\n"
				  "    decision: deny\n";
	return gate_policy_parse("(built-in policy)", (const uint8_t *)def, sizeof def - 1, out,
				 err);
}

const char *gate_mode_name(enum gate_mode m)
{
	return m == GATE_MODE_AUDIT ? "audit" : m == GATE_MODE_OFF ? "off" : "enforce";
}

const char *gate_caller_name(enum gate_caller c)
{
	switch (c) {
	case GATE_CALLER_APT:
		return "apt";
	case GATE_CALLER_EXEC:
		return "exec";
	case GATE_CALLER_CI:
		return "ci";
	default:
		return "any";
	}
}
