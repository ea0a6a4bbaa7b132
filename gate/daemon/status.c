/* status.c - the status file `gate status` reads: one JSON object,
 * rewritten every second by the control thread through gate_atomic (a
 * temporary file and rename()), so a reader sees the old or the new file,
 * never half. */
#include "gated.h"
#include "nsguard.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static json_int_t ld(atomic_ullong *c)
{
	return (json_int_t)atomic_load_explicit(c, memory_order_relaxed);
}

static json_t *counts_json(struct gated *g)
{
	struct gated_counts *n = &g->n;
	json_t *o = json_pack(
		"{sI sI sI sI sI sI sI sI sI sI sI sI sI sI}", "events", ld(&n->events), "allowed",
		ld(&n->allowed), "denied", ld(&n->denied), "deadline", ld(&n->deadline),
		"queue_full", ld(&n->queue_full), "self", ld(&n->self), "passthrough",
		ld(&n->passthrough), "off", ld(&n->off), "ledger", ld(&n->ledger_hits), "decisions",
		ld(&n->decisions), "late", ld(&n->late), "write_errors", ld(&n->write_errors),
		"no_fd", ld(&n->no_fd), "read_errors", ld(&n->read_errors));
	/* guard.c: loaders run as programs, interpreters' inline code */
	if (o)
		json_object_set_new(o, "guard_denied", json_integer(ld(&n->guard_denied)));
	return o;
}

static json_t *lease_json(struct gated *g)
{
	struct gated_lease_counts *n = &g->ls;
	return json_pack("{sI sI sI sI sI sI sI}", "write_busy", ld(&n->write_busy), "changed",
			 ld(&n->changed), "no_lease", ld(&n->no_lease), "too_large",
			 ld(&n->too_large), "cancelled", ld(&n->cancelled), "ledger_reopen",
			 ld(&n->ledger_reopen), "max_size", (json_int_t)g->cfg.max_size);
}

static json_t *queue_json(struct gate_bqueue *q)
{
	struct gate_bqueue_stats s;
	gate_bqueue_get_stats(q, &s);
	return json_pack("{sI sI sI sI}", "depth", (json_int_t)s.depth, "capacity",
			 (json_int_t)s.capacity, "max_depth", (json_int_t)s.max_depth, "dropped",
			 (json_int_t)s.dropped);
}

static json_t *status_json(struct gated *g, bool running)
{
	struct gate_vcache_stats cs;
	gate_vcache_get_stats(g->cache, &cs);
	int64_t up = (gate_now_ns() - g->started_mono_ns) / 1000000000LL;
	json_t *log = queue_json(g->logq);
	json_object_set_new(log, "written", json_integer(ld(&g->n.log_written)));
	json_t *o = json_pack(
		"{si sb sI sI sI ss ss ss si si so so so so}", "version", 1, "running", running,
		"pid", (json_int_t)g->self, "time", (json_int_t)time(NULL), "uptime",
		(json_int_t)up, "mode", gate_mode_name((enum gate_mode)atomic_load(&g->mode)),
		"policy", g->cfg.policy, "default", gated_default_allows(g) ? "allow" : "deny",
		"deadline_ms", g->cfg.deadline_ms, "workers", (int)g->cfg.workers, "counts",
		counts_json(g), "cache",
		json_pack("{sI sI sI sI sI}", "hits", (json_int_t)cs.hits, "misses",
			  (json_int_t)cs.misses, "size", (json_int_t)cs.size, "capacity",
			  (json_int_t)cs.capacity, "evictions", (json_int_t)cs.evictions),
		"queue", queue_json(g->work), "log", log);
	if (!o)
		return NULL;
	json_object_set_new(o, "in_flight",
			    json_integer((json_int_t)gate_pending_count(&g->pending)));
	json_object_set_new(o, "started", json_integer(g->started));
	json_object_set_new(o, "lease", lease_json(g));
	json_object_set_new(o, "big_queue", queue_json(g->big));
	json_object_set_new(
		o, "reloads",
		json_pack("{si si}", "ok", (int)g->reloads, "failed", (int)g->reload_failures));
	json_object_set_new(o, "posture", gated_posture_json(g));
	if (g->reload_error[0])
		json_object_set_new(json_object_get(o, "reloads"), "last_error",
				    json_string(g->reload_error));
	return o;
}

enum gate_err gated_status_write(struct gated *g, bool running, struct gate_error *err)
{
	struct gate_error e = {0};
	enum gate_err rc = GATE_OK;
	json_t *o = status_json(g, running);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!text)
		return gate_fail(err, GATE_E_NOMEM, NULL, "status", "out of memory");
	size_t len = strlen(text);
	text[len] = '\n';
	/* Rewritten every second: volatile state whose last update may be lost
	 * in a crash, so its directory is not fsynced each time. */
	if (gate_atomic_write_file(g->cfg.status, NULL, text, len + 1, 0644,
				   GATE_ATOMIC_VOLATILE | GATE_ATOMIC_UMASK, &e) != GATE_OK)
		rc = gate_fail(err, GATE_E_IO, NULL, "status", "cannot write %s: %s", g->cfg.status,
			       e.msg);
	free(text);
	return rc;
}
