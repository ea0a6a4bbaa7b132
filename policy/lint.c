/* lint.c - warnings about policies that load but probably do not mean what
 * they say: over-broad identity patterns above all. */
#include "policy_model.h"

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
	if (p->mode == GATE_MODE_OFF) {
		l.e = &(struct gate_signer_entry){.line = 1, .column = 1};
		warn(&l, "mode is %s: nothing is enforced or logged", "off");
	}
	return l.count;
}
