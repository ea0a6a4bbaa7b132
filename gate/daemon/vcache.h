/*
 * vcache.h - gated's in-memory verdict cache (DESIGN "Install ledger and
 * exec allowlisting", step 1): answers keyed by device, inode, size, mtime
 * and ctime, so that any change to the file - rewritten in place, renamed
 * over, truncated, chmod'ed - is a miss and is decided again. Bounded:
 * capacity is fixed at creation, all entries are allocated then, and the
 * least recently used entry makes room for a new one.
 *
 * Generations: gate_vcache_invalidate (policy reload) drops every entry
 * and starts a new generation; an insert made with an older generation is
 * ignored, so a decision that started under the old policy can never put
 * its answer into the new policy's cache.
 *
 * Thread-safe (one mutex; every call is O(1)). Internal to gated.
 */
#ifndef GATE_HOOKS_EXEC_VCACHE_H
#define GATE_HOOKS_EXEC_VCACHE_H

#include "verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define GATE_VCACHE_MAX (1u << 22) /* entries: 4 Mi, about 700 MiB (168 bytes each) */
/* A file changed this recently may change again within the same
 * timestamp tick (coarse kernel clock, 1 s on ext4 with small inodes, 2 s
 * on FAT) without its mtime or ctime moving, so its answer is not cached:
 * it is decided at every exec until it has been stable this long. */
#define GATE_VCACHE_RACY_NS (2 * 1000000000LL)

/* mnt_id: the mount the file was reached through (pathtrust.c), zero when
 * not known: the same inode reached through another mount (a bind mount
 * made elsewhere) is a miss and decided on the path gated resolves. place
 * is an optional digest of the name (zero in gated: see nsguard.h). */
struct gate_vcache_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, ctime_sec;
	int64_t mtime_nsec, ctime_nsec;
	uint64_t mnt_id;
	uint8_t place[16];
};

/* Where a cached answer came from (for counts and audit events). */
enum gate_vcache_src { GATE_VCACHE_SRC_POLICY = 0, GATE_VCACHE_SRC_LEDGER = 1 };

#define GATE_VCACHE_F_LOADER 1 /* the file is a known dynamic loader */

struct gate_vcache_val {
	bool allowed;	 /* the answer given to the kernel */
	uint8_t kind;	 /* enum gate_verdict_kind of the decision */
	uint8_t src;	 /* enum gate_vcache_src */
	uint8_t flags;	 /* GATE_VCACHE_F_* (gated's loader rule) */
	uint8_t interp;	 /* id of the ELF interpreter it names (loader.h), 0: none */
	char digest[65]; /* hex SHA-256 the answer was decided for */
};

struct gate_vcache_stats {
	uint64_t hits, misses, inserts, evictions, stale_inserts;
	size_t size, capacity;
	uint64_t generation;
};

struct gate_vcache;

void gate_vcache_key_from_stat(const struct stat *st, struct gate_vcache_key *k);
/* True when the key's mtime or ctime is less than GATE_VCACHE_RACY_NS
 * before now (or after it): the answer must not be cached. */
bool gate_vcache_racy(const struct gate_vcache_key *k, const struct timespec *now);

/* capacity 1..GATE_VCACHE_MAX. Errors: GATE_E_USAGE, GATE_E_NOMEM. */
GATE_WUR enum gate_err gate_vcache_new(size_t capacity, struct gate_vcache **out,
				       struct gate_error *err);
void gate_vcache_free(struct gate_vcache *c);

/* On a hit copies the value to *out, makes the entry most recently used
 * and returns true. Counts a hit or a miss. */
bool gate_vcache_lookup(struct gate_vcache *c, const struct gate_vcache_key *k,
			struct gate_vcache_val *out);
/* The generation to pass to gate_vcache_insert: read it BEFORE taking the
 * policy the decision uses. */
uint64_t gate_vcache_generation(struct gate_vcache *c);
/* Insert or replace; evicts the least recently used entry when full.
 * Ignored (counted as stale) when gen is not the current generation. */
void gate_vcache_insert(struct gate_vcache *c, const struct gate_vcache_key *k, uint64_t gen,
			const struct gate_vcache_val *v);
/* Drop every entry and start a new generation. */
void gate_vcache_invalidate(struct gate_vcache *c);
void gate_vcache_get_stats(struct gate_vcache *c, struct gate_vcache_stats *s);

#endif
