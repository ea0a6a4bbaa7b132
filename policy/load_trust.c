/* load_trust.c - the trust section of the policy schema: keys, the Sigstore
 * trusted root, classic X.509 code signing (root sets, TSA roots, CRLs),
 * TUF repositories (policy/tuf.c) and apt archives. */
#include "load_int.h"
#include "policy_tuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- trust ---- */

static enum gate_err load_keys(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const key_keys[] = {"file", NULL};
	struct gate_policy *p = c->p;
	enum gate_err rc = gate_pl_check_map(c, m, "trust.keys", NULL);
	if (rc != GATE_OK)
		return rc;
	if (m->n && !(p->keys = calloc(m->n / 2, sizeof(*p->keys))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *name = m->kids[i], *v = m->kids[i + 1], *f;
		struct gate_policy_key *k = &p->keys[p->nkeys++];
		struct gate_error ke = {0};
		if (!(k->name = strdup(name->s)))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		if ((rc = gate_pl_check_map(c, v, "a key", key_keys)) != GATE_OK)
			return rc;
		if (!(f = gate_pl_get(v, "file")))
			return FAILN(c, v, "key '%s' needs a file", name->s);
		if ((rc = gate_pl_path_str(c, f, "file", &k->file)) != GATE_OK)
			return rc;
		if (gate_pubkey_load(k->file, &k->key, &ke) != GATE_OK)
			return FAILN(c, f, "key '%s': %s: %s", name->s, k->file, ke.msg);
	}
	return GATE_OK;
}

static enum gate_err load_sigstore(struct lctx *c, const struct gate_ynode *n)
{
	static const char *const keys[] = {"trusted_root", NULL};
	struct gate_error re = {0};
	enum gate_err rc;
	if (n->type == GATE_Y_SCALAR) {
		if (strcmp(n->s, "public-good") != 0)
			return FAILN(c, n,
				     "trust.sigstore must be 'public-good' or "
				     "{trusted_root: FILE}, not '%s'",
				     n->s);
		return GATE_OK;
	}
	if ((rc = gate_pl_check_map(c, n, "trust.sigstore", keys)) != GATE_OK)
		return rc;
	const struct gate_ynode *f = gate_pl_get(n, "trusted_root");
	if (!f)
		return FAILN(c, n, "trust.sigstore needs trusted_root");
	if ((rc = gate_pl_path_str(c, f, "trusted_root", &c->p->trusted_root_file)) != GATE_OK)
		return rc;
	gate_trusted_root_free(c->p->root);
	c->p->root = NULL;
	if (gate_trusted_root_load(c->p->trusted_root_file, &c->p->root, &re) != GATE_OK)
		return FAILN(c, f, "trusted root %s: %s%s%s", c->p->trusted_root_file, re.field,
			     re.field[0] ? ": " : "", re.msg);
	return GATE_OK;
}

/* ---- trust: classic X.509 code signing ---- */

static enum gate_err x509_trust(struct lctx *c, struct gate_x509_trust **out)
{
	if (!c->p->x509 && gate_x509_trust_new(&c->p->x509, c->err) != GATE_OK)
		return GATE_E_NOMEM;
	*out = c->p->x509;
	return GATE_OK;
}

/* trust.x509_roots / trust.tsa_roots: NAME: {file: PEM}. */
static enum gate_err load_cert_sets(struct lctx *c, const struct gate_ynode *m, bool tsa)
{
	static const char *const set_keys[] = {"file", NULL};
	const char *what = tsa ? "trust.tsa_roots" : "trust.x509_roots";
	struct gate_x509_trust *t = NULL;
	enum gate_err rc = gate_pl_check_map(c, m, what, NULL);
	if (rc != GATE_OK || (rc = x509_trust(c, &t)) != GATE_OK)
		return rc;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *name = m->kids[i], *v = m->kids[i + 1], *f;
		struct gate_error e = {0};
		char *file = NULL;
		if ((rc = gate_pl_check_map(c, v, what, set_keys)) != GATE_OK)
			return rc;
		if (!(f = gate_pl_get(v, "file")))
			return FAILN(c, v, "%s '%s' needs a file", what, name->s);
		if ((rc = gate_pl_path_str(c, f, "file", &file)) != GATE_OK)
			return rc;
		rc = tsa ? gate_x509_trust_add_tsa_roots(t, name->s, file, &e)
			 : gate_x509_trust_add_roots(t, name->s, file, &e);
		/* decoded now, so that a bad certificate is an error here */
		if (rc == GATE_OK)
			rc = gate_x509_trust_check(t, &e);
		if (rc != GATE_OK)
			rc = FAILN(c, f, "%s '%s': %s: %s", what, name->s, file, e.msg);
		free(file);
		if (rc != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

static enum gate_err load_bool(struct lctx *c, const struct gate_ynode *n, const char *what,
			       bool *out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return FAILN(c, n, "%s must be true or false, not '%s'", what, s);
	return GATE_OK;
}

/* trust.crl: {mode: require|prefer|ignore, files: [...], fetch: BOOL,
 * cache: DIR}. */
static enum gate_err load_crl(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"mode", "files", "fetch", "cache", NULL};
	const struct gate_ynode *n;
	struct gate_x509_trust *t = NULL;
	enum gate_crl_mode mode = GATE_CRL_PREFER;
	bool fetch = false;
	char *cache = NULL, **files = NULL;
	size_t nfiles = 0;
	enum gate_err rc = gate_pl_check_map(c, m, "trust.crl", keys);
	if (rc == GATE_OK)
		rc = x509_trust(c, &t);
	if (rc == GATE_OK && (n = gate_pl_get(m, "mode"))) {
		const char *s;
		if ((rc = gate_pl_scalar(c, n, "trust.crl.mode", &s)) == GATE_OK) {
			if (strcmp(s, "require") == 0)
				mode = GATE_CRL_REQUIRE;
			else if (strcmp(s, "ignore") == 0)
				mode = GATE_CRL_IGNORE;
			else if (strcmp(s, "prefer") != 0)
				rc = FAILN(c, n,
					   "trust.crl.mode must be require, prefer or ignore, "
					   "not '%s'",
					   s);
		}
	}
	if (rc == GATE_OK && (n = gate_pl_get(m, "fetch")))
		rc = load_bool(c, n, "trust.crl.fetch", &fetch);
	if (rc == GATE_OK && (n = gate_pl_get(m, "cache")))
		rc = gate_pl_path_str(c, n, "trust.crl.cache", &cache);
	if (rc == GATE_OK && (n = gate_pl_get(m, "files")))
		rc = gate_pl_str_list(c, n, "trust.crl.files", &files, &nfiles);
	for (size_t i = 0; rc == GATE_OK && i < nfiles; i++) {
		struct gate_error e = {0};
		char *f = NULL;
		const struct gate_ynode *at = n->type == GATE_Y_SEQ ? n->kids[i] : n;
		if (files[i][0] != '/' && c->dir && asprintf(&f, "%s/%s", c->dir, files[i]) < 0)
			f = NULL;
		if (gate_x509_trust_add_crl(t, f ? f : files[i], &e) != GATE_OK)
			rc = FAILN(c, at, "CRL %s: %s", files[i], e.msg);
		free(f);
	}
	if (rc == GATE_OK)
		rc = gate_x509_trust_set_revocation(t, mode, fetch, cache, c->err);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(cache);
	return rc;
}

/* trust.apt_archives: NAME: {keyring: FILE, lists: DIR, origin, suite,
 * component} (gate/debian/apt_origin.h). */
static enum gate_err load_apt_archives(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"keyring", "lists",	   "origin",
					   "suite",   "component", NULL};
	static const char *const strs[] = {"origin", "suite", "component"};
	enum gate_err rc = gate_pl_check_map(c, m, "trust.apt_archives", NULL);
	if (rc != GATE_OK)
		return rc;
	if (m->n && !(c->p->apts = calloc(m->n / 2, sizeof(*c->p->apts))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *name = m->kids[i], *v = m->kids[i + 1], *n;
		struct gate_policy_apt *a = &c->p->apts[c->p->napts++];
		struct stat st;
		a->line = name->line;
		a->column = name->column;
		if (!(a->name = strdup(name->s)))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		if ((rc = gate_pl_check_map(c, v, "trust.apt_archives", keys)) != GATE_OK)
			return rc;
		if (!(n = gate_pl_get(v, "keyring")))
			return FAILN(c, v, "apt archive '%s' needs a keyring", name->s);
		if ((rc = gate_pl_path_str(c, n, "keyring", &a->keyring)) != GATE_OK)
			return rc;
		errno = 0;
		if (stat(a->keyring, &st) != 0 || !S_ISREG(st.st_mode))
			return FAILN(c, n, "apt archive '%s': keyring %s: %s", name->s, a->keyring,
				     errno ? strerror(errno) : "not a regular file");
		if ((n = gate_pl_get(v, "lists")) &&
		    (rc = gate_pl_path_str(c, n, "lists", &a->lists)) != GATE_OK)
			return rc;
		char **dst[] = {&a->origin, &a->suite, &a->component};
		for (size_t k = 0; k < 3; k++)
			if ((n = gate_pl_get(v, strs[k])) &&
			    (rc = gate_pl_dup_str(c, n, strs[k], dst[k])) != GATE_OK)
				return rc;
	}
	return GATE_OK;
}

enum gate_err gate_pl_load_trust(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"sigstore",	   "keys",	    "x509_roots",
					   "tsa_roots",	   "crl",	    "tuf",
					   "apt_archives", "require_fresh", NULL};
	enum gate_err rc = gate_pl_check_map(c, m, "trust", keys);
	const struct gate_ynode *n;
	if (rc == GATE_OK && (n = gate_pl_get(m, "sigstore")))
		rc = load_sigstore(c, n);
	if (rc == GATE_OK && (n = gate_pl_get(m, "keys")))
		rc = load_keys(c, n);
	if (rc == GATE_OK && (n = gate_pl_get(m, "x509_roots")))
		rc = load_cert_sets(c, n, false);
	if (rc == GATE_OK && (n = gate_pl_get(m, "tsa_roots")))
		rc = load_cert_sets(c, n, true);
	if (rc == GATE_OK && (n = gate_pl_get(m, "crl")))
		rc = load_crl(c, n);
	if (rc == GATE_OK && (n = gate_pl_get(m, "tuf")))
		rc = gate_policy_load_tuf(c->file, c->dir, n, c->p, c->err);
	if (rc == GATE_OK && (n = gate_pl_get(m, "apt_archives")))
		rc = load_apt_archives(c, n);
	if (rc == GATE_OK && (n = gate_pl_get(m, "require_fresh")))
		rc = load_bool(c, n, "trust.require_fresh", &c->p->require_fresh_trust);
	return rc;
}
