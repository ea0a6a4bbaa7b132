/*
 * tuf.h - TUF client (spec/TUF.md, "T" rules): metadata model, OLPC canonical
 * JSON, the client update workflow and a bounded fetcher. Internal to libgate
 * (never installed); callers inside gate (the `gate tuf` command, later the
 * Sigstore trusted-root update and TUF targets in the policy) use it.
 *
 * Layers, bottom up:
 *   tuf_canon.c   canonical JSON and keyids.
 *   tuf_keys.c    keys, and thresholds over distinct keys.
 *   tuf_meta.c    bytes -> envelope (signatures + canonical bytes of "signed")
 *                 -> verified threshold -> typed metadata. Pure, no I/O.
 *   tuf_paths.c   path patterns, hash bins, quoting. Pure.
 *   tuf_fetch.c   libcurl GET with a hard byte cap enforced while receiving.
 *   tuf_client.c  the updater: T1-T21, T24, persistence.
 *   tuf_walk.c    the delegation search (T22, T23) and the walk of every role.
 *   tuf_download.c  target files (T25).
 *
 * Deviations from spec/TUF.md, on purpose:
 *   - "expires" also accepts RFC 3339 with a fraction and a numeric offset
 *     (Sigstore root v1-v3 carry "2021-12-18T13:28:12.99008-06:00"); a
 *     fraction rounds the instant up to the next second, so "expired iff
 *     now >= expires" stays exact on whole seconds (gate_rfc3339_parse with
 *     GATE_RFC3339_TUF).
 *   - keytype/scheme pairs: besides the spec's ed25519, ecdsa-sha2-nistp256
 *     and rsassa-pss-sha256 we accept ecdsa-sha2-nistp384 and rsassa-pss /
 *     rsa-pkcs1v15 with sha256/384/512 (what securesystemslib registers);
 *     any other pair makes the metadata invalid, as in the reference. A
 *     supported pair whose public value does not decode only disqualifies
 *     that key (it never counts toward a threshold).
 *   - T23 path patterns use our own matcher with Python fnmatchcase
 *     semantics rather than fnmatch(3): glibc backtracks exponentially on
 *     patterns with many '*', and patterns come from signed (but not
 *     necessarily benign) delegations.
 *
 * No global mutable state: libcurl's global init is reference-counted by
 * libcurl itself (gate_tuf_updater_new / _free pair it).
 */
#ifndef GATE_VERIFY_TUF_H
#define GATE_VERIFY_TUF_H

#include "gate_keys.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- named caps (spec/TUF.md §4 "Defaults", plus counts) ---- */

#define GATE_TUF_ROOT_MAX_LEN 512000u	   /* T2: N.root.json */
#define GATE_TUF_TIMESTAMP_MAX_LEN 16384u  /* T7 */
#define GATE_TUF_SNAPSHOT_MAX_LEN 2000000u /* T12, when timestamp gives no length */
#define GATE_TUF_TARGETS_MAX_LEN 5000000u  /* T17, when snapshot gives no length */
/* Metadata is buffered in memory: even a signed length never lets one file
 * grow past this. */
#define GATE_TUF_METADATA_HARD_MAX (64u * 1024 * 1024)
#define GATE_TUF_MAX_ROOT_ROTATIONS 256 /* T2 */
#define GATE_TUF_MAX_DELEGATIONS 32	/* T22: roles visited per lookup */
#define GATE_TUF_MAX_KEYS 1024		/* keys in one key table */
#define GATE_TUF_MAX_SIGNATURES 1024	/* entries in "signatures" */
#define GATE_TUF_MAX_KEYIDS 1024	/* keyids of one role */
#define GATE_TUF_MAX_ROLES 16384	/* delegated roles in one targets */
#define GATE_TUF_MAX_PATHS 4096		/* paths / prefixes of one role */
#define GATE_TUF_MAX_META 1000000	/* snapshot "meta" entries */
#define GATE_TUF_MAX_TARGETS 1000000	/* entries of one "targets" */
#define GATE_TUF_MAX_HASHES 16		/* algorithms in one "hashes" */
#define GATE_TUF_MAX_NAME 4096		/* a role name, target path, keyid */
#define GATE_TUF_MAX_JSON_DEPTH GATE_MAX_JSON_DEPTH

/* ---- canonical JSON (spec §2) ---- */

/* OLPC canonical form of v: sorted keys, no whitespace, only '"' and '\'
 * escaped, integers only. *out is malloc'd (not NUL-terminated), at most cap
 * bytes. Errors: GATE_E_PARSE (a float, a non-JSON value, nesting deeper than
 * GATE_TUF_MAX_JSON_DEPTH), GATE_E_TOO_LARGE, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_canonical(const json_t *v, size_t cap, uint8_t **out, size_t *len,
					  struct gate_error *err);

/* keyid = lowercase hex SHA-256 of the canonical KEY object (spec §3). */
GATE_WUR enum gate_err gate_tuf_keyid(const json_t *key, char hex[65], struct gate_error *err);

/* ---- metadata model ---- */

enum gate_tuf_type {
	GATE_TUF_ROOT = 0,
	GATE_TUF_TIMESTAMP = 1,
	GATE_TUF_SNAPSHOT = 2,
	GATE_TUF_TARGETS = 3,
};
#define GATE_TUF_NTYPES 4

/* "root", "timestamp", "snapshot", "targets". */
const char *gate_tuf_type_name(enum gate_tuf_type t);

/* One "hashes" member; both strings are borrowed from the document. The
 * algorithm may be one we do not know: checking then fails (T25). */
struct gate_tuf_hash {
	const char *alg;
	const char *hex;
};

/* METAFILE (snapshot/timestamp "meta" entry) or TARGETFILE. Strings and
 * custom are borrowed from the owning metadata's document. */
struct gate_tuf_file {
	const char *name; /* "snapshot.json", "R.json" or the target path */
	int64_t version;  /* METAFILE only (>= 1); 0 for a target */
	int64_t length;	  /* -1 when absent (METAFILE only) */
	struct gate_tuf_hash *hashes;
	size_t nhashes;	      /* 0 when absent (METAFILE only) */
	const json_t *custom; /* TARGETFILE "custom" or NULL */
};

/* A key of a key table. A key whose public value does not decode, or whose
 * keyid is not the hash of its canonical form (spec §3), is kept but never
 * counts toward a threshold. */
struct gate_tuf_key {
	const char *keyid;	/* the table's name for it (borrowed) */
	struct gate_pubkey *pk; /* NULL when unusable */
	enum gate_keyalg alg;	/* the signature scheme */
	bool id_matches;	/* keyid == sha256(canonical key) */
};

struct gate_tuf_keys {
	struct gate_tuf_key *v;
	size_t n;
};

/* keyids (distinct, borrowed) and threshold of a role. */
struct gate_tuf_role {
	const char **keyids;
	size_t nkeyids;
	int64_t threshold;
};

/* One entry of delegations.roles (spec §1). Exactly one of paths /
 * prefixes is set (has_paths says which). */
struct gate_tuf_delegation {
	const char *name;
	struct gate_tuf_role role;
	bool terminating;
	bool has_paths;
	const char **paths;
	size_t npaths;
	const char **prefixes;
	size_t nprefixes;
};

/* delegations.succinct_roles (TAP 15). */
struct gate_tuf_succinct {
	struct gate_tuf_role role;
	unsigned bit_length; /* 1..32 */
	const char *name_prefix;
};

struct gate_tuf_sig {
	const char *keyid; /* borrowed */
	uint8_t *sig;	   /* decoded; NULL when the hex did not decode */
	size_t len;
};

/* A metadata file. gate_tuf_md_parse() fills the envelope part (the
 * document, the signatures, the canonical bytes of "signed" and _type);
 * only gate_tuf_md_load() reads the other signed fields, so callers verify
 * signatures first (T7, T13, T19; root: T1/T2). */
struct gate_tuf_md {
	enum gate_tuf_type type;
	json_t *doc;	    /* the whole parsed file (owns every borrowed string) */
	json_t *signed_obj; /* borrowed from doc */
	uint8_t *canon;	    /* canonical "signed": what the signatures cover */
	size_t canon_len;
	struct gate_tuf_sig *sigs;
	size_t nsigs;
	bool loaded;

	/* common (after load) */
	int64_t version;
	int64_t expires;
	const char *spec_version;

	/* root */
	bool consistent_snapshot;
	struct gate_tuf_keys keys;
	struct gate_tuf_role roles[GATE_TUF_NTYPES];

	/* timestamp */
	struct gate_tuf_file snapshot_meta;

	/* snapshot */
	struct gate_tuf_file *meta;
	size_t nmeta;

	/* targets and delegated targets */
	struct gate_tuf_file *targets;
	size_t ntargets;
	bool has_delegations;
	struct gate_tuf_keys dkeys;
	struct gate_tuf_delegation *droles;
	size_t ndroles;
	bool has_succinct;
	struct gate_tuf_succinct succinct;
};

/* Parse the envelope {"signed", "signatures"} of a metadata file of the
 * given type: JSON (duplicate members rejected, depth capped), "_type" ==
 * type (checked before signatures, spec §1), signatures (a keyid twice makes
 * the file invalid), canonical bytes of "signed". Does not read any other
 * signed field. The caller owns *out. Errors: GATE_E_PARSE, GATE_E_MISMATCH
 * (wrong _type), GATE_E_TOO_LARGE, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_md_parse(const uint8_t *buf, size_t len, enum gate_tuf_type type,
					 struct gate_tuf_md **out, struct gate_error *err);
/* Read and validate every signed field (spec §1) into md. Numbers must fit
 * int64, counts stay under the caps above. Errors: GATE_E_PARSE,
 * GATE_E_UNSUPPORTED (spec_version major, key type/scheme),
 * GATE_E_TOO_LARGE, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_md_load(struct gate_tuf_md *md, struct gate_error *err);
/* Parse + load in one go (no signature check): tests and fuzzing. */
GATE_WUR enum gate_err gate_tuf_md_parse_load(const uint8_t *buf, size_t len,
					      enum gate_tuf_type type, struct gate_tuf_md **out,
					      struct gate_error *err);
void gate_tuf_md_free(struct gate_tuf_md *md);

/* Count the DISTINCT keyids of role that are in keys, usable, and carry a
 * signature in md that verifies over md->canon (spec §3). Bad, empty or
 * unknown signatures are skipped. */
size_t gate_tuf_count_valid(const struct gate_tuf_md *md, const struct gate_tuf_keys *keys,
			    const struct gate_tuf_role *role);
/* GATE_OK when the count reaches role->threshold, else GATE_E_SIGNATURE
 * naming what (e.g. "snapshot") and the rule. */
GATE_WUR enum gate_err gate_tuf_verify_role(const struct gate_tuf_md *md,
					    const struct gate_tuf_keys *keys,
					    const struct gate_tuf_role *role, const char *what,
					    const char *rule, struct gate_error *err);

/* Expired iff now >= expires (spec §1). md must be loaded. */
bool gate_tuf_expired(const struct gate_tuf_md *md, int64_t now);

/* Snapshot "meta" entry for "name" ("targets.json"), or NULL. */
const struct gate_tuf_file *gate_tuf_find_meta(const struct gate_tuf_md *snapshot,
					       const char *name);
/* Target entry for path in a targets role, or NULL. */
const struct gate_tuf_file *gate_tuf_find_file(const struct gate_tuf_md *targets, const char *path);

/* Exact length (when f has one) and every listed hash over data; an unknown
 * algorithm fails (T12, T18). GATE_OK, GATE_E_DIGEST or GATE_E_TOO_LARGE. */
GATE_WUR enum gate_err gate_tuf_check_file(const struct gate_tuf_file *f, const uint8_t *data,
					   size_t len, const char *what, const char *rule,
					   struct gate_error *err);
/* EVP digest for a TUF hash name (sha256, sha384, sha512), else NULL. */
const EVP_MD *gate_tuf_hash_md(const char *alg);

/* ---- delegations (T22, T23) ---- */

/* T23: pattern and path split on '/', same number of components, each
 * matched as Python's fnmatch.fnmatchcase ('*', '?', '[...]' with '!';
 * no escapes; case-sensitive; '*' and '?' never cross '/'), in
 * O(pattern x path) time without recursion. */
bool gate_tuf_path_match(const char *pattern, const char *path);
/* Whether d delegates path (paths or path_hash_prefixes). */
bool gate_tuf_delegation_matches(const struct gate_tuf_delegation *d, const char *path);
/* Hash-bin role name for path into buf (cap >= strlen(prefix) + 10).
 * False when it does not fit. */
bool gate_tuf_succinct_role(const struct gate_tuf_succinct *s, const char *path, char *buf,
			    size_t cap);
/* Whether name is one of the bins s describes. */
bool gate_tuf_succinct_has(const struct gate_tuf_succinct *s, const char *name);

/* Percent-encode with no safe characters beyond A-Za-z0-9-._~ (spec §4
 * "Naming"). Malloc'd; NULL on OOM. */
char *gate_tuf_quote(const char *s);

/* Replace a Sigstore rule tag (S1, S3: the shared JSON readers) in err
 * with the TUF rule of the step that failed. */
void gate_tuf_rule(struct gate_error *err, const char *rule);

/* ---- trusted-set steps without I/O (unit-testable) ---- */

/* T1: parse a root and verify it with its own root role (expiry ignored).
 * The caller owns *out. */
GATE_WUR enum gate_err gate_tuf_root_load(const uint8_t *buf, size_t len, struct gate_tuf_md **out,
					  struct gate_error *err);
/* T2: verify bytes as root N+1 of trusted: _type, threshold of trusted's
 * root role, version == N+1, threshold of its own root role. Expiry is
 * not checked (T3 is the caller's, after the loop). */
GATE_WUR enum gate_err gate_tuf_root_update(const struct gate_tuf_md *trusted, const uint8_t *buf,
					    size_t len, struct gate_tuf_md **out,
					    struct gate_error *err);

/* ---- fetching (tuf_fetch.c) ---- */

struct gate_tuf_fetch_opts {
	long connect_timeout; /* seconds */
	long low_speed_limit; /* bytes/second ... */
	long low_speed_time;  /* ... sustained for this many seconds */
	long total_timeout;   /* seconds for one whole transfer; 0 = none */
	/* One deadline for a whole update (CLOCK_MONOTONIC, milliseconds;
	 * 0 = none), set by gate_tuf_cache_update: every transfer gets what
	 * is left of it, so a mirror trickling just above low_speed_limit
	 * cannot make each file take total_timeout. */
	int64_t deadline_ms;
	long deadline_s; /* the whole update's budget, for messages */
	/* What the deadline bounds and the knob that sets it, for messages
	 * (NULL: "update (GATE_TUF_TIMEOUT)"). */
	const char *deadline_of;
	/* file:// read here, regular files only, never a blocking open (a
	 * FIFO in a local repository would hang past every timeout); set by
	 * gate_tuf_caps_default for TUF. Without it libcurl reads file://. */
	bool file_regular;
};

/* CLOCK_MONOTONIC now in milliseconds. */
int64_t gate_tuf_mono_ms(void);

/* Move a damaged entry of a cache (a FIFO, a folder, a file that does not
 * verify where it must) out of the way: renamed to ".damaged.NAME.TIME.N"
 * in folder into (NULL: its own folder), so the next write can take the
 * name and the bytes stay for inspection. The new name goes to aside (may
 * be NULL). Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_tuf_set_aside(const char *path, const char *into, char *aside,
					  size_t cap, struct gate_error *err);

/* Receives each chunk; return false to abort the transfer. */
typedef bool (*gate_tuf_sink)(void *ctx, const uint8_t *p, size_t n);

/* GET url (http, https or file) and feed the body to sink, never more than
 * cap bytes: a larger body aborts the transfer as soon as it crosses cap.
 * Redirects stay on the original scheme. *status (may be NULL) receives the
 * HTTP status, 404 for a missing file: URL, 0 when there was no response.
 * Errors: GATE_E_IO (network, HTTP >= 400, sink abort), GATE_E_TOO_LARGE,
 * GATE_E_USAGE (unsupported URL scheme), GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_fetch(const char *url, uint64_t cap,
				      const struct gate_tuf_fetch_opts *o, gate_tuf_sink sink,
				      void *ctx, long *status, struct gate_error *err);
/* Same, into a malloc'd buffer (*out NUL-terminated, not counted). */
GATE_WUR enum gate_err gate_tuf_fetch_buf(const char *url, size_t cap,
					  const struct gate_tuf_fetch_opts *o, uint8_t **out,
					  size_t *len, long *status, struct gate_error *err);
/* Whether a failed fetch means "the file is not there" (HTTP 403/404). */
bool gate_tuf_status_missing(long status);

/* ---- the updater (tuf_client.c, tuf_walk.c, tuf_download.c) ---- */

struct gate_tuf_caps {
	size_t root_max;      /* bytes, T2 */
	size_t timestamp_max; /* T7 */
	size_t snapshot_max;  /* T12 default when timestamp gives no length */
	size_t targets_max;   /* T17 default when snapshot gives no length */
	unsigned max_root_rotations;
	unsigned max_delegations;
	struct gate_tuf_fetch_opts fetch;
};

/* The spec's defaults: sizes above, 256 rotations, 32 delegations, 15 s
 * connect timeout, abort below 1024 B/s for 30 s, 600 s per transfer (and
 * per update, through gate_tuf_cache_update), no deadline set. */
void gate_tuf_caps_default(struct gate_tuf_caps *c);

struct gate_tuf_updater;

/* A target as the trusted metadata describes it. Borrowed from the updater:
 * valid until gate_tuf_updater_free(). */
struct gate_tuf_target {
	const char *path;
	uint64_t length;
	const struct gate_tuf_hash *hashes;
	size_t nhashes;
	const json_t *custom; /* may be NULL */
	const char *role;     /* the role that listed it */
};

/* Create an updater over metadata_dir (which holds the trusted root.json)
 * and load that root (T1: parsed, verified by itself, expiry ignored).
 * metadata_url NULL = offline: gate_tuf_refresh() then only verifies the
 * cached metadata and never touches the network. target_base_url may be
 * NULL (downloads then fail with GATE_E_USAGE). now = reference time (T0) in
 * unix seconds; 0 = time(NULL) once, here. caps NULL = defaults. Strings
 * are copied. The caller owns *out. Errors: GATE_E_IO (no root.json),
 * GATE_E_PARSE, GATE_E_SIGNATURE, GATE_E_UNSUPPORTED, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_updater_new(const char *metadata_dir, const char *metadata_url,
					    const char *target_base_url, int64_t now,
					    const struct gate_tuf_caps *caps,
					    struct gate_tuf_updater **out, struct gate_error *err);
void gate_tuf_updater_free(struct gate_tuf_updater *u);

/* The top-level update, T2-T21 in reference order (offline: T1, T3, then
 * the cached timestamp, snapshot and targets must each verify, match and be
 * unexpired). Once per updater (GATE_E_USAGE after that). Metadata is
 * persisted only after it verified. err->rule names the failed T rule.
 * Errors: GATE_E_IO (network), GATE_E_TOO_LARGE, GATE_E_PARSE,
 * GATE_E_MISMATCH (_type, version, rollback, missing role),
 * GATE_E_SIGNATURE (threshold), GATE_E_DIGEST (length/hash),
 * GATE_E_EXPIRED (freeze), GATE_E_UNSUPPORTED, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_refresh(struct gate_tuf_updater *u, struct gate_error *err);

/* T22: find path walking the delegations (refreshing first if not done).
 * *out = NULL with GATE_OK when no role lists it. Errors as refresh. */
GATE_WUR enum gate_err gate_tuf_find_target(struct gate_tuf_updater *u, const char *path,
					    const struct gate_tuf_target **out,
					    struct gate_error *err);

/* The local file for t in target_dir (percent-encoded path) when it exists
 * and its length and hashes match; *path_out malloc'd, NULL otherwise. */
GATE_WUR enum gate_err gate_tuf_find_cached_target(struct gate_tuf_updater *u,
						   const struct gate_tuf_target *t,
						   const char *target_dir, char **path_out,
						   struct gate_error *err);
/* T25: make sure target_dir holds t: the cached copy if it matches,
 * else download from the target base URL (hash-prefixed name with
 * consistent snapshots) at most t->length bytes, check the exact length
 * and every hash, then write it atomically. *path_out (may be NULL)
 * receives the malloc'd local path; *downloaded (may be NULL) whether the
 * network was used. Errors: GATE_E_USAGE (no target base URL), GATE_E_IO,
 * GATE_E_TOO_LARGE, GATE_E_DIGEST, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_download_target(struct gate_tuf_updater *u,
						const struct gate_tuf_target *t,
						const char *target_dir, char **path_out,
						bool *downloaded, struct gate_error *err);

/* Install root (bytes of a root.json) as the trusted root of metadata_dir:
 * it must parse and carry its own threshold (T1; expiry ignored), then it is
 * written byte-exact and atomically as metadata_dir/root.json (the directory
 * is created if missing). No network. Errors: as gate_tuf_root_load, and
 * GATE_E_IO. */
GATE_WUR enum gate_err gate_tuf_init(const char *metadata_dir, const uint8_t *root, size_t len,
				     struct gate_error *err);

/* Version of a trusted top-level role (0 when not loaded). */
int64_t gate_tuf_trusted_version(const struct gate_tuf_updater *u, enum gate_tuf_type t);

/* "expires" (unix seconds) of a trusted top-level role (0 when not loaded). */
int64_t gate_tuf_trusted_expires(const struct gate_tuf_updater *u, enum gate_tuf_type t);

/* ---- enumeration (tuf_walk.c): allowlists by digest ---- */

/* Called for every target entry of every visited role (f and role are
 * borrowed from the updater); return false to stop the walk. */
typedef bool (*gate_tuf_target_fn)(void *ctx, const struct gate_tuf_file *f, const char *role);

struct gate_tuf_walk_stats {
	size_t roles;		      /* roles visited (loaded and verified) */
	size_t targets;		      /* target entries seen */
	size_t skipped;		      /* delegated roles that did not load */
	struct gate_error first_skip; /* why the first of them did not */
	bool truncated;		      /* stopped at max_roles */
	bool stopped;		      /* fn returned false */
};

/* Visit "targets" and every delegated role reachable from it, whatever the
 * path: explicit delegations depth first in priority order, hash bins that
 * the snapshot lists; each role once, at most max_roles roles, each loaded
 * and verified as in T17-T21 (online: fetched and persisted; offline: from
 * the cache). Refreshes first if not done. A delegated role that does not
 * load is skipped (counted in st); only "targets" failing is an error.
 * Being listed by some role is NOT being the target for that path: T22
 * decides which role is authoritative for a path, so callers confirm a
 * candidate with gate_tuf_find_target(). Errors as gate_tuf_refresh. */
GATE_WUR enum gate_err gate_tuf_walk_targets(struct gate_tuf_updater *u, size_t max_roles,
					     gate_tuf_target_fn fn, void *ctx,
					     struct gate_tuf_walk_stats *st,
					     struct gate_error *err);

#endif
