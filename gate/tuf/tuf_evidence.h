/*
 * tuf_evidence.h - a TUF repository of the policy (trust.tuf,
 * policy/policy_tuf.h) as evidence of kind tuf_target. Internal to gate.
 *
 * The lookup runs while evidence is gathered (gate/gather.c), before the
 * rule is evaluated: an artifact is listed when a target of the repository,
 * in metadata that verifies offline and is unexpired at the decision's
 * time, has the artifact's exact length and SHA-256, and (with tuf_path) a
 * target path the glob matches ("**" crosses directories, as in
 * match.path). The path of a candidate is then looked up the TUF way (T22:
 * the delegation search decides which role speaks for a path), and only
 * that role's entry counts: a delegated role cannot list what it was not
 * delegated.
 *
 * Network: none by default. `gate trust update --policy FILE` (run by a
 * timer) updates each repository's cache; decisions read the cache, verify
 * it offline and deny once the last successful update is older than
 * max_staleness (default 1d). With `refresh: true` a decision that finds the
 * cache stale, missing or failing verification updates it first, with the
 * fetcher's caps (connect 5 s, abort under 1 KiB/s for 10 s, 30 s for the
 * whole update, unless GATE_TUF_* says otherwise). It never waits for
 * another update of the same cache: while one runs, decisions use the last
 * good metadata (still verified offline, unexpired). A failed update is
 * not retried for every file: the failure is kept process-wide per
 * repository for GATE_TUF_RETRY_AFTER seconds (default 300).
 */
#ifndef GATE_TUF_EVIDENCE_H
#define GATE_TUF_EVIDENCE_H

#include "policy_tuf.h"

/* Repositories whose failed update a process remembers at once. */
#define GATE_TUF_BACKOFF_SLOTS 16
#define GATE_TUF_RETRY_AFTER_DEFAULT 300 /* seconds */

/* Find the artifact (lowercase hex SHA-256, size in bytes) in the
 * repository r's tuf_target names, at now. Listed: GATE_OK and *out holds
 * facts of kind tuf_target (repository, target path, role; caller frees).
 * Not listed, or the repository unusable: an error whose message says why
 * (field "tuf_target"). May update the cache over the network only when the
 * repository says refresh: true. Thread-safe. */
GATE_WUR enum gate_err gate_tuf_evidence(const struct gate_policy *p, const struct gate_rule *r,
					 const char *sha256_hex, uint64_t size, int64_t now,
					 struct gate_facts **out, struct gate_error *err);

/* Update repository t's cache from its URL (every role, for offline
 * lookups). caps NULL = gate_tuf_caps_env(). Errors: gate_tuf_cache_update's. */
GATE_WUR enum gate_err gate_tuf_update(const struct gate_policy_tuf *t, int64_t now,
				       const struct gate_tuf_caps *caps,
				       struct gate_tuf_cache_state *st, struct gate_error *err);

#endif
