/*
 * lease.h - what gated holds still and bounds while it decides (docs/EXEC.md, attack
 * classes 1, 7 and 8): the executed bytes are the decided bytes, the
 * work per event is bounded, and the ledger is followed by identity.
 *
 * Bytes (lease.c). Every exec event that is decided (from the cache or by
 * a worker) first takes a read lease on the event's descriptor
 * (F_SETLEASE F_RDLCK). The kernel refuses it (EAGAIN) while anyone holds
 * the file open for writing: the exec is denied ("open for writing while
 * it is being executed"; the kernel would refuse such an exec with ETXTBSY
 * anyway). While the lease is held, an open for writing waits in
 * break_lease (with write access already taken, so the exec then fails
 * with ETXTBSY) and a non-blocking one fails with EWOULDBLOCK: nothing can
 * change the bytes between the fstat or hash and the answer. The lease is
 * let go only after the answer is written. A lease that was broken before
 * the answer (a writer waiting, or the kernel's lease-break-time passed
 * during a long decision) denies. The break signal (SIGIO) is ignored:
 * the lease is only ever asked about, never waited on.
 * Where leases are refused (EINVAL: a filesystem without them, or
 * fs.leases-enable=0), fstat before the decision and again before the
 * answer must agree (device, inode, size, mtime, ctime), else deny;
 * counted as no_lease and said once in the log.
 *
 * Work (lease.c, fan.c). A file over --max-size is denied at once,
 * without hashing. Hashing stops at the event's deadline. Files of
 * GATED_BIG_BYTES and more wait in a queue of their own with workers of
 * their own, so a few huge files cannot hold every worker while small
 * execs (ledger-vouched ones too) wait.
 *
 * Ledger (ledgerwatch.c). The control thread stats the ledger's path every
 * second; another device/inode (replaced by rename), its disappearance or
 * a SIGHUP starts a new ledger generation and empties the verdict cache;
 * workers then reopen it, or while it is missing allow nothing on its
 * word (decisions go on to the policy).
 */
#ifndef GATE_DAEMON_LEASE_H
#define GATE_DAEMON_LEASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define GATED_MAX_SIZE_DEFAULT (1ULL << 30)   /* --max-size: 1 GiB */
#define GATED_BIG_BYTES (16ULL * 1024 * 1024) /* the big-file queue from here */

struct gated;

enum gated_lease_kind { GATED_LEASE_NONE, GATED_LEASE_HELD, GATED_LEASE_STAT };

/* How one event's bytes are held still until its answer. */
struct gated_lease {
	enum gated_lease_kind kind;
	struct stat before; /* GATED_LEASE_STAT */
};

struct gated_lease_counts {
	atomic_ullong write_busy;    /* denied: open for writing at the exec */
	atomic_ullong changed;	     /* denied: lease broken or file changed before the answer */
	atomic_ullong no_lease;	     /* leases refused: guarded by fstat */
	atomic_ullong too_large;     /* denied at once: over --max-size */
	atomic_ullong cancelled;     /* hashes stopped at the deadline */
	atomic_ullong ledger_reopen; /* new ledger generations */
	atomic_bool no_lease_said;
};

struct gated_ledger_watch {
	atomic_uint gen;     /* workers reopen the ledger when it moves */
	atomic_bool missing; /* the path is gone: nothing is allowed on its word */
	bool seen;	     /* dev/ino below are the last seen (control thread) */
	dev_t dev;
	ino_t ino;
};

/* SIGIO (a lease being broken) must not stop the daemon: ignore it. */
void gated_lease_signals(void);
/* Hold fd's bytes still (st: its fstat, refreshed once held). False: deny
 * now, *why says why (and it is counted). Non-regular files: kind NONE. */
bool gated_lease_take(struct gated *g, int fd, struct stat *st, struct gated_lease *ls,
		      const char **why);
/* Are the bytes still the ones taken? False (counted) with *why. */
bool gated_lease_holds(struct gated *g, int fd, const struct gated_lease *ls, const char **why);
/* After the answer. Idempotent. */
void gated_lease_release(int fd, struct gated_lease *ls);
/* Over --max-size? True (counted) with *why. */
bool gated_too_large(struct gated *g, const struct stat *st, const char **why);
/* The answer for a lease's or the size cap's deny: deny in enforce mode, allow (logged) in
 * audit mode. */
bool gated_lease_answer(const struct gated *g);

/* ---- ledgerwatch.c ---- */
/* Control thread, every tick: notice the ledger replaced, gone or back. */
void gated_ledger_watch(struct gated *g);
/* SIGHUP: reopen whatever is at the path now. */
void gated_ledger_reopen(struct gated *g);

#endif
