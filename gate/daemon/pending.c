/* pending.c - the deadline list and the answer-once / free-once protocol
 * of pending.h. */
#include "pending.h"

#include <time.h>

int64_t gate_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void gate_pending_item_init(struct gate_pending_item *it, unsigned refs)
{
	it->prev = it->next = NULL;
	it->deadline_ns = 0;
	it->linked = false;
	atomic_init(&it->state, 0);
	atomic_init(&it->refs, refs);
}

bool gate_pending_claim(struct gate_pending_item *it)
{
	int open = 0;
	return atomic_compare_exchange_strong(&it->state, &open, 1);
}

bool gate_pending_claimed(struct gate_pending_item *it)
{
	return atomic_load(&it->state) != 0;
}

bool gate_pending_put(struct gate_pending_item *it)
{
	return atomic_fetch_sub(&it->refs, 1) == 1;
}

void gate_pending_init(struct gate_pending *p)
{
	pthread_mutex_init(&p->lock, NULL);
	p->head = p->tail = NULL;
	p->n = 0;
}

void gate_pending_destroy(struct gate_pending *p)
{
	pthread_mutex_destroy(&p->lock);
}

void gate_pending_add(struct gate_pending *p, struct gate_pending_item *it, int64_t deadline_ns)
{
	pthread_mutex_lock(&p->lock);
	it->deadline_ns = deadline_ns;
	struct gate_pending_item *after = p->tail;
	while (after && after->deadline_ns > deadline_ns)
		after = after->prev;
	it->prev = after;
	it->next = after ? after->next : p->head;
	if (it->next)
		it->next->prev = it;
	else
		p->tail = it;
	if (after)
		after->next = it;
	else
		p->head = it;
	it->linked = true;
	p->n++;
	pthread_mutex_unlock(&p->lock);
}

static void unlink_locked(struct gate_pending *p, struct gate_pending_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		p->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		p->tail = it->prev;
	it->prev = it->next = NULL;
	it->linked = false;
	p->n--;
}

bool gate_pending_remove(struct gate_pending *p, struct gate_pending_item *it)
{
	pthread_mutex_lock(&p->lock);
	bool was = it->linked;
	if (was)
		unlink_locked(p, it);
	pthread_mutex_unlock(&p->lock);
	return was;
}

size_t gate_pending_expire(struct gate_pending *p, int64_t now_ns, gate_pending_fn fn, void *ctx)
{
	struct gate_pending_item *first = NULL, *last = NULL;
	size_t n = 0;
	pthread_mutex_lock(&p->lock);
	while (p->head && p->head->deadline_ns <= now_ns) {
		struct gate_pending_item *it = p->head;
		unlink_locked(p, it);
		if (last)
			last->next = it;
		else
			first = it;
		last = it;
		n++;
	}
	pthread_mutex_unlock(&p->lock);
	/* The chain is ours now: nobody else links or unlinks these. */
	while (first) {
		struct gate_pending_item *it = first;
		first = it->next;
		it->next = NULL;
		fn(ctx, it);
	}
	return n;
}

int gate_pending_timeout_ms(struct gate_pending *p, int64_t now_ns, int max_ms)
{
	int ms = max_ms;
	pthread_mutex_lock(&p->lock);
	if (p->head) {
		int64_t left = p->head->deadline_ns - now_ns;
		if (left <= 0)
			ms = 0;
		else if (left < (int64_t)max_ms * 1000000LL)
			ms = (int)((left + 999999) / 1000000);
	}
	pthread_mutex_unlock(&p->lock);
	return ms;
}

size_t gate_pending_count(struct gate_pending *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}
