/* vcache.c - the LRU verdict cache: a chained hash table over a fixed
 * array of entries, with an intrusive doubly linked recency list. Links
 * are array indices, so the table never allocates after creation and its
 * memory use is fixed by its capacity. */
#include "vcache.h"
#include "gate_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct entry {
	struct gate_vcache_key key;
	struct gate_vcache_val val;
	uint32_t hnext;	     /* next in the hash chain, or the free list */
	uint32_t prev, next; /* recency list: head is most recent */
};

struct gate_vcache {
	pthread_mutex_t lock;
	struct entry *e;
	uint32_t *bucket;
	uint32_t nbuckets; /* power of two */
	uint32_t cap, size;
	uint32_t head, tail, free;
	uint64_t gen;
	uint64_t hits, misses, inserts, evictions, stale;
};

void gate_vcache_key_from_stat(const struct stat *st, struct gate_vcache_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	k->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	k->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	k->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
}

static int64_t ns_of(int64_t sec, int64_t nsec)
{
	return sec * 1000000000LL + nsec;
}

bool gate_vcache_racy(const struct gate_vcache_key *k, const struct timespec *now)
{
	int64_t n = ns_of((int64_t)now->tv_sec, (int64_t)now->tv_nsec);
	int64_t m = ns_of(k->mtime_sec, k->mtime_nsec), c = ns_of(k->ctime_sec, k->ctime_nsec);
	int64_t newest = m > c ? m : c;
	return newest > n - GATE_VCACHE_RACY_NS;
}

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t slot_of(const struct gate_vcache *c, const struct gate_vcache_key *k)
{
	return (uint32_t)(mix(k->ino ^ mix(k->dev)) & (c->nbuckets - 1));
}

static bool key_eq(const struct gate_vcache_key *a, const struct gate_vcache_key *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	       a->mnt_id == b->mnt_id && memcmp(a->place, b->place, sizeof a->place) == 0;
}

enum gate_err gate_vcache_new(size_t capacity, struct gate_vcache **out, struct gate_error *err)
{
	if (capacity == 0 || capacity > GATE_VCACHE_MAX)
		return gate_fail(err, GATE_E_USAGE, NULL, "cache",
				 "cache size must be 1..%u entries (got %zu)", GATE_VCACHE_MAX,
				 capacity);
	struct gate_vcache *c = calloc(1, sizeof(*c));
	if (!c)
		return gate_fail(err, GATE_E_NOMEM, NULL, "cache", "out of memory");
	c->cap = (uint32_t)capacity;
	c->nbuckets = 1;
	while (c->nbuckets < c->cap * 2u)
		c->nbuckets <<= 1;
	c->e = calloc(c->cap, sizeof(*c->e));
	c->bucket = malloc((size_t)c->nbuckets * sizeof(*c->bucket));
	if (!c->e || !c->bucket) {
		free(c->e);
		free(c->bucket);
		free(c);
		return gate_fail(err, GATE_E_NOMEM, NULL, "cache", "out of memory");
	}
	pthread_mutex_init(&c->lock, NULL);
	c->gen = 1;
	gate_vcache_invalidate(c);
	*out = c;
	return GATE_OK;
}

void gate_vcache_free(struct gate_vcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c->bucket);
	free(c);
}

/* ---- recency list and chains (lock held) ---- */

static void lru_unlink(struct gate_vcache *c, uint32_t i)
{
	struct entry *x = &c->e[i];
	if (x->prev != NIL)
		c->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != NIL)
		c->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
	x->prev = x->next = NIL;
}

static void lru_push_front(struct gate_vcache *c, uint32_t i)
{
	struct entry *x = &c->e[i];
	x->prev = NIL;
	x->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

static uint32_t find(const struct gate_vcache *c, const struct gate_vcache_key *k)
{
	for (uint32_t i = c->bucket[slot_of(c, k)]; i != NIL; i = c->e[i].hnext)
		if (key_eq(&c->e[i].key, k))
			return i;
	return NIL;
}

/* Remove entry i from its chain (it must be in one). */
static void chain_remove(struct gate_vcache *c, uint32_t i)
{
	uint32_t *p = &c->bucket[slot_of(c, &c->e[i].key)];
	while (*p != i)
		p = &c->e[*p].hnext;
	*p = c->e[i].hnext;
}

static void evict_oldest(struct gate_vcache *c)
{
	uint32_t i = c->tail;
	lru_unlink(c, i);
	chain_remove(c, i);
	c->e[i].hnext = c->free;
	c->free = i;
	c->size--;
	c->evictions++;
}

/* ---- API ---- */

bool gate_vcache_lookup(struct gate_vcache *c, const struct gate_vcache_key *k,
			struct gate_vcache_val *out)
{
	pthread_mutex_lock(&c->lock);
	uint32_t i = find(c, k);
	if (i == NIL) {
		c->misses++;
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	if (c->head != i) {
		lru_unlink(c, i);
		lru_push_front(c, i);
	}
	*out = c->e[i].val;
	c->hits++;
	pthread_mutex_unlock(&c->lock);
	return true;
}

uint64_t gate_vcache_generation(struct gate_vcache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t g = c->gen;
	pthread_mutex_unlock(&c->lock);
	return g;
}

void gate_vcache_insert(struct gate_vcache *c, const struct gate_vcache_key *k, uint64_t gen,
			const struct gate_vcache_val *v)
{
	pthread_mutex_lock(&c->lock);
	if (gen != c->gen) {
		c->stale++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	uint32_t i = find(c, k);
	if (i == NIL) {
		if (c->free == NIL)
			evict_oldest(c);
		i = c->free;
		c->free = c->e[i].hnext;
		c->e[i].key = *k;
		uint32_t s = slot_of(c, k);
		c->e[i].hnext = c->bucket[s];
		c->bucket[s] = i;
		c->size++;
	} else {
		lru_unlink(c, i);
	}
	c->e[i].val = *v;
	lru_push_front(c, i);
	c->inserts++;
	pthread_mutex_unlock(&c->lock);
}

void gate_vcache_invalidate(struct gate_vcache *c)
{
	pthread_mutex_lock(&c->lock);
	for (uint32_t b = 0; b < c->nbuckets; b++)
		c->bucket[b] = NIL;
	for (uint32_t i = 0; i < c->cap; i++) {
		c->e[i].hnext = i + 1 < c->cap ? i + 1 : NIL;
		c->e[i].prev = c->e[i].next = NIL;
	}
	c->free = 0;
	c->head = c->tail = NIL;
	c->size = 0;
	c->gen++;
	pthread_mutex_unlock(&c->lock);
}

void gate_vcache_get_stats(struct gate_vcache *c, struct gate_vcache_stats *s)
{
	pthread_mutex_lock(&c->lock);
	s->hits = c->hits;
	s->misses = c->misses;
	s->inserts = c->inserts;
	s->evictions = c->evictions;
	s->stale_inserts = c->stale;
	s->size = c->size;
	s->capacity = c->cap;
	s->generation = c->gen;
	pthread_mutex_unlock(&c->lock);
}
