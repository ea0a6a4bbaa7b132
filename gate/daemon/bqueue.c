/* bqueue.c - a ring buffer under one mutex with one condition variable
 * for the consumers. Producers only ever take the mutex for a few
 * instructions; nothing waits on a producer. */
#include "bqueue.h"
#include "gate_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct gate_bqueue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	void **ring;
	size_t cap, head, n, max_n;
	bool closed;
	uint64_t pushed, popped, dropped;
};

enum gate_err gate_bqueue_new(size_t capacity, struct gate_bqueue **out, struct gate_error *err)
{
	if (capacity == 0 || capacity > GATE_BQUEUE_MAX)
		return gate_fail(err, GATE_E_USAGE, NULL, "queue",
				 "queue size must be 1..%u (got %zu)", GATE_BQUEUE_MAX, capacity);
	struct gate_bqueue *q = calloc(1, sizeof(*q));
	if (!q || !(q->ring = calloc(capacity, sizeof(void *)))) {
		free(q);
		return gate_fail(err, GATE_E_NOMEM, NULL, "queue", "out of memory");
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&q->lock, NULL);
	q->cap = capacity;
	*out = q;
	return GATE_OK;
}

void gate_bqueue_free(struct gate_bqueue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

bool gate_bqueue_push(struct gate_bqueue *q, void *item)
{
	bool ok;
	pthread_mutex_lock(&q->lock);
	ok = !q->closed && q->n < q->cap;
	if (ok) {
		q->ring[(q->head + q->n) % q->cap] = item;
		q->n++;
		q->pushed++;
		if (q->n > q->max_n)
			q->max_n = q->n;
		pthread_cond_signal(&q->nonempty);
	} else {
		q->dropped++;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void *gate_bqueue_pop(struct gate_bqueue *q, int timeout_ms)
{
	struct timespec until;
	void *item = NULL;
	if (timeout_ms >= 0)
		deadline_in(&until, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->n == 0 && !q->closed) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&q->nonempty, &q->lock);
		} else if (pthread_cond_timedwait(&q->nonempty, &q->lock, &until) == ETIMEDOUT) {
			break;
		}
	}
	if (q->n > 0) {
		item = q->ring[q->head];
		q->ring[q->head] = NULL;
		q->head = (q->head + 1) % q->cap;
		q->n--;
		q->popped++;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

void gate_bqueue_close(struct gate_bqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

void gate_bqueue_get_stats(struct gate_bqueue *q, struct gate_bqueue_stats *s)
{
	pthread_mutex_lock(&q->lock);
	s->depth = q->n;
	s->capacity = q->cap;
	s->max_depth = q->max_n;
	s->pushed = q->pushed;
	s->popped = q->popped;
	s->dropped = q->dropped;
	pthread_mutex_unlock(&q->lock);
}
