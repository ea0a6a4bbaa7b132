/* load.c - the policy schema (version 1): a strict walk over the YAML tree.
 * Unknown keys, wrong types, bad regexps or durations, dangling and
 * duplicate names are errors at file:line:column. */
#include "ynode.h"
#include "policy_tuf.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct lctx {
	const char *file;
	char *dir; /* directory of the policy, for relative paths */
	struct gate_policy *p;
	struct gate_error *err;
};

#define FAILN(c, n, ...) gate_yfail((c)->err, (c)->file, (n)->line, (n)->column, __VA_ARGS__)

static const char *type_name(const struct gate_ynode *n)
{
	return n->type == GATE_Y_MAP ? "a mapping" : n->type == GATE_Y_SEQ ? "a list" : "a scalar";
}

static enum gate_err want(struct lctx *c, const struct gate_ynode *n, enum gate_ynode_type t,
			  const char *what)
{
	if (n->type == t)
		return GATE_OK;
	return FAILN(c, n, "%s must be %s, not %s", what,
		     t == GATE_Y_MAP ? "a mapping" : t == GATE_Y_SEQ ? "a list" : "a scalar",
		     type_name(n));
}

/* Map keys are scalars; duplicates are errors (the second one wins in many
 * YAML readers, which hides mistakes). */
static enum gate_err check_map(struct lctx *c, const struct gate_ynode *m, const char *what,
			       const char *const *allowed)
{
	enum gate_err rc = want(c, m, GATE_Y_MAP, what);
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

static const struct gate_ynode *get(const struct gate_ynode *m, const char *key)
{
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (strcmp(m->kids[i]->s, key) == 0)
			return m->kids[i + 1];
	return NULL;
}

static enum gate_err scalar(struct lctx *c, const struct gate_ynode *n, const char *what,
			    const char **out)
{
	enum gate_err rc = want(c, n, GATE_Y_SCALAR, what);
	if (rc == GATE_OK && n->len == 0)
		rc = FAILN(c, n, "%s must not be empty", what);
	if (rc == GATE_OK)
		*out = n->s;
	return rc;
}

static enum gate_err dup_str(struct lctx *c, const struct gate_ynode *n, const char *what,
			     char **out)
{
	const char *s;
	enum gate_err rc = scalar(c, n, what, &s);
	if (rc == GATE_OK && !(*out = strdup(s)))
		rc = gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	return rc;
}

/* Relative paths are relative to the policy file's directory. */
static enum gate_err path_str(struct lctx *c, const struct gate_ynode *n, const char *what,
			      char **out)
{
	const char *s;
	enum gate_err rc = scalar(c, n, what, &s);
	if (rc != GATE_OK)
		return rc;
	if (s[0] == '/' || !c->dir)
		*out = strdup(s);
	else if (asprintf(out, "%s/%s", c->dir, s) < 0)
		*out = NULL;
	return *out ? GATE_OK : gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

static enum gate_err uint_val(struct lctx *c, const struct gate_ynode *n, const char *what,
			      uint64_t max, uint64_t *out)
{
	const char *s;
	enum gate_err rc = scalar(c, n, what, &s);
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
	enum gate_err rc = scalar(c, n, what, &s);
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

bool gate_parse_duration(const char *s, int64_t *out)
{
	char *end;
	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	int64_t unit;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return false;
	}
	if (end[1] != '\0' || v == 0 || v > (unsigned long long)(INT64_MAX / unit))
		return false;
	*out = (int64_t)v * unit;
	return true;
}

/* A scalar or a list of scalars. */
static enum gate_err str_list(struct lctx *c, const struct gate_ynode *n, const char *what,
			      char ***out, size_t *count)
{
	enum gate_err rc;
	if (n->type == GATE_Y_SCALAR) {
		if (!(*out = calloc(1, sizeof(char *))))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		*count = 1;
		return dup_str(c, n, what, &(*out)[0]);
	}
	if ((rc = want(c, n, GATE_Y_SEQ, what)) != GATE_OK)
		return rc;
	if (n->n == 0)
		return FAILN(c, n, "%s must not be an empty list", what);
	if (!(*out = calloc(n->n, sizeof(char *))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		*count = i + 1;
		if ((rc = dup_str(c, n->kids[i], what, &(*out)[i])) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

#define REGEX_MAX_LEN 1024   /* characters of an identity or issuer pattern */
#define REGEX_MAX_COST 1000  /* elements after unrolling repetitions */
#define REGEX_MAX_GROUPS 32  /* nesting of ( ) */

/* Where the bracket expression starting at p ('[') ends (its ']'), or NULL. */
static const char *bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++; /* a leading ']' is a member */
	for (; *p && *p != ']'; p++) {
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *close = strchr(p + 2, p[1]);
			while (close && close[1] != ']')
				close = strchr(close + 1, p[1]);
			if (!close)
				return NULL;
			p = close + 1;
		}
	}
	return *p ? p : NULL;
}

/* "{n}", "{n,}", "{,m}" or "{n,m}" at p: how many copies it may unroll to. */
static bool interval(const char *p, uint64_t *copies)
{
	uint64_t lo = 0, hi = 0;
	bool open = false;
	/* counts saturate just over the cap, which rejects them anyway */
	for (p++; *p >= '0' && *p <= '9'; p++)
		lo = lo > REGEX_MAX_COST ? lo : lo * 10 + (uint64_t)(*p - '0');
	hi = lo;
	if (*p == ',') {
		open = p[1] == '}';
		for (hi = 0, p++; *p >= '0' && *p <= '9'; p++)
			hi = hi > REGEX_MAX_COST ? hi : hi * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '}')
		return false;
	*copies = (open ? lo : hi > lo ? hi : lo) + 1;
	return true;
}

/* An upper bound on the size regcomp unrolls re to. glibc copies a
 * sub-expression for every repetition it must spell out ("x+" is "xx*",
 * "x{2,5}" is five copies), so stacked or nested repetitions grow it
 * exponentially: 'a' followed by fifty '+' exhausts memory while the policy
 * loads, and again at every decision. Optional copies ("(.*){1,9000}") cost
 * glibc quadratic time, so the cap is low: about 0.1 s of regcomp at worst.
 * Malformed syntax is left to regcomp. */
static bool regex_cost_ok(const char *re)
{
	uint64_t sum[REGEX_MAX_GROUPS + 1] = {0}, last = 0;
	size_t depth = 0;
	bool repeated = false; /* the previous token was a repetition */
	if (strlen(re) > REGEX_MAX_LEN)
		return false;
	for (const char *p = re; *p; p++) {
		uint64_t factor = 0; /* copies of the last element a repetition makes */
		if (*p == '\\') {
			if (p[1] >= '1' && p[1] <= '9')
				return false; /* a back-reference: not ERE, exponential to match */
			p += p[1] != '\0';
			last = 1;
		} else if (*p == '[') {
			const char *e = bracket_end(p);
			p = e ? e : p;
			last = 1;
		} else if (*p == '(') {
			if (depth == REGEX_MAX_GROUPS)
				return false;
			sum[++depth] = 0;
			last = 0;
			repeated = false;
			continue;
		} else if (*p == ')' && depth > 0) {
			last = sum[depth--] + 1;
		} else if (*p == '|') {
			last = 0;
			repeated = false;
			continue;
		} else if (*p == '*' || *p == '?') {
			factor = 1;
		} else if (*p == '+') {
			factor = 2;
		} else if (*p == '{' && interval(p, &factor)) {
			p = strchr(p, '}');
		} else {
			last = 1;
		}
		/* the last element is replaced by factor copies of itself */
		if (factor) {
			/* "a**", "a+?": undefined in POSIX, and glibc's time to
			 * compile a run of them grows with its length's 4th power */
			if (repeated || factor > REGEX_MAX_COST || last > REGEX_MAX_COST / factor)
				return false;
			sum[depth] -= last;
			last *= factor;
		}
		repeated = factor != 0;
		sum[depth] += last;
		if (sum[depth] > REGEX_MAX_COST)
			return false;
	}
	return true;
}

static enum gate_err check_regex(struct lctx *c, const struct gate_ynode *n, const char *re)
{
	struct gate_error e = {0};
	if (!regex_cost_ok(re))
		return FAILN(c, n, "regexp is too long or too complex (at most %u characters, no "
			     "back-references or stacked repetitions such as '+*', repetitions "
			     "unrolling to at most %u elements): '%.80s%s'",
			     REGEX_MAX_LEN, REGEX_MAX_COST, re, strlen(re) > 80 ? "..." : "");
	enum gate_err rc = gate_regex_full_match(re, "", &e);
	if (rc == GATE_OK || rc == GATE_E_IDENTITY)
		return GATE_OK;
	return FAILN(c, n, "%s", e.msg);
}

/* ---- trust ---- */

static enum gate_err load_keys(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const key_keys[] = {"file", NULL};
	struct gate_policy *p = c->p;
	enum gate_err rc = check_map(c, m, "trust.keys", NULL);
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
		if ((rc = check_map(c, v, "a key", key_keys)) != GATE_OK)
			return rc;
		if (!(f = get(v, "file")))
			return FAILN(c, v, "key '%s' needs a file", name->s);
		if ((rc = path_str(c, f, "file", &k->file)) != GATE_OK)
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
			return FAILN(c, n, "trust.sigstore must be 'public-good' or "
				     "{trusted_root: FILE}, not '%s'", n->s);
		return GATE_OK;
	}
	if ((rc = check_map(c, n, "trust.sigstore", keys)) != GATE_OK)
		return rc;
	const struct gate_ynode *f = get(n, "trusted_root");
	if (!f)
		return FAILN(c, n, "trust.sigstore needs trusted_root");
	if ((rc = path_str(c, f, "trusted_root", &c->p->trusted_root_file)) != GATE_OK)
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
	enum gate_err rc = check_map(c, m, what, NULL);
	if (rc != GATE_OK || (rc = x509_trust(c, &t)) != GATE_OK)
		return rc;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *name = m->kids[i], *v = m->kids[i + 1], *f;
		struct gate_error e = {0};
		char *file = NULL;
		if ((rc = check_map(c, v, what, set_keys)) != GATE_OK)
			return rc;
		if (!(f = get(v, "file")))
			return FAILN(c, v, "%s '%s' needs a file", what, name->s);
		if ((rc = path_str(c, f, "file", &file)) != GATE_OK)
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
	enum gate_err rc = scalar(c, n, what, &s);
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
	enum gate_err rc = check_map(c, m, "trust.crl", keys);
	if (rc == GATE_OK)
		rc = x509_trust(c, &t);
	if (rc == GATE_OK && (n = get(m, "mode"))) {
		const char *s;
		if ((rc = scalar(c, n, "trust.crl.mode", &s)) == GATE_OK) {
			if (strcmp(s, "require") == 0)
				mode = GATE_CRL_REQUIRE;
			else if (strcmp(s, "ignore") == 0)
				mode = GATE_CRL_IGNORE;
			else if (strcmp(s, "prefer") != 0)
				rc = FAILN(c, n, "trust.crl.mode must be require, prefer or ignore, "
					   "not '%s'", s);
		}
	}
	if (rc == GATE_OK && (n = get(m, "fetch")))
		rc = load_bool(c, n, "trust.crl.fetch", &fetch);
	if (rc == GATE_OK && (n = get(m, "cache")))
		rc = path_str(c, n, "trust.crl.cache", &cache);
	if (rc == GATE_OK && (n = get(m, "files")))
		rc = str_list(c, n, "trust.crl.files", &files, &nfiles);
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
 * component} (gate/apt_origin.h). */
static enum gate_err load_apt_archives(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"keyring", "lists", "origin", "suite", "component",
					   NULL};
	static const char *const strs[] = {"origin", "suite", "component"};
	enum gate_err rc = check_map(c, m, "trust.apt_archives", NULL);
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
		if ((rc = check_map(c, v, "trust.apt_archives", keys)) != GATE_OK)
			return rc;
		if (!(n = get(v, "keyring")))
			return FAILN(c, v, "apt archive '%s' needs a keyring", name->s);
		if ((rc = path_str(c, n, "keyring", &a->keyring)) != GATE_OK)
			return rc;
		errno = 0;
		if (stat(a->keyring, &st) != 0 || !S_ISREG(st.st_mode))
			return FAILN(c, n, "apt archive '%s': keyring %s: %s", name->s, a->keyring,
				     errno ? strerror(errno) : "not a regular file");
		if ((n = get(v, "lists")) && (rc = path_str(c, n, "lists", &a->lists)) != GATE_OK)
			return rc;
		char **dst[] = {&a->origin, &a->suite, &a->component};
		for (size_t k = 0; k < 3; k++)
			if ((n = get(v, strs[k])) && (rc = dup_str(c, n, strs[k], dst[k])) != GATE_OK)
				return rc;
	}
	return GATE_OK;
}

static enum gate_err load_trust(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"sigstore", "keys", "x509_roots", "tsa_roots", "crl",
					   "tuf", "apt_archives", NULL};
	enum gate_err rc = check_map(c, m, "trust", keys);
	const struct gate_ynode *n;
	if (rc == GATE_OK && (n = get(m, "sigstore")))
		rc = load_sigstore(c, n);
	if (rc == GATE_OK && (n = get(m, "keys")))
		rc = load_keys(c, n);
	if (rc == GATE_OK && (n = get(m, "x509_roots")))
		rc = load_cert_sets(c, n, false);
	if (rc == GATE_OK && (n = get(m, "tsa_roots")))
		rc = load_cert_sets(c, n, true);
	if (rc == GATE_OK && (n = get(m, "crl")))
		rc = load_crl(c, n);
	if (rc == GATE_OK && (n = get(m, "tuf")))
		rc = gate_policy_load_tuf(c->file, c->dir, n, c->p, c->err);
	if (rc == GATE_OK && (n = get(m, "apt_archives")))
		rc = load_apt_archives(c, n);
	return rc;
}

/* ---- signers ---- */

static enum gate_err load_keyless(struct lctx *c, const struct gate_ynode *m,
				  struct gate_signer_entry *e)
{
	static const char *const keys[] = {"issuer", "issuer_regex", "identity", "identity_regex",
					   NULL};
	enum gate_err rc = check_map(c, m, "keyless", keys);
	const struct gate_ynode *n;
	if (rc != GATE_OK)
		return rc;
	e->kind = GATE_SIGNER_KEYLESS;
	if (!!get(m, "issuer") + !!get(m, "issuer_regex") != 1)
		return FAILN(c, m, "keyless needs exactly one of issuer and issuer_regex");
	if (!!get(m, "identity") + !!get(m, "identity_regex") != 1)
		return FAILN(c, m, "keyless needs exactly one of identity and identity_regex");
	if ((n = get(m, "issuer")) && (rc = dup_str(c, n, "issuer", &e->issuer)) != GATE_OK)
		return rc;
	if ((n = get(m, "identity")) && (rc = dup_str(c, n, "identity", &e->identity)) != GATE_OK)
		return rc;
	if ((n = get(m, "issuer_regex")) &&
	    ((rc = dup_str(c, n, "issuer_regex", &e->issuer_regex)) != GATE_OK ||
	     (rc = check_regex(c, n, e->issuer_regex)) != GATE_OK ||
	     (rc = gate_regex_compile(e->issuer_regex, &e->issuer_re, c->err)) != GATE_OK))
		return rc;
	if ((n = get(m, "identity_regex")) &&
	    ((rc = dup_str(c, n, "identity_regex", &e->identity_regex)) != GATE_OK ||
	     (rc = check_regex(c, n, e->identity_regex)) != GATE_OK ||
	     (rc = gate_regex_compile(e->identity_regex, &e->identity_re, c->err)) != GATE_OK))
		return rc;
	return GATE_OK;
}

static enum gate_err find_key(struct lctx *c, const struct gate_ynode *n, size_t *out)
{
	const char *s;
	enum gate_err rc = scalar(c, n, "key", &s);
	if (rc != GATE_OK)
		return rc;
	for (size_t i = 0; i < c->p->nkeys; i++)
		if (strcmp(c->p->keys[i].name, s) == 0) {
			*out = i;
			return GATE_OK;
		}
	return FAILN(c, n, "unknown key '%s' (not defined under trust.keys)", s);
}

/* A pattern pair: exact value or anchored regexp, at most one. */
static enum gate_err load_match_pair(struct lctx *c, const struct gate_ynode *m,
				     const char *key, const char *rekey, char **exact, char **re,
				     struct gate_regex **compiled)
{
	const struct gate_ynode *n;
	enum gate_err rc = GATE_OK;
	if (get(m, key) && get(m, rekey))
		return FAILN(c, m, "x509 takes %s or %s, not both", key, rekey);
	if ((n = get(m, key)))
		rc = dup_str(c, n, key, exact);
	if (rc == GATE_OK && (n = get(m, rekey)) &&
	    ((rc = dup_str(c, n, rekey, re)) != GATE_OK || (rc = check_regex(c, n, *re)) != GATE_OK ||
	     (rc = gate_regex_compile(*re, compiled, c->err)) != GATE_OK))
		return rc;
	return rc;
}

/* "sha256:" prefix and ':' separators allowed; stored as 64 lowercase hex. */
static enum gate_err load_fingerprint(struct lctx *c, const struct gate_ynode *n, char **out)
{
	const char *s;
	char hex[65];
	size_t k = 0;
	enum gate_err rc = scalar(c, n, "fingerprint", &s);
	if (rc != GATE_OK)
		return rc;
	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	for (; *s; s++) {
		if (*s == ':')
			continue;
		if (k == 64 || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
				 (*s >= 'A' && *s <= 'F')))
			return FAILN(c, n, "fingerprint must be 64 hex digits (SHA-256 of the "
				     "certificate), optionally 'sha256:' and ':' separated");
		hex[k++] = (char)(*s >= 'A' && *s <= 'F' ? *s - 'A' + 'a' : *s);
	}
	if (k != 64)
		return FAILN(c, n, "fingerprint must be 64 hex digits (SHA-256 of the certificate)");
	hex[64] = '\0';
	return (*out = strdup(hex)) ? GATE_OK
				    : gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

/* x509: {root: NAME, subject|subject_regex, san|san_regex, fingerprint}. */
static enum gate_err load_x509_entry(struct lctx *c, const struct gate_ynode *m,
				     struct gate_signer_entry *e)
{
	static const char *const keys[] = {"root", "subject", "subject_regex", "san", "san_regex",
					   "fingerprint", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = check_map(c, m, "x509", keys);
	if (rc != GATE_OK)
		return rc;
	e->kind = GATE_SIGNER_X509;
	if (!(n = get(m, "root")))
		return FAILN(c, m, "x509 needs root: NAME (a set under trust.x509_roots)");
	if ((rc = dup_str(c, n, "root", &e->x509_root)) != GATE_OK)
		return rc;
	if (!gate_x509_trust_has_root_set(c->p->x509, e->x509_root))
		return FAILN(c, n, "unknown X.509 root '%s' (not defined under trust.x509_roots)",
			     e->x509_root);
	if ((rc = load_match_pair(c, m, "subject", "subject_regex", &e->subject, &e->subject_regex,
				  &e->subject_re)) != GATE_OK ||
	    (rc = load_match_pair(c, m, "san", "san_regex", &e->san, &e->san_regex, &e->san_re)) !=
		    GATE_OK)
		return rc;
	if ((n = get(m, "fingerprint")) && (rc = load_fingerprint(c, n, &e->fingerprint)) != GATE_OK)
		return rc;
	return GATE_OK;
}

static enum gate_err load_entry(struct lctx *c, const struct gate_ynode *m,
				struct gate_signer_entry *e)
{
	static const char *const keys[] = {"keyless", "key", "x509", "apt_archive", NULL};
	enum gate_err rc = check_map(c, m, "a signer", keys);
	if (rc != GATE_OK)
		return rc;
	e->line = m->line;
	e->column = m->column;
	if (m->n != 2)
		return FAILN(c, m, "a signer is exactly one of keyless: {...}, key: NAME or "
			     "x509: {...} or apt_archive: NAME");
	const struct gate_ynode *n;
	if ((n = get(m, "apt_archive"))) {
		const char *s;
		e->kind = GATE_SIGNER_APT;
		if ((rc = scalar(c, n, "apt_archive", &s)) != GATE_OK)
			return rc;
		for (e->apt = 0; e->apt < c->p->napts; e->apt++)
			if (strcmp(c->p->apts[e->apt].name, s) == 0)
				return GATE_OK;
		return FAILN(c, n, "unknown apt archive '%s' (not defined under "
			     "trust.apt_archives)", s);
	}
	if ((n = get(m, "keyless")))
		return load_keyless(c, n, e);
	if ((n = get(m, "x509")))
		return load_x509_entry(c, n, e);
	e->kind = GATE_SIGNER_KEY;
	return find_key(c, get(m, "key"), &e->key);
}

static enum gate_err load_signers(struct lctx *c, const struct gate_ynode *m)
{
	struct gate_policy *p = c->p;
	enum gate_err rc = check_map(c, m, "signers", NULL);
	if (rc != GATE_OK)
		return rc;
	if (m->n && !(p->sets = calloc(m->n / 2, sizeof(*p->sets))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *name = m->kids[i], *list = m->kids[i + 1];
		struct gate_signer_set *s = &p->sets[p->nsets++];
		if (!(s->name = strdup(name->s)))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		if ((rc = want(c, list, GATE_Y_SEQ, "a signer set")) != GATE_OK)
			return rc;
		if (list->n == 0)
			return FAILN(c, list, "signer set '%s' is empty", name->s);
		if (!(s->entries = calloc(list->n, sizeof(*s->entries))))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		for (size_t k = 0; k < list->n; k++) {
			s->n = k + 1;
			if ((rc = load_entry(c, list->kids[k], &s->entries[k])) != GATE_OK)
				return rc;
		}
	}
	return GATE_OK;
}

/* ---- rules ---- */

static enum gate_err load_callers(struct lctx *c, const struct gate_ynode *n, unsigned *out)
{
	char **list = NULL;
	size_t cnt = 0;
	enum gate_err rc = str_list(c, n, "caller", &list, &cnt);
	for (size_t i = 0; rc == GATE_OK && i < cnt; i++) {
		if (strcmp(list[i], "apt") == 0)
			*out |= GATE_CALLER_APT;
		else if (strcmp(list[i], "exec") == 0)
			*out |= GATE_CALLER_EXEC;
		else if (strcmp(list[i], "ci") == 0)
			*out |= GATE_CALLER_CI;
		else /* name the offending element, not the whole list */
			rc = FAILN(c, n->type == GATE_Y_SEQ ? n->kids[i] : n,
				   "caller must be apt, exec or ci, not '%s'", list[i]);
	}
	for (size_t i = 0; i < cnt; i++)
		free(list[i]);
	free(list);
	return rc;
}

static enum gate_err load_match(struct lctx *c, const struct gate_ynode *m, struct gate_rule *r)
{
	static const char *const keys[] = {"type", "path", "caller", "size", NULL};
	static const char *const size_keys[] = {"min", "max", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = check_map(c, m, "match", keys);
	if (rc == GATE_OK && (n = get(m, "type")))
		rc = str_list(c, n, "type", &r->types, &r->ntypes);
	if (rc == GATE_OK && (n = get(m, "path")))
		rc = str_list(c, n, "path", &r->paths, &r->npaths);
	if (rc == GATE_OK && (n = get(m, "caller")))
		rc = load_callers(c, n, &r->callers);
	if (rc == GATE_OK && (n = get(m, "size"))) {
		const struct gate_ynode *v;
		if ((rc = check_map(c, n, "size", size_keys)) != GATE_OK)
			return rc;
		if ((v = get(n, "min")) && (rc = size_val(c, v, "size.min", &r->min_size)) == GATE_OK)
			r->has_min_size = true;
		if (rc == GATE_OK && (v = get(n, "max")) &&
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
	enum gate_err rc = scalar(c, n, what, &s);
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
	enum gate_err rc = scalar(c, n, what, &s);
	if (rc == GATE_OK && !gate_parse_rfc3339(s, out))
		rc = FAILN(c, n, "%s must be an RFC 3339 UTC time like 2026-01-31T00:00:00Z, "
			   "not '%s'", what, s);
	return rc;
}

static enum gate_err load_require(struct lctx *c, const struct gate_ynode *m,
				  struct gate_rule *r)
{
	static const char *const keys[] = {"signers", "threshold", "tlog", "timestamp",
					   "max_age", "not_before", "not_after", "coverage",
					   "tuf_target", "tuf_path", NULL};
	const struct gate_ynode *n;
	const char *s;
	enum gate_err rc = check_map(c, m, "require", keys);
	if (rc != GATE_OK)
		return rc;
	if ((rc = gate_policy_load_tuf_req(c->file, m, c->p, r, c->err)) != GATE_OK)
		return rc;
	if (!(n = get(m, "signers")) && r->has_tuf) {
		/* tuf_target alone: every other requirement is about signers. */
		if (m->n / 2 == 1u + !!get(m, "tuf_path"))
			return GATE_OK;
		return FAILN(c, m, "threshold, tlog, timestamp, max_age, not_before, not_after "
			     "and coverage need signers");
	}
	if (!n)
		return FAILN(c, m, "require needs signers: NAME");
	if ((rc = scalar(c, n, "signers", &s)) != GATE_OK)
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
	if ((n = get(m, "threshold"))) {
		uint64_t t = 0;
		if ((rc = uint_val(c, n, "threshold", 1000, &t)) != GATE_OK)
			return rc;
		if (t == 0)
			return FAILN(c, n, "threshold must be at least 1");
		if (t > c->p->sets[r->signers].n)
			return FAILN(c, n, "threshold %llu can never be met: signer set '%s' has %zu "
				     "signers", (unsigned long long)t, s, c->p->sets[r->signers].n);
		r->threshold = (unsigned)t;
	}
	if ((n = get(m, "tlog")) && (rc = load_need(c, n, "tlog", &r->tlog)) != GATE_OK)
		return rc;
	if ((n = get(m, "timestamp")) &&
	    (rc = load_need(c, n, "timestamp", &r->timestamp)) != GATE_OK)
		return rc;
	if ((n = get(m, "max_age"))) {
		if ((rc = scalar(c, n, "max_age", &s)) != GATE_OK)
			return rc;
		if (!gate_parse_duration(s, &r->max_age))
			return FAILN(c, n, "max_age must be a duration like 90d, 12h, 30m, 2w; "
				     "not '%s'", s);
	}
	if ((n = get(m, "coverage"))) {
		if ((rc = scalar(c, n, "coverage", &s)) != GATE_OK)
			return rc;
		if (strcmp(s, "partial") == 0)
			r->partial_coverage = true;
		else if (strcmp(s, "full") != 0)
			return FAILN(c, n, "coverage must be full or partial, not '%s'", s);
	}
	if ((n = get(m, "not_before")) &&
	    (rc = load_time(c, n, "not_before", &r->not_before)) == GATE_OK)
		r->has_not_before = true;
	if (rc == GATE_OK && (n = get(m, "not_after")) &&
	    (rc = load_time(c, n, "not_after", &r->not_after)) == GATE_OK)
		r->has_not_after = true;
	return rc;
}

static enum gate_err load_rule(struct lctx *c, const struct gate_ynode *m, struct gate_rule *r)
{
	static const char *const keys[] = {"name", "match", "require", "decision", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = check_map(c, m, "a rule", keys);
	if (rc != GATE_OK)
		return rc;
	r->line = m->line;
	if (!(n = get(m, "name")))
		return FAILN(c, m, "a rule needs a name");
	if ((rc = dup_str(c, n, "name", &r->name)) != GATE_OK)
		return rc;
	for (struct gate_rule *o = c->p->rules; o < r; o++)
		if (strcmp(o->name, r->name) == 0)
			return FAILN(c, n, "duplicate rule name '%s'", r->name);
	if ((n = get(m, "match")) && (rc = load_match(c, n, r)) != GATE_OK)
		return rc;
	if (!!get(m, "require") + !!get(m, "decision") != 1)
		return FAILN(c, m, "rule '%s' needs exactly one of require and decision", r->name);
	if ((n = get(m, "require")))
		return load_require(c, n, r);
	const char *d;
	n = get(m, "decision");
	if ((rc = scalar(c, n, "decision", &d)) != GATE_OK)
		return rc;
	if (strcmp(d, "allow") == 0)
		r->decision = GATE_DECISION_ALLOW;
	else if (strcmp(d, "deny") == 0)
		r->decision = GATE_DECISION_DENY;
	else
		return FAILN(c, n, "decision must be allow or deny, not '%s'", d);
	return GATE_OK;
}

static enum gate_err load_rules(struct lctx *c, const struct gate_ynode *l)
{
	struct gate_policy *p = c->p;
	enum gate_err rc = want(c, l, GATE_Y_SEQ, "rules");
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

/* ---- top level ---- */

static enum gate_err load_evidence(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"dirs", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = check_map(c, m, "evidence", keys);
	if (rc != GATE_OK || !(n = get(m, "dirs")))
		return rc;
	if ((rc = str_list(c, n, "evidence.dirs", &c->p->evidence_dirs,
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
	enum gate_err rc = check_map(c, m, "audit", keys);
	if (rc != GATE_OK || !(n = get(m, "log")))
		return rc;
	const char *s;
	if ((rc = scalar(c, n, "audit.log", &s)) != GATE_OK)
		return rc;
	if (strcmp(s, "stderr") == 0 || strcmp(s, "syslog") == 0)
		return dup_str(c, n, "audit.log", &c->p->audit_log);
	return path_str(c, n, "audit.log", &c->p->audit_log);
}

static enum gate_err load_top(struct lctx *c, const struct gate_ynode *root)
{
	static const char *const keys[] = {"version", "mode",  "trust",	 "signers",
					   "rules",   "evidence", "audit", NULL};
	const struct gate_ynode *n;
	const char *s;
	enum gate_err rc = check_map(c, root, "the policy", keys);
	if (rc != GATE_OK)
		return rc;
	if (!(n = get(root, "version")))
		return FAILN(c, root, "the policy needs version: 1");
	if ((rc = scalar(c, n, "version", &s)) != GATE_OK)
		return rc;
	if (strcmp(s, "1") != 0)
		return FAILN(c, n, "unsupported policy version '%s' (this gate reads version 1)", s);
	if ((n = get(root, "mode"))) {
		if ((rc = scalar(c, n, "mode", &s)) != GATE_OK)
			return rc;
		if (strcmp(s, "enforce") == 0)
			c->p->mode = GATE_MODE_ENFORCE;
		else if (strcmp(s, "audit") == 0)
			c->p->mode = GATE_MODE_AUDIT;
		else if (strcmp(s, "off") == 0)
			c->p->mode = GATE_MODE_OFF;
		else
			return FAILN(c, n, "mode must be enforce, audit or off, not '%s'", s);
	}
	if ((n = get(root, "trust")) && (rc = load_trust(c, n)) != GATE_OK)
		return rc;
	if ((n = get(root, "signers")) && (rc = load_signers(c, n)) != GATE_OK)
		return rc;
	if (!(n = get(root, "rules")))
		return FAILN(c, root, "the policy needs rules");
	if ((rc = load_rules(c, n)) != GATE_OK)
		return rc;
	if ((n = get(root, "evidence")) && (rc = load_evidence(c, n)) != GATE_OK)
		return rc;
	if ((n = get(root, "audit")) && (rc = load_audit(c, n)) != GATE_OK)
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
			struct gate_signer_entry *e = &p->sets[i].entries[k];
			free(e->issuer);
			free(e->issuer_regex);
			free(e->identity);
			free(e->identity_regex);
			gate_regex_free(e->issuer_re);
			gate_regex_free(e->identity_re);
			free(e->x509_root);
			free(e->subject);
			free(e->subject_regex);
			free(e->san);
			free(e->san_regex);
			free(e->fingerprint);
			gate_regex_free(e->subject_re);
			gate_regex_free(e->san_re);
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
	gate_x509_trust_free(p->x509);
	free(p);
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
				  "  - name: default deny\n"
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
	case GATE_CALLER_APT: return "apt";
	case GATE_CALLER_EXEC: return "exec";
	case GATE_CALLER_CI: return "ci";
	default: return "any";
	}
}
