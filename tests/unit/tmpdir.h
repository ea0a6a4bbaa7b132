/* tmpdir.h - a scratch directory for a unit test, paths in it and files
 * written there. Include after <cmocka.h>. */
#ifndef GATE_TEST_TMPDIR_H
#define GATE_TEST_TMPDIR_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf dir, links not followed. */
static inline void test_rmtree(const char *dir)
{
	nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new directory /tmp/gate-test-TAG.XXXXXX into dir (cap bytes). */
static inline bool test_mkdtemp(char *dir, size_t cap, const char *tag)
{
	int w = snprintf(dir, cap, "/tmp/gate-test-%s.XXXXXX", tag);
	return w > 0 && (size_t)w < cap && mkdtemp(dir) != NULL;
}

/* dir/name in a ring of 64 buffers: enough for the paths one test step
 * holds at once; name may itself be one of them. */
struct test_paths {
	char buf[64][512];
	unsigned next;
};

static inline const char *test_path(struct test_paths *r, const char *dir, const char *name)
{
	char *b = r->buf[r->next++ % 64], tmp[sizeof r->buf[0]];
	int w = snprintf(tmp, sizeof tmp, "%s/%s", dir, name);
	assert_true(w > 0 && (size_t)w < sizeof tmp);
	memcpy(b, tmp, sizeof tmp);
	return b;
}

/* Write a new file (unlinked first: ext4 flushes on close after a
 * truncate, which made tests take seconds). */
static inline void test_write_file(const char *path, const void *data, size_t len)
{
	(void)unlink(path);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif
