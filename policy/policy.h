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
#define GATE_POLICY_MAX_DEPTH 16		 /* YAML nesting */
#define GATE_POLICY_MAX_ITEMS 1024		 /* entries in any list or map */

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

/* One member of a signer set. */
struct gate_signer_entry {
	enum gate_signer_kind kind;
	/* keyless: exact values or anchored POSIX ERE (one of each pair) */
	char *issuer, *issuer_regex;
	char *identity, *identity_regex;
	struct gate_regex *issuer_re, *identity_re; /* compiled once at load */
	/* key: index into policy->keys */
	size_t key;
	unsigned line, column;
	/* x509: a root set of trust.x509_roots, and optionally the leaf's
	 * subject (RFC 2253 one line), one of its SANs (email, DNS, URI) and
	 * its SHA-256 fingerprint (64 lowercase hex digits); exact or anchored
	 * POSIX ERE (one of each pair at most) */
	char *x509_root;
	char *subject, *subject_regex;
	char *san, *san_regex;
	char *fingerprint;
	struct gate_regex *subject_re, *san_re;
	/* apt_archive: index into policy->apts */
	size_t apt;
};

struct gate_signer_set {
	char *name;
	struct gate_signer_entry *entries;
	size_t n;
};

struct gate_policy_key {
	char *name;
	char *file;
	struct gate_pubkey *key;
};

/* trust.tuf.NAME: a TUF repository whose targets allow artifacts
 * (policy_tuf.h). */
struct gate_policy_tuf {
	char *name;
	char *url;	       /* metadata URL */
	char *root_file;       /* the initial root.json */
	uint8_t *root;	       /* its bytes (verified by itself at load, T1) */
	size_t root_len;
	char *cache_dir;       /* NULL when there is no cache base directory */
	int64_t max_staleness; /* seconds since the last successful update */
	bool refresh;	       /* may update over the network in a decision */
	unsigned line, column;
};

/* trust.apt_archives.NAME: an apt archive whose signed InRelease files
 * vouch for .debs (gate/apt_origin.h). */
struct gate_policy_apt {
	char *name;
	char *keyring;			  /* OpenPGP keyring for gpgv */
	char *lists;			  /* NULL = /var/lib/apt/lists */
	char *origin, *suite, *component; /* NULL = any */
	unsigned line, column;
};

struct gate_rule {
	char *name;
	unsigned line;
	/* match: an empty list matches anything */
	char **types;
	size_t ntypes;
	char **paths; /* globs; "**" crosses directories */
	size_t npaths;
	unsigned callers; /* bit set of enum gate_caller; 0 = any */
	bool has_min_size, has_max_size;
	uint64_t min_size, max_size;
	/* either a fixed decision... */
	enum gate_decision decision;
	/* ...or requirements over the evidence */
	bool has_signers;
	size_t signers; /* index into policy->sets */
	unsigned threshold;
	enum gate_need tlog, timestamp;
	int64_t max_age; /* seconds; 0 = none */
	bool has_not_before, has_not_after;
	int64_t not_before, not_after;
	/* tuf_target: the artifact must be a target of policy->tufs[tuf];
	 * tuf_path (a glob, or NULL) limits the target path */
	bool has_tuf;
	size_t tuf;
	char *tuf_path;
	/* coverage: partial lets a signed JAR's unsigned entries pass; by
	 * default (full) a signature counts only if it covers every entry */
	bool partial_coverage;
};

struct gate_policy {
	char *file;
	enum gate_mode mode;
	char *trusted_root_file; /* NULL = embedded public-good root */
	struct gate_trusted_root *root;
	struct gate_policy_key *keys;
	size_t nkeys;
	struct gate_signer_set *sets;
	size_t nsets;
	struct gate_rule *rules;
	size_t nrules;
	char **evidence_dirs;
	size_t nevidence_dirs;
	char *audit_log; /* NULL, "stderr", "syslog" or a file path */
	struct gate_policy_tuf *tufs; /* trust.tuf */
	size_t ntufs;
	/* trust.x509_roots, trust.tsa_roots, trust.crl: classic code signing;
	 * NULL when the policy names no X.509 roots */
	struct gate_x509_trust *x509;
	struct gate_policy_apt *apts; /* trust.apt_archives */
	size_t napts;
};

/* Load and validate a policy file. Every problem is an error with
 * file:line:column in err (GATE_E_POLICY); key files and the trusted root it
 * names are loaded too. GATE_E_UNSUPPORTED when libyaml cannot be loaded.
 * *out is owned by the caller. */
GATE_WUR enum gate_err gate_policy_load(const char *path, struct gate_policy **out,
					struct gate_error *err);
/* Same from memory; name is used in messages and to resolve relative paths
 * (relative to the directory of name). */
GATE_WUR enum gate_err gate_policy_parse(const char *name, const uint8_t *yaml, size_t len,
					 struct gate_policy **out, struct gate_error *err);
/* The built-in default: enforce, the embedded root, no signers, one rule
 * that denies everything. */
GATE_WUR enum gate_err gate_policy_default(struct gate_policy **out, struct gate_error *err);
void gate_policy_free(struct gate_policy *p);

/* Warnings of `gate policy lint`: over-broad identity patterns and the like.
 * Calls fn once per warning with file:line:column and a message. Returns the
 * number of warnings. */
typedef void (*gate_lint_fn)(void *ctx, const char *file, unsigned line, unsigned column,
			     const char *msg);
size_t gate_policy_lint(const struct gate_policy *p, gate_lint_fn fn, void *ctx);

/* What an artifact looks like to rule matching. */
struct gate_subject {
	const char *path; /* absolute or as given */
	const char *mime; /* libmagic MIME type */
	uint64_t size;
	enum gate_caller caller;
};

/* First rule whose match fits, or NULL (default: deny). */
const struct gate_rule *gate_policy_select(const struct gate_policy *p,
					   const struct gate_subject *s);

/* Glob with '*' (within a path segment), '?', '[...]' and '**' (any number
 * of segments). Paths of more than GATE_GLOB_MAX_SEGS components never
 * match: callers must refuse to decide them (a deny-by-path rule would be
 * skipped). */
#define GATE_GLOB_MAX_SEGS 128
bool gate_glob_match(const char *pattern, const char *path);

/* Does a verified evidence item's signer belong to set entry e? */
bool gate_signer_entry_matches(const struct gate_policy *p, const struct gate_signer_entry *e,
			       const struct gate_facts *f);

/* Outcome of evaluating one requirement. */
struct gate_req_result {
	const char *what; /* "signers", "tlog", "timestamp", "max_age", ... */
	bool held;
	char detail[256];
};

#define GATE_MAX_REQS 8

struct gate_eval {
	enum gate_decision decision;
	unsigned distinct_signers; /* signers of the set that verified */
	size_t nreqs;
	struct gate_req_result reqs[GATE_MAX_REQS];
};

/* Evaluate rule r over the facts of every evidence item that verified
 * (nfacts may be 0). now is unix seconds. Fills ev; ev->decision is ALLOW
 * only if every requirement held. */
void gate_policy_evaluate(const struct gate_policy *p, const struct gate_rule *r,
			  struct gate_facts *const *facts, size_t nfacts, int64_t now,
			  struct gate_eval *ev);

/* "90d", "12h", "30m", "45s", "2w" to seconds; false if malformed. */
bool gate_parse_duration(const char *s, int64_t *out);
/* Seconds back to the largest exact unit ("13w", "90d", "45s"). */
void gate_format_duration(int64_t secs, char *buf, size_t cap);

const char *gate_mode_name(enum gate_mode m);
const char *gate_caller_name(enum gate_caller c);

#ifdef __cplusplus
}
#endif
#endif
