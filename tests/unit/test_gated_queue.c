/* test_gated_queue.c - gated's bounded drop-and-count queue
 * (gate/daemon/bqueue.c): FIFO order across wrap-around, a full queue
 * refuses at once and counts the drop (the producer never waits, even
 * with a consumer that is stuck for good - the blocked log sink), pop
 * timeouts, close waking a waiting consumer and draining what is left,
 * and many producers against one consumer with every item accounted for.
 * The daemon's sources are compiled in directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../gate/daemon/bqueue.c"
#include "../../gate/daemon/pending.c"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

static struct gate_bqueue *mk(size_t cap)
{
	struct gate_bqueue *q = NULL;
	assert_int_equal(gate_bqueue_new(cap, &q, NULL), GATE_OK);
	return q;
}

static void *item(uintptr_t i)
{
	return (void *)(i + 1); /* never NULL */
}

static void test_bounds(void **state)
{
	(void)state;
	struct gate_bqueue *q = NULL;
	struct gate_error e = {0};
	assert_int_equal(gate_bqueue_new(0, &q, &e), GATE_E_USAGE);
	assert_null(q);
	assert_int_equal(gate_bqueue_new((size_t)GATE_BQUEUE_MAX + 1, &q, &e), GATE_E_USAGE);
	assert_null(q);
	gate_bqueue_free(NULL);
}

static void test_fifo_and_wrap(void **state)
{
	(void)state;
	struct gate_bqueue *q = mk(3);
	uintptr_t next_in = 0, next_out = 0;
	for (int round = 0; round < 10; round++) {
		while (gate_bqueue_push(q, item(next_in)))
			next_in++;
		assert_ptr_equal(gate_bqueue_pop(q, 0), item(next_out++));
		assert_ptr_equal(gate_bqueue_pop(q, 0), item(next_out++));
	}
	struct gate_bqueue_stats s;
	gate_bqueue_get_stats(q, &s);
	assert_int_equal(s.depth, next_in - next_out);
	assert_int_equal(s.max_depth, 3);
	assert_int_equal(s.dropped, 10);
	void *p;
	while ((p = gate_bqueue_pop(q, 0)))
		assert_ptr_equal(p, item(next_out++));
	assert_int_equal(next_in, next_out);
	gate_bqueue_free(q);
}

static void test_full_drops_and_counts(void **state)
{
	(void)state;
	struct gate_bqueue *q = mk(2);
	struct gate_bqueue_stats s;
	assert_true(gate_bqueue_push(q, item(0)));
	assert_true(gate_bqueue_push(q, item(1)));
	for (int i = 0; i < 5; i++)
		assert_false(gate_bqueue_push(q, item(2)));
	gate_bqueue_get_stats(q, &s);
	assert_int_equal(s.depth, 2);
	assert_int_equal(s.capacity, 2);
	assert_int_equal(s.pushed, 2);
	assert_int_equal(s.dropped, 5);
	/* The refused item was not stored: the queue holds the first two. */
	assert_ptr_equal(gate_bqueue_pop(q, 0), item(0));
	assert_ptr_equal(gate_bqueue_pop(q, 0), item(1));
	assert_null(gate_bqueue_pop(q, 0));
	gate_bqueue_free(q);
}

static void test_pop_timeout(void **state)
{
	(void)state;
	struct gate_bqueue *q = mk(1);
	int64_t t0 = gate_now_ns();
	assert_null(gate_bqueue_pop(q, 100));
	int64_t took = gate_now_ns() - t0;
	assert_true(took >= 95 * 1000000LL);   /* not before the 100 ms asked */
	assert_true(took < 10000 * 1000000LL); /* a wide margin: CPUs may be busy */
	gate_bqueue_free(q);
}

static void *pop_forever(void *arg)
{
	return gate_bqueue_pop(arg, -1);
}

static void test_close_wakes_and_drains(void **state)
{
	(void)state;
	struct gate_bqueue *q = mk(4);
	pthread_t t;
	void *got = item(99);
	assert_int_equal(pthread_create(&t, NULL, pop_forever, q), 0);
	usleep(50 * 1000);
	gate_bqueue_close(q);
	pthread_join(t, &got);
	assert_null(got);
	gate_bqueue_free(q);

	q = mk(4);
	assert_true(gate_bqueue_push(q, item(0)));
	assert_true(gate_bqueue_push(q, item(1)));
	gate_bqueue_close(q);
	assert_false(gate_bqueue_push(q, item(2))); /* refused after close */
	assert_ptr_equal(gate_bqueue_pop(q, -1), item(0));
	assert_ptr_equal(gate_bqueue_pop(q, -1), item(1));
	assert_null(gate_bqueue_pop(q, -1));
	gate_bqueue_free(q);
}

/* The log writer is stuck (a FIFO nobody reads): producers still never
 * wait, and every record beyond the capacity is counted as dropped. */
static pthread_mutex_t stuck = PTHREAD_MUTEX_INITIALIZER;

static void *stuck_consumer(void *arg)
{
	void *p = gate_bqueue_pop(arg, -1); /* takes one, then blocks "writing" it */
	pthread_mutex_lock(&stuck);
	pthread_mutex_unlock(&stuck);
	return p;
}

static void test_stuck_consumer_never_blocks_producer(void **state)
{
	(void)state;
	struct gate_bqueue *q = mk(16);
	struct gate_bqueue_stats s;
	pthread_t t;
	pthread_mutex_lock(&stuck);
	assert_int_equal(pthread_create(&t, NULL, stuck_consumer, q), 0);
	/* A push that waited for the consumer would wait forever here: the
	 * consumer is released only after the loop. */
	unsigned ok = 0;
	for (uintptr_t i = 0; i < 100000; i++)
		ok += gate_bqueue_push(q, item(i));
	gate_bqueue_get_stats(q, &s);
	assert_true(ok >= 16 && ok <= 17); /* the consumer may have taken one */
	assert_int_equal(s.dropped, 100000 - ok);
	pthread_mutex_unlock(&stuck);
	pthread_join(t, NULL);
	gate_bqueue_free(q);
}

struct producer {
	struct gate_bqueue *q;
	uintptr_t base;
	unsigned ok;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (uintptr_t i = 0; i < 20000; i++) {
		if (gate_bqueue_push(p->q, item(p->base + i)))
			p->ok++;
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_many_producers_accounted(void **state)
{
	(void)state;
	struct gate_bqueue *q = mk(64);
	struct producer p[3];
	pthread_t t[3];
	struct gate_bqueue_stats s;
	for (unsigned i = 0; i < 3; i++) {
		p[i] = (struct producer){.q = q, .base = (uintptr_t)i * 1000000u};
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	unsigned got = 0;
	uintptr_t last[3] = {0, 0, 0};
	bool seen[3] = {false, false, false};
	for (;;) {
		void *x = gate_bqueue_pop(q, 200);
		if (!x)
			break;
		uintptr_t v = (uintptr_t)x - 1, who = v / 1000000u;
		assert_true(who < 3);
		/* Each producer's items come out in the order it pushed them. */
		assert_true(!seen[who] || v > last[who]);
		seen[who] = true;
		last[who] = v;
		got++;
	}
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	void *x;
	while ((x = gate_bqueue_pop(q, 0)))
		got++;
	gate_bqueue_get_stats(q, &s);
	assert_int_equal(got, p[0].ok + p[1].ok + p[2].ok);
	assert_int_equal(s.pushed + s.dropped, 60000);
	assert_int_equal(s.popped, got);
	gate_bqueue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_fifo_and_wrap),
		cmocka_unit_test(test_full_drops_and_counts),
		cmocka_unit_test(test_pop_timeout),
		cmocka_unit_test(test_close_wakes_and_drains),
		cmocka_unit_test(test_stuck_consumer_never_blocks_producer),
		cmocka_unit_test(test_many_producers_accounted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
