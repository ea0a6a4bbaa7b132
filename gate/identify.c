/* identify.c - what an artifact is: libmagic's MIME type of the open file.
 * libmagic is loaded on first use (lazylib.h). */
#include "gate_int.h"
#include "lazy_magic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A magic cookie is not thread-safe and loading the database costs
 * milliseconds, so each thread loads one on first use and keeps it. */
#define GATE_MAGIC_BYTES_MAX (1024u * 1024)

static pthread_key_t magic_key;
static pthread_once_t magic_once = PTHREAD_ONCE_INIT;

static void magic_destroy(void *cookie)
{
	magic_close(cookie);
}

static void magic_key_init(void)
{
	(void)pthread_key_create(&magic_key, magic_destroy);
}

static magic_t thread_magic(void)
{
	pthread_once(&magic_once, magic_key_init);
	magic_t m = pthread_getspecific(magic_key);
	if (m)
		return m;
	/* No decompression and no following into archives: the type is of
	 * the bytes as they are. */
	m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TAR |
		       MAGIC_NO_CHECK_ENCODING | MAGIC_ERROR);
	if (!m)
		return NULL;
	/* libmagic 5.44 reads up to 7 MiB of every file; the types we match
	 * on are decided by the first bytes, and reading (and faulting in)
	 * 7 MiB costs milliseconds per large file - the exec daemon's budget
	 * (docs/BENCHMARKS.md). 1 MiB was libmagic's own earlier default. */
	size_t bytes_max = GATE_MAGIC_BYTES_MAX;
	if (magic_load(m, NULL) != 0 || magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes_max) != 0 ||
	    pthread_setspecific(magic_key, m) != 0) {
		magic_close(m);
		return NULL;
	}
	return m;
}

const char *gate_mime_unavailable(void)
{
	return gate_lazy_magic_error();
}

char *gate_mime_of_fd(int fd)
{
	magic_t m = thread_magic();
	const char *t = m ? magic_descriptor(m, fd) : NULL;
	return t ? strdup(t) : NULL;
}
