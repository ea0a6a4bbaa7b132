/* lint.c - warnings about policies that load but probably do not mean what
 * they say: over-broad identity patterns above all. */
#include "policy_model.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct lint {
	const struct gate_policy *p;
	const struct gate_signer_entry *e;
	gate_lint_fn fn;
	void *ctx;
	size_t count;
};

static void warn(struct lint *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A caller whose mode is off is neither enforced nor logged: say so, once
 * for the whole policy when every caller is off. */
static void lint_modes(struct lint *l)
{
	static const enum gate_caller callers[] = {GATE_CALLER_APT, GATE_CALLER_EXEC,
						   GATE_CALLER_CI};
	static const struct gate_signer_entry top = {.line = 1, .column = 1};
	size_t off = 0;
	for (size_t i = 0; i < GATE_POLICY_NCALLERS; i++)
		off += l->p->modes[i] == GATE_MODE_OFF;
	l->e = &top;
	if (off == GATE_POLICY_NCALLERS) {
		warn(l, "mode is %s: nothing is enforced or logged", "off");
		return;
	}
	for (size_t i = 0; i < GATE_POLICY_NCALLERS; i++)
		if (l->p->modes[i] == GATE_MODE_OFF)
			warn(l, "mode of caller %s is off: nothing it asks is enforced or logged",
			     gate_caller_name(callers[i]));
}

static void warn(struct lint *l, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	l->fn(l->ctx, l->p->file, l->e->line, l->e->column, msg);
	l->count++;
}

/* A '.' not preceded by a backslash inside the host part of a URL
 * pattern matches any character: "github.com" also accepts "githubXcom". */
static bool unescaped_host_dot(const char *re)
{
	const char *h = strstr(re, "://");
	if (!h)
		return false;
	for (const char *p = h + 3; *p && *p != '/'; p++)
		if (*p == '.' && p[-1] != '\\')
			return true;
	return false;
}

static bool is_github_issuer(const struct gate_signer_entry *e)
{
	const char *iss = e->m.issuer ? e->m.issuer : e->m.issuer_regex;
	return iss && strstr(iss, "token.actions.githubusercontent") != NULL;
}

static void lint_identity(struct lint *l, const char *re)
{
	if (strstr(re, ".*") || strstr(re, ".+"))
		warn(l,
		     "identity_regex '%s' contains an unbounded '.*' or '.+' run: it may accept "
		     "identities you did not mean; prefer [^/@]+ or an explicit list",
		     re);
	if (unescaped_host_dot(re))
		warn(l,
		     "identity_regex '%s' has an unescaped '.' in the host name: it matches any "
		     "character (write \\.)",
		     re);
	if (is_github_issuer(l->e)) {
		if (!strstr(re, "/.github/workflows/") && !strstr(re, "/\\.github/workflows/"))
			warn(l,
			     "identity_regex '%s' does not name a workflow file: any workflow of "
			     "the repository could sign",
			     re);
		const char *at = strrchr(re, '@');
		if (!at)
			warn(l,
			     "identity_regex '%s' does not pin a ref (@refs/tags/... or "
			     "@refs/heads/main): any branch could sign",
			     re);
		else if (strstr(at, ".*") || strstr(at, ".+") || strcmp(at, "@") == 0)
			warn(l,
			     "identity_regex '%s' accepts any ref after '@': pull-request and "
			     "feature branches could sign",
			     re);
	}
}

static void lint_issuer(struct lint *l, const char *re)
{
	if (strstr(re, ".*") || strstr(re, ".+"))
		warn(l,
		     "issuer_regex '%s' contains an unbounded run: any OIDC provider whose URL "
		     "fits could vouch for identities",
		     re);
	if (unescaped_host_dot(re))
		warn(l, "issuer_regex '%s' has an unescaped '.' in the host name", re);
}

/* An allow that rests on the path alone, for execs: the path the exec
 * daemon sees is a name in its own mount namespace, and whoever can make a
 * mount (a user namespace, a bind mount, an overlay) chooses which file is
 * behind a name. gated refuses paths it cannot resolve back to the file,
 * but a name is still weaker than a signature or a digest. */
static void lint_path_allow(struct lint *l, const struct gate_rule *r)
{
	if (r->npaths == 0 || r->has_signers || r->has_tuf || r->decision != GATE_DECISION_ALLOW ||
	    (r->callers != 0 && !(r->callers & GATE_CALLER_EXEC)))
		return;
	l->e = &(struct gate_signer_entry){.line = r->line, .column = 1};
	warn(l,
	     "rule '%s' allows %s by path alone ('%s'%s): a path can be made to name another "
	     "file (bind mount, user namespace); require signers or limit the rule to callers "
	     "other than exec",
	     r->name ? r->name : "(unnamed)", r->callers ? "exec" : "every caller (exec included)",
	     r->paths[0], r->npaths > 1 ? ", ..." : "");
}

/* ---- unreachable rules ----
 *
 * The first rule whose match holds decides (gate_policy_select): a rule
 * after one that matches everything it matches is never reached. The
 * check is conservative (no false warnings): a list covers another when it
 * is empty (anything) or names each of its members, a pattern covering a
 * literal member when the pattern matches it. */

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool list_covers(char **a, size_t na, char **b, size_t nb, bool path)
{
	if (na == 0)
		return true;
	if (nb == 0)
		return false;
	for (size_t j = 0; j < nb; j++) {
		bool in = false;
		for (size_t i = 0; i < na && !in; i++)
			in = strcmp(a[i], b[j]) == 0 ||
			     (!has_wildcard(b[j]) &&
			      (path ? gate_glob_match(a[i], b[j]) : fnmatch(a[i], b[j], 0) == 0));
		if (!in)
			return false;
	}
	return true;
}

static bool rule_covers(const struct gate_rule *a, const struct gate_rule *b)
{
	return list_covers(a->types, a->ntypes, b->types, b->ntypes, false) &&
	       list_covers(a->paths, a->npaths, b->paths, b->npaths, true) &&
	       (!a->callers || (b->callers && !(b->callers & ~a->callers))) &&
	       (!a->has_min_size || (b->has_min_size && b->min_size >= a->min_size)) &&
	       (!a->has_max_size || (b->has_max_size && b->max_size <= a->max_size));
}

static void lint_unreachable(struct lint *l)
{
	const struct gate_policy *p = l->p;
	for (size_t j = 1; j < p->nrules; j++)
		for (size_t i = 0; i < j; i++) {
			if (!rule_covers(&p->rules[i], &p->rules[j]))
				continue;
			l->e = &(struct gate_signer_entry){.line = p->rules[j].line, .column = 1};
			warn(l,
			     "rule '%.80s' is never reached: rule '%.80s' (line %u) before it "
			     "matches every file it matches",
			     p->rules[j].name, p->rules[i].name, p->rules[i].line);
			break;
		}
}

/* ---- MIME types ----
 *
 * match.type names what libmagic reports: "type/subtype" with a known
 * top-level type (libmagic's "inode" included) and a subtype of RFC 6838
 * name characters, or glob wildcards. Anything else never matches. */

static bool mime_type_ok(const char *t)
{
	static const char *const top[] = {"application", "audio", "chemical", "font",
					  "image",	 "inode", "message",  "model",
					  "multipart",	 "text",  "video",    "*"};
	const char *slash = strchr(t, '/');
	size_t n = slash ? (size_t)(slash - t) : 0;
	bool known = false;
	if (!slash || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (size_t i = 0; i < sizeof top / sizeof top[0] && !known; i++)
		known = strlen(top[i]) == n && strncmp(top[i], t, n) == 0;
	if (!known)
		return false;
	for (const char *c = slash + 1; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("!#$&^_.+-*?[]", *c)))
			return false;
	return true;
}

static void lint_types(struct lint *l)
{
	const struct gate_policy *p = l->p;
	for (size_t j = 0; j < p->nrules; j++)
		for (size_t k = 0; k < p->rules[j].ntypes; k++) {
			if (mime_type_ok(p->rules[j].types[k]))
				continue;
			l->e = &(struct gate_signer_entry){.line = p->rules[j].line, .column = 1};
			warn(l,
			     "rule '%.80s': type '%.80s' is not a MIME type libmagic reports "
			     "(TYPE/SUBTYPE, TYPE one of application, audio, font, image, inode, "
			     "message, model, multipart, text, video): it never matches",
			     p->rules[j].name, p->rules[j].types[k]);
		}
}

size_t gate_policy_lint(const struct gate_policy *p, gate_lint_fn fn, void *ctx)
{
	struct lint l = {.p = p, .fn = fn, .ctx = ctx};
	for (size_t s = 0; s < p->nsets; s++) {
		for (size_t i = 0; i < p->sets[s].n; i++) {
			l.e = &p->sets[s].entries[i];
			if (l.e->m.kind != GATE_SIGNER_KEYLESS)
				continue;
			if (l.e->m.identity_regex)
				lint_identity(&l, l.e->m.identity_regex);
			if (l.e->m.issuer_regex)
				lint_issuer(&l, l.e->m.issuer_regex);
		}
	}
	for (size_t r = 0; r < p->nrules; r++)
		lint_path_allow(&l, &p->rules[r]);
	lint_unreachable(&l);
	lint_types(&l);
	lint_modes(&l);
	return l.count;
}
