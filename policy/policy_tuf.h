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
 * An artifact meets `tuf_target: NAME` when repository NAME lists it as a
 * target: gate/tuf/tuf_evidence.h finds it, and says why not, while the
 * decision gathers evidence; the rule's evaluation then reads the facts
 * (a "tuf_target" requirement line, shown by `policy explain` and audit
 * events like any other).
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

#endif
