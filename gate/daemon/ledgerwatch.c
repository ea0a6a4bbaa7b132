/* ledgerwatch.c - the ledger followed by identity (lease.h): a ledger
 * replaced by rename (rsync, configuration management) or deleted must not
 * go on vouching through a descriptor to the old file, nor through answers
 * cached from it. */
#include "gated.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static void new_generation(struct gated *g)
{
	atomic_fetch_add(&g->lw.gen, 1);
	atomic_fetch_add_explicit(&g->ls.ledger_reopen, 1, memory_order_relaxed);
	gate_vcache_invalidate(g->cache); /* ledger allows cached from the old one */
}

void gated_ledger_watch(struct gated *g)
{
	struct stat st;
	struct gated_ledger_watch *w = &g->lw;
	if (!g->cfg.ledger)
		return;
	if (stat(g->cfg.ledger, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return; /* unknown: keep what we have, look again next tick */
		if (!atomic_load(&w->missing)) {
			atomic_store(&w->missing, true);
			new_generation(g);
			gated_log_msg(g, "ledger",
				      "ledger %s is gone: nothing is allowed on its word until it "
				      "is back",
				      g->cfg.ledger);
		}
		return;
	}
	bool back = atomic_load(&w->missing);
	bool moved = w->seen && (st.st_dev != w->dev || st.st_ino != w->ino);
	w->seen = true;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	if (!back && !moved)
		return;
	atomic_store(&w->missing, false);
	new_generation(g);
	gated_log_msg(g, "ledger", "ledger %s %s: reopened", g->cfg.ledger,
		      back ? "is back" : "was replaced");
}

void gated_ledger_reopen(struct gated *g)
{
	if (!g->cfg.ledger)
		return;
	gated_ledger_watch(g);
	new_generation(g);
}
