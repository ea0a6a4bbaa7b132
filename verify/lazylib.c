/* lazylib.c - dlopen libcurl and libarchive on first use (see lazylib.h). */
#include "lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

const struct gate_lazy_curl *gate_lazy_curl_tab;
const struct gate_lazy_archive *gate_lazy_archive_tab;

static struct gate_lazy_curl curl_tab;
static struct gate_lazy_archive archive_tab;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT, archive_once = PTHREAD_ONCE_INIT;

/* Resolve every symbol or none: a half-filled table must never be used. */
#define GATE_LAZY_RESOLVE(f)                                                                     \
	if (!(tab->f = (__typeof__(tab->f))dlsym(h, #f)))                                         \
		ok = 0;

static void load_curl(void)
{
	struct gate_lazy_curl *tab = &curl_tab;
	int ok = 1;
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	GATE_LAZY_CURL_FNS(GATE_LAZY_RESOLVE)
	if (ok)
		gate_lazy_curl_tab = tab;
}

static void load_archive(void)
{
	struct gate_lazy_archive *tab = &archive_tab;
	int ok = 1;
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	GATE_LAZY_ARCHIVE_FNS(GATE_LAZY_RESOLVE)
	if (ok)
		gate_lazy_archive_tab = tab;
}

const struct gate_lazy_curl *gate_lazy_curl(void)
{
	pthread_once(&curl_once, load_curl);
	return gate_lazy_curl_tab;
}

const struct gate_lazy_archive *gate_lazy_archive(void)
{
	pthread_once(&archive_once, load_archive);
	return gate_lazy_archive_tab;
}
