/*
 * policy_tuf.h - TUF repositories as allowlists in the policy (internal).
 *
 *   trust:
 *     tuf:
 *       corp: { url: https://tuf.example.com/metadata/, root: corp-root.json,
 *               max_staleness: 2d, refresh: false }
 *   rules:
 *     - name: debs from the corp repository
 *       match: { caller: apt }
 *       require: { tuf_target: corp, tuf_path: "debs/[a-z]*.deb" }
 *
 * An artifact meets `tuf_target: NAME` when a target of repository NAME,
 * in metadata that verifies offline and is unexpired at the decision's
 * time, has the artifact's exact length and SHA-256, and (with tuf_path)
 * a target path the glob matches ("**" crosses directories, as in
 * match.path). The path of a candidate is then looked up the TUF way (T22:
 * the delegation search decides which role speaks for a path), and only
 * that role's entry counts: a delegated role cannot list what it was not
 * delegated.
 *
 * Where the lookup happens: in the decision pipeline (gate/decide.c), which
 * knows the digest and size, calling gate_policy_evaluate_tuf() below after
 * gate_policy_evaluate(); the requirement line is added to the same
 * evaluation, so `policy explain` and audit events show it like any other.
 *
 * Network: none by default. `gate trust update --policy FILE` (run by a
 * timer) updates each repository's cache; decisions read the cache, verify
 * it offline and deny once the last successful update is older than
 * max_staleness (default 1d). With `refresh: true` a decision that finds the
 * cache stale, missing or failing verification updates it first, with the
 * fetcher's caps (connect 5 s, abort under 1 KiB/s for 10 s, 30 s per
 * file, unless GATE_TUF_* says otherwise), under the cache's lock.
 */
#ifndef GATE_POLICY_TUF_H
#define GATE_POLICY_TUF_H

#include "policy_model.h"
#include "tuf_trust.h"

struct gate_ynode;

/* Longest repository name (letters, digits, '.', '_', '-'). */
#define GATE_POLICY_TUF_NAME_MAX 64
/* Default max_staleness: one day. */
#define GATE_POLICY_TUF_STALENESS 86400
/* Candidate paths (same digest and length) checked per decision. */
#define GATE_POLICY_TUF_MAX_CANDIDATES 16

/* trust.tuf (a map of repositories) into p->tufs; file and dir (the
 * policy's directory, may be NULL) for messages and relative roots. Each
 * root.json must verify by itself (T1). Errors: GATE_E_POLICY at
 * file:line:column, GATE_E_NOMEM. */
enum gate_err gate_policy_load_tuf(const char *file, const char *dir, const struct gate_ynode *m,
				   struct gate_policy *p, struct gate_error *err);
/* tuf_target / tuf_path of a require map (nothing when absent). */
enum gate_err gate_policy_load_tuf_req(const char *file, const struct gate_ynode *m,
				       struct gate_policy *p, struct gate_rule *r,
				       struct gate_error *err);
/* Frees p->tufs and every rule's tuf_path. */
void gate_policy_tuf_free(struct gate_policy *p);

/* Evaluate r's tuf_target requirement for an artifact (lowercase hex
 * SHA-256, size in bytes) at now: appends one "tuf_target" line to ev
 * (held or not, with the reason), which denies when it did not hold. May
 * update the cache over the network only when the repository says
 * refresh: true. Thread-safe. */
void gate_policy_evaluate_tuf(const struct gate_policy *p, const struct gate_rule *r,
			      const char *sha256_hex, uint64_t size, int64_t now,
			      struct gate_eval *ev);

/* Update repository t's cache from its URL (every role, for offline
 * lookups). caps NULL = gate_tuf_caps_env(). Errors: gate_tuf_cache_update's. */
GATE_WUR enum gate_err gate_policy_tuf_update(const struct gate_policy_tuf *t, int64_t now,
					      const struct gate_tuf_caps *caps,
					      struct gate_tuf_cache_state *st,
					      struct gate_error *err);

#endif
