/* test_gated_cache.c - gated's LRU verdict cache (gate/daemon/vcache.c):
 * hits and misses, every key field counts (a file changed in any way is
 * re-checked), least-recently-used eviction at a fixed capacity, replace
 * in place, invalidation and stale generations (a decision made under the
 * old policy never lands in the new policy's cache), the "racy" rule for
 * files changed too recently to trust their timestamps, bounds, and
 * concurrent use. The daemon's sources are compiled in directly: they are
 * not part of libgate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../gate/daemon/vcache.c"

#include <pthread.h>
#include <stdio.h>

static struct gate_vcache_key key(uint64_t ino)
{
	struct gate_vcache_key k = {.dev = 64769,
				    .ino = ino,
				    .size = 4096,
				    .mtime_sec = 1700000000,
				    .mtime_nsec = 5,
				    .ctime_sec = 1700000000,
				    .ctime_nsec = 7};
	return k;
}

static struct gate_vcache_val val(bool allowed, char tag)
{
	struct gate_vcache_val v = {.allowed = allowed, .kind = allowed ? 0 : 1, .src = 0};
	memset(v.digest, tag, 64);
	v.digest[64] = '\0';
	return v;
}

static struct gate_vcache *mk(size_t cap)
{
	struct gate_vcache *c = NULL;
	assert_int_equal(gate_vcache_new(cap, &c, NULL), GATE_OK);
	return c;
}

static void test_bounds(void **state)
{
	(void)state;
	struct gate_vcache *c = NULL;
	struct gate_error e = {0};
	assert_int_equal(gate_vcache_new(0, &c, &e), GATE_E_USAGE);
	assert_null(c);
	assert_non_null(strstr(e.msg, "cache size"));
	assert_int_equal(gate_vcache_new((size_t)GATE_VCACHE_MAX + 1, &c, &e), GATE_E_USAGE);
	assert_null(c);
	gate_vcache_free(NULL);
	c = mk(1);
	struct gate_vcache_key a = key(1), b = key(2);
	struct gate_vcache_val v = val(true, 'a'), out;
	uint64_t g = gate_vcache_generation(c);
	gate_vcache_insert(c, &a, g, &v);
	gate_vcache_insert(c, &b, g, &v);
	assert_false(gate_vcache_lookup(c, &a, &out));
	assert_true(gate_vcache_lookup(c, &b, &out));
	gate_vcache_free(c);
}

static void test_hit_and_miss(void **state)
{
	(void)state;
	struct gate_vcache *c = mk(8);
	struct gate_vcache_key k = key(42);
	struct gate_vcache_val v = val(false, 'd'), out;
	struct gate_vcache_stats s;
	assert_false(gate_vcache_lookup(c, &k, &out));
	gate_vcache_insert(c, &k, gate_vcache_generation(c), &v);
	memset(&out, 0, sizeof out);
	assert_true(gate_vcache_lookup(c, &k, &out));
	assert_false(out.allowed);
	assert_int_equal(out.kind, 1);
	assert_string_equal(out.digest, v.digest);
	gate_vcache_get_stats(c, &s);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 1);
	assert_int_equal(s.size, 1);
	assert_int_equal(s.capacity, 8);
	gate_vcache_free(c);
}

/* Any change to the file - another device or inode (renamed over), size,
 * mtime or ctime down to the nanosecond - is a miss. */
static void test_every_key_field_counts(void **state)
{
	(void)state;
	struct gate_vcache *c = mk(16);
	struct gate_vcache_key k = key(7), m;
	struct gate_vcache_val v = val(true, 'a'), out;
	gate_vcache_insert(c, &k, gate_vcache_generation(c), &v);
	for (int f = 0; f < 9; f++) {
		m = k;
		switch (f) {
		case 7: /* the same inode through another mount */
			m.mnt_id++;
			break;
		case 8: /* ...or under another name (nsguard.h) */
			m.place[15] ^= 1;
			break;
		case 0:
			m.dev++;
			break;
		case 1:
			m.ino++;
			break;
		case 2:
			m.size++;
			break;
		case 3:
			m.mtime_sec++;
			break;
		case 4:
			m.mtime_nsec++;
			break;
		case 5:
			m.ctime_sec++;
			break;
		default:
			m.ctime_nsec++;
			break;
		}
		assert_false(gate_vcache_lookup(c, &m, &out));
	}
	assert_true(gate_vcache_lookup(c, &k, &out));
	gate_vcache_free(c);
}

static void test_key_from_stat(void **state)
{
	(void)state;
	struct stat st;
	struct gate_vcache_key k;
	memset(&st, 0, sizeof st);
	st.st_dev = 3;
	st.st_ino = 99;
	st.st_size = 1234;
	st.st_mtim.tv_sec = 10;
	st.st_mtim.tv_nsec = 11;
	st.st_ctim.tv_sec = 12;
	st.st_ctim.tv_nsec = 13;
	gate_vcache_key_from_stat(&st, &k);
	assert_int_equal(k.dev, 3);
	assert_int_equal(k.ino, 99);
	assert_int_equal(k.size, 1234);
	assert_int_equal(k.mtime_sec, 10);
	assert_int_equal(k.mtime_nsec, 11);
	assert_int_equal(k.ctime_sec, 12);
	assert_int_equal(k.ctime_nsec, 13);
}

static void test_lru_eviction(void **state)
{
	(void)state;
	struct gate_vcache *c = mk(3);
	struct gate_vcache_key a = key(1), b = key(2), d = key(3), e = key(4);
	struct gate_vcache_val v = val(true, 'x'), out;
	struct gate_vcache_stats s;
	uint64_t g = gate_vcache_generation(c);
	gate_vcache_insert(c, &a, g, &v);
	gate_vcache_insert(c, &b, g, &v);
	gate_vcache_insert(c, &d, g, &v);
	assert_true(gate_vcache_lookup(c, &a, &out)); /* a is now the most recent */
	gate_vcache_insert(c, &e, g, &v);	      /* evicts b, the least recent */
	assert_false(gate_vcache_lookup(c, &b, &out));
	assert_true(gate_vcache_lookup(c, &a, &out));
	assert_true(gate_vcache_lookup(c, &d, &out));
	assert_true(gate_vcache_lookup(c, &e, &out));
	gate_vcache_get_stats(c, &s);
	assert_int_equal(s.size, 3);
	assert_int_equal(s.evictions, 1);
	gate_vcache_free(c);
}

static void test_replace_in_place(void **state)
{
	(void)state;
	struct gate_vcache *c = mk(2);
	struct gate_vcache_key a = key(1), b = key(2);
	struct gate_vcache_val yes = val(true, 'y'), no = val(false, 'n'), out;
	struct gate_vcache_stats s;
	uint64_t g = gate_vcache_generation(c);
	gate_vcache_insert(c, &a, g, &yes);
	gate_vcache_insert(c, &b, g, &yes);
	gate_vcache_insert(c, &a, g, &no); /* replaces, and makes a the most recent */
	gate_vcache_get_stats(c, &s);
	assert_int_equal(s.size, 2);
	assert_int_equal(s.evictions, 0);
	assert_true(gate_vcache_lookup(c, &a, &out));
	assert_false(out.allowed);
	assert_int_equal(out.digest[0], 'n');
	gate_vcache_free(c);
}

static void test_invalidate_and_stale_generation(void **state)
{
	(void)state;
	struct gate_vcache *c = mk(4);
	struct gate_vcache_key a = key(1), b = key(2);
	struct gate_vcache_val v = val(true, 'a'), out;
	struct gate_vcache_stats s;
	uint64_t old = gate_vcache_generation(c);
	gate_vcache_insert(c, &a, old, &v);
	gate_vcache_invalidate(c);
	assert_false(gate_vcache_lookup(c, &a, &out));
	/* A decision that started before the reload finishes after it. */
	gate_vcache_insert(c, &b, old, &v);
	assert_false(gate_vcache_lookup(c, &b, &out));
	gate_vcache_get_stats(c, &s);
	assert_int_equal(s.size, 0);
	assert_int_equal(s.stale_inserts, 1);
	assert_true(s.generation > old);
	gate_vcache_insert(c, &b, gate_vcache_generation(c), &v);
	assert_true(gate_vcache_lookup(c, &b, &out));
	gate_vcache_free(c);
}

static void test_racy(void **state)
{
	(void)state;
	struct gate_vcache_key k = key(1);
	struct timespec now = {.tv_sec = 1700000100, .tv_nsec = 0};
	assert_false(gate_vcache_racy(&k, &now)); /* changed 100 s ago */
	now.tv_sec = 1700000001;		  /* changed 1 s ago */
	assert_true(gate_vcache_racy(&k, &now));
	now.tv_sec = 1700000002; /* exactly at the limit: still racy by 7 ns */
	assert_true(gate_vcache_racy(&k, &now));
	now.tv_sec = 1700000003;
	assert_false(gate_vcache_racy(&k, &now));
	k.ctime_sec = 1700000002; /* ctime newer than mtime counts */
	assert_true(gate_vcache_racy(&k, &now));
	k = key(1);
	k.mtime_sec = 1800000000; /* a timestamp in the future: never cached */
	now.tv_sec = 1700000100;
	assert_true(gate_vcache_racy(&k, &now));
}

/* Many more keys than entries: the table stays at capacity, and the last
 * `cap` keys inserted are exactly the ones present. */
static void test_churn(void **state)
{
	(void)state;
	const size_t cap = 64;
	struct gate_vcache *c = mk(cap);
	struct gate_vcache_val v = val(true, 'c'), out;
	struct gate_vcache_stats s;
	uint64_t g = gate_vcache_generation(c);
	for (uint64_t i = 0; i < 10000; i++) {
		struct gate_vcache_key k = key(i * 7919);
		gate_vcache_insert(c, &k, g, &v);
	}
	gate_vcache_get_stats(c, &s);
	assert_int_equal(s.size, cap);
	assert_int_equal(s.evictions, 10000 - cap);
	for (uint64_t i = 0; i < 10000; i++) {
		struct gate_vcache_key k = key(i * 7919);
		assert_int_equal(gate_vcache_lookup(c, &k, &out), i >= 10000 - cap);
	}
	gate_vcache_free(c);
}

struct hammer {
	struct gate_vcache *c;
	unsigned seed;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct gate_vcache_val v = val(true, 'h'), out;
	for (int i = 0; i < 20000; i++) {
		struct gate_vcache_key k = key((uint64_t)(rand_r(&h->seed) % 500));
		if (i % 3 == 0)
			gate_vcache_insert(h->c, &k, gate_vcache_generation(h->c), &v);
		else if (gate_vcache_lookup(h->c, &k, &out))
			assert_true(out.allowed);
		if (i % 5000 == 4999)
			gate_vcache_invalidate(h->c);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	struct gate_vcache *c = mk(128);
	pthread_t t[4];
	struct hammer h[4];
	struct gate_vcache_stats s;
	for (unsigned i = 0; i < 4; i++) {
		h[i] = (struct hammer){.c = c, .seed = i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	gate_vcache_get_stats(c, &s);
	assert_true(s.size <= 128);
	assert_int_equal(s.hits + s.misses, 4 * (20000 - 20000 / 3 - 1));
	gate_vcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_every_key_field_counts),
		cmocka_unit_test(test_key_from_stat),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_replace_in_place),
		cmocka_unit_test(test_invalidate_and_stale_generation),
		cmocka_unit_test(test_racy),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
