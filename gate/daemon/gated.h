/*
 * gated.h - the exec allowlisting daemon's shared state (internal to the
 * gated executable: gated.c runs the control thread, fan.c the fanotify
 * reader and the workers, alog.c the log writer, status.c the status file).
 * What each answer rests on (docs/EXEC.md, "Ways around it"): lease.c (no
 * writer during a decision, the size cap), guard.c with loader.c, interp.c
 * and elfinfo.c (the loader run as a program, interpreters by content),
 * pathtrust.c (paths gated can resolve back to the file), mounts.c and
 * mountinfo.c (mounts marked as they appear), posture.c (what marks cannot
 * close), ledgerwatch.c (the ledger followed by identity).
 *
 * Threads and what they may wait on:
 *   reader   poll() on the fanotify group; answers its own process, the
 *            off mode, non-interpreter opens, cache hits, deadlines and a
 *            full work queue itself; waits on nothing else.
 *   workers  one event at a time: hash through the event's descriptor,
 *            ledger, full policy decision. May block (slow evidence): the
 *            deadline answers for them.
 *   big      the same for files of 16 MiB or more, from a queue of their
 *            own (--workers/2 threads, at least one), so that huge files
 *            never hold up small ones.
 *   mounts   (--follow-mounts) waits on fanotify mount events and
 *            mountinfo, marks new mounts, re-checks the posture.
 *   log      drains the log queue into the audit sink; the only thread
 *            that writes audit events or diagnostics, so a blocked sink
 *            blocks nothing else (records beyond the queue are dropped and
 *            counted).
 *   control  signals (SIGHUP reload, SIGTERM stop), the status file and
 *            the ledger's identity every second, systemd readiness and
 *            watchdog.
 */
#ifndef GATE_HOOKS_EXEC_GATED_H
#define GATE_HOOKS_EXEC_GATED_H

#include "bqueue.h"
#include "verdict.h"
#include "gate_util.h"
#include "interp.h"
#include "lease.h"
#include "ledger.h"
#include "loader.h"
#include "pending.h"
#include "vcache.h"

#include <stdatomic.h>
#include <sys/types.h>

#define GATED_STATUS_DEFAULT "/run/gated/status.json"
#define GATED_POLICY_DEFAULT "/etc/gate/policy.yaml"
#define GATED_MAX_MARKS 64
#define GATED_MAX_INTERP 16
#define GATED_MAX_WORKERS 64
#define GATED_DEADLINE_MAX_MS 600000

struct gated_config {
	const char *policy;
	const char *ledger; /* NULL: no ledger step */
	const char *mounts[GATED_MAX_MARKS];
	size_t nmounts;
	const char *filesystems[GATED_MAX_MARKS];
	size_t nfilesystems;
	char *interpreters[GATED_MAX_INTERP]; /* resolved executables */
	size_t ninterpreters;
	int deadline_ms;
	unsigned workers;
	size_t cache, queue, log_queue;
	const char *status;
	const char *audit; /* NULL: the policy's audit.log, else syslog */
	int default_allow; /* -1 unset (deny), 0 deny, 1 allow: enforce mode only */
	int interp_inline; /* enum gated_inline: code from argv or stdin */
	bool loader_log;   /* --loader-as-program log: log the loader rule, allow */
	const char *follow[GATED_MAX_MARKS]; /* --follow-mounts (nsguard.h) */
	size_t nfollow;
	int posture;		 /* enum gated_posture */
	const char *sysctl_root; /* NULL: /proc/sys */
	uint64_t max_size;	 /* larger files are denied unhashed (lease.h) */
};

/* Counters of the status file; relaxed atomics. */
struct gated_counts {
	atomic_ullong events; /* permission events read */
	atomic_ullong allowed, denied;
	atomic_ullong deadline;	   /* answered with the default at the deadline */
	atomic_ullong queue_full;  /* answered with the default: work queue full */
	atomic_ullong self;	   /* our own opens, allowed at once */
	atomic_ullong passthrough; /* FAN_OPEN_PERM by a non-interpreter */
	atomic_ullong off;	   /* mode off: allowed without a decision */
	atomic_ullong ledger_hits;
	atomic_ullong decisions;    /* full policy decisions */
	atomic_ullong late;	    /* decisions finished after the deadline */
	atomic_ullong write_errors; /* an answer the kernel refused */
	atomic_ullong no_fd;	    /* events without a descriptor */
	atomic_ullong read_errors;  /* events the kernel could not hand over (it denied them) */
	atomic_ullong log_written;
	atomic_ullong guard_denied; /* loader run as a program, inline interpreter code */
};

/* A policy in use: a decision holds a reference for its whole length, so
 * a reload never frees a context under a worker. */
struct gated_policy {
	struct gate_ctx *ctx;
	enum gate_mode mode;
	unsigned refs; /* under gated.pol_lock */
};

struct gated {
	struct gated_config cfg;
	int fan_fd;
	int stop_fd; /* eventfd: wakes the reader to stop */
	pid_t self;
	struct gate_vcache *cache;
	struct gate_bqueue *work; /* struct gated_event * */
	struct gate_bqueue *big;  /* the same, for files of GATED_BIG_BYTES and more */
	struct gate_bqueue *logq; /* struct gated_rec * */
	struct gate_pending pending;
	pthread_mutex_t pol_lock;
	struct gated_policy *pol;
	atomic_int mode;
	struct gated_counts n;
	struct gated_lease_counts ls;
	struct gated_ledger_watch lw;
	atomic_ullong reader_beat;
	atomic_bool stopping;
	int64_t started; /* unix seconds */
	int64_t started_mono_ns;
	unsigned reloads, reload_failures;
	char reload_error[GATE_ERR_MSG_MAX + 300];

	/* guard.c; interps is NULL without --interpreter */
	struct gated_loaders *loaders;
	struct gated_interps *interps;
	struct gated_ns *ns; /* mounts and posture (nsguard.h) */
};

/* One permission event in flight (pending.h: answered once, closed once). */
struct gated_event {
	struct gate_pending_item link; /* first member */
	int fd;
	pid_t pid;
	uint64_t mask;
	struct gate_vcache_key key;
	struct gated_lease lease; /* released once answered (lease.h) */
};

/* ---- policy references (gated.c) ---- */
struct gated_policy *gated_policy_get(struct gated *g);
void gated_policy_put(struct gated *g, struct gated_policy *p);
bool gated_default_allows(const struct gated *g);

/* ---- fan.c ---- */
/* The fanotify group (sets g->fan_fd), then its marks. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gated_fan_init(struct gated *g, struct gate_error *err);
GATE_WUR enum gate_err gated_fan_mark(struct gated *g, struct gate_error *err);
void *gated_reader_main(void *arg);
void *gated_worker_main(void *arg);
void *gated_big_worker_main(void *arg); /* serves gated.big */
unsigned gated_big_workers(const struct gated *g);
/* Answer fd; false (and counted) when the kernel refused the answer. */
bool gated_respond(struct gated *g, int fd, bool allow);
/* The events every mark asks for. */
uint64_t gated_mark_mask(const struct gated *g);

/* ---- guard.c: the loader and interpreter rules (loader.h, interp.h) ---- */
/* Start (and SIGHUP, reload true): learn the loaders, hash the
 * interpreters. Errors: those of gated_interps_new. */
GATE_WUR enum gate_err gated_guard_setup(struct gated *g, bool reload, struct gate_error *err);
void gated_guard_free(struct gated *g);
/* Reader, an event answered from the verdict cache: the answer to give
 * (a cached allow of a loader can become a deny; *why says why). */
bool gated_guard_cached(struct gated *g, pid_t pid, int fd, const struct gate_vcache_val *v,
			const char **why);
/* Reader, an open (not an exec) by pid: 0 pass it at once (not an
 * interpreter), 1 a cached allow may answer it, 2 a worker decides. */
int gated_guard_open_fast(struct gated *g, pid_t pid);
/* Worker, an open by a process (not an exec): GATED_GUARD_DECIDE, or the
 * answer (PASS allows, DENY with *why). */
enum gated_guard { GATED_GUARD_DECIDE, GATED_GUARD_PASS, GATED_GUARD_DENY };
enum gated_guard gated_guard_open(struct gated *g, const struct gated_event *ev, const char **why);
/* Worker, an exec event with its digest: the loader rule (NULL, or why
 * to deny); marks cv as a loader's. */
const char *gated_guard_loader(struct gated *g, const struct gated_event *ev, const uint8_t *sha256,
			       struct gate_vcache_val *cv);
/* Worker, just BEFORE answering an exec that was not a loader's: records
 * the interpreter an allowed ELF names (into cv->interp); *learn: call
 * gated_guard_learn after the answer. */
void gated_guard_program(struct gated *g, const struct gated_event *ev, bool allowed,
			 struct gate_vcache_val *cv, bool *learn);
void gated_guard_learn(struct gated *g, const struct gate_vcache_val *cv);

/* ---- alog.c: every record is handed to the log thread or dropped ---- */
enum gated_src {
	GATED_SRC_POLICY,
	GATED_SRC_LEDGER,
	GATED_SRC_CACHE,
	GATED_SRC_DEADLINE,
	GATED_SRC_QUEUE_FULL,
	GATED_SRC_GUARD, /* guard.c: loader and interpreter rules */
	GATED_SRC_LEASE, /* lease.h: written to, changed, or too large */
};
/* A full decision: takes over v's contents (v is zeroed). late: the
 * deadline had already answered the kernel with the default. */
void gated_log_decision(struct gated *g, pid_t pid, struct gate_verdict *v, bool late);
/* An answer without a full decision (cache hit, default). */
void gated_log_fast(struct gated *g, pid_t pid, int fd, enum gated_src src, bool allowed,
		    enum gate_verdict_kind kind, const char *digest, const char *reason);
/* A daemon message (stderr, and the audit sink as a "daemon" event). */
void gated_log_msg(struct gated *g, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void *gated_log_main(void *arg);

/* ---- status.c ---- */
/* Rewrite the status file atomically. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gated_status_write(struct gated *g, bool running, struct gate_error *err);

#endif
