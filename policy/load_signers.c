/* load_signers.c - the signers section of the policy schema: named sets of
 * keyless identities, keys, X.509 signers and apt archives, and the cost
 * bound on the regexps they may use. */
#include "load_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REGEX_MAX_LEN 1024  /* characters of an identity or issuer pattern */
#define REGEX_MAX_COST 1000 /* elements after unrolling repetitions */
#define REGEX_MAX_GROUPS 32 /* nesting of ( ) */

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
		return FAILN(c, n,
			     "regexp is too long or too complex (at most %u characters, no "
			     "back-references or stacked repetitions such as '+*', repetitions "
			     "unrolling to at most %u elements): '%.80s%s'",
			     REGEX_MAX_LEN, REGEX_MAX_COST, re, strlen(re) > 80 ? "..." : "");
	enum gate_err rc = gate_regex_full_match(re, "", &e);
	if (rc == GATE_OK || rc == GATE_E_IDENTITY)
		return GATE_OK;
	return FAILN(c, n, "%s", e.msg);
}

/* ---- signers ---- */

enum gate_err gate_pl_match_pair(struct lctx *c, const struct gate_ynode *m, const char *kind,
				 const char *key, const char *rekey, char **exact, char **re,
				 struct gate_regex **compiled)
{
	const struct gate_ynode *n;
	enum gate_err rc = GATE_OK;
	if (gate_pl_get(m, key) && gate_pl_get(m, rekey))
		return FAILN(c, m, "%s takes %s or %s, not both", kind, key, rekey);
	if ((n = gate_pl_get(m, key)))
		rc = gate_pl_dup_str(c, n, key, exact);
	if (rc == GATE_OK && (n = gate_pl_get(m, rekey)) &&
	    ((rc = gate_pl_dup_str(c, n, rekey, re)) != GATE_OK ||
	     (rc = check_regex(c, n, *re)) != GATE_OK ||
	     (rc = gate_regex_compile(*re, compiled, c->err)) != GATE_OK))
		return rc;
	return rc;
}

/* The Fulcio extension claims of a keyless entry (signer.h): each NAME
 * or NAME_regex of gate_keyless_claims. */
static enum gate_err load_claims(struct lctx *c, const struct gate_ynode *m,
				 struct gate_signer_match *sm)
{
	char rekey[64];
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; gate_keyless_claims[i] && rc == GATE_OK; i++) {
		const char *name = gate_keyless_claims[i];
		snprintf(rekey, sizeof rekey, "%s_regex", name);
		if (!gate_pl_get(m, name) && !gate_pl_get(m, rekey))
			continue;
		struct gate_claim_match *cm = &sm->claims[sm->nclaims++];
		cm->name = name;
		rc = gate_pl_match_pair(c, m, "keyless", name, rekey, &cm->exact, &cm->regex,
					&cm->re);
	}
	return rc;
}

static enum gate_err load_keyless(struct lctx *c, const struct gate_ynode *m,
				  struct gate_signer_entry *e)
{
	/* issuer, identity and each claim, each with its _regex form */
	const char *keys[2 * (GATE_MAX_CLAIMS + 2) + 1] = {"issuer", "issuer_regex", "identity",
							   "identity_regex"};
	char rekeys[GATE_MAX_CLAIMS][64];
	size_t nk = 4;
	for (size_t i = 0; gate_keyless_claims[i] && i < GATE_MAX_CLAIMS; i++) {
		snprintf(rekeys[i], sizeof rekeys[i], "%s_regex", gate_keyless_claims[i]);
		keys[nk++] = gate_keyless_claims[i];
		keys[nk++] = rekeys[i];
	}
	keys[nk] = NULL;
	enum gate_err rc = gate_pl_check_map(c, m, "keyless", keys);
	const struct gate_ynode *n;
	if (rc != GATE_OK)
		return rc;
	e->m.kind = GATE_SIGNER_KEYLESS;
	if (!!gate_pl_get(m, "issuer") + !!gate_pl_get(m, "issuer_regex") != 1)
		return FAILN(c, m, "keyless needs exactly one of issuer and issuer_regex");
	if (!!gate_pl_get(m, "identity") + !!gate_pl_get(m, "identity_regex") != 1)
		return FAILN(c, m, "keyless needs exactly one of identity and identity_regex");
	if ((n = gate_pl_get(m, "issuer")) &&
	    (rc = gate_pl_dup_str(c, n, "issuer", &e->m.issuer)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(m, "identity")) &&
	    (rc = gate_pl_dup_str(c, n, "identity", &e->m.identity)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(m, "issuer_regex")) &&
	    ((rc = gate_pl_dup_str(c, n, "issuer_regex", &e->m.issuer_regex)) != GATE_OK ||
	     (rc = check_regex(c, n, e->m.issuer_regex)) != GATE_OK ||
	     (rc = gate_regex_compile(e->m.issuer_regex, &e->m.issuer_re, c->err)) != GATE_OK))
		return rc;
	if ((n = gate_pl_get(m, "identity_regex")) &&
	    ((rc = gate_pl_dup_str(c, n, "identity_regex", &e->m.identity_regex)) != GATE_OK ||
	     (rc = check_regex(c, n, e->m.identity_regex)) != GATE_OK ||
	     (rc = gate_regex_compile(e->m.identity_regex, &e->m.identity_re, c->err)) != GATE_OK))
		return rc;
	return load_claims(c, m, &e->m);
}

static enum gate_err find_key(struct lctx *c, const struct gate_ynode *n, size_t *out)
{
	const char *s;
	enum gate_err rc = gate_pl_scalar(c, n, "key", &s);
	if (rc != GATE_OK)
		return rc;
	for (size_t i = 0; i < c->p->nkeys; i++)
		if (strcmp(c->p->keys[i].name, s) == 0) {
			*out = i;
			return GATE_OK;
		}
	return FAILN(c, n, "unknown key '%s' (not defined under trust.keys)", s);
}

/* "sha256:" prefix and ':' separators allowed; stored as 64 lowercase hex. */
static enum gate_err load_fingerprint(struct lctx *c, const struct gate_ynode *n, char **out)
{
	const char *s;
	char hex[65];
	size_t k = 0;
	enum gate_err rc = gate_pl_scalar(c, n, "fingerprint", &s);
	if (rc != GATE_OK)
		return rc;
	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	for (; *s; s++) {
		if (*s == ':')
			continue;
		if (k == 64 || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
				 (*s >= 'A' && *s <= 'F')))
			return FAILN(c, n,
				     "fingerprint must be 64 hex digits (SHA-256 of the "
				     "certificate), optionally 'sha256:' and ':' separated");
		hex[k++] = (char)(*s >= 'A' && *s <= 'F' ? *s - 'A' + 'a' : *s);
	}
	if (k != 64)
		return FAILN(c, n,
			     "fingerprint must be 64 hex digits (SHA-256 of the certificate)");
	hex[64] = '\0';
	return (*out = strdup(hex)) ? GATE_OK
				    : gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

/* x509: {root: NAME, subject|subject_regex, san|san_regex, fingerprint}. */
static enum gate_err load_x509_entry(struct lctx *c, const struct gate_ynode *m,
				     struct gate_signer_entry *e)
{
	static const char *const keys[] = {
		"root", "subject", "subject_regex", "san", "san_regex", "fingerprint", NULL};
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "x509", keys);
	if (rc != GATE_OK)
		return rc;
	e->m.kind = GATE_SIGNER_X509;
	e->m.x509 = c->p->x509;
	if (!(n = gate_pl_get(m, "root")))
		return FAILN(c, m, "x509 needs root: NAME (a set under trust.x509_roots)");
	if ((rc = gate_pl_dup_str(c, n, "root", &e->m.x509_root)) != GATE_OK)
		return rc;
	if (!gate_x509_trust_has_root_set(c->p->x509, e->m.x509_root))
		return FAILN(c, n, "unknown X.509 root '%s' (not defined under trust.x509_roots)",
			     e->m.x509_root);
	if ((rc = gate_pl_match_pair(c, m, "x509", "subject", "subject_regex", &e->m.subject,
				     &e->m.subject_regex, &e->m.subject_re)) != GATE_OK ||
	    (rc = gate_pl_match_pair(c, m, "x509", "san", "san_regex", &e->m.san, &e->m.san_regex,
				     &e->m.san_re)) != GATE_OK)
		return rc;
	if ((n = gate_pl_get(m, "fingerprint")) &&
	    (rc = load_fingerprint(c, n, &e->m.fingerprint)) != GATE_OK)
		return rc;
	return GATE_OK;
}

static enum gate_err load_entry(struct lctx *c, const struct gate_ynode *m,
				struct gate_signer_entry *e)
{
	static const char *const keys[] = {"keyless", "key", "x509", "apt_archive", NULL};
	enum gate_err rc = gate_pl_check_map(c, m, "a signer", keys);
	if (rc != GATE_OK)
		return rc;
	e->line = m->line;
	e->column = m->column;
	if (m->n != 2)
		return FAILN(c, m,
			     "a signer is exactly one of keyless: {...}, key: NAME or "
			     "x509: {...} or apt_archive: NAME");
	const struct gate_ynode *n;
	if ((n = gate_pl_get(m, "apt_archive"))) {
		const char *s;
		e->m.kind = GATE_SIGNER_APT;
		if ((rc = gate_pl_scalar(c, n, "apt_archive", &s)) != GATE_OK)
			return rc;
		for (e->apt = 0; e->apt < c->p->napts; e->apt++)
			if (strcmp(c->p->apts[e->apt].name, s) == 0) {
				e->m.anchor = c->p->apts[e->apt].name;
				return GATE_OK;
			}
		return FAILN(c, n,
			     "unknown apt archive '%s' (not defined under "
			     "trust.apt_archives)",
			     s);
	}
	if ((n = gate_pl_get(m, "keyless")))
		return load_keyless(c, n, e);
	if ((n = gate_pl_get(m, "x509")))
		return load_x509_entry(c, n, e);
	e->m.kind = GATE_SIGNER_KEY;
	if ((rc = find_key(c, gate_pl_get(m, "key"), &e->key)) == GATE_OK && c->p->keys[e->key].key)
		gate_pubkey_id(c->p->keys[e->key].key, e->m.key_id);
	return rc;
}

enum gate_err gate_pl_load_signers(struct lctx *c, const struct gate_ynode *m)
{
	struct gate_policy *p = c->p;
	enum gate_err rc = gate_pl_check_map(c, m, "signers", NULL);
	if (rc != GATE_OK)
		return rc;
	if (m->n && !(p->sets = calloc(m->n / 2, sizeof(*p->sets))))
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct gate_ynode *name = m->kids[i], *list = m->kids[i + 1];
		struct gate_signer_set *s = &p->sets[p->nsets++];
		if (!(s->name = strdup(name->s)))
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		if ((rc = gate_pl_want(c, list, GATE_Y_SEQ, "a signer set")) != GATE_OK)
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
