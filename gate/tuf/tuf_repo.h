/*
 * tuf_repo.h - the publishing side of TUF (spec/TUF.md §1-§3): create and
 * maintain a static TUF repository from a directory of files, for users who
 * publish allowlists (`trust.tuf` in the policy) or their own trust
 * material. `gate tuf repo init|add|sign` is the command line over it.
 * Internal to gate (never installed).
 *
 * Layout of a repository directory DIR (serve DIR/metadata/ as the metadata
 * URL and DIR/targets/ as the targets URL; any static web server will do):
 *   DIR/metadata/N.root.json       every root version (clients fetch N+1)
 *   DIR/metadata/root.json         the newest root (to hand to clients)
 *   DIR/metadata/timestamp.json
 *   DIR/metadata/snapshot.json, targets.json, and with consistent
 *   snapshots also N.snapshot.json, N.targets.json
 *   DIR/targets/PATH, and with consistent snapshots DIR/targets/D/HASH.NAME
 * Private keys never enter DIR: they are PEM files named on each command
 * (`gate keygen --alg ed25519|ecdsa-p256` or `openssl genpkey`), so the
 * online timestamp key can live on the server while the root keys stay
 * offline.
 *
 * Versions: every change bumps the changed role and every role above it
 * (targets -> snapshot -> timestamp); snapshot meta lists targets.json with
 * version, length and sha256; timestamp lists snapshot.json the same way.
 * Files are written atomically (temporary file, fsync, rename), targets and
 * lower roles first, timestamp.json last, so a client never sees a
 * timestamp that names files not yet there.
 */
#ifndef GATE_TUF_REPO_H
#define GATE_TUF_REPO_H

#include "tuf.h"

#define GATE_TUF_REPO_MAX_KEYS 64	    /* keys on one command line */
#define GATE_TUF_REPO_MAX_FILE (1ull << 30) /* one target file (read whole) */

/* Default lifetimes (seconds) when --expires does not say. */
#define GATE_TUF_REPO_ROOT_LIFE (365 * 86400)
#define GATE_TUF_REPO_TARGETS_LIFE (90 * 86400)
#define GATE_TUF_REPO_SNAPSHOT_LIFE (7 * 86400)
#define GATE_TUF_REPO_TIMESTAMP_LIFE (1 * 86400)

/* A key: public always, private when it can sign. */
struct gate_tuf_rkey;

/* Load a PEM private key (PKCS#8 or traditional; passphrase may be NULL)
 * or, when allow_public, a PEM public key. Ed25519 (keytype/scheme
 * "ed25519") and ECDSA P-256 ("ecdsa"/"ecdsa-sha2-nistp256", PEM public
 * value). Errors: GATE_E_IO, GATE_E_PARSE, GATE_E_KEY (wrong passphrase),
 * GATE_E_UNSUPPORTED (another key type), GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_rkey_load(const char *path, const char *passphrase,
					  bool allow_public, struct gate_tuf_rkey **out,
					  struct gate_error *err);
void gate_tuf_rkey_free(struct gate_tuf_rkey *k);
const char *gate_tuf_rkey_id(const struct gate_tuf_rkey *k);
bool gate_tuf_rkey_private(const struct gate_tuf_rkey *k);

/* A key given for a role ("root", "timestamp", "snapshot", "targets"). */
struct gate_tuf_repo_key {
	enum gate_tuf_type role;
	struct gate_tuf_rkey *key; /* borrowed */
};

struct gate_tuf_repo_params {
	const char *dir;
	/* Signing keys (init: also the keys each role gets). */
	struct gate_tuf_repo_key keys[GATE_TUF_REPO_MAX_KEYS];
	size_t nkeys;
	/* sign root: new key lists for these roles (replacing the old). */
	struct gate_tuf_repo_key set_keys[GATE_TUF_REPO_MAX_KEYS];
	size_t nset_keys;
	int64_t threshold[GATE_TUF_NTYPES]; /* 0: keep (init: 1) */
	int64_t expires[GATE_TUF_NTYPES];   /* absolute; 0: now + default */
	bool consistent_snapshot;	    /* init */
	int64_t now;			    /* 0: gate_tuf_now(0) */
};

/* Create DIR (must not hold metadata yet): root v1 with the keys and
 * thresholds given, empty targets v1, snapshot v1, timestamp v1, each
 * signed by its threshold of the given private keys. Errors: GATE_E_USAGE
 * (a role without keys, a threshold above its key count or not met by the
 * private keys given, DIR already a repository), GATE_E_IO, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_repo_init(const struct gate_tuf_repo_params *p,
					  struct gate_error *err);

/* Add (or replace) targets: files[i] published as target path paths[i]
 * (relative, '/'-separated, no "." or ".." components), copied into
 * DIR/targets; then targets, snapshot and timestamp are re-signed with new
 * versions. Errors: GATE_E_USAGE (bad path, keys missing), GATE_E_IO,
 * GATE_E_TOO_LARGE, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_repo_add(const struct gate_tuf_repo_params *p,
					 const char *const *files, const char *const *paths,
					 size_t n, struct gate_error *err);

/* Re-sign with new versions (and expiry): roles is a bit set of
 * 1 << enum gate_tuf_type; a role drags every role above it along
 * (targets -> snapshot -> timestamp). Root gets version N+1 signed by the
 * threshold of the old AND the new root keys, with set_keys/threshold
 * applied (key rotation; a removed key is revoked for every later
 * version). Errors: GATE_E_USAGE (threshold not met, ...), GATE_E_IO,
 * GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_tuf_repo_sign(const struct gate_tuf_repo_params *p, unsigned roles,
					  struct gate_error *err);

#endif
