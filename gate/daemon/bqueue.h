/*
 * bqueue.h - a bounded FIFO of pointers between threads whose producers
 * never wait: gate_bqueue_push on a full queue refuses at once and counts
 * the drop. gated uses one between the fanotify reader and the workers (a
 * refused event is answered with the default right away) and one between
 * everything and the log writer (a refused log record is dropped and
 * counted): a slow consumer can never hold up the answer to the kernel.
 *
 * Consumers wait in gate_bqueue_pop. After gate_bqueue_close, pushes are
 * refused and pop returns what is left, then NULL.
 *
 * Thread-safe. Internal to gated.
 */
#ifndef GATE_HOOKS_EXEC_BQUEUE_H
#define GATE_HOOKS_EXEC_BQUEUE_H

#include "verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GATE_BQUEUE_MAX (1u << 20)

struct gate_bqueue_stats {
	size_t depth, capacity, max_depth;
	uint64_t pushed, popped, dropped;
};

struct gate_bqueue;

/* capacity 1..GATE_BQUEUE_MAX. Errors: GATE_E_USAGE, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_bqueue_new(size_t capacity, struct gate_bqueue **out,
				       struct gate_error *err);
/* Frees the queue, not the items still in it (pop them first). */
void gate_bqueue_free(struct gate_bqueue *q);

/* Never blocks. False (and one more drop counted) when the queue is full
 * or closed: the item stays the caller's. item must not be NULL. */
GATE_WUR bool gate_bqueue_push(struct gate_bqueue *q, void *item);
/* The oldest item; waits up to timeout_ms (-1: no limit) for one. NULL on
 * timeout, or when the queue is closed and empty. */
void *gate_bqueue_pop(struct gate_bqueue *q, int timeout_ms);
void gate_bqueue_close(struct gate_bqueue *q);
void gate_bqueue_get_stats(struct gate_bqueue *q, struct gate_bqueue_stats *s);

#endif
