/* tuf.c - TUF repositories as allowlists (policy_tuf.h): the trust.tuf
 * schema, the tuf_target requirement and its evaluation over the verified
 * local cache of a repository. */
#include "policy_tuf.h"
#include "ynode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAILN(f, err, n, ...) gate_yfail((err), (f), (n)->line, (n)->column, __VA_ARGS__)

static const struct gate_ynode *get(const struct gate_ynode *m, const char *key)
{
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kids[i]->type == GATE_Y_SCALAR && strcmp(m->kids[i]->s, key) == 0)
			return m->kids[i + 1];
	return NULL;
}

static enum gate_err nomem(struct gate_error *err)
{
	return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

/* A non-empty scalar. */
static enum gate_err scalar(const char *file, const struct gate_ynode *n, const char *what,
			    const char **out, struct gate_error *err)
{
	if (n->type != GATE_Y_SCALAR)
		return FAILN(file, err, n, "%s must be a scalar", what);
	if (n->len == 0)
		return FAILN(file, err, n, "%s must not be empty", what);
	*out = n->s;
	return GATE_OK;
}

/* Keys are scalars, unique and among allowed. */
static enum gate_err check_map(const char *file, const struct gate_ynode *m, const char *what,
			       const char *const *allowed, struct gate_error *err)
{
	if (m->type != GATE_Y_MAP)
		return FAILN(file, err, m, "%s must be a mapping", what);
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *k = m->kids[i];
		bool ok = false;
		if (k->type != GATE_Y_SCALAR)
			return FAILN(file, err, k, "keys of %s must be scalars", what);
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(m->kids[j]->s, k->s) == 0)
				return FAILN(file, err, k, "duplicate key '%s' in %s", k->s, what);
		for (size_t a = 0; allowed && allowed[a] && !ok; a++)
			ok = strcmp(allowed[a], k->s) == 0;
		if (allowed && !ok)
			return FAILN(file, err, k, "unknown key '%s' in %s", k->s, what);
	}
	return GATE_OK;
}

static bool good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > GATE_POLICY_TUF_NAME_MAX || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

static bool good_url(const char *u)
{
	return strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0 ||
	       strncasecmp(u, "file://", 7) == 0;
}

/* The cache of a repository is keyed on its name, URL and initial root: a
 * policy that changes either starts from a fresh cache, never from state
 * that another root vouched for. */
static char *cache_dir_of(const struct gate_policy_tuf *t)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t h[32];
	unsigned hl = 0;
	char hex[65], sub[GATE_POLICY_TUF_NAME_MAX + 32];
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(ctx, t->url, strlen(t->url) + 1) &&
		  EVP_DigestUpdate(ctx, t->root, t->root_len) && EVP_DigestFinal_ex(ctx, h, &hl);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return NULL;
	gate_hex_encode(h, 8, hex);
	snprintf(sub, sizeof sub, "repos/%s-%s", t->name, hex);
	return gate_tuf_state_dir(sub);
}

static enum gate_err load_root(const char *file, const struct gate_ynode *n,
			       struct gate_policy_tuf *t, struct gate_error *err)
{
	struct gate_error re = {0};
	struct gate_tuf_md *md = NULL;
	enum gate_err rc =
		gate_read_file(t->root_file, GATE_TUF_ROOT_MAX_LEN, &t->root, &t->root_len, &re);
	if (rc == GATE_OK)
		rc = gate_tuf_root_load(t->root, t->root_len, &md, &re);
	gate_tuf_md_free(md);
	if (rc == GATE_E_NOMEM)
		return nomem(err);
	if (rc != GATE_OK)
		return FAILN(file, err, n, "TUF root %s: %s%s%s", t->root_file, re.field,
			     re.field[0] ? ": " : "", re.msg);
	return GATE_OK;
}

static enum gate_err load_repo(const char *file, const char *dir, const struct gate_ynode *name,
			       const struct gate_ynode *m, struct gate_policy_tuf *t,
			       struct gate_error *err)
{
	static const char *const keys[] = {"url", "root", "max_staleness", "refresh", NULL};
	const struct gate_ynode *n;
	const char *s = NULL;
	enum gate_err rc = check_map(file, m, "a TUF repository", keys, err);
	if (rc != GATE_OK)
		return rc;
	t->line = name->line;
	t->column = name->column;
	if (!good_name(name->s))
		return FAILN(file, err, name,
			     "TUF repository name '%s' must be 1-%d letters, digits, "
			     "'.', '_' or '-', not starting with '.'",
			     name->s, GATE_POLICY_TUF_NAME_MAX);
	if (!(t->name = strdup(name->s)))
		return nomem(err);
	if (!(n = get(m, "url")))
		return FAILN(file, err, m, "TUF repository '%s' needs url", name->s);
	if ((rc = scalar(file, n, "url", &s, err)) != GATE_OK)
		return rc;
	if (!good_url(s))
		return FAILN(file, err, n, "url must be https://, http:// or file://, not '%s'", s);
	if (!(t->url = strdup(s)))
		return nomem(err);
	if (!(n = get(m, "root")))
		return FAILN(file, err, m, "TUF repository '%s' needs root (a root.json file)",
			     name->s);
	if ((rc = scalar(file, n, "root", &s, err)) != GATE_OK)
		return rc;
	if (s[0] == '/' || !dir ? !(t->root_file = strdup(s))
				: asprintf(&t->root_file, "%s/%s", dir, s) < 0)
		return nomem(err);
	if ((rc = load_root(file, n, t, err)) != GATE_OK)
		return rc;
	t->max_staleness = GATE_POLICY_TUF_STALENESS;
	if ((n = get(m, "max_staleness"))) {
		if ((rc = scalar(file, n, "max_staleness", &s, err)) != GATE_OK)
			return rc;
		if (!gate_parse_duration(s, &t->max_staleness))
			return FAILN(file, err, n,
				     "max_staleness must be a duration like 2d, 12h, "
				     "30m; not '%s'",
				     s);
	}
	if ((n = get(m, "refresh"))) {
		if ((rc = scalar(file, n, "refresh", &s, err)) != GATE_OK)
			return rc;
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
			return FAILN(file, err, n, "refresh must be true or false, not '%s'", s);
		t->refresh = strcmp(s, "true") == 0;
	}
	t->cache_dir = cache_dir_of(t);
	return GATE_OK;
}

enum gate_err gate_policy_load_tuf(const char *file, const char *dir, const struct gate_ynode *m,
				   struct gate_policy *p, struct gate_error *err)
{
	enum gate_err rc = check_map(file, m, "trust.tuf", NULL, err);
	if (rc != GATE_OK)
		return rc;
	if (m->n == 0)
		return GATE_OK;
	if (!(p->tufs = calloc(m->n / 2, sizeof(*p->tufs))))
		return nomem(err);
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		struct gate_policy_tuf *t = &p->tufs[p->ntufs++];
		if ((rc = load_repo(file, dir, m->kids[i], m->kids[i + 1], t, err)) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

enum gate_err gate_policy_load_tuf_req(const char *file, const struct gate_ynode *m,
				       struct gate_policy *p, struct gate_rule *r,
				       struct gate_error *err)
{
	const struct gate_ynode *n = get(m, "tuf_target"), *pn = get(m, "tuf_path");
	const char *s = NULL;
	enum gate_err rc;
	if (!n && pn)
		return FAILN(file, err, pn, "tuf_path needs tuf_target");
	if (!n)
		return GATE_OK;
	if ((rc = scalar(file, n, "tuf_target", &s, err)) != GATE_OK)
		return rc;
	for (size_t i = 0; i < p->ntufs && !r->has_tuf; i++)
		if (strcmp(p->tufs[i].name, s) == 0) {
			r->tuf = i;
			r->has_tuf = true;
		}
	if (!r->has_tuf)
		return FAILN(file, err, n,
			     "unknown TUF repository '%s' (not defined under trust.tuf)", s);
	if (pn) {
		if ((rc = scalar(file, pn, "tuf_path", &s, err)) != GATE_OK)
			return rc;
		if (strlen(s) > GATE_TUF_MAX_NAME)
			return FAILN(file, err, pn, "tuf_path is longer than %d characters",
				     GATE_TUF_MAX_NAME);
		if (!(r->tuf_path = strdup(s)))
			return nomem(err);
	}
	return GATE_OK;
}

void gate_policy_tuf_free(struct gate_policy *p)
{
	for (size_t i = 0; i < p->ntufs; i++) {
		struct gate_policy_tuf *t = &p->tufs[i];
		free(t->name);
		free(t->url);
		free(t->root_file);
		free(t->root);
		free(t->cache_dir);
	}
	free(p->tufs);
	p->tufs = NULL;
	p->ntufs = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].tuf_path);
		p->rules[i].tuf_path = NULL;
	}
}
