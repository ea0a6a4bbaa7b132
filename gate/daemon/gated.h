/*
 * gated.h - the exec allowlisting daemon's shared state (internal to the
 * gated executable: gated.c runs the control thread, fan.c the fanotify
 * reader and the workers, alog.c the log writer, status.c the status file).
 *
 * Threads and what they may wait on:
 *   reader   poll() on the fanotify group; answers its own process, the
 *            off mode, non-interpreter opens, cache hits, deadlines and a
 *            full work queue itself; waits on nothing else.
 *   workers  one event at a time: hash through the event's descriptor,
 *            ledger, full policy decision. May block (slow evidence): the
 *            deadline answers for them.
 *   log      drains the log queue into the audit sink; the only thread
 *            that writes audit events or diagnostics, so a blocked sink
 *            blocks nothing else (records beyond the queue are dropped and
 *            counted).
 *   control  signals (SIGHUP reload, SIGTERM stop), the status file every
 *            second, systemd readiness and watchdog.
 */
#ifndef GATE_HOOKS_EXEC_GATED_H
#define GATE_HOOKS_EXEC_GATED_H

#include "bqueue.h"
#include "verdict.h"
#include "gate_util.h"
#include "guard.h"
#include "ledger.h"
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
	uint64_t max_size; /* larger files are denied unhashed (guard.h) */
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
	struct gated_guard_counts gs;
	struct gated_ledger_watch lw;
	atomic_ullong reader_beat;
	atomic_bool stopping;
	int64_t started; /* unix seconds */
	int64_t started_mono_ns;
	unsigned reloads, reload_failures;
	char reload_error[GATE_ERR_MSG_MAX + 300];
};

/* One permission event in flight (pending.h: answered once, closed once). */
struct gated_event {
	struct gate_pending_item link; /* first member */
	int fd;
	pid_t pid;
	uint64_t mask;
	struct gate_vcache_key key;
	struct gated_guard guard; /* released once answered (guard.h) */
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

/* ---- alog.c: every record is handed to the log thread or dropped ---- */
enum gated_src {
	GATED_SRC_POLICY,
	GATED_SRC_LEDGER,
	GATED_SRC_CACHE,
	GATED_SRC_DEADLINE,
	GATED_SRC_QUEUE_FULL,
	GATED_SRC_GUARD, /* guard.h: written to, changed, or too large */
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
