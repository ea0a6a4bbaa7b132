/*
 * tuf_trust.h - what gate trusts through TUF (spec/TUF.md): verified local
 * caches of TUF repositories, the Sigstore trusted root kept fresh over the
 * Sigstore TUF repository, and the reference time. Internal to libgate.
 *
 * A cache directory (one per repository) holds
 *     DIR/metadata/   the client's trusted metadata (root.json, ...)
 *     DIR/targets/    verified target files (percent-encoded paths)
 *     DIR/last-update unix time of the last successful online update
 *     DIR/.lock       flock(2): exclusive while updating, shared to read
 * and is written only by gate_tuf_cache_update() (`gate trust update`,
 * `gate tuf refresh` style jobs, or a decision whose policy allows it).
 * Readers (gate_trusted_root_best, policy lookups) never touch the network:
 * they verify the cached metadata offline (T1, T3, then the cached
 * timestamp, snapshot and targets must verify, match and be unexpired).
 *
 * Where caches live: $GATE_CACHE_DIR/tuf when set, else /var/lib/gate/tuf
 * for root (state, not a cache: never wiped by cache cleaners), else
 * $XDG_CACHE_HOME/gate/tuf or ~/.cache/gate/tuf. The Sigstore repository is
 * "sigstore" there, policy repositories "repos/NAME-ID" (ID: a hash of the
 * URL and the policy's root.json).
 */
#ifndef GATE_VERIFY_TUF_TRUST_H
#define GATE_VERIFY_TUF_TRUST_H

#include "tuf.h"

/* The Sigstore public-good TUF repository (metadata at the root, targets
 * under targets/). */
#define GATE_TUF_SIGSTORE_URL "https://tuf-repo-cdn.sigstore.dev"
#define GATE_TUF_SIGSTORE_TRUSTED_ROOT "trusted_root.json"
#define GATE_TUF_SIGSTORE_SIGNING_CONFIG "signing_config.v0.2.json"
/* Roles one enumeration of a repository may visit (allowlist lookups). */
#define GATE_TUF_WALK_MAX_ROLES 4096
/* Seconds a reader waits for an update in progress to finish. */
#define GATE_TUF_LOCK_WAIT_MS 2000
/* Largest target gate_tuf_cache_update downloads (trust material). */
#define GATE_TUF_TRUST_TARGET_MAX (4u * 1024 * 1024)

/* Unix seconds: now when non-zero, else $GATE_TIME (RFC 3339, for tests)
 * when set and valid, else time(). */
int64_t gate_tuf_now(int64_t now);

/* <cache base>/tuf/<sub> (see above), malloc'd; NULL when there is no
 * base directory (no $HOME) or memory ran out. Nothing is created. */
char *gate_tuf_state_dir(const char *sub);

/* Default caps, then these environment overrides (whole seconds or bytes
 * per second, > 0; tests use them to keep slow-retrieval cases short):
 * GATE_TUF_CONNECT_TIMEOUT, GATE_TUF_LOW_SPEED_LIMIT,
 * GATE_TUF_LOW_SPEED_TIME, GATE_TUF_TIMEOUT (one whole transfer). */
void gate_tuf_caps_env(struct gate_tuf_caps *c);

/* The time of the last successful update of a cache (DIR/last-update).
 * false when absent or malformed. */
bool gate_tuf_cache_stamp(const char *dir, int64_t *out);

/* What a cache holds, after verifying it (offline) or updating it. */
struct gate_tuf_cache_state {
	int64_t version[GATE_TUF_NTYPES]; /* 0: not loaded */
	int64_t expires[GATE_TUF_NTYPES];
	int64_t initial_root;		/* root version before an update */
	int64_t last_update;		/* 0: never */
	size_t roles, targets, skipped; /* enumeration (walk) */
	bool downloaded;		/* a target file came from the network */
};

struct gate_tuf_cache_opts {
	const char *dir;	  /* the cache directory (created if missing) */
	const char *metadata_url; /* required */
	const char *targets_url;  /* needed when a target is downloaded */
	/* Bootstrap root: installed (T1) when DIR has no trusted root yet. */
	const uint8_t *root;
	size_t root_len;
	/* Targets to download into DIR/targets: required ones must be listed,
	 * optional ones are fetched when listed. NULL-terminated, may be NULL. */
	const char *const *required;
	const char *const *optional;
	bool walk;			  /* load every delegated role too */
	int64_t now;			  /* 0: gate_tuf_now(0) */
	const struct gate_tuf_caps *caps; /* NULL: gate_tuf_caps_env() */
};

/* One online update under the exclusive lock: bootstrap the root if
 * needed, refresh (T1-T21), walk every role when asked, download the
 * listed targets (T25), and only when all of that succeeded record the
 * time in DIR/last-update. What the client already persisted stays (e.g.
 * rotated roots before an expiry error); the previous state is otherwise
 * intact. st (may be NULL) is filled as far as the update got. Errors: as
 * gate_tuf_refresh, GATE_E_MISMATCH (a required target is not listed),
 * GATE_E_IO (directory, lock). */
GATE_WUR enum gate_err gate_tuf_cache_update(const struct gate_tuf_cache_opts *o,
					     struct gate_tuf_cache_state *st,
					     struct gate_error *err);

/* An offline, verified view of a cache, for lookups. Holds the shared lock
 * until closed, so an update cannot interleave with the reads. */
struct gate_tuf_cache;
/* Errors: GATE_E_IO (no cache: no DIR/metadata/root.json; an update in
 * progress), and those of an offline gate_tuf_refresh (GATE_E_EXPIRED for
 * a frozen or stale repository, ...). */
GATE_WUR enum gate_err gate_tuf_cache_open(const char *dir, int64_t now,
					   struct gate_tuf_cache **out, struct gate_error *err);
void gate_tuf_cache_close(struct gate_tuf_cache *c);
struct gate_tuf_updater *gate_tuf_cache_updater(struct gate_tuf_cache *c);
void gate_tuf_cache_fill(const struct gate_tuf_cache *c, struct gate_tuf_cache_state *st);
/* The verified local file of target path (malloc'd *out), or NULL with
 * GATE_OK when the metadata does not list it or the file is missing or
 * does not match. */
GATE_WUR enum gate_err gate_tuf_cache_target(struct gate_tuf_cache *c, const char *path, char **out,
					     struct gate_error *err);

/* ---- the Sigstore trusted root ---- */

enum gate_trust_source { GATE_TRUST_EMBEDDED = 0, GATE_TRUST_CACHE = 1 };

struct gate_trust_info {
	enum gate_trust_source source;
	char dir[512];			   /* the cache consulted ("" when none) */
	char why[GATE_ERR_MSG_MAX + 128];  /* why the cache was not used */
	struct gate_tuf_cache_state state; /* of the cache (when it verified) */
	int64_t embedded_root_version, embedded_root_expires; /* embedded TUF root */
};

/* The trusted root to verify with, never over the network: the cached
 * DIR/targets/trusted_root.json when DIR's metadata verifies offline,
 * unexpired at now (0: gate_tuf_now(0)), lists it and the file matches its
 * length and hashes and parses; otherwise the embedded one. dir NULL = the
 * default Sigstore cache. info (may be NULL) says which and why. Errors only
 * when the embedded root itself fails (GATE_E_NOMEM, ...). */
GATE_WUR enum gate_err gate_trusted_root_best(const char *dir, int64_t now,
					      struct gate_trusted_root **out,
					      struct gate_trust_info *info, struct gate_error *err);

/* Warn on stderr, once per process, that root is the embedded one and
 * has expired at now (0: gate_tuf_now(0)); nothing otherwise. Every
 * command that verifies with the Sigstore root calls it. */
void gate_trust_warn(const struct gate_trusted_root *root, int64_t now);

/* The embedded Sigstore TUF root.json (bytes, static). */
const uint8_t *gate_tuf_embedded_root(size_t *len);

#endif
