/* fake_magic.c - a libmagic.so.1 without magic_setparam, for test_lazylib:
 * gate must refuse it, never use half a table. */
#include <magic.h>
#include <stddef.h>

magic_t magic_open(int flags)
{
	(void)flags;
	return NULL;
}

void magic_close(magic_t m)
{
	(void)m;
}

const char *magic_descriptor(magic_t m, int fd)
{
	(void)m;
	(void)fd;
	return NULL;
}

int magic_load(magic_t m, const char *file)
{
	(void)m;
	(void)file;
	return -1;
}

int magic_version(void)
{
	return MAGIC_VERSION;
}
