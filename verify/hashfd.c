/* hashfd.c - feed a range of a file through a digest (internal.h). Large
 * ranges are read by a second thread into a ring of buffers while the
 * calling thread hashes, so copying out of the page cache (or waiting for
 * the disk) overlaps the hashing instead of adding to it. */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT_SIZE (256u * 1024) /* 4 of them: 1 MiB, within the RSS budget */
#define SLOTS 4
#define PIPE_MIN (8u * 1024 * 1024) /* below: one thread, no ring */

struct slot {
	uint8_t *buf;
	ssize_t len; /* > 0 data, 0 end of file, -1 error (err_no) */
};

/* A ring of SLOTS buffers: the reader fills them in order, the hasher
 * empties them in order; filled counts the full ones. Each side sleeps
 * only when it must, and is woken only when the other is asleep - the
 * reader once half the ring is free again - so a 1 GiB file costs a few
 * thousand wake-ups, not one per buffer. */
struct ring {
	int fd;
	uint64_t from, to;
	struct slot s[SLOTS];
	unsigned filled;
	bool reader_waits, hasher_waits;
	int err_no;
	bool stop;
	pthread_mutex_t lock;
	pthread_cond_t to_reader, to_hasher;
};

/* pread [off, off + want), retrying EINTR: bytes read, 0 at the end, -1. */
static ssize_t read_at(int fd, uint8_t *buf, size_t want, uint64_t off)
{
	for (;;) {
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

static void *reader(void *arg)
{
	struct ring *g = arg;
	uint64_t off = g->from;
	for (unsigned i = 0;; i = (i + 1) % SLOTS) {
		struct slot *s = &g->s[i];
		pthread_mutex_lock(&g->lock);
		while (g->filled == SLOTS && !g->stop) {
			g->reader_waits = true;
			pthread_cond_wait(&g->to_reader, &g->lock);
		}
		g->reader_waits = false;
		bool stop = g->stop;
		pthread_mutex_unlock(&g->lock);
		if (stop)
			return NULL;
		size_t want = g->to - off < SLOT_SIZE ? (size_t)(g->to - off) : SLOT_SIZE;
		ssize_t r = want ? read_at(g->fd, s->buf, want, off) : 0;
		int e = errno;
		pthread_mutex_lock(&g->lock);
		s->len = r;
		g->filled++;
		if (r < 0)
			g->err_no = e;
		if (g->hasher_waits)
			pthread_cond_signal(&g->to_hasher);
		pthread_mutex_unlock(&g->lock);
		if (r <= 0)
			return NULL;
		off += (uint64_t)r;
	}
}

static bool update(EVP_MD_CTX *ctx, EVP_MD_CTX *ctx2, const uint8_t *buf, size_t len)
{
	return EVP_DigestUpdate(ctx, buf, len) == 1 &&
	       (!ctx2 || EVP_DigestUpdate(ctx2, buf, len) == 1);
}

/* The same, on this thread only. */
static bool cancelled(const struct gate_cancel *c)
{
	return c && c->fn && c->fn(c->arg);
}

static enum gate_hash_rc hash_plain(int fd, EVP_MD_CTX *ctx, EVP_MD_CTX *ctx2, uint64_t from,
				    uint64_t to, const struct gate_cancel *cancel, uint64_t *done,
				    int *err_no)
{
	size_t cap = to - from < 256u * 1024 ? (size_t)(to - from) : 256u * 1024;
	uint8_t *buf = malloc(cap ? cap : 1);
	enum gate_hash_rc rc = GATE_HASH_OK;
	if (!buf)
		return GATE_HASH_NOMEM;
	while (from < to) {
		size_t want = to - from < cap ? (size_t)(to - from) : cap;
		if (cancelled(cancel)) {
			rc = GATE_HASH_CANCELLED;
			break;
		}
		ssize_t r = read_at(fd, buf, want, from);
		if (r < 0) {
			*err_no = errno;
			rc = GATE_HASH_READ;
			break;
		}
		if (r == 0)
			break;
		if (!update(ctx, ctx2, buf, (size_t)r)) {
			rc = GATE_HASH_DIGEST;
			break;
		}
		from += (uint64_t)r;
		*done += (uint64_t)r;
	}
	free(buf);
	return rc;
}

enum gate_hash_rc gate_hash_fd(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to, uint64_t *done,
			       int *err_no)
{
	return gate_hash_fd2(fd, ctx, NULL, from, to, NULL, done, err_no);
}

enum gate_hash_rc gate_hash_fd_cancel(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to,
				      const struct gate_cancel *cancel, uint64_t *done, int *err_no)
{
	return gate_hash_fd2(fd, ctx, NULL, from, to, cancel, done, err_no);
}

enum gate_hash_rc gate_hash_fd2(int fd, EVP_MD_CTX *ctx, EVP_MD_CTX *ctx2, uint64_t from,
				uint64_t to, const struct gate_cancel *cancel, uint64_t *done,
				int *err_no)
{
	struct ring g = {.fd = fd, .from = from, .to = to};
	pthread_t tid;
	enum gate_hash_rc rc = GATE_HASH_OK;
	bool started = false;
	*done = 0;
	*err_no = 0;
	if (to <= from)
		return GATE_HASH_OK;
	/* Worth a second thread only for a large span of what the file has
	 * now (it may still grow or shrink while read: the reads decide). */
	struct stat st;
	uint64_t have = fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	uint64_t span = (to < have ? to : have) > from ? (to < have ? to : have) - from : 0;
	if (span < PIPE_MIN)
		return hash_plain(fd, ctx, ctx2, from, to, cancel, done, err_no);
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.to_reader, NULL);
	pthread_cond_init(&g.to_hasher, NULL);
	for (int i = 0; i < SLOTS; i++)
		if (!(g.s[i].buf = malloc(SLOT_SIZE)))
			goto fallback;
	if (pthread_create(&tid, NULL, reader, &g) != 0)
		goto fallback;
	started = true;
	for (unsigned i = 0;; i = (i + 1) % SLOTS) {
		struct slot *s = &g.s[i];
		pthread_mutex_lock(&g.lock);
		while (g.filled == 0) {
			g.hasher_waits = true;
			pthread_cond_wait(&g.to_hasher, &g.lock);
		}
		g.hasher_waits = false;
		pthread_mutex_unlock(&g.lock);
		ssize_t len = s->len; /* the reader leaves a full slot alone */
		if (len < 0) {
			*err_no = g.err_no;
			rc = GATE_HASH_READ;
			break;
		}
		if (len == 0)
			break;
		if (cancelled(cancel)) {
			rc = GATE_HASH_CANCELLED;
			break;
		}
		if (!update(ctx, ctx2, s->buf, (size_t)len)) {
			rc = GATE_HASH_DIGEST;
			break;
		}
		*done += (uint64_t)len;
		pthread_mutex_lock(&g.lock);
		g.filled--;
		if (g.reader_waits && g.filled <= SLOTS / 2)
			pthread_cond_signal(&g.to_reader);
		pthread_mutex_unlock(&g.lock);
	}
	pthread_mutex_lock(&g.lock);
	g.stop = true;
	pthread_cond_signal(&g.to_reader);
	pthread_mutex_unlock(&g.lock);
	pthread_join(tid, NULL);
fallback:
	if (!started)
		rc = hash_plain(fd, ctx, ctx2, from, to, cancel, done, err_no);
	for (int i = 0; i < SLOTS; i++)
		free(g.s[i].buf);
	pthread_mutex_destroy(&g.lock);
	pthread_cond_destroy(&g.to_reader);
	pthread_cond_destroy(&g.to_hasher);
	return rc;
}
