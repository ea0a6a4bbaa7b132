/* gather.c - step 4 of a decision: find and verify the evidence the rule
 * reads, before it is evaluated. Each evidence source is one table entry;
 * which ones a rule reads was worked out when the policy loaded
 * (policy_model.h, GATE_SOURCE_*). Whatever touches the network (URL
 * evidence stores, a TUF repository's refresh) happens here, never inside
 * the evaluation. */
#include "gate_int.h"
#include "apt_origin.h"
#include "tuf_evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One more evidence result in v from source kind from (GATE_SOURCE_*),
 * named source (taken over); NULL when memory ran out. */
static struct gate_evidence_result *add_result(struct gate_verdict *v, unsigned from, char *source)
{
	struct gate_evidence_result *n =
		realloc(v->evidence, (v->nevidence + 1) * sizeof(*v->evidence));
	if (!n) {
		free(source);
		return NULL;
	}
	v->evidence = n;
	n = &v->evidence[v->nevidence++];
	memset(n, 0, sizeof(*n));
	n->source = source;
	n->from = from;
	return n;
}

/* A result that verified: its facts count in the evaluation. */
static void verified(const struct gate_ctx *c, struct gate_evidence_result *r,
		     struct gate_gathered *g)
{
	r->verified = true;
	r->in_policy = gate_policy_names_signer(c->policy, r->facts);
	g->ok[g->nok++] = r->facts;
}

/* ---- signature files: keyless, key and x509 ---- */

/* A managed-key signature names no key we can trust, so it is tried against
 * every pinned key of the policy; the first that verifies is the signer. */
static enum gate_err verify_bundle(const struct gate_ctx *c, const struct gate_bundle *b,
				   const struct gate_artifact *a, struct gate_facts **facts,
				   struct gate_error *err)
{
	const struct gate_policy *p = c->policy;
	struct gate_verify_opts o = {.root = p->root, .now = c->now};
	if (!gate_bundle_has_pubkey_material(b))
		return gate_verify_bundle(b, a, &o, facts, err);
	if (p->nkeys == 0)
		return gate_fail(err, GATE_E_KEY, "S19", "key",
				 "signed with a managed key, and the policy pins no keys");
	enum gate_err rc = GATE_E_KEY;
	for (size_t i = 0; i < p->nkeys; i++) {
		o.key = p->keys[i].key;
		rc = gate_verify_bundle(b, a, &o, facts, err);
		/* A digest that is not the file's fails whatever the key. */
		if (rc == GATE_OK || rc == GATE_E_DIGEST || gate_err_is_input(rc))
			return rc;
	}
	/* Which of the two it is cannot be told apart: say both. */
	char names[160] = "";
	for (size_t i = 0, n = 0; i < p->nkeys && n < sizeof names; i++)
		n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
				      p->keys[i].name);
	return gate_fail(err, rc, "S19", "key",
			 "no key the policy pins (%s) verifies it: signed by another key, or "
			 "the file changed after it was signed",
			 names);
}

/* X.509 evidence: a detached .p7s over the artifact, or a signature
 * embedded in it, read through the artifact's descriptor (never by
 * re-opening the path). Unsigned JAR entries become a fact the rule's
 * coverage requirement judges. */
static enum gate_err verify_x509(const struct gate_ctx *c, const struct gate_evidence_item *it,
				 const struct gate_artifact *a, struct gate_facts **facts,
				 struct gate_error *err)
{
	const struct gate_policy *p = c->policy;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	enum gate_err rc;
	if (!p->x509)
		return gate_fail(err, GATE_E_CERT, "C6", "trust.x509_roots",
				 "an X.509 signature, and the policy names no X.509 roots");
	if (a->fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, "artifact", "known only by its digest");
	if (it->kind == GATE_EV_P7S &&
	    (rc = gate_read_file(it->file, 1024 * 1024, &sig, &siglen, err)) != GATE_OK)
		return rc;
	struct gate_cs_input in = {
		.format = it->kind == GATE_EV_P7S  ? GATE_CS_CMS
			  : it->kind == GATE_EV_PE ? GATE_CS_PE
						   : GATE_CS_JAR,
		.fd = a->fd,
		.name = a->path,
		.sig = sig,
		.siglen = siglen,
		.index = it->index,
		.sha256 = a->sha256,
	};
	struct gate_cs_opts o = {.trust = p->x509, .now = c->now, .allow_unsigned_entries = true};
	rc = gate_verify_codesign(&in, &o, facts, err);
	free(sig);
	return rc;
}

static enum gate_err verify_file(const struct gate_ctx *c, const struct gate_evidence_item *it,
				 const struct gate_artifact *a, struct gate_facts **facts,
				 struct gate_error *err)
{
	struct gate_bundle *b = NULL;
	enum gate_err rc;
	if (gate_evidence_is_x509(it))
		return verify_x509(c, it, a, facts, err);
	if ((rc = gate_evidence_load(it, &b, err)) == GATE_OK)
		rc = verify_bundle(c, b, a, facts, err);
	gate_bundle_free(b);
	return rc;
}

/* Two X.509 items are signatures of one signed file: the artifact's own
 * (embedded) or one detached .p7s. */
static bool same_signed_file(const struct gate_evidence_item *a, const struct gate_evidence_item *b)
{
	return gate_evidence_is_x509(a) && a->kind == b->kind &&
	       (a->kind != GATE_EV_P7S || strcmp(a->file, b->file) == 0);
}

/* C9: a signed file counts only when every signature in it verifies (the
 * outer and nested signatures of a PE, every signer of a .p7s or JAR): one
 * that does not withdraws the others, which a policy would otherwise count
 * while a signature it cannot vouch for rides along. */
static void withdraw_siblings(const struct gate_evidence_list *l, const bool *ok, size_t at,
			      struct gate_evidence_result *res)
{
	for (size_t k = 0; k < l->n; k++) {
		if (k == at || ok[k] || !same_signed_file(&l->items[k], &l->items[at]))
			continue;
		gate_facts_free(res->facts);
		res->facts = NULL;
		gate_fail(&res->error, GATE_E_SIGNATURE, "C9", "signatures",
			  "signature %zu of the same file does not verify, and every signature "
			  "of a file must",
			  l->items[k].index + 1);
		return;
	}
}

static void gather_files(const struct gate_ctx *c, const struct gate_rule *r,
			 struct gate_verdict *v, const struct gate_artifact *a,
			 struct gate_gathered *g)
{
	struct gate_evidence_list l;
	bool ok[GATE_MAX_EVIDENCE] = {false};
	size_t at[GATE_MAX_EVIDENCE] = {0}, n = 0;
	(void)r;
	if (gate_evidence_find(c, v->fullpath, v->digest, &l) == GATE_OK &&
	    gate_evidence_add_embedded(&l, a->fd, v->path) == GATE_OK) {
		for (; n < l.n && n < GATE_MAX_EVIDENCE; n++) {
			struct gate_evidence_result *res =
				add_result(v, GATE_SOURCE_FILES, strdup(l.items[n].file));
			if (!res)
				break;
			at[n] = v->nevidence - 1;
			ok[n] = verify_file(c, &l.items[n], a, &res->facts, &res->error) ==
				GATE_OK;
		}
		/* Counted once every signature of each file is known. */
		for (size_t i = 0; i < n && g->nok < GATE_MAX_EVIDENCE; i++) {
			struct gate_evidence_result *res = &v->evidence[at[i]];
			if (ok[i])
				withdraw_siblings(&l, ok, i, res);
			if (ok[i] && res->facts)
				verified(c, res, g);
		}
	}
	gate_evidence_list_clear(&l);
}

/* ---- apt_archive: one result per archive of the policy ---- */

static void gather_apt(const struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		       const struct gate_artifact *a, struct gate_gathered *g)
{
	(void)r;
	for (size_t i = 0; i < c->policy->napts && g->nok < GATE_MAX_EVIDENCE; i++) {
		char *source = NULL;
		if (asprintf(&source, "apt:%s", c->policy->apts[i].name) < 0)
			source = NULL;
		struct gate_evidence_result *res = add_result(v, GATE_SOURCE_APT, source);
		if (res && gate_apt_origin_verify(c->policy, i, a->sha256, v->size, v->time,
						  &res->facts, &res->error) == GATE_OK)
			verified(c, res, g);
	}
}

/* ---- tuf_target: the repository the rule names ---- */

static void gather_tuf(const struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		       const struct gate_artifact *a, struct gate_gathered *g)
{
	char *source = NULL;
	(void)a;
	if (g->nok >= GATE_MAX_EVIDENCE ||
	    asprintf(&source, "tuf:%s", c->policy->tufs[r->tuf].name) < 0)
		return;
	struct gate_evidence_result *res = add_result(v, GATE_SOURCE_TUF, source);
	if (res && gate_tuf_evidence(c->policy, r, v->digest, v->size, v->time, &res->facts,
				     &res->error) == GATE_OK)
		verified(c, res, g);
}

static const struct source {
	unsigned bit;
	void (*gather)(const struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		       const struct gate_artifact *a, struct gate_gathered *g);
} sources[] = {
	{GATE_SOURCE_FILES, gather_files},
	{GATE_SOURCE_APT, gather_apt},
	{GATE_SOURCE_TUF, gather_tuf},
};

void gate_gather(const struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		 const struct gate_artifact *a, struct gate_gathered *g)
{
	/* For the apt hook the archives' verdict explains most: first. */
	static const size_t apt_first[] = {1, 0, 2}, files_first[] = {0, 1, 2};
	const size_t *order = v->caller == GATE_CALLER_APT ? apt_first : files_first;
	g->nok = 0;
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
		if (r->sources & sources[order[i]].bit)
			sources[order[i]].gather(c, r, v, a, g);
}
