/* lazylib.c - dlopen the libraries of GATE_LAZY_LIBS on first use (see lazylib.h). */
#include "lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define ERROR_MAX 256

enum lazy_id {
#define LAZY_ID(name, so, fns) LAZY_##name,
	GATE_LAZY_LIBS(LAZY_ID)
#undef LAZY_ID
		LAZY_COUNT
};

struct lazy_lib {
	const char *soname;
	pthread_once_t once;
	char error[ERROR_MAX]; /* why it is not loaded, once tried */
};

static struct lazy_lib libs[LAZY_COUNT] = {
#define LAZY_INIT(name, so, fns) [LAZY_##name] = {.soname = so, .once = PTHREAD_ONCE_INIT},
	GATE_LAZY_LIBS(LAZY_INIT)
#undef LAZY_INIT
};

static bool lazy_fail(struct lazy_lib *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool lazy_fail(struct lazy_lib *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->error, sizeof l->error, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- version checks, where an ABI or behaviour changed within one SONAME ---- */

/* identify.c relies on magic_setparam (5.21) and on flag and parameter
 * numbers that hold within 5.x. */
static bool check_magic(const void *tab, struct lazy_lib *l)
{
	const struct gate_lazy_magic *t = tab;
	int v = t->magic_version();
	if (v / 100 != MAGIC_VERSION / 100 || v < 521)
		return lazy_fail(l, "%s is libmagic %d.%02d; gate needs 5.21 or a later 5.x",
				 l->soname, v / 100, v % 100);
	return true;
}

/* yaml.c allocates yaml_parser_t and yaml_event_t itself and reads their
 * fields: their layout is that of the 0.2 series it was built against. */
static bool check_yaml(const void *tab, struct lazy_lib *l)
{
	const struct gate_lazy_yaml *t = tab;
	int major = -1, minor = -1, patch = -1;
	t->yaml_get_version(&major, &minor, &patch);
	if (major != 0 || minor != 2)
		return lazy_fail(l, "%s is libyaml %d.%d.%d; gate needs 0.2.x", l->soname, major,
				 minor, patch);
	return true;
}

/* The ledger relies on SQLITE_OPEN_NOFOLLOW and SQLITE_DBCONFIG_TRUSTED_SCHEMA
 * (3.31.0), which an older library would ignore without an error. */
#define SQLITE_MIN 3031000
_Static_assert(SQLITE_VERSION_NUMBER >= SQLITE_MIN, "sqlite3.h older than 3.31.0");

static bool check_sqlite(const void *tab, struct lazy_lib *l)
{
	const struct gate_lazy_sqlite *t = tab;
	int v = t->sqlite3_libversion_number();
	if (v < SQLITE_MIN || v / 1000000 != SQLITE_VERSION_NUMBER / 1000000)
		return lazy_fail(l, "%s is SQLite %d.%d.%d; gate needs 3.31.0 or a later 3.x",
				 l->soname, v / 1000000, v / 1000 % 1000, v % 1000);
	return true;
}

static bool (*const checks[LAZY_COUNT])(const void *tab, struct lazy_lib *l) = {
	[LAZY_magic] = check_magic,
	[LAZY_yaml] = check_yaml,
	[LAZY_sqlite] = check_sqlite,
};

/* ---- loading ---- */

/* dlopen id's library, fill its table with resolve, check its version:
 * all of it or none (a half-filled table must never be used). */
static bool lazy_load(enum lazy_id id, void *tab, const char *(*resolve)(void *h, void *tab))
{
	struct lazy_lib *l = &libs[id];
	const char *missing;
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		return lazy_fail(l, "cannot load %s: %s", l->soname, e ? e : "unknown error");
	}
	if ((missing = resolve(h, tab)))
		lazy_fail(l, "%s has no %s (too old?)", l->soname, missing);
	else if (!checks[id] || checks[id](tab, l))
		return true;
	dlclose(h);
	return false;
}

/* The first symbol that is missing, or NULL when all resolved. */
#define LAZY_RESOLVE(f)                                                                            \
	if (!(t->f = (__typeof__(t->f))dlsym(h, #f)))                                              \
		return #f;

#define LAZY_DEFINE(name, so, fns)                                                                 \
	const struct gate_lazy_##name *gate_lazy_##name##_tab;                                     \
	static struct gate_lazy_##name name##_tab;                                                 \
	static const char *resolve_##name(void *h, void *tab)                                      \
	{                                                                                          \
		struct gate_lazy_##name *t = tab;                                                  \
		fns(LAZY_RESOLVE) return NULL;                                                     \
	}                                                                                          \
	static void load_##name(void)                                                              \
	{                                                                                          \
		if (lazy_load(LAZY_##name, &name##_tab, resolve_##name))                           \
			gate_lazy_##name##_tab = &name##_tab;                                      \
	}                                                                                          \
	const struct gate_lazy_##name *gate_lazy_##name(void)                                      \
	{                                                                                          \
		pthread_once(&libs[LAZY_##name].once, load_##name);                                \
		return gate_lazy_##name##_tab;                                                     \
	}                                                                                          \
	const char *gate_lazy_##name##_error(void)                                                 \
	{                                                                                          \
		return gate_lazy_##name() ? NULL : libs[LAZY_##name].error;                        \
	}
GATE_LAZY_LIBS(LAZY_DEFINE)
