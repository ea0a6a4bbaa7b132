/* eval.c - rule selection and requirement evaluation over verified facts. */
#include "policy_model.h"
#include "signer.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GLOB_MAX_SEGS GATE_GLOB_MAX_SEGS

/* Split s at '/' into at most GLOB_MAX_SEGS segments (in buf). */
static size_t split_segs(char *buf, char **segs)
{
	size_t n = 0;
	char *p = buf;
	for (;;) {
		if (n == GLOB_MAX_SEGS)
			return GLOB_MAX_SEGS + 1;
		segs[n++] = p;
		p = strchr(p, '/');
		if (!p)
			return n;
		*p++ = '\0';
	}
}

void gate_format_duration(int64_t secs, char *buf, size_t cap)
{
	static const struct {
		int64_t unit;
		char c;
	} units[] = {{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (secs && secs % units[i].unit == 0) {
			snprintf(buf, cap, "%lld%c", (long long)(secs / units[i].unit), units[i].c);
			return;
		}
	snprintf(buf, cap, "%llds", (long long)secs);
}

bool gate_glob_match(const char *pattern, const char *path)
{
	/* Segment-wise: "**" matches any number of whole segments (none
	 * included); other segments use fnmatch, so '*' and '?' never cross a
	 * '/'. Dynamic programming keeps it linear in segments × segments,
	 * whatever the number of "**". */
	char *pb = strdup(pattern), *sb = strdup(path);
	char *pat[GLOB_MAX_SEGS], *seg[GLOB_MAX_SEGS];
	bool ok = false;
	if (!pb || !sb)
		goto out;
	size_t np = split_segs(pb, pat), ns = split_segs(sb, seg);
	if (np > GLOB_MAX_SEGS || ns > GLOB_MAX_SEGS)
		goto out;
	/* m[i][j]: pattern segments i.. match path segments j.. */
	static _Thread_local bool m[GLOB_MAX_SEGS + 1][GLOB_MAX_SEGS + 1];
	for (size_t i = np + 1; i-- > 0;) {
		for (size_t j = ns + 1; j-- > 0;) {
			if (i == np)
				m[i][j] = j == ns;
			else if (strcmp(pat[i], "**") == 0)
				m[i][j] = m[i + 1][j] || (j < ns && m[i][j + 1]);
			else
				m[i][j] = j < ns && m[i + 1][j + 1] &&
					  fnmatch(pat[i], seg[j], 0) == 0;
		}
	}
	ok = m[0][0];
out:
	free(pb);
	free(sb);
	return ok;
}

static bool list_has_glob(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (gate_glob_match(list[i], s))
			return true;
	return false;
}

static bool type_matches(char **types, size_t n, const char *mime)
{
	for (size_t i = 0; i < n; i++) {
		/* Wildcards such as text/STAR are allowed; parameters are not
		 * part of the comparison. */
		size_t ml = strcspn(mime, ";");
		char *m = strndup(mime, ml);
		bool ok = m && fnmatch(types[i], m, 0) == 0;
		free(m);
		if (ok)
			return true;
	}
	return false;
}

const struct gate_rule *gate_policy_select(const struct gate_policy *p,
					   const struct gate_subject *s)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct gate_rule *r = &p->rules[i];
		if (r->ntypes && !(s->mime && type_matches(r->types, r->ntypes, s->mime)))
			continue;
		if (r->npaths && !(s->path && list_has_glob(r->paths, r->npaths, s->path)))
			continue;
		if (r->callers && !(r->callers & (unsigned)s->caller))
			continue;
		if (r->has_min_size && s->size < r->min_size)
			continue;
		if (r->has_max_size && s->size > r->max_size)
			continue;
		return r;
	}
	return NULL;
}

bool gate_policy_names_signer(const struct gate_policy *p, const struct gate_facts *f)
{
	for (size_t i = 0; i < p->nrules && f->kind == GATE_SIGNER_TUF; i++)
		if (p->rules[i].has_tuf && p->rules[i].tuf < p->ntufs && f->anchor_name &&
		    strcmp(p->tufs[p->rules[i].tuf].name, f->anchor_name) == 0)
			return true;
	for (size_t s = 0; s < p->nsets; s++)
		for (size_t i = 0; i < p->sets[s].n; i++)
			if (gate_signer_matches(&p->sets[s].entries[i].m, f))
				return true;
	return false;
}

/* ---- threshold: distinct signers ---- */

#define MAX_SIGNERS 64

struct match {
	size_t nsig, nent;
	bool adj[MAX_SIGNERS][MAX_SIGNERS];
	int ent_of_sig[MAX_SIGNERS];
	int sig_of_ent[MAX_SIGNERS];
};

static bool augment(struct match *m, size_t s, bool *seen)
{
	for (size_t e = 0; e < m->nent; e++) {
		if (!m->adj[s][e] || seen[e])
			continue;
		seen[e] = true;
		if (m->sig_of_ent[e] < 0 || augment(m, (size_t)m->sig_of_ent[e], seen)) {
			m->sig_of_ent[e] = (int)s;
			m->ent_of_sig[s] = (int)e;
			return true;
		}
	}
	return false;
}

/* The threshold counts distinct signers, each standing for a distinct member
 * of the set: a maximum bipartite matching between signers and members, so
 * one identity matching two members counts once, and the same identity
 * signing twice counts once. */
static unsigned count_distinct(const struct gate_signer_set *set, struct gate_facts *const *facts,
			       size_t nfacts, bool *eligible)
{
	struct match *m = calloc(1, sizeof(*m));
	const struct gate_facts *sig[MAX_SIGNERS];
	unsigned count = 0;
	if (!m)
		return 0;
	for (size_t i = 0; i < nfacts && m->nsig < MAX_SIGNERS; i++) {
		if (!eligible[i])
			continue;
		bool dup = false;
		for (size_t k = 0; k < m->nsig && !dup; k++)
			dup = gate_signer_same(sig[k], facts[i]);
		if (!dup)
			sig[m->nsig++] = facts[i];
	}
	m->nent = set->n < MAX_SIGNERS ? set->n : MAX_SIGNERS;
	for (size_t s = 0; s < m->nsig; s++) {
		m->ent_of_sig[s] = -1;
		for (size_t e = 0; e < m->nent; e++)
			m->adj[s][e] = gate_signer_matches(&set->entries[e].m, sig[s]);
	}
	for (size_t e = 0; e < m->nent; e++)
		m->sig_of_ent[e] = -1;
	for (size_t s = 0; s < m->nsig; s++) {
		bool seen[MAX_SIGNERS] = {false};
		if (augment(m, s, seen))
			count++;
	}
	free(m);
	return count;
}

static void add_req(struct gate_eval *ev, const char *what, bool held, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_req(struct gate_eval *ev, const char *what, bool held, const char *fmt, ...)
{
	if (ev->nreqs >= GATE_MAX_REQS)
		return;
	struct gate_req_result *r = &ev->reqs[ev->nreqs++];
	va_list ap;
	r->what = what;
	r->held = held;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
	if (!held)
		ev->decision = GATE_DECISION_DENY;
}

/* Per-item requirements decide which verified items may count at all. */
static bool item_ok(const struct gate_policy *p, const struct gate_rule *r,
		    const struct gate_facts *f, int64_t now)
{
	if (p->require_fresh_trust && f->trust_expired)
		return false;
	/* A signing time ahead of the clock is not evidence of freshness. */
	if (r->max_age && f->signing_time > now + GATE_POLICY_CLOCK_SKEW)
		return false;
	if (r->tlog == GATE_NEED_REQUIRED && f->n_tlog == 0)
		return false;
	if (r->timestamp == GATE_NEED_REQUIRED && f->n_tsa == 0)
		return false;
	if (r->max_age && (!f->signing_time || now - f->signing_time > r->max_age))
		return false;
	if (r->has_not_before && (!f->signing_time || f->signing_time < r->not_before))
		return false;
	if (r->has_not_after && (!f->signing_time || f->signing_time > r->not_after))
		return false;
	if (!r->partial_coverage && f->n_unsigned > 0)
		return false;
	return true;
}

static size_t count_if(struct gate_facts *const *facts, size_t n, const bool *in_set,
		       bool (*pred)(const struct gate_facts *, const void *), const void *arg)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += in_set[i] && pred(facts[i], arg);
	return c;
}

static bool has_tlog(const struct gate_facts *f, const void *arg)
{
	(void)arg;
	return f->n_tlog > 0;
}

static bool has_tsa(const struct gate_facts *f, const void *arg)
{
	(void)arg;
	return f->n_tsa > 0;
}

static bool stale_trust(const struct gate_facts *f, const void *arg)
{
	(void)arg;
	return f->trust_expired;
}

static bool covers_part(const struct gate_facts *f, const void *arg)
{
	(void)arg;
	return f->n_unsigned > 0;
}

struct age_arg {
	const struct gate_rule *r;
	int64_t now;
};

static bool untimed(const struct gate_facts *f, const void *arg)
{
	(void)arg;
	return !f->signing_time;
}

static bool fresh(const struct gate_facts *f, const void *arg)
{
	const struct age_arg *a = arg;
	return f->signing_time && a->now - f->signing_time <= a->r->max_age &&
	       f->signing_time <= a->now + GATE_POLICY_CLOCK_SKEW;
}

static bool in_window(const struct gate_facts *f, const void *arg)
{
	const struct gate_rule *r = arg;
	return f->signing_time && (!r->has_not_before || f->signing_time >= r->not_before) &&
	       (!r->has_not_after || f->signing_time <= r->not_after);
}

/* tuf_target: the repository the rule names listed the artifact (facts of
 * kind tuf_target, gathered with the evidence, gate/tuf/tuf_evidence.h). */
static void evaluate_tuf(const struct gate_policy *p, const struct gate_rule *r,
			 struct gate_facts *const *facts, size_t nfacts, struct gate_eval *ev)
{
	const char *repo = r->tuf < p->ntufs ? p->tufs[r->tuf].name : "?";
	for (size_t i = 0; i < nfacts; i++)
		if (facts[i]->kind == GATE_SIGNER_TUF && facts[i]->anchor_name &&
		    strcmp(facts[i]->anchor_name, repo) == 0) {
			add_req(ev, "tuf_target", true,
				"listed as '%.100s' by role '%.40s' of TUF repository '%s'",
				facts[i]->identity, facts[i]->subject, repo);
			return;
		}
	add_req(ev, "tuf_target", false, "not listed by TUF repository '%s'", repo);
}

/* Whether f is an attestation the rule's attestation requirement admits:
 * its predicate type, and each condition on the verified predicate. */
static bool attestation_ok(const struct gate_rule *r, const struct gate_facts *f)
{
	if (!f->payload_type || !f->predicate_type || strcmp(f->predicate_type, r->predicate_type))
		return false;
	for (size_t i = 0; i < r->npred_conds && i < GATE_MAX_FACT_PREDICATE; i++) {
		const char *v = NULL;
		for (size_t k = 0; k < f->n_predicate && k < GATE_MAX_FACT_PREDICATE && !v; k++)
			if (strcmp(f->predicate[k].name, r->pred_conds[i].name) == 0)
				v = f->predicate[k].value;
		if (!gate_claim_matches(&r->pred_conds[i], v))
			return false;
	}
	return true;
}

/* Which verified items the rule may count: an attestation (DSSE in-toto
 * statement) counts only for a rule that requires attestations and only
 * when it is of the rule's kind; a signature only for a rule that requires
 * signatures. Listings (tuf_target) are neither. */
static bool counts_for(const struct gate_rule *r, const struct gate_facts *f)
{
	if (f->kind == GATE_SIGNER_TUF)
		return false;
	return r->has_attestation ? attestation_ok(r, f) : !f->payload_type;
}

/* The signer set's threshold and the per-signature requirements. */
static void evaluate_signers(const struct gate_policy *p, const struct gate_rule *r,
			     struct gate_facts *const *facts, size_t nall, int64_t now,
			     struct gate_eval *ev)
{
	struct gate_facts **sigs = calloc(nall ? nall : 1, sizeof(*sigs));
	size_t nfacts = 0, natt = 0;
	for (size_t i = 0; sigs && i < nall; i++) {
		natt += facts[i]->payload_type != NULL;
		if (counts_for(r, facts[i]))
			sigs[nfacts++] = facts[i];
	}
	facts = sigs;
	const char *what = r->has_attestation ? "attestation" : "signature";
	const struct gate_signer_set *set = &p->sets[r->signers];
	bool *in_set = calloc(nfacts ? nfacts : 1, sizeof(bool));
	bool *eligible = calloc(nfacts ? nfacts : 1, sizeof(bool));
	if (!sigs || !in_set || !eligible) {
		add_req(ev, "signers", false, "out of memory");
		goto out;
	}
	size_t members = 0;
	for (size_t i = 0; i < nfacts; i++) {
		for (size_t e = 0; e < set->n && !in_set[i]; e++)
			in_set[i] = gate_signer_matches(&set->entries[e].m, facts[i]);
		members += in_set[i];
		eligible[i] = in_set[i] && item_ok(p, r, facts[i], now);
	}
	ev->distinct_signers = count_distinct(set, facts, nfacts, eligible);
	/* An attestation a signature rule skipped is named, so that a deny
	 * with "0 verified signatures" beside a verified bundle is clear. */
	char skipped[96] = "";
	if (!r->has_attestation && natt)
		snprintf(skipped, sizeof skipped,
			 "; %zu verified attestation%s not counted: the rule requires signatures",
			 natt, natt == 1 ? "" : "s");
	add_req(ev, "signers", ev->distinct_signers >= r->threshold,
		"%u of %u required distinct signers of '%s' verified (%zu verified %s%s, "
		"%zu from the set%s)",
		ev->distinct_signers, r->threshold, set->name, nfacts, what, nfacts == 1 ? "" : "s",
		members, skipped);
	if (r->has_attestation)
		add_req(ev, "attestation", nfacts > 0,
			"attestations must be of type '%.120s'%s: %zu of %zu verified attestation%s "
			"are",
			r->predicate_type, r->npred_conds ? " and meet the rule's conditions" : "",
			nfacts, natt, natt == 1 ? "" : "s");
	/* The per-requirement lines explain why set members did not count. */
	if (r->tlog == GATE_NEED_REQUIRED)
		add_req(ev, "tlog", count_if(facts, nfacts, in_set, has_tlog, NULL) > 0 || !members,
			"transparency log entry required: %zu of %zu signer signatures have one",
			count_if(facts, nfacts, in_set, has_tlog, NULL), members);
	if (r->timestamp == GATE_NEED_REQUIRED)
		add_req(ev, "timestamp",
			count_if(facts, nfacts, in_set, has_tsa, NULL) > 0 || !members,
			"RFC 3161 timestamp required: %zu of %zu signer signatures have one",
			count_if(facts, nfacts, in_set, has_tsa, NULL), members);
	if (r->max_age) {
		struct age_arg a = {r, now};
		size_t n = count_if(facts, nfacts, in_set, fresh, &a);
		char age[32];
		gate_format_duration(r->max_age, age, sizeof age);
		size_t nt = count_if(facts, nfacts, in_set, untimed, NULL);
		add_req(ev, "max_age", n > 0 || !members,
			"signatures must be at most %s old: %zu of %zu are%s", age, n, members,
			!nt ? ""
			: nt == members
				? " (none carries a signing time: no transparency-log entry or "
				  "timestamp)"
				: " (some carry no signing time: no transparency-log entry or "
				  "timestamp)");
	}
	if (r->has_not_before || r->has_not_after) {
		size_t n = count_if(facts, nfacts, in_set, in_window, r);
		add_req(ev, "window", n > 0 || !members,
			"signing time must be inside the rule's window: %zu of %zu are", n,
			members);
	}
	if (p->require_fresh_trust) {
		size_t stale = count_if(facts, nfacts, in_set, stale_trust, NULL);
		add_req(ev, "fresh_trust", stale < members || !members,
			"trust.require_fresh: %zu of %zu signer %ss verified with the embedded "
			"Sigstore trusted root after its TUF root expired (run 'gate trust update')",
			stale, members, what);
	}
	size_t partial = count_if(facts, nfacts, in_set, covers_part, NULL);
	if (partial && !r->partial_coverage)
		add_req(ev, "coverage", partial < members,
			"signatures must cover every entry (coverage: full): %zu of %zu leave "
			"entries unsigned",
			partial, members);
	/* A requirement line may hold while the threshold still fails: the
	 * decision is ALLOW only if every line held. */
out:
	free(sigs);
	free(in_set);
	free(eligible);
}

void gate_policy_evaluate(const struct gate_policy *p, const struct gate_rule *r,
			  struct gate_facts *const *facts, size_t nfacts, int64_t now,
			  struct gate_eval *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (!r->has_signers && !r->has_tuf) {
		ev->decision = r->decision;
		return;
	}
	ev->decision = GATE_DECISION_ALLOW;
	if (r->has_signers)
		evaluate_signers(p, r, facts, nfacts, now, ev);
	if (r->has_tuf)
		evaluate_tuf(p, r, facts, nfacts, ev);
}
