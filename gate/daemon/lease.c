/* lease.c - the bytes an exec runs are the bytes gated decided, and no
 * event costs more than its deadline (lease.h). */
#include "gated.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void count(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void gated_lease_signals(void)
{
	signal(SIGIO, SIG_IGN);
}

bool gated_lease_answer(const struct gated *g)
{
	return atomic_load(&g->mode) != GATE_MODE_ENFORCE;
}

bool gated_lease_take(struct gated *g, int fd, struct stat *st, struct gated_lease *ls,
		      const char **why)
{
	ls->kind = GATED_LEASE_NONE;
	if (!S_ISREG(st->st_mode))
		return true; /* a worker denies it: not a regular file */
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		ls->kind = GATED_LEASE_HELD;
		/* Described again now that it cannot change: a write that
		 * opened and closed since the first fstat is seen. */
		if (fstat(fd, st) == 0)
			return true;
		*why = "cannot stat it once leased";
		gated_lease_release(fd, ls);
		return false;
	}
	if (errno == EAGAIN || errno == EBUSY) {
		count(&g->ls.write_busy);
		*why = "open for writing while it is being executed";
		return false;
	}
	/* No leases here (EINVAL): fstat now and again before the answer. */
	count(&g->ls.no_lease);
	if (!atomic_exchange(&g->ls.no_lease_said, true))
		gated_log_msg(g, "lease",
			      "F_SETLEASE refused (%s) on a marked filesystem: exec'd files "
			      "there are guarded by fstat before and after the decision only",
			      strerror(errno));
	if (fstat(fd, st) != 0) {
		*why = "cannot stat it";
		return false;
	}
	ls->kind = GATED_LEASE_STAT;
	ls->before = *st;
	return true;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

bool gated_lease_holds(struct gated *g, int fd, const struct gated_lease *ls, const char **why)
{
	struct stat now;
	switch (ls->kind) {
	case GATED_LEASE_HELD:
		/* A lease being broken reads as F_UNLCK: a writer is waiting
		 * (and holds write access), or the break time ran out. */
		if (fcntl(fd, F_GETLEASE) == F_RDLCK)
			return true;
		*why = "opened for writing while it was being decided";
		break;
	case GATED_LEASE_STAT:
		if (fstat(fd, &now) == 0 && same_stat(&ls->before, &now))
			return true;
		*why = "changed while it was being decided";
		break;
	default:
		return true;
	}
	count(&g->ls.changed);
	return false;
}

void gated_lease_release(int fd, struct gated_lease *ls)
{
	if (ls->kind == GATED_LEASE_HELD)
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	ls->kind = GATED_LEASE_NONE;
}

bool gated_too_large(struct gated *g, const struct stat *st, const char **why)
{
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size <= g->cfg.max_size)
		return false;
	count(&g->ls.too_large);
	*why = "larger than --max-size: not hashed";
	return true;
}
