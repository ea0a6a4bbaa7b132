/* load_rules.c - the rules section of the policy schema: what a rule
 * matches (type, path, caller, size) and either a fixed decision or what it
 * requires of the evidence (signers, threshold, tlog, timestamp, age,
 * validity window, coverage, TUF target). */
#include "load_int.h"
#include "policy_tuf.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <limits.h>
#include <string.h>

static enum gate_err uint_val(struct lctx *c, const struct gate_ynode *n, const char *what,
			      uint64_t max, uint64_t *out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	if (n->quoted)
		return FAILN(c, n, "%s must be a number, not a quoted string", what);
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10)
			return FAILN(c, n, "%s must be a whole number up to %llu, not '%s'", what,
				     (unsigned long long)max, s);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return GATE_OK;
}

/* A size: bytes, or with a suffix K/M/G (powers of 1024, optional "iB"). */
static enum gate_err size_val(struct lctx *c, const struct gate_ynode *n, const char *what,
			      uint64_t *out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1;
	/* ERANGE: strtoull saturates, which would silently cap the size */
	if (end == s || s[0] < '0' || s[0] > '9' || errno == ERANGE)
		return FAILN(c, n, "%s must be a size like 4096, 10K, 5MiB, 2G; not '%s'", what, s);
	if (*end == 'K' || *end == 'k')
		mul = 1024;
	else if (*end == 'M')
		mul = 1024 * 1024;
	else if (*end == 'G')
		mul = 1024ull * 1024 * 1024;
	if (mul > 1)
		end++;
	if (mul > 1 && strcmp(end, "iB") == 0)
		end += 2;
	else if (mul > 1 && strcmp(end, "B") == 0)
		end += 1;
	if (*end || v > UINT64_MAX / mul)
		return FAILN(c, n, "%s must be a size like 4096, 10K, 5MiB, 2G; not '%s'", what, s);
	*out = (uint64_t)v * mul;
	return GATE_OK;
}

/* ---- rules ---- */

static enum gate_err load_callers(struct lctx *c, const struct gate_ynode *n, unsigned *out)
{
	char **list = NULL;
	size_t cnt = 0;
	enum gate_err rc = gate_pl_str_list(c, n, "caller", &list, &cnt);
	for (size_t i = 0; rc == GATE_OK && i < cnt; i++) {
		enum gate_caller k = gate_pl_caller(list[i]);
		if (k != GATE_CALLER_ANY)
			*out |= k;
		else /* name the offending element, not the whole list */
			rc = FAILN(c, n->type == GATE_Y_SEQ ? n->kids[i] : n,
				   "caller must be apt, exec or ci, not '%s'", list[i]);
	}
	for (size_t i = 0; i < cnt; i++)
		free(list[i]);
	free(list);
	return rc;
}

/* Path globs are matched against absolute, normalised paths (gate/decide.c):
 * an absolute glob is normalised the same way; a relative one is anchored
 * at the policy file's folder, unless its first segment is "**" (it then
 * matches in any folder). */
static enum gate_err anchor_paths(struct lctx *c, const struct gate_ynode *n, struct gate_rule *r)
{
	char cwd[PATH_MAX], *base = NULL;
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; rc == GATE_OK && i < r->npaths; i++) {
		char *p = r->paths[i], *np;
		if (strcmp(p, "**") == 0 || strncmp(p, "**/", 3) == 0)
			continue;
		if (p[0] != '/' && !base) {
			if (!(c->dir && c->dir[0] == '/') && !getcwd(cwd, sizeof cwd))
				return FAILN(
					c, n,
					"relative path '%s': the current folder is unknown: %s", p,
					strerror(errno));
			base = gate_path_normalize(c->dir ? c->dir : ".", cwd);
			if (!base)
				rc = gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		}
		if (rc == GATE_OK && !(np = gate_path_normalize(p, base)))
			rc = gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		if (rc == GATE_OK) {
			free(p);
			r->paths[i] = np;
		}
	}
	free(base);
	return rc;
}

static enum gate_err load_match(struct lctx *c, const struct gate_ynode *m, struct gate_rule *r)
{
	static const char *const keys[] = {"type", "path", "caller", "size", NULL};
	static const char *const size_keys[] = {"min", "max", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "match", keys);
	if (rc == GATE_OK && (n = gate_pl_get(m, "type")))
		rc = gate_pl_str_list(c, n, "type", &r->types, &r->ntypes);
	if (rc == GATE_OK && (n = gate_pl_get(m, "path")) &&
	    (rc = gate_pl_str_list(c, n, "path", &r->paths, &r->npaths)) == GATE_OK)
		rc = anchor_paths(c, n, r);
	if (rc == GATE_OK && (n = gate_pl_get(m, "caller")))
		rc = load_callers(c, n, &r->callers);
	if (rc == GATE_OK && (n = gate_pl_get(m, "size"))) {
		const struct gate_ynode *v;
		if ((rc = gate_pl_check_map(c, n, "size", size_keys)) != GATE_OK)
			return rc;
		if ((v = gate_pl_get(n, "min")) &&
		    (rc = size_val(c, v, "size.min", &r->min_size)) == GATE_OK)
			r->has_min_size = true;
		if (rc == GATE_OK && (v = gate_pl_get(n, "max")) &&
		    (rc = size_val(c, v, "size.max", &r->max_size)) == GATE_OK)
			r->has_max_size = true;
		if (rc == GATE_OK && r->has_min_size && r->has_max_size &&
		    r->min_size > r->max_size)
			rc = FAILN(c, n, "size.min is larger than size.max");
	}
	return rc;
}

static enum gate_err load_need(struct lctx *c, const struct gate_ynode *n, const char *what,
			       enum gate_need *out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	if (strcmp(s, "required") == 0)
		*out = GATE_NEED_REQUIRED;
	else if (strcmp(s, "optional") == 0)
		*out = GATE_NEED_OPTIONAL;
	else
		return FAILN(c, n, "%s must be required or optional, not '%s'", what, s);
	return GATE_OK;
}

static enum gate_err load_time(struct lctx *c, const struct gate_ynode *n, const char *what,
			       int64_t *out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc == GATE_OK && !gate_parse_rfc3339(s, out))
		rc = FAILN(c, n,
			   "%s must be an RFC 3339 UTC time like 2026-01-31T00:00:00Z, "
			   "not '%s'",
			   what, s);
	return rc;
}

/* attestation: {predicate_type: URI, and for SLSA provenance v1
 * builder_id, build_type, source_repository, source_ref, each exact or
 * _regex}: the attestations that count (gate_facts.predicate). */
static enum gate_err load_attestation(struct lctx *c, const struct gate_ynode *m,
				      struct gate_rule *r)
{
	static const char *const conds[GATE_MAX_FACT_PREDICATE] = {
		"builder_id", "build_type", "source_repository", "source_ref"};
	static const char *const keys[] = {"predicate_type",	      "builder_id",
					   "builder_id_regex",	      "build_type",
					   "build_type_regex",	      "source_repository",
					   "source_repository_regex", "source_ref",
					   "source_ref_regex",	      NULL};
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "attestation", keys);
	if (rc != GATE_OK)
		return rc;
	r->has_attestation = true;
	if (!(n = gate_pl_get(m, "predicate_type")))
		return FAILN(c, m,
			     "attestation needs predicate_type: URI (e.g. " GATE_SLSA_PROVENANCE_V1
			     ")");
	if ((rc = gate_pl_dup_str(c, n, "predicate_type", &r->predicate_type)) != GATE_OK)
		return rc;
	bool slsa = strcmp(r->predicate_type, GATE_SLSA_PROVENANCE_V1) == 0;
	for (size_t i = 0; i < GATE_MAX_FACT_PREDICATE; i++) {
		char rekey[48];
		snprintf(rekey, sizeof rekey, "%s_regex", conds[i]);
		const struct gate_ynode *k = gate_pl_get(m, conds[i]);
		if (!k && !(k = gate_pl_get(m, rekey)))
			continue;
		if (!slsa)
			return FAILN(c, k,
				     "%s is a condition on SLSA provenance: it needs "
				     "predicate_type " GATE_SLSA_PROVENANCE_V1 ", not '%s'",
				     conds[i], r->predicate_type);
		struct gate_claim_match *cm = &r->pred_conds[r->npred_conds++];
		cm->name = conds[i];
		if ((rc = gate_pl_match_pair(c, m, "attestation", conds[i], rekey, &cm->exact,
					     &cm->regex, &cm->re)) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

static enum gate_err load_require(struct lctx *c, const struct gate_ynode *m, struct gate_rule *r)
{
	static const char *const keys[] = {"signers",	 "threshold",  "tlog",	      "timestamp",
					   "max_age",	 "not_before", "not_after",   "coverage",
					   "tuf_target", "tuf_path",   "attestation", NULL};
	const struct gate_ynode *n;
	const char *s;
	enum gate_err rc = gate_pl_check_map(c, m, "require", keys);
	if (rc != GATE_OK)
		return rc;
	if ((rc = gate_policy_load_tuf_req(c->file, m, c->p, r, c->err)) != GATE_OK)
		return rc;
	if (!(n = gate_pl_get(m, "signers")) && r->has_tuf) {
		/* tuf_target alone: every other requirement is about signers. */
		if (m->n / 2 == 1u + !!gate_pl_get(m, "tuf_path"))
			return GATE_OK;
		return FAILN(c, m,
			     "threshold, tlog, timestamp, max_age, not_before, not_after, "
			     "coverage and attestation need signers");
	}
	if (!n)
		return FAILN(c, m, "require needs signers: NAME");
	if ((rc = gate_pl_scalar(c, n, "signers", &s)) != GATE_OK)
		return rc;
	bool found = false;
	for (size_t i = 0; i < c->p->nsets && !found; i++)
		if (strcmp(c->p->sets[i].name, s) == 0) {
			r->signers = i;
			found = true;
		}
	if (!found)
		return FAILN(c, n, "unknown signer set '%s' (not defined under signers)", s);
	r->has_signers = true;
	r->threshold = 1;
	if ((n = gate_pl_get(m, "attestation")) && (rc = load_attestation(c, n, r)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(m, "threshold"))) {
		uint64_t t = 0;
		if ((rc = uint_val(c, n, "threshold", 1000, &t)) != GATE_OK)
			return rc;
		if (t == 0)
			return FAILN(c, n, "threshold must be at least 1");
		if (t > c->p->sets[r->signers].n)
			return FAILN(c, n,
				     "threshold %llu can never be met: signer set '%s' has %zu "
				     "signers",
				     (unsigned long long)t, s, c->p->sets[r->signers].n);
		r->threshold = (unsigned)t;
	}
	if ((n = gate_pl_get(m, "tlog")) && (rc = load_need(c, n, "tlog", &r->tlog)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(m, "timestamp")) &&
	    (rc = load_need(c, n, "timestamp", &r->timestamp)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(m, "max_age"))) {
		if ((rc = gate_pl_scalar(c, n, "max_age", &s)) != GATE_OK)
			return rc;
		if (!gate_parse_duration(s, &r->max_age))
			return FAILN(c, n,
				     "max_age must be a duration like 90d, 12h, 30m, 2w; "
				     "not '%s'",
				     s);
	}
	if ((n = gate_pl_get(m, "coverage"))) {
		if ((rc = gate_pl_scalar(c, n, "coverage", &s)) != GATE_OK)
			return rc;
		if (strcmp(s, "partial") == 0)
			r->partial_coverage = true;
		else if (strcmp(s, "full") != 0)
			return FAILN(c, n, "coverage must be full or partial, not '%s'", s);
	}
	if ((n = gate_pl_get(m, "not_before")) &&
	    (rc = load_time(c, n, "not_before", &r->not_before)) == GATE_OK)
		r->has_not_before = true;
	if (rc == GATE_OK && (n = gate_pl_get(m, "not_after")) &&
	    (rc = load_time(c, n, "not_after", &r->not_after)) == GATE_OK)
		r->has_not_after = true;
	return rc;
}

static enum gate_err load_rule(struct lctx *c, const struct gate_ynode *m, struct gate_rule *r)
{
	static const char *const keys[] = {"name", "match", "require", "decision", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "a rule", keys);
	if (rc != GATE_OK)
		return rc;
	r->line = m->line;
	if (!(n = gate_pl_get(m, "name")))
		return FAILN(c, m, "a rule needs a name");
	if ((rc = gate_pl_dup_str(c, n, "name", &r->name)) != GATE_OK)
		return rc;
	for (struct gate_rule *o = c->p->rules; o < r; o++)
		if (strcmp(o->name, r->name) == 0)
			return FAILN(c, n, "duplicate rule name '%s'", r->name);
	if ((n = gate_pl_get(m, "match")) && (rc = load_match(c, n, r)) != GATE_OK)
		return rc;
	if (!!gate_pl_get(m, "require") + !!gate_pl_get(m, "decision") != 1)
		return FAILN(c, m, "rule '%s' needs exactly one of require and decision", r->name);
	if ((n = gate_pl_get(m, "require")))
		return load_require(c, n, r);
	const char *d;
	n = gate_pl_get(m, "decision");
	if ((rc = gate_pl_scalar(c, n, "decision", &d)) != GATE_OK)
		return rc;
	if (strcmp(d, "allow") == 0)
		r->decision = GATE_DECISION_ALLOW;
	else if (strcmp(d, "deny") == 0)
		r->decision = GATE_DECISION_DENY;
	else
		return FAILN(c, n, "decision must be allow or deny, not '%s'", d);
	return GATE_OK;
}

enum gate_err gate_pl_load_rules(struct lctx *c, const struct gate_ynode *l)
{
	struct gate_policy *p = c->p;
	enum gate_err rc = gate_pl_want(c, l, GATE_Y_SEQ, "rules");
	if (rc != GATE_OK)
		return rc;
	if (l->n && !(p->rules = calloc(l->n, sizeof(*p->rules))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < l->n; i++) {
		p->nrules = i + 1;
		if ((rc = load_rule(c, l->kids[i], &p->rules[i])) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}
