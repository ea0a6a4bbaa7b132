/* fuzz_policy.c - gate_policy_parse on untrusted bytes: a policy is read
 * from disk (or a TUF target) before anyone has checked it. What loads is
 * then linted, matched and evaluated as a decision would, so the model the
 * loader builds is exercised too. */
#include "internal.h"
#include "policy_model.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_warning(void *ctx, const char *file, unsigned line, unsigned column, const char *msg)
{
	(void)file;
	(void)line;
	(void)column;
	if (!msg || !msg[0])
		abort();
	(*(size_t *)ctx)++;
}

static void exercise(const struct gate_policy *p)
{
	static const char *const paths[] = {"/opt/app/bin/tool", "a.deb", "/", ""};
	static const char *const mimes[] = {"application/x-executable",
					    "text/plain; charset=utf-8"};
	size_t seen = 0;
	if (gate_policy_lint(p, no_warning, &seen) != seen)
		abort();
	/* one keyless and one managed-key fact, both fully timed */
	struct gate_facts kl = {.kind = GATE_SIGNER_KEYLESS,
				.identity = "https://github.com/org/repo/.github/workflows/"
					    "release.yml@refs/tags/v1.0.0",
				.issuer = "https://token.actions.githubusercontent.com",
				.signing_time = 1750000000,
				.n_tlog = 1,
				.n_tsa = 1};
	struct gate_facts key = {.kind = GATE_SIGNER_KEY, .signing_time = 1750000000, .n_tlog = 1};
	if (p->nkeys)
		gate_pubkey_id(p->keys[0].key, key.key_id);
	struct gate_facts *facts[] = {&kl, &key, &kl};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct gate_subject s = {paths[i], mimes[i % 2], i * 4096,
					 i < 3 ? (enum gate_caller)(1u << i) : GATE_CALLER_ANY};
		const struct gate_rule *r = gate_policy_select(p, &s);
		if (!r)
			continue;
		if (r < p->rules || r >= p->rules + p->nrules)
			abort();
		struct gate_eval ev;
		gate_policy_evaluate(p, r, facts, i % 4, 1750003600, &ev);
		if (ev.nreqs > GATE_MAX_REQS ||
		    (ev.decision == GATE_DECISION_ALLOW && r->has_signers &&
		     ev.distinct_signers < r->threshold))
			abort();
	}
	/* rule globs against fixed paths */
	for (size_t i = 0; i < p->nrules; i++)
		for (size_t k = 0; k < p->rules[i].npaths; k++)
			(void)gate_glob_match(p->rules[i].paths[k], paths[k % 4]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_policy *p = NULL;
	struct gate_error err = {0};
	enum gate_err rc = gate_policy_parse("fuzz.yaml", data, size, &p, &err);
	if (rc != GATE_OK) {
		/* no output on failure; err says the same code, and a policy
		 * error always has its position */
		if (p || err.code != rc)
			abort();
		if (rc == GATE_E_POLICY && (err.line == 0 || err.column == 0 ||
					    strcmp(err.file, "fuzz.yaml") != 0 || !err.msg[0]))
			abort();
		return 0;
	}
	exercise(p);
	gate_policy_free(p);
	return 0;
}
