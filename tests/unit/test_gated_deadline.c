/* test_gated_deadline.c - gated's deadline handling (gate/daemon/pending.c):
 * exactly one answer per event whoever races for it (worker or deadline),
 * the descriptor released exactly once and only after every holder is
 * done, expiry in deadline order and only of what is due, the reader's
 * poll timeout, and a stress run of the real protocol (reader adds,
 * worker answers and removes, deadline expires) where every event must
 * end with one answer and one release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../gate/daemon/pending.c"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#define MS (1000000LL)

struct ev {
	struct gate_pending_item link; /* first member, as in gated */
	int id;
	atomic_int answers, releases;
};

static void test_claim_once(void **state)
{
	(void)state;
	struct ev e = {.id = 1};
	gate_pending_item_init(&e.link, 2);
	assert_false(gate_pending_claimed(&e.link));
	assert_true(gate_pending_claim(&e.link));
	assert_true(gate_pending_claimed(&e.link));
	assert_false(gate_pending_claim(&e.link));
	assert_false(gate_pending_put(&e.link));
	assert_true(gate_pending_put(&e.link)); /* the last reference */
}

static void collect(void *ctx, struct gate_pending_item *it)
{
	int *order = ctx;
	order[order[0] + 1] = ((struct ev *)it)->id;
	order[0]++;
}

static void test_expire_in_deadline_order(void **state)
{
	(void)state;
	struct gate_pending p;
	struct ev e[5];
	int64_t dl[5] = {50, 10, 30, 30, 70}; /* out of order, one tie */
	int order[8] = {0};
	gate_pending_init(&p);
	for (int i = 0; i < 5; i++) {
		e[i].id = i;
		gate_pending_item_init(&e[i].link, 1);
		gate_pending_add(&p, &e[i].link, dl[i] * MS);
	}
	assert_int_equal(gate_pending_count(&p), 5);
	assert_int_equal(gate_pending_expire(&p, 5 * MS, collect, order), 0);
	assert_int_equal(gate_pending_expire(&p, 30 * MS, collect, order), 3);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2); /* ties keep their arrival order */
	assert_int_equal(order[3], 3);
	assert_int_equal(gate_pending_count(&p), 2);
	/* Removing: once, and never after expiry. */
	assert_true(gate_pending_remove(&p, &e[4].link));
	assert_false(gate_pending_remove(&p, &e[4].link));
	assert_false(gate_pending_remove(&p, &e[1].link));
	assert_int_equal(gate_pending_expire(&p, INT64_MAX, collect, order), 1);
	assert_int_equal(order[4], 0);
	assert_int_equal(gate_pending_count(&p), 0);
	gate_pending_destroy(&p);
}

static void test_timeout_ms(void **state)
{
	(void)state;
	struct gate_pending p;
	struct ev e;
	gate_pending_init(&p);
	assert_int_equal(gate_pending_timeout_ms(&p, 0, 1000), 1000); /* nothing pending */
	gate_pending_item_init(&e.link, 1);
	gate_pending_add(&p, &e.link, 250 * MS + 1);
	assert_int_equal(gate_pending_timeout_ms(&p, 0, 1000), 251); /* rounded up */
	assert_int_equal(gate_pending_timeout_ms(&p, 0, 100), 100);  /* capped */
	assert_int_equal(gate_pending_timeout_ms(&p, 250 * MS + 1, 1000), 0);
	assert_int_equal(gate_pending_timeout_ms(&p, 900 * MS, 1000), 0); /* overdue */
	assert_true(gate_pending_remove(&p, &e.link));
	gate_pending_destroy(&p);
}

/* ---- the protocol under stress ---- */

#define N_EVENTS 20000

struct world {
	struct gate_pending p;
	struct ev *ev;
	atomic_int next_for_worker;
	atomic_int added; /* events the "reader" has linked */
	atomic_bool done;
	atomic_int answers, releases, late;
};

static void release(struct world *w, struct ev *e)
{
	if (gate_pending_put(&e->link)) {
		atomic_fetch_add(&e->releases, 1);
		atomic_fetch_add(&w->releases, 1);
	}
}

static void answer(struct world *w, struct ev *e)
{
	/* Answering after the release would be the fd-reuse bug. */
	assert_int_equal(atomic_load(&e->releases), 0);
	atomic_fetch_add(&e->answers, 1);
	atomic_fetch_add(&w->answers, 1);
}

static void on_expired(void *ctx, struct gate_pending_item *it)
{
	struct world *w = ctx;
	struct ev *e = (struct ev *)it;
	if (gate_pending_claim(it))
		answer(w, e);
	release(w, e);
}

static void *worker(void *arg)
{
	struct world *w = arg;
	for (;;) {
		int i = atomic_fetch_add(&w->next_for_worker, 1);
		if (i >= N_EVENTS)
			return NULL;
		while (atomic_load(&w->added) <= i)
			sched_yield();
		struct ev *e = &w->ev[i];
		if (i % 7 == 0)
			usleep(1); /* slow decisions lose to the deadline more often */
		if (gate_pending_claim(&e->link))
			answer(w, e);
		else
			atomic_fetch_add(&w->late, 1);
		if (gate_pending_remove(&w->p, &e->link))
			release(w, e);
		release(w, e);
	}
}

static void *deadline(void *arg)
{
	struct world *w = arg;
	while (!atomic_load(&w->done))
		gate_pending_expire(&w->p, gate_now_ns(), on_expired, w);
	gate_pending_expire(&w->p, INT64_MAX, on_expired, w);
	return NULL;
}

static void test_protocol_stress(void **state)
{
	(void)state;
	struct world *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->ev = calloc(N_EVENTS, sizeof(*w->ev));
	assert_non_null(w->ev);
	gate_pending_init(&w->p);
	pthread_t wk[2], dl;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&wk[i], NULL, worker, w), 0);
	assert_int_equal(pthread_create(&dl, NULL, deadline, w), 0);
	for (int i = 0; i < N_EVENTS; i++) {
		gate_pending_item_init(&w->ev[i].link, 2);
		w->ev[i].id = i;
		/* Deadlines from "already passed" to "a little later". */
		gate_pending_add(&w->p, &w->ev[i].link, gate_now_ns() + (i % 3) * 20000);
		atomic_fetch_add(&w->added, 1);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(wk[i], NULL);
	atomic_store(&w->done, true);
	pthread_join(dl, NULL);
	for (int i = 0; i < N_EVENTS; i++) {
		assert_int_equal(atomic_load(&w->ev[i].answers), 1);
		assert_int_equal(atomic_load(&w->ev[i].releases), 1);
	}
	assert_int_equal(atomic_load(&w->answers), N_EVENTS);
	assert_int_equal(atomic_load(&w->releases), N_EVENTS);
	assert_int_equal(gate_pending_count(&w->p), 0);
	gate_pending_destroy(&w->p);
	free(w->ev);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_once),
		cmocka_unit_test(test_expire_in_deadline_order),
		cmocka_unit_test(test_timeout_ms),
		cmocka_unit_test(test_protocol_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
