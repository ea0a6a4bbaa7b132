/* fan.c - the fanotify side of gated: the group and its marks, the reader
 * thread that answers everything it can at once and hands the rest to the
 * workers, and the workers (DESIGN "Install ledger and exec
 * allowlisting": cache, then ledger by digest, then a full decision).
 *
 * The one rule everywhere: the answer to the kernel is written before
 * anything is cached or logged, and nothing the reader does can wait on a
 * worker, the log writer or the disk. */
#include "gated.h"
#include "nsguard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF (64 * 1024)
#define READS_PER_ROUND 16 /* then deadlines are looked at again */
#define LEDGER_RETRY_NS (10 * 1000000000LL)

/* ---- the group ---- */

uint64_t gated_mark_mask(const struct gated *g)
{
	return FAN_OPEN_EXEC_PERM | (g->cfg.ninterpreters ? FAN_OPEN_PERM : 0);
}

static enum gate_err mark(struct gated *g, unsigned kind, const char *path, struct gate_error *err)
{
	if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | kind, gated_mark_mask(g), AT_FDCWD, path) == 0)
		return GATE_OK;
	return gate_fail(err, GATE_E_IO, NULL, kind == FAN_MARK_MOUNT ? "--mount" : "--filesystem",
			 "cannot mark %s: %s", path, strerror(errno));
}

enum gate_err gated_fan_init(struct gated *g, struct gate_error *err)
{
	/* FAN_UNLIMITED_QUEUE: with a bounded kernel queue an overflowing
	 * permission event is dropped, which the kernel treats as allowed. */
	g->fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
					  FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
				  O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->fan_fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, "fanotify",
				 "fanotify_init(FAN_CLASS_CONTENT): %s%s", strerror(errno),
				 errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	return GATE_OK;
}

enum gate_err gated_fan_mark(struct gated *g, struct gate_error *err)
{
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; rc == GATE_OK && i < g->cfg.nmounts; i++)
		rc = mark(g, FAN_MARK_MOUNT, g->cfg.mounts[i], err);
	for (size_t i = 0; rc == GATE_OK && i < g->cfg.nfilesystems; i++)
		rc = mark(g, FAN_MARK_FILESYSTEM, g->cfg.filesystems[i], err);
	return rc;
}

bool gated_respond(struct gated *g, int fd, bool allow)
{
	struct fanotify_response r = {.fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY};
	ssize_t w;
	do
		w = write(g->fan_fd, &r, sizeof r);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof r) {
		atomic_fetch_add_explicit(&g->n.write_errors, 1, memory_order_relaxed);
		return false;
	}
	atomic_fetch_add_explicit(allow ? &g->n.allowed : &g->n.denied, 1, memory_order_relaxed);
	return true;
}

static void count(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- events in flight ---- */

static void event_put(struct gated_event *ev)
{
	if (!gate_pending_put(&ev->link))
		return;
	close(ev->fd);
	free(ev);
}

/* The default answer, once, for an event nobody answered in time. */
static void answer_default(struct gated *g, struct gated_event *ev, enum gated_src why)
{
	if (!gate_pending_claim(&ev->link))
		return;
	bool allow = gated_default_allows(g);
	gated_respond(g, ev->fd, allow);
	count(why == GATED_SRC_DEADLINE ? &g->n.deadline : &g->n.queue_full);
	gated_log_fast(g, ev->pid, ev->fd, why, allow, GATE_VERDICT_ERROR, NULL,
		       why == GATED_SRC_DEADLINE ? "no decision before the deadline"
						 : "the work queue is full");
}

static void on_expired(void *ctx, struct gate_pending_item *it)
{
	struct gated_event *ev = (struct gated_event *)it;
	answer_default(ctx, ev, GATED_SRC_DEADLINE);
	event_put(ev); /* the deadline list's reference */
}

static void expire_due(struct gated *g)
{
	gate_pending_expire(&g->pending, gate_now_ns(), on_expired, g);
}

/* ---- the reader ---- */

static void answer_now(struct gated *g, int fd, bool allow, atomic_ullong *c)
{
	gated_respond(g, fd, allow);
	count(c);
	close(fd);
}

/* Hand an event to a worker, with its deadline; a full queue is answered
 * with the default at once. */
static void dispatch(struct gated *g, const struct fanotify_event_metadata *md,
		     const struct gate_vcache_key *k, const struct gated_lease *ls)
{
	struct gated_event *ev = malloc(sizeof(*ev));
	if (!ev) {
		answer_now(g, md->fd, gated_default_allows(g), &g->n.queue_full);
		return;
	}
	gate_pending_item_init(&ev->link, 2); /* the deadline list + a worker */
	ev->fd = md->fd;
	ev->pid = md->pid;
	ev->mask = md->mask;
	ev->key = *k;
	ev->lease = *ls;
	gate_pending_add(&g->pending, &ev->link,
			 gate_now_ns() + (int64_t)g->cfg.deadline_ms * 1000000LL);
	/* Big files wait apart: hashing them cannot hold up small ones. */
	if (gate_bqueue_push(k->size >= GATED_BIG_BYTES ? g->big : g->work, ev))
		return;
	if (gate_pending_remove(&g->pending, &ev->link))
		event_put(ev);
	answer_default(g, ev, GATED_SRC_QUEUE_FULL);
	event_put(ev); /* the worker's reference: no worker will see it */
}

/* A lease's or the size cap's deny (lease.h), answered now; the lease is
 * let go after. */
static void lease_deny(struct gated *g, int fd, pid_t pid, struct gated_lease *ls, const char *why)
{
	bool allow = gated_lease_answer(g);
	gated_respond(g, fd, allow);
	gated_lease_release(fd, ls);
	gated_log_fast(g, pid, fd, GATED_SRC_LEASE, allow, GATE_VERDICT_DENY, NULL, why);
}

/* What the reader answers without a worker: its own process, the off
 * mode, opens of non-regular files, and opens by processes that are not
 * configured interpreters (guard.c). Returns false for events to decide. */
static bool answer_fast(struct gated *g, const struct fanotify_event_metadata *md,
			const struct stat *st, bool stat_ok)
{
	atomic_ullong *c = NULL;
	bool exec = (md->mask & FAN_OPEN_EXEC_PERM) != 0;
	if (md->pid == g->self) /* never ask about ourselves */
		c = &g->n.self;
	else if (atomic_load(&g->mode) == GATE_MODE_OFF)
		c = &g->n.off;
	else if (!exec && (!stat_ok || !S_ISREG(st->st_mode) || !gated_guard_open_fast(g, md->pid)))
		c = &g->n.passthrough;
	if (!c)
		return false;
	answer_now(g, md->fd, true, c);
	return true;
}

static void handle(struct gated *g, const struct fanotify_event_metadata *md)
{
	struct stat st;
	struct gate_vcache_key k;
	struct gate_vcache_val v;
	count(&g->n.events);
	bool stat_ok = fstat(md->fd, &st) == 0;
	if (answer_fast(g, md, &st, stat_ok))
		return;
	if (!stat_ok)
		memset(&st, 0, sizeof st); /* a worker words the error */
	/* Bounded work and held bytes before anything is looked up (lease.h). */
	struct gated_lease ls = {.kind = GATED_LEASE_NONE};
	const char *why = NULL;
	if (gated_too_large(g, &st, &why) ||
	    ((md->mask & FAN_OPEN_EXEC_PERM) && !gated_lease_take(g, md->fd, &st, &ls, &why))) {
		lease_deny(g, md->fd, md->pid, &ls, why);
		close(md->fd);
		return;
	}
	gate_vcache_key_from_stat(&st, &k);
	bool exec = (md->mask & FAN_OPEN_EXEC_PERM) != 0;
	gated_key_place(md->fd, &k); /* the mount: nsguard.h */
	/* An interpreter's open: a cached allow answers it only when guard.c
	 * has nothing to look at in a worker. */
	if (!stat_ok || !S_ISREG(st.st_mode) || (!exec && gated_guard_open_fast(g, md->pid) != 1) ||
	    !gate_vcache_lookup(g->cache, &k, &v) || (!exec && !v.allowed)) {
		dispatch(g, md, &k, &ls);
		return;
	}
	/* A lease needs no second look here: a writer arriving now waits
	 * with write access taken, so the exec fails with ETXTBSY. */
	if (ls.kind == GATED_LEASE_STAT && !gated_lease_holds(g, md->fd, &ls, &why)) {
		lease_deny(g, md->fd, md->pid, &ls, why);
		close(md->fd);
		return;
	}
	bool allow = exec ? gated_guard_cached(g, md->pid, md->fd, &v, &why) : v.allowed;
	if (why && !allow)
		count(&g->n.guard_denied);
	gated_respond(g, md->fd, allow);
	gated_lease_release(md->fd, &ls);
	if (why)
		gated_log_fast(g, md->pid, md->fd, GATED_SRC_GUARD, allow, GATE_VERDICT_DENY,
			       v.digest, why);
	else if (v.kind != GATE_VERDICT_ALLOW)
		gated_log_fast(g, md->pid, md->fd, GATED_SRC_CACHE, v.allowed, v.kind, v.digest,
			       "cached answer");
	close(md->fd);
}

static bool read_events(struct gated *g, char *buf)
{
	for (int round = 0; round < READS_PER_ROUND; round++) {
		ssize_t len = read(g->fan_fd, buf, READ_BUF);
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (len < 0) {
			/* The kernel could not give us the event (out of
			 * descriptors or memory): it has denied it itself and
			 * dropped it, so the next read makes progress. */
			count(&g->n.read_errors);
			continue;
		}
		const struct fanotify_event_metadata *md = (const void *)buf;
		for (; FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
			if (md->vers != FANOTIFY_METADATA_VERSION) {
				gated_log_msg(g, "fatal",
					      "fanotify metadata version %u, expected %u", md->vers,
					      FANOTIFY_METADATA_VERSION);
				return false;
			}
			if (md->fd < 0) { /* FAN_Q_OVERFLOW or no descriptor: nothing to answer */
				count(&g->n.no_fd);
				continue;
			}
			if (md->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM))
				handle(g, md);
			else
				close(md->fd);
		}
		expire_due(g);
		/* The kernel fills the buffer while it has events: room left
		 * means the queue was empty, so back to poll without a read
		 * that would only say EAGAIN. */
		if (len < READ_BUF - 4096)
			return true;
	}
	return true;
}

static void answer_all_pending(struct gated *g)
{
	gate_pending_expire(&g->pending, INT64_MAX, on_expired, g);
}

void *gated_reader_main(void *arg)
{
	struct gated *g = arg;
	static _Alignas(struct fanotify_event_metadata) char buf[READ_BUF];
	struct pollfd fds[2] = {{.fd = g->fan_fd, .events = POLLIN},
				{.fd = g->stop_fd, .events = POLLIN}};
	for (;;) {
		atomic_fetch_add(&g->reader_beat, 1);
		int timeout = gate_pending_timeout_ms(&g->pending, gate_now_ns(), 1000);
		int r = poll(fds, 2, timeout);
		expire_due(g);
		if (r < 0 && errno != EINTR) {
			gated_log_msg(g, "fatal", "poll: %s", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		if (fds[1].revents & POLLIN)
			break;
		if ((fds[0].revents & POLLIN) && !read_events(g, buf))
			break;
	}
	/* Stopping: whatever is still undecided gets the default now, not
	 * the allow the kernel gives when the group goes away. */
	answer_all_pending(g);
	atomic_store(&g->stopping, true);
	return NULL;
}

/* ---- the workers ---- */

struct worker {
	struct gated *g;
	struct gate_ledger *ledger;
	int64_t ledger_next_try;
	unsigned ledger_gen; /* of g->lw when opened (lease.h) */
};

static void fd_path(int fd, char *out, size_t cap)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, cap - 1);
	if (n <= 0)
		snprintf(out, cap, "(descriptor %d)", fd);
	else
		out[n] = '\0';
}

/* The ledger is opened lazily and again after a failure (at most every
 * LEDGER_RETRY_NS), so a ledger that appears after the daemon started
 * (first apt install) is picked up. */
static bool ledger_has(struct worker *w, const uint8_t *sha256)
{
	struct gate_error e = {0};
	bool found = false;
	if (!w->g->cfg.ledger)
		return false;
	unsigned gen = atomic_load(&w->g->lw.gen);
	if (gen != w->ledger_gen) { /* replaced, gone or SIGHUP: ledgerwatch.c */
		gate_ledger_close(w->ledger);
		w->ledger = NULL;
		w->ledger_next_try = 0;
		w->ledger_gen = gen;
	}
	if (atomic_load(&w->g->lw.missing))
		return false;
	if (!w->ledger) {
		int64_t now = gate_now_ns();
		if (now < w->ledger_next_try)
			return false;
		w->ledger_next_try = now + LEDGER_RETRY_NS;
		if (gate_ledger_open(w->g->cfg.ledger, true, &w->ledger, &e) != GATE_OK) {
			gated_log_msg(w->g, "ledger", "ledger %s: %s (retrying in 10 s)",
				      w->g->cfg.ledger, e.msg);
			return false;
		}
	}
	if (gate_ledger_has_digest(w->ledger, sha256, &found, &e) != GATE_OK) {
		gated_log_msg(w->g, "ledger", "ledger lookup: %s", e.msg);
		gate_ledger_close(w->ledger);
		w->ledger = NULL;
		return false;
	}
	return found;
}

/* Answer the worker's decision unless the deadline already did. */
static bool worker_answer(struct gated *g, struct gated_event *ev, bool allow)
{
	if (!gate_pending_claim(&ev->link)) {
		count(&g->n.late);
		gated_lease_release(ev->fd, &ev->lease);
		return false;
	}
	gated_respond(g, ev->fd, allow);
	gated_lease_release(ev->fd, &ev->lease); /* only now: lease.h */
	return true;
}

/* Before any allow: the bytes decided are still the bytes to run. */
static bool lease_holds(struct gated *g, struct gated_event *ev)
{
	const char *why = NULL;
	if (gated_lease_holds(g, ev->fd, &ev->lease, &why))
		return true;
	if (gate_pending_claim(&ev->link))
		lease_deny(g, ev->fd, ev->pid, &ev->lease, why);
	else
		gated_lease_release(ev->fd, &ev->lease);
	return false;
}

static bool deadline_passed(void *arg)
{
	return gate_pending_claimed(arg);
}

static void remember(struct gated *g, const struct gated_event *ev, uint64_t gen,
		     const struct gate_vcache_val *v)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (!gate_vcache_racy(&ev->key, &now))
		gate_vcache_insert(g->cache, &ev->key, gen, v);
}

/* The loader or an interpreter's inline code, refused (guard.c); audit
 * mode logs it and allows. */
static void guard_deny(struct gated *g, struct gated_event *ev, const char *why,
		       const struct gate_artifact *a, bool log_only)
{
	char hex[65] = "";
	bool allow = log_only || atomic_load(&g->mode) != GATE_MODE_ENFORCE;
	if (a)
		gate_artifact_sha256_hex(a, hex);
	/* log_only: the policy decides next and answers. */
	if (!log_only && worker_answer(g, ev, allow) && !allow)
		count(&g->n.guard_denied);
	gated_log_fast(g, ev->pid, ev->fd, GATED_SRC_GUARD, allow, GATE_VERDICT_DENY,
		       a ? hex : NULL, why);
}

/* An open by a process: true when it is to be decided as a script. */
static bool guard_open(struct gated *g, struct gated_event *ev)
{
	const char *why = NULL;
	enum gated_guard r = gated_guard_open(g, ev, &why);
	if (r == GATED_GUARD_DECIDE)
		return true;
	if (r == GATED_GUARD_DENY) {
		guard_deny(g, ev, why, NULL, false);
		return false;
	}
	if (worker_answer(g, ev, true))
		count(&g->n.passthrough);
	return false;
}

static void decide_event(struct worker *w, struct gated_event *ev)
{
	struct gated *g = w->g;
	char path[PATH_MAX];
	struct gate_artifact *a = NULL;
	struct gate_verdict v;
	struct gate_vcache_val cv = {0};
	struct gate_vcache_val gv = {0}; /* guard.c's bits */
	bool exec = (ev->mask & FAN_OPEN_EXEC_PERM) != 0, learn = false;
	const char *why = NULL;
	char unresolved[PATH_MAX + 128];
	if (!guard_open(g, ev))
		return;
	fd_path(ev->fd, path, sizeof path);
	/* Decided on a name that leads back to this file, or on none (nsguard.h). */
	bool resolved =
		gated_path_resolve(ev->fd, path, sizeof path, unresolved, sizeof unresolved);
	uint64_t gen = gate_vcache_generation(g->cache); /* before the policy: vcache.h */
	struct gated_policy *p = gated_policy_get(g);
	struct gate_cancel cancel = {.fn = deadline_passed, .arg = &ev->link};
	bool hashed = gate_artifact_from_fd_cancel(ev->fd, path, &cancel, &a, NULL) == GATE_OK;
	if (!hashed && gate_pending_claimed(&ev->link)) {
		count(&g->ls.cancelled); /* the deadline answered: stop */
		goto out;
	}
	if (exec &&
	    (why = gated_guard_loader(g, ev, hashed ? gate_artifact_sha256(a) : NULL, &gv))) {
		guard_deny(g, ev, why, a, g->cfg.loader_log);
		if (!g->cfg.loader_log)
			goto out;
		why = NULL; /* logged: the policy decides as for any program */
	}
	if (hashed && ledger_has(w, gate_artifact_sha256(a))) {
		count(&g->n.ledger_hits);
		if (!lease_holds(g, ev))
			goto out;
		if (exec) /* before the answer: the loader's event follows it */
			gated_guard_program(g, ev, true, &gv, &learn);
		cv = (struct gate_vcache_val){.allowed = true,
					      .kind = GATE_VERDICT_ALLOW,
					      .src = GATE_VCACHE_SRC_LEDGER,
					      .flags = gv.flags,
					      .interp = gv.interp};
		gate_artifact_sha256_hex(a, cv.digest);
		if (worker_answer(g, ev, true))
			gated_log_fast(g, ev->pid, ev->fd, GATED_SRC_LEDGER, true,
				       GATE_VERDICT_ALLOW, cv.digest,
				       "vouched for by the install ledger");
		remember(g, ev, gen, &cv);
		goto out;
	}
	/* Without an artifact, gate_decide_fd words the read error. */
	enum gate_err rc = a ? gate_decide_artifact(p->ctx, a, path, GATE_CALLER_EXEC, &v)
			     : gate_decide_fd(p->ctx, ev->fd, path, GATE_CALLER_EXEC, &v);
	count(&g->n.decisions);
	if (!lease_holds(g, ev)) { /* the bytes decided are gone: lease.h */
		if (rc == GATE_OK)
			gate_verdict_clear(&v);
		goto out;
	}
	if (rc == GATE_OK && !resolved)
		gated_path_unresolved_verdict(p->ctx, &v, unresolved);
	bool allow = rc == GATE_OK ? v.allowed : gated_default_allows(g);
	if (exec) /* before the answer: the loader's event follows it */
		gated_guard_program(g, ev, allow, &gv, &learn);
	if (rc != GATE_OK) {
		worker_answer(g, ev, allow);
		goto out;
	}
	bool answered = worker_answer(g, ev, v.allowed);
	if (v.kind != GATE_VERDICT_ERROR && resolved) {
		cv = (struct gate_vcache_val){.allowed = v.allowed,
					      .kind = (uint8_t)v.kind,
					      .src = GATE_VCACHE_SRC_POLICY,
					      .flags = gv.flags,
					      .interp = gv.interp};
		memcpy(cv.digest, v.digest, sizeof cv.digest);
		remember(g, ev, gen, &cv);
	}
	gated_log_decision(g, ev->pid, &v, !answered);
	gate_verdict_clear(&v);
out:
	if (learn)
		gated_guard_learn(g, &gv);
	gate_artifact_free(a);
	gated_policy_put(g, p);
}

/* Load libmagic's database and OpenSSL's tables in this thread before the
 * first real event, so that the first exec costs its hash and not our
 * start-up. The built-in deny-all policy: no evidence store is asked. */
static void warm_up(void)
{
	struct gate_policy *p = NULL;
	struct gate_ctx *ctx = NULL;
	struct gate_ctx_opts o = {.no_audit = true};
	struct gate_verdict v;
	int fd = memfd_create("gated-warm-up", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (gate_policy_default(&p, NULL) == GATE_OK &&
	    gate_ctx_new(p, &o, &ctx, NULL) == GATE_OK) {
		p = NULL; /* the context owns it */
		if (gate_decide_fd(ctx, fd, "/gated-warm-up", GATE_CALLER_EXEC, &v) == GATE_OK)
			gate_verdict_clear(&v);
	}
	gate_ctx_free(ctx);
	gate_policy_free(p);
	close(fd);
}

static void *worker_loop(struct gated *g, struct gate_bqueue *q)
{
	struct worker w = {.g = g};
	struct gated_event *ev;
	warm_up();
	while ((ev = gate_bqueue_pop(q, -1))) {
		/* Skip the work when the deadline (or shutdown) answered first. */
		if (!gate_pending_claimed(&ev->link))
			decide_event(&w, ev);
		if (gate_pending_remove(&w.g->pending, &ev->link))
			event_put(ev);
		event_put(ev);
	}
	gate_ledger_close(w.ledger);
	return NULL;
}

void *gated_worker_main(void *arg)
{
	struct gated *g = arg;
	return worker_loop(g, g->work);
}

void *gated_big_worker_main(void *arg)
{
	struct gated *g = arg;
	return worker_loop(g, g->big);
}

unsigned gated_big_workers(const struct gated *g)
{
	return g->cfg.workers / 2 ? g->cfg.workers / 2 : 1;
}
