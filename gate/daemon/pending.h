/*
 * pending.h - deadlines for permission events (gated): the kernel waits
 * for exactly one answer per event and must never wait without bound.
 *
 * Each event carries a gate_pending_item. It is answered once: whoever
 * wins gate_pending_claim (the worker with its decision, or the deadline
 * with the default) writes the answer, a loser's answer is discarded.
 * It is freed once: it starts with one reference per holder (the
 * deadline list and the worker), and whoever drops the last with
 * gate_pending_put closes the event's descriptor, which therefore stays
 * open - and its number unused - until every holder is done with it.
 *
 * The list keeps items in deadline order (insertion is from the tail, so
 * equal timeouts cost O(1)); gate_pending_expire hands every item whose
 * deadline has passed to a callback outside the lock.
 *
 * Thread-safe. Times are CLOCK_MONOTONIC nanoseconds. Internal to gated.
 */
#ifndef GATE_HOOKS_EXEC_PENDING_H
#define GATE_HOOKS_EXEC_PENDING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gate_pending_item {
	struct gate_pending_item *prev, *next; /* list links, under the list's lock */
	int64_t deadline_ns;
	bool linked;
	atomic_int state; /* 0 open, 1 answered */
	atomic_uint refs;
};

struct gate_pending {
	pthread_mutex_t lock;
	struct gate_pending_item *head, *tail;
	size_t n;
};

int64_t gate_now_ns(void);

void gate_pending_item_init(struct gate_pending_item *it, unsigned refs);
/* True for exactly one caller over the item's life: that caller answers. */
bool gate_pending_claim(struct gate_pending_item *it);
bool gate_pending_claimed(struct gate_pending_item *it);
/* Drop one reference. True for the last one: the caller then releases
 * what the item stands for (closes the descriptor, frees it). */
bool gate_pending_put(struct gate_pending_item *it);

void gate_pending_init(struct gate_pending *p);
void gate_pending_destroy(struct gate_pending *p);
/* Link it with its deadline; the list holds one of its references. */
void gate_pending_add(struct gate_pending *p, struct gate_pending_item *it, int64_t deadline_ns);
/* Unlink it if it is still linked: true when it was, and the caller then
 * owns the list's reference (and must put it). */
bool gate_pending_remove(struct gate_pending *p, struct gate_pending_item *it);
/* Unlink every item whose deadline is at or before now_ns and call fn
 * for each, oldest first, outside the lock; fn owns the list's
 * reference. Returns how many expired. */
typedef void (*gate_pending_fn)(void *ctx, struct gate_pending_item *it);
size_t gate_pending_expire(struct gate_pending *p, int64_t now_ns, gate_pending_fn fn, void *ctx);
/* Milliseconds until the earliest deadline (rounded up; 0 if one has
 * passed), at most max_ms; max_ms when nothing is pending. */
int gate_pending_timeout_ms(struct gate_pending *p, int64_t now_ns, int max_ms);
size_t gate_pending_count(struct gate_pending *p);

#endif
