/* apt_ledger.h - the apt hook's side of the install ledger (apt_ledger.c).
 * Before dpkg runs, what the policy allowed is only PENDING (ledger.h);
 * after dpkg ran (`gate hook apt --post-invoke`, apt's DPkg::Post-Invoke,
 * and again before the next transaction in case that step never ran),
 * the ledger is settled against what dpkg says is installed. Internal to
 * the gate executable. */
#ifndef GATE_HOOKS_APT_LEDGER_H
#define GATE_HOOKS_APT_LEDGER_H

#include "ledger.h"

#include <stdbool.h>
#include <stddef.h>

/* The system a ledger describes: canonical root and dpkg admindir. */
struct gate_apt_root {
	char root[4096], admindir[4096];
};

/* Work out the root and bind l to it (gate_ledger_bind_root): --root
 * (opt_root), else the directory of dpkg's status file as apt's
 * configuration names it (status; its root is what precedes
 * /var/lib/dpkg), else the root l is bound to, else "/". Errors: a root
 * that does not resolve (GATE_E_IO), another root than l's (GATE_E_USAGE,
 * naming both), the ledger's. */
GATE_WUR enum gate_err gate_apt_root_bind(struct gate_ledger *l, const char *opt_root,
					  const char *status, struct gate_apt_root *out,
					  struct gate_error *err);

struct gate_apt_settled {
	size_t pending;	  /* pending packages found */
	size_t recorded;  /* of those, installed by dpkg at that version: recorded */
	size_t files_bad; /* their files not as the verified .deb ships them */
	size_t forgotten; /* recorded before, no longer installed at that version */
};

/* Settle l against dpkg's status in r->admindir: every pending package
 * dpkg lists as installed at its version is recorded with the files dpkg
 * lists (hashed under r->root, compared with its verified .deb's
 * digests), the other pending ones are dropped (named on stderr), then
 * packages dpkg no longer has at the recorded version are forgotten.
 * Errors: those of the import and of the ledger. */
GATE_WUR enum gate_err gate_apt_settle(struct gate_ledger *l, const struct gate_apt_root *r,
				       struct gate_apt_settled *st, struct gate_error *err);

/* `gate hook apt --post-invoke`: settle the ledger at path (nothing to do
 * when it does not exist). Returns the exit code. */
int gate_apt_post_invoke(const char *ledger, const char *opt_root);

/* Reading every pending .deb's data.tar (the SHA-256 and size of each
 * file the verified .deb ships) runs in the background while dpkg
 * unpacks, so that the step after dpkg only looks the files up. The lock
 * (a file next to the ledger) is held by that background step: settling
 * waits for it, at most GATE_APT_DIGEST_WAIT_S; a pending package it did
 * not finish has its files hashed on disk and compared with the .deb's
 * md5sums instead. */
#define GATE_APT_DIGEST_WAIT_S 600

/* Open and take the lock, waiting for a background step still running
 * (at most GATE_APT_DIGEST_WAIT_S); -1 when it cannot be had (then
 * nothing starts in the background). */
int gate_apt_digest_lock(const char *ledger);
/* Start `gate hook apt --digest-pending` detached (its own session,
 * stdio on /dev/null), handing it the lock; returns at once. Nothing
 * starts when lock < 0 or fork fails: settling then hashes on disk. */
void gate_apt_start_digest(const char *ledger, int lock);
/* `gate hook apt --digest-pending`: read the .deb of every pending
 * package whose files have no SHA-256 yet and keep each file's digest and
 * size, when the .deb is still the one decided. Returns the exit code. */
int gate_apt_digest(const char *ledger);

/* Read an allowed .deb for the pending table: its control fields, its
 * digest (checked against the decided one by the caller) and, per file,
 * the MD5 its md5sums lists (or, without md5sums, the SHA-256 of its
 * content). pkg is the caller's (gate_ledger_pkg_clear). Errors: those of
 * gate_deb_read_sums, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_apt_read_pending(const char *deb, struct gate_ledger_pkg *pkg,
					     struct gate_error *err);

#endif
