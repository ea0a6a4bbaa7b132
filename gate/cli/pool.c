/* pool.c - a small thread pool over an index range (pool.h). Workers take
 * the next index from an atomic counter, so slow jobs do not hold up
 * others. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL_REDRAW_NS 100000000LL /* at most ten redraws a second */

struct pool {
	size_t n;
	gate_pool_fn fn;
	void *ctx;
	atomic_size_t next, done;
	const char *label; /* NULL: no progress bar */
	pthread_mutex_t plock;
	/* Under plock: what the bar last showed, and when. */
	size_t shown;
	int64_t start_ns, drawn_ns;
};

unsigned gate_cli_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void draw(struct pool *p, size_t done, int64_t now)
{
	size_t w = 30, filled = p->n ? done * w / p->n : w;
	double secs = (double)(now - p->start_ns) / 1e9;
	char bar[31];
	memset(bar, '#', filled);
	memset(bar + filled, '.', w - filled);
	bar[w] = '\0';
	fprintf(stderr, "\r%s [%s] %zu/%zu", p->label, bar, done, p->n);
	if (secs > 0.05)
		fprintf(stderr, " %.0f/s", (double)done / secs);
	fputs("\033[K", stderr);
	if (done == p->n)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

/* Count a finished job; the bar shows the count read under the lock, so
 * what it shows never goes back, and is redrawn at most every
 * POOL_REDRAW_NS (the last count always, then erased). A thread that finds
 * another drawing goes on with its work. */
static void show_progress(struct pool *p)
{
	size_t done = atomic_fetch_add(&p->done, 1) + 1;
	if (!p->label)
		return;
	if (done == p->n)
		pthread_mutex_lock(&p->plock);
	else if (pthread_mutex_trylock(&p->plock) != 0)
		return;
	int64_t now = mono_ns();
	done = atomic_load(&p->done);
	if (done > p->shown && (done == p->n || now - p->drawn_ns >= POOL_REDRAW_NS)) {
		draw(p, done, now);
		p->shown = done;
		p->drawn_ns = now;
	}
	pthread_mutex_unlock(&p->plock);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		p->fn(p->ctx, i);
		show_progress(p);
	}
	return NULL;
}

void gate_cli_pool_run(size_t n, unsigned jobs, const char *label, gate_pool_fn fn, void *ctx)
{
	pthread_t th[GATE_POOL_MAX_JOBS];
	unsigned started = 0;
	struct pool p = {.n = n,
			 .fn = fn,
			 .ctx = ctx,
			 .label = label && isatty(STDERR_FILENO) == 1 ? label : NULL};
	if (n == 0)
		return;
	if (jobs > GATE_POOL_MAX_JOBS)
		jobs = GATE_POOL_MAX_JOBS;
	if (jobs > n)
		jobs = (unsigned)n;
	atomic_init(&p.next, 0);
	atomic_init(&p.done, 0);
	p.start_ns = mono_ns();
	p.drawn_ns = p.start_ns - POOL_REDRAW_NS; /* the first count is drawn */
	pthread_mutex_init(&p.plock, NULL);
	for (; jobs > 1 && started < jobs; started++)
		if (pthread_create(&th[started], NULL, worker, &p) != 0)
			break;
	if (started == 0)
		worker(&p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.plock);
}
