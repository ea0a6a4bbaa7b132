/*
 * gate.h - the decision pipeline: identify an artifact, select the policy
 * rule, find and verify its evidence, evaluate, and answer allow / deny /
 * error with the reasons. Hooks (apt, exec, ci) call only this.
 */
#ifndef GATE_GATE_H
#define GATE_GATE_H

#include "policy.h"
#include "verify.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gate_verdict_kind {
	GATE_VERDICT_ALLOW = 0,
	GATE_VERDICT_DENY = 1,
	GATE_VERDICT_ERROR = 2, /* could not decide: denies in enforce mode */
};

/* The answer for one file: opaque; read it through the functions below
 * (gate_verdict_to_json has every detail). */
struct gate_verdict;

struct gate_ctx;

struct gate_ctx_opts {
	const char *const *evidence_dirs; /* extra evidence stores (NULL-terminated) */
	int64_t now;			  /* 0 = current time */
	bool no_audit;			  /* do not write audit events */
	/* One deadline for every evidence fetch of this context (a hook's
	 * transaction): seconds from gate_ctx_new; 0 = each fetch has its
	 * own timeouts. */
	long fetch_budget_s;
};

/* A context owns the policy (taken over on success) and the audit sink; it
 * may be shared by threads calling gate_decide. Errors: GATE_E_IO (audit
 * log), GATE_E_NOMEM. */
GATE_API GATE_WUR enum gate_err gate_ctx_new(struct gate_policy *policy,
					     const struct gate_ctx_opts *opts,
					     struct gate_ctx **out, struct gate_error *err);
GATE_API void gate_ctx_free(struct gate_ctx *ctx);
GATE_API const struct gate_policy *gate_ctx_policy(const struct gate_ctx *ctx);

/* Decide one file. Always fills *v (an ERROR verdict carries the reason);
 * returns GATE_OK unless memory ran out. The caller frees v's contents with
 * gate_verdict_clear. Thread-safe. */
GATE_API GATE_WUR enum gate_err gate_decide(struct gate_ctx *ctx, const char *path,
					    enum gate_caller caller, struct gate_verdict *v);
/* Decide an already-open regular file: it is hashed and typed through fd
 * (pread from offset 0; fd stays the caller's and its offset is not
 * used), never by re-opening path, which only names the file for rule
 * matching, sidecar evidence and messages (the exec daemon passes the
 * event's descriptor: no TOCTOU). A descriptor that is not a regular file
 * or cannot be read is an ERROR verdict. Same return and ownership as
 * gate_decide. */
GATE_API GATE_WUR enum gate_err gate_decide_fd(struct gate_ctx *ctx, int fd, const char *path,
					       enum gate_caller caller, struct gate_verdict *v);
/* What gate_decide_fd does once the file is hashed, for a caller that
 * consults its own allowlist by digest first (gate_artifact_from_fd, then
 * gate_artifact_sha256) and must not hash twice. a is borrowed. */
GATE_API GATE_WUR enum gate_err gate_decide_artifact(struct gate_ctx *ctx,
						     const struct gate_artifact *a,
						     const char *path, enum gate_caller caller,
						     struct gate_verdict *v);
/* A verdict to decide into (NULL when out of memory); free with
 * gate_verdict_free. */
GATE_API struct gate_verdict *gate_verdict_new(void);
GATE_API void gate_verdict_free(struct gate_verdict *v);
/* Frees what a decision put in v, so that v can take another. */
GATE_API void gate_verdict_clear(struct gate_verdict *v);

/* What the policy says (an ERROR denies in enforce mode), and the answer
 * after the mode (audit allows). */
GATE_API enum gate_verdict_kind gate_verdict_kind(const struct gate_verdict *v);
GATE_API bool gate_verdict_allowed(const struct gate_verdict *v);
/* One line: why. */
GATE_API const char *gate_verdict_reason(const struct gate_verdict *v);
/* The rule that decided; NULL when none matched. */
GATE_API const char *gate_verdict_rule(const struct gate_verdict *v);
/* The file's SHA-256 as 64 lowercase hex digits; "" when it was not read. */
GATE_API const char *gate_verdict_digest(const struct gate_verdict *v);
/* The verdict as one JSON object, as `gate check --format json` writes
 * it: rule, reason, requirements, every evidence item and its verified
 * signer. malloc'd; NULL when out of memory. */
GATE_API char *gate_verdict_to_json(const struct gate_verdict *v);

GATE_API const char *gate_verdict_name(enum gate_verdict_kind k);

/* Audit events as JSON lines (audit.c). A sink is "stderr", "syslog" or a
 * file path (appended). */
struct gate_audit;
GATE_API GATE_WUR enum gate_err gate_audit_open(const char *sink, struct gate_audit **out,
						struct gate_error *err);
GATE_API void gate_audit_close(struct gate_audit *a);
/* One decision event, plus one "unexpected_signer" event for every verified
 * signature whose signer no signer set names. */
GATE_API void gate_audit_decision(struct gate_audit *a, const struct gate_verdict *v);

#ifdef __cplusplus
}
#endif
#endif
