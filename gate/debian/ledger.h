/*
 * ledger.h - the install ledger (SQLite, WAL): what the gate allowed at
 * install time, down to the digest of every regular file a package
 * installed, so that "only run what was verified when installed" can be
 * answered later by digest or path.
 *
 * A struct gate_ledger is one database connection: use it from one thread
 * at a time (open one per thread, or serialise). Callbacks must not call
 * back into the same ledger.
 *
 * Internal to libgate (hooks and the CLI use it); not installed.
 */
#ifndef GATE_LEDGER_H
#define GATE_LEDGER_H

#include "verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_LEDGER_DEFAULT "/var/lib/gate/ledger.db"
#define GATE_LEDGER_SCHEMA 3	 /* PRAGMA user_version of the schema we write */
#define GATE_LEDGER_BUSY_MS 5000 /* default wait for another writer's lock */

struct gate_ledger;

/* Why a package is in the ledger. Only INSTALL and ARCHIVE vouch for its
 * files (gate_ledger_has_digest). */
enum gate_ledger_source {
	GATE_LEDGER_INSTALL = 0, /* allowed by the policy when installed (hook, record-deb) */
	GATE_LEDGER_ARCHIVE,	 /* imported from dpkg; a verified archive lists this version */
	GATE_LEDGER_DPKG,	 /* imported from dpkg; nothing but dpkg's records vouches */
};

/* What is known of one recorded file. Only OK files are vouched for. */
enum gate_ledger_state {
	GATE_FILE_OK = 0,  /* as shipped (install: from the .deb; import: matches dpkg's md5sum) */
	GATE_FILE_CONFIG,  /* a conffile: the administrator's to edit */
	GATE_FILE_CHANGED, /* import: differs from the md5sum dpkg kept at install */
	GATE_FILE_UNVERIFIED, /* import: dpkg kept no md5sum to compare with */
};

const char *gate_ledger_source_name(enum gate_ledger_source s);
const char *gate_ledger_state_name(enum gate_ledger_state s);

/* One regular file of a package's data archive. */
struct gate_ledger_file {
	char *path;	 /* absolute install path, e.g. "/usr/bin/hello" */
	char sha256[65]; /* hex, lowercase; a pending file may have "" (md5 only) */
	char md5[33];	 /* pending files only: the .deb's md5sum, hex; "" when none
			  * (a pending file with a sha256 has its size from the .deb) */
	uint64_t size;
	enum gate_ledger_state state;
};

/* One allowed or imported package and its files. */
struct gate_ledger_pkg {
	char *name, *version, *arch;
	char deb_sha256[65]; /* hex, lowercase; "" only for source DPKG */
	enum gate_ledger_source source;
	char *rule;    /* policy rule that allowed it, may be NULL */
	char *signers; /* JSON array of signer facts (identity/issuer/key_id), may be NULL */
	char *origin;  /* where it was vouched for (evidence source), may be NULL */
	char *deb;     /* pending only: the .deb's path, to read its files from; may be NULL */
	int64_t time;  /* unix seconds; 0 = "now" when recorded */
	struct gate_ledger_file *files;
	size_t nfiles;
};

/* Open the ledger at path. Read-write: creates a missing file (mode 0600)
 * and missing directories (mode 0700), sets WAL and creates the schema in
 * an empty database. Read-only: the file must exist and hold a ledger.
 * A ledger of schema 1 is upgraded in place (one transaction) when opened
 * read-write and read through views when opened read-only.
 * A newer or unknown schema is GATE_E_UNSUPPORTED; a file that is not an
 * SQLite database, a corrupt one or a lock that does not clear within the
 * busy timeout is GATE_E_IO. The file is never recreated or truncated.
 * The caller owns *out (gate_ledger_close). */
GATE_WUR enum gate_err gate_ledger_open(const char *path, bool readonly, struct gate_ledger **out,
					struct gate_error *err);
void gate_ledger_close(struct gate_ledger *l);
/* How long to wait for another connection's lock before failing with
 * GATE_E_IO (default GATE_LEDGER_BUSY_MS). */
void gate_ledger_set_busy_timeout(struct gate_ledger *l, unsigned ms);

/* Record packages in ONE transaction (BEGIN IMMEDIATE): all or nothing. A
 * package (name, arch) recorded again replaces its earlier row and files.
 * pkgs are borrowed. Errors: GATE_E_USAGE (a field is empty, a digest is
 * not 64 lowercase hex digits, a path is not absolute), GATE_E_PARSE (a
 * constraint failed, e.g. the same path twice in one package), GATE_E_IO
 * (locked, read-only, disk), GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_record(struct gate_ledger *l, const struct gate_ledger_pkg *pkgs,
					  size_t n, struct gate_error *err);

/* Forget packages (name, arch), with their files, in ONE transaction; a
 * pair not in the ledger is no error. Errors: GATE_E_IO, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_forget(struct gate_ledger *l, const char *const *names,
					  const char *const *archs, size_t n,
					  struct gate_error *err);

/* Lookups. Callbacks receive borrowed rows valid only during the call. */
typedef void (*gate_ledger_pkg_fn)(void *ctx, const struct gate_ledger_pkg *p);
/* p has no files (files NULL, nfiles 0); f is the matching file. */
typedef void (*gate_ledger_file_fn)(void *ctx, const struct gate_ledger_pkg *p,
				    const struct gate_ledger_file *f);

/* Every package, by name then architecture: fn gets nfiles set and files
 * NULL. Errors: GATE_E_IO, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_list(struct gate_ledger *l, gate_ledger_pkg_fn fn, void *ctx,
					struct gate_error *err);
/* The packages named name ("hello", or "hello:amd64" for one architecture)
 * with their files sorted by path. *found is the number of packages (0:
 * not in the ledger, which is not an error). Errors: GATE_E_IO,
 * GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_show(struct gate_ledger *l, const char *name,
					gate_ledger_pkg_fn fn, void *ctx, size_t *found,
					struct gate_error *err);
/* Files whose digest ("sha256:HEX" or 64 hex digits, either case) or
 * absolute path equals key. *found is the count. Errors: GATE_E_USAGE (key
 * neither a digest nor an absolute path), GATE_E_IO. */
GATE_WUR enum gate_err gate_ledger_lookup(struct gate_ledger *l, const char *key,
					  gate_ledger_file_fn fn, void *ctx, size_t *found,
					  struct gate_error *err);
/* Fast path for the exec daemon: does the ledger vouch for a file with this
 * digest - state OK, of a package from source INSTALL or ARCHIVE? Config
 * files, files changed since install and packages only dpkg vouches for
 * never count. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_ledger_has_digest(struct gate_ledger *l, const uint8_t sha256[32],
					      bool *found, struct gate_error *err);

/* Is (name, arch) recorded at this version? *found false when not, or at
 * another version; *source tells how it was recorded. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_ledger_has_version(struct gate_ledger *l, const char *name,
					       const char *arch, const char *version, bool *found,
					       enum gate_ledger_source *source,
					       struct gate_error *err);

/* Re-hash installed files: all, or those at or under the given absolute
 * paths, with root prepended to every recorded path (NULL or "" for the
 * real root). Each file is lstat'ed and opened with O_NOFOLLOW|O_NONBLOCK
 * and streamed through SHA-256. Every problem is reported through fn with
 * f->sha256 the recorded digest and status one of "modified", "missing",
 * "unreadable", "replaced by a link", "not a regular file". *checked
 * counts files examined, *bad problems. Errors (the walk itself failed):
 * GATE_E_USAGE (a path not absolute), GATE_E_IO, GATE_E_NOMEM. */
typedef void (*gate_ledger_verify_fn)(void *ctx, const struct gate_ledger_pkg *p,
				      const struct gate_ledger_file *f, const char *status);
GATE_WUR enum gate_err gate_ledger_verify(struct gate_ledger *l, const char *root,
					  const char *const *paths, size_t npaths,
					  gate_ledger_verify_fn fn, void *ctx, size_t *checked,
					  size_t *bad, struct gate_error *err);

/* SQLite's PRAGMA quick_check over the whole database (O(size): seconds on
 * a large ledger, so not done on open). Errors: GATE_E_IO naming the first
 * problem. */
GATE_WUR enum gate_err gate_ledger_check(struct gate_ledger *l, struct gate_error *err);

/* ---- pending: allowed by the apt hook, not (yet) installed by dpkg ----
 *
 * The hook records what it allowed before dpkg runs as PENDING: the .deb's
 * digest, rule, signers, origin and, per file, the digest the verified
 * .deb ships (the MD5 of its md5sums, or the SHA-256 of its data.tar when
 * it has no md5sums). Pending rows are in tables of their own: no lookup,
 * list, verify or has_digest ever sees them. After dpkg ran, each one is
 * promoted (recorded with the files dpkg installed, hashed on disk and
 * compared with those digests) or dropped (hooks/apt/apt_post.c). */

/* Add pkgs as pending in ONE transaction; a pending (name, arch) is
 * replaced. files carry md5 or sha256 (or both). Errors: GATE_E_USAGE (a
 * field empty, a digest malformed, a path not absolute), GATE_E_PARSE,
 * GATE_E_IO, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_add_pending(struct gate_ledger *l,
					       const struct gate_ledger_pkg *pkgs, size_t n,
					       struct gate_error *err);
/* Every pending package, oldest first, with its files sorted by path:
 * fn may take what *p owns (then zero *p); what it leaves is freed after
 * the call. *last_id is the newest pending id seen (0: none), for
 * gate_ledger_drop_pending. Errors: GATE_E_IO, GATE_E_NOMEM. */
typedef void (*gate_ledger_pending_fn)(void *ctx, struct gate_ledger_pkg *p);
GATE_WUR enum gate_err gate_ledger_list_pending(struct gate_ledger *l, gate_ledger_pending_fn fn,
						void *ctx, int64_t *last_id,
						struct gate_error *err);
/* Replace the files of the pending package p->name, p->arch with p's own
 * (sha256 and size read from its .deb, p->deb_sha256 the .deb's digest),
 * in one transaction; a pending package that is gone, or whose .deb
 * digest differs, is left alone (no error). Errors: as add_pending. */
GATE_WUR enum gate_err gate_ledger_digest_pending(struct gate_ledger *l,
						  const struct gate_ledger_pkg *p,
						  struct gate_error *err);
/* Drop the pending packages up to id last_id, in one transaction. Errors:
 * GATE_E_IO. */
GATE_WUR enum gate_err gate_ledger_drop_pending(struct gate_ledger *l, int64_t last_id,
						struct gate_error *err);

/* ---- the root a ledger describes ----
 * A ledger records one system: the root its files are under ("/" for the
 * host) and dpkg's admindir there, both canonical, stored at the first
 * write that names them. Another root is refused, so two roots never
 * prune each other's packages. */

/* Bind l to root and admindir (canonical absolute paths) when it names
 * none yet (needs a read-write ledger); otherwise check that it names
 * these. Errors: GATE_E_USAGE (bound to another root or admindir: the
 * message names both), GATE_E_IO, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_bind_root(struct gate_ledger *l, const char *root,
					     const char *admindir, struct gate_error *err);
/* The root and admindir l is bound to (the caller frees both), or NULL
 * and NULL. Errors: GATE_E_IO, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_ledger_get_root(struct gate_ledger *l, char **root, char **admindir,
					    struct gate_error *err);
/* root ("" or NULL: "/") made canonical (realpath) into out. Errors:
 * GATE_E_IO naming the path and the reason. */
GATE_WUR enum gate_err gate_ledger_canon_root(const char *root, char out[4096],
					      struct gate_error *err);
/* admindir (NULL: root's /var/lib/dpkg, root canonical) made canonical
 * into out. Errors: as gate_ledger_canon_root. */
GATE_WUR enum gate_err gate_ledger_canon_admindir(const char *root, const char *admindir,
						  char out[4096], struct gate_error *err);
/* Whether root (canonical) is the root l is bound to, or l is bound to
 * none: GATE_OK; another: GATE_E_USAGE naming both. For readers that
 * must not look at another system's files with this ledger. */
GATE_WUR enum gate_err gate_ledger_check_root(struct gate_ledger *l, const char *root,
					      struct gate_error *err);

/* Free what a pkg owns (strings and files) and zero it. NULL is fine. */
void gate_ledger_pkg_clear(struct gate_ledger_pkg *p);

#endif
