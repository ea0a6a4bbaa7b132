/*
 * policy.h - the YAML policy: strict loading (file:line:column errors), the
 * in-memory model, rule matching and evaluation over verified facts.
 * Nothing here parses DER or verifies a signature: it reads facts from
 * verify/.
 */
#ifndef GATE_POLICY_H
#define GATE_POLICY_H

#include "verify.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GATE_POLICY_MAX_SIZE (1u * 1024 * 1024) /* policy file */
#define GATE_POLICY_MAX_DEPTH 16		/* YAML nesting */
#define GATE_POLICY_MAX_ITEMS 1024		/* entries in any list or map */

/* How far ahead of the clock a signing time may be and still count. */
#define GATE_POLICY_CLOCK_SKEW 300

enum gate_mode { GATE_MODE_ENFORCE = 0, GATE_MODE_AUDIT = 1, GATE_MODE_OFF = 2 };

enum gate_caller {
	GATE_CALLER_ANY = 0,
	GATE_CALLER_APT = 1 << 0,
	GATE_CALLER_EXEC = 1 << 1,
	GATE_CALLER_CI = 1 << 2,
};

enum gate_decision { GATE_DECISION_NONE = 0, GATE_DECISION_ALLOW, GATE_DECISION_DENY };

enum gate_need { GATE_NEED_OPTIONAL = 0, GATE_NEED_REQUIRED = 1 };

/* A loaded policy and one of its rules: opaque here; the model is in
 * policy_model.h (internal to gate). */
struct gate_policy;
struct gate_rule;

/* Load and validate a policy file. Every problem is an error with
 * file:line:column in err (GATE_E_POLICY); key files and the trusted root it
 * names are loaded too. GATE_E_UNSUPPORTED when libyaml cannot be loaded.
 * *out is owned by the caller. */
GATE_API GATE_WUR enum gate_err gate_policy_load(const char *path, struct gate_policy **out,
						 struct gate_error *err);
/* Same from memory; name is used in messages and to resolve relative paths
 * (relative to the directory of name). */
GATE_API GATE_WUR enum gate_err gate_policy_parse(const char *name, const uint8_t *yaml, size_t len,
						  struct gate_policy **out, struct gate_error *err);
/* The built-in default: enforce, the embedded root, no signers, one rule
 * that denies everything. */
GATE_API GATE_WUR enum gate_err gate_policy_default(struct gate_policy **out,
						    struct gate_error *err);
GATE_API void gate_policy_free(struct gate_policy *p);

/* Warnings of `gate policy lint`: over-broad identity patterns and the like.
 * Calls fn once per warning with file:line:column and a message. Returns the
 * number of warnings. */
typedef void (*gate_lint_fn)(void *ctx, const char *file, unsigned line, unsigned column,
			     const char *msg);
GATE_API size_t gate_policy_lint(const struct gate_policy *p, gate_lint_fn fn, void *ctx);

/* What an artifact looks like to rule matching. */
struct gate_subject {
	const char *path; /* absolute or as given */
	const char *mime; /* libmagic MIME type */
	uint64_t size;
	enum gate_caller caller;
};

/* First rule whose match fits, or NULL (default: deny). */
GATE_API const struct gate_rule *gate_policy_select(const struct gate_policy *p,
						    const struct gate_subject *s);

/* Glob with '*' (within a path segment), '?', '[...]' and '**' (any number
 * of segments). Paths of more than GATE_GLOB_MAX_SEGS components never
 * match: callers must refuse to decide them (a deny-by-path rule would be
 * skipped). */
#define GATE_GLOB_MAX_SEGS 128
GATE_API bool gate_glob_match(const char *pattern, const char *path);

/* "90d", "12h", "30m", "45s", "2w" to seconds; false if malformed. */
GATE_API bool gate_parse_duration(const char *s, int64_t *out);
/* Seconds back to the largest exact unit ("13w", "90d", "45s"). */
GATE_API void gate_format_duration(int64_t secs, char *buf, size_t cap);

GATE_API const char *gate_mode_name(enum gate_mode m);
GATE_API const char *gate_caller_name(enum gate_caller c);

#ifdef __cplusplus
}
#endif
#endif
