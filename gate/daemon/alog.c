/* alog.c - gated's audit events and diagnostics, written by one thread.
 *
 * Every producer (reader, workers, control) only builds a record and
 * offers it to a bounded queue; a full queue drops it and counts the drop
 * (gate_bqueue_push never waits). The log thread is the only one that
 * opens or writes the sink, so a sink that blocks - journald stuck behind
 * an exec this daemon has to answer, a FIFO nobody reads, a hung NFS
 * file - blocks only this thread (fapolicyd's notify.c learnt this the
 * hard way). Events are JSON lines, one write() or syslog() each:
 *   {"event":"decision","daemon":"gated","source":"policy|ledger|cache|deadline|queue_full|guard|lease",...}
 *   (a full decision that finished after its deadline has "late":true: the
 *   kernel got the deadline's default, logged before it)
 *   {"event":"unexpected_signer",...}   (as gate's own audit events)
 *   {"event":"log_dropped","count":N}   (after a gap)
 *   {"event":"reload"|"ledger"|"fatal"|...,"message":"..."}
 * Every deny is logged, and every allow that came from a full decision or
 * the ledger (with the digest that ran); cached allows are only counted. */
#include "gated.h"
#include "signer.h"
#include "verdict.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum rec_kind { REC_DECISION, REC_FAST, REC_MSG };

struct gated_rec {
	enum rec_kind kind;
	int64_t time;
	pid_t pid;
	enum gated_src src;
	bool late;
	struct gate_verdict v; /* REC_DECISION, and path/digest/reason of REC_FAST */
	char *event, *msg;     /* REC_MSG */
};

static void rec_free(struct gated_rec *r)
{
	if (!r)
		return;
	gate_verdict_clear(&r->v);
	free(r->event);
	free(r->msg);
	free(r);
}

static void offer(struct gated *g, struct gated_rec *r)
{
	if (!gate_bqueue_push(g->logq, r))
		rec_free(r); /* counted by the queue */
}

static struct gated_rec *rec_new(enum rec_kind kind, pid_t pid)
{
	struct gated_rec *r = calloc(1, sizeof(*r));
	if (r) {
		r->kind = kind;
		r->pid = pid;
		r->time = (int64_t)time(NULL);
	}
	return r;
}

void gated_log_decision(struct gated *g, pid_t pid, struct gate_verdict *v, bool late)
{
	struct gated_rec *r = rec_new(REC_DECISION, pid);
	if (!r)
		return;
	r->src = GATED_SRC_POLICY;
	r->late = late;
	r->v = *v;
	memset(v, 0, sizeof(*v));
	offer(g, r);
}

void gated_log_fast(struct gated *g, pid_t pid, int fd, enum gated_src src, bool allowed,
		    enum gate_verdict_kind kind, const char *digest, const char *reason)
{
	char link[64], path[4096];
	struct gated_rec *r = rec_new(REC_FAST, pid);
	if (!r)
		return;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	path[n > 0 ? n : 0] = '\0';
	r->src = src;
	r->v.allowed = allowed;
	r->v.kind = kind;
	r->v.mode = (enum gate_mode)atomic_load(&g->mode);
	r->v.caller = GATE_CALLER_EXEC;
	r->v.time = r->time;
	r->v.path = strdup(path);
	if (digest)
		snprintf(r->v.digest, sizeof r->v.digest, "%s", digest);
	snprintf(r->v.reason, sizeof r->v.reason, "%s", reason);
	offer(g, r);
}

void gated_log_msg(struct gated *g, const char *event, const char *fmt, ...)
{
	va_list ap;
	struct gated_rec *r = rec_new(REC_MSG, 0);
	if (!r)
		return;
	va_start(ap, fmt);
	if (vasprintf(&r->msg, fmt, ap) < 0)
		r->msg = NULL;
	va_end(ap);
	r->event = strdup(event);
	if (!r->msg || !r->event) {
		rec_free(r);
		return;
	}
	offer(g, r);
}

/* ---- JSON ---- */

static const char *src_name(enum gated_src s)
{
	static const char *const names[] = {"policy",	  "ledger", "cache", "deadline",
					    "queue_full", "guard",  "lease"};
	return names[s];
}

static json_t *base(const char *type, const struct gated_rec *r)
{
	json_t *o = gate_verdict_event_json(type, &r->v);
	json_object_set_new(o, "daemon", json_string("gated"));
	json_object_set_new(o, "time", json_integer(r->time));
	json_object_set_new(o, "pid", json_integer(r->pid));
	return o;
}

static json_t *decision_json(const struct gated_rec *r)
{
	const struct gate_verdict *v = &r->v;
	json_t *o = base("decision", r);
	json_object_set_new(o, "source", json_string(src_name(r->src)));
	if (r->late) /* the kernel got the deadline's default, not this */
		json_object_set_new(o, "late", json_true());
	gate_verdict_put_json(o, v, GATE_VJ_MODE | GATE_VJ_SIGNERS);
	return o;
}

/* ---- the sink ---- */

struct sink {
	const char *name; /* "stderr", "syslog" or a path */
	int fd;		  /* -1: not open (or syslog) */
	bool syslog, failed;
};

static void sink_open(struct gated *g, struct sink *s)
{
	if (strcmp(s->name, "stderr") == 0) {
		s->fd = STDERR_FILENO;
	} else if (strcmp(s->name, "syslog") == 0) {
		s->syslog = true;
		openlog("gated", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	} else {
		/* Opened here, not at start-up: opening a FIFO for writing
		 * waits for a reader, and only this thread may wait. */
		s->fd = open(s->name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (s->fd < 0 && !s->failed) {
			s->failed = true;
			fprintf(stderr, "gated: cannot open the audit log %s: %s\n", s->name,
				strerror(errno));
		}
	}
	(void)g;
}

static void sink_write(struct gated *g, struct sink *s, json_t *ev)
{
	char *line = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line)
		return;
	if (s->syslog) {
		syslog(LOG_NOTICE, "%s", line);
	} else if (s->fd >= 0) {
		size_t n = strlen(line);
		line[n] = '\n';
		ssize_t w;
		do
			w = write(s->fd, line, n + 1);
		while (w < 0 && errno == EINTR);
		line[n] = '\0';
		if (w < 0)
			goto out;
	} else {
		goto out;
	}
	atomic_fetch_add_explicit(&g->n.log_written, 1, memory_order_relaxed);
out:
	free(line);
}

static void write_rec(struct gated *g, struct sink *s, const struct gated_rec *r)
{
	if (r->kind == REC_MSG) {
		fprintf(stderr, "gated: %s: %s\n", r->event, r->msg);
		if (s->fd == STDERR_FILENO)
			return;
		json_t *o = json_object();
		json_object_set_new(o, "event", gate_json_text(r->event));
		json_object_set_new(o, "daemon", json_string("gated"));
		json_object_set_new(o, "time", json_integer(r->time));
		json_object_set_new(o, "message", gate_json_text(r->msg));
		sink_write(g, s, o);
		json_decref(o);
		return;
	}
	json_t *o = decision_json(r);
	sink_write(g, s, o);
	json_decref(o);
	/* As gate's own audit: a valid signature by a signer no set names. */
	for (size_t i = 0; i < r->v.nevidence; i++) {
		const struct gate_evidence_result *e = &r->v.evidence[i];
		if (!e->verified || e->in_policy)
			continue;
		json_t *u = base("unexpected_signer", r);
		json_object_set_new(u, "signer", gate_facts_signer_json(e->facts));
		json_object_set_new(u, "evidence", gate_json_text(e->source ? e->source : ""));
		sink_write(g, s, u);
		json_decref(u);
	}
}

static void report_drops(struct gated *g, struct sink *s, uint64_t *reported)
{
	struct gate_bqueue_stats st;
	gate_bqueue_get_stats(g->logq, &st);
	if (st.dropped == *reported)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string("log_dropped"));
	json_object_set_new(o, "daemon", json_string("gated"));
	json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
	json_object_set_new(o, "count", json_integer((json_int_t)(st.dropped - *reported)));
	*reported = st.dropped;
	sink_write(g, s, o);
	json_decref(o);
}

void *gated_log_main(void *arg)
{
	struct gated *g = arg;
	struct sink s = {.name = g->cfg.audit, .fd = -1};
	uint64_t reported = 0;
	struct gated_rec *r;
	sink_open(g, &s);
	while ((r = gate_bqueue_pop(g->logq, -1))) {
		if (!s.syslog && s.fd < 0)
			sink_open(g, &s);
		write_rec(g, &s, r);
		rec_free(r);
		report_drops(g, &s, &reported);
	}
	if (s.fd > STDERR_FILENO)
		close(s.fd);
	if (s.syslog)
		closelog();
	return NULL;
}
