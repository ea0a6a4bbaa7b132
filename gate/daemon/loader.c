/* loader.c - known dynamic loaders by digest, and the pid records that
 * tell a loader mapped for a program from a loader run as one (loader.h). */
#include "loader.h"
#include "elfinfo.h"
#include "gate_util.h"
#include "verify.h"

#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBES 8 /* record slots looked at per pid */

struct record {
	pid_t pid; /* 0: free */
	uint8_t id;
	int64_t until_ns;
};

struct gated_loaders {
	pthread_mutex_t lock;
	uint8_t digest[GATED_LOADER_DIGESTS][32];
	size_t ndigests;
	char *path[GATED_LOADER_PATHS + 1]; /* [id], [0] unused */
	size_t npaths;
	struct record rec[GATED_LOADER_RECORDS];
};

struct gated_loaders *gated_loaders_new(void)
{
	struct gated_loaders *l = calloc(1, sizeof(*l));
	if (l)
		pthread_mutex_init(&l->lock, NULL);
	return l;
}

void gated_loaders_free(struct gated_loaders *l)
{
	if (!l)
		return;
	for (size_t i = 1; i <= l->npaths; i++)
		free(l->path[i]);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void add_digest(struct gated_loaders *l, const uint8_t d[32])
{
	pthread_mutex_lock(&l->lock);
	bool have = false;
	for (size_t i = 0; i < l->ndigests && !have; i++)
		have = memcmp(l->digest[i], d, 32) == 0;
	if (!have && l->ndigests < GATED_LOADER_DIGESTS)
		memcpy(l->digest[l->ndigests++], d, 32);
	pthread_mutex_unlock(&l->lock);
}

/* Only regular files, opened without blocking on a FIFO. */
static void hash_path(struct gated_loaders *l, const char *path)
{
	struct gate_artifact *a = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    gate_artifact_from_fd(fd, path, &a, NULL) == GATE_OK)
		add_digest(l, gate_artifact_sha256(a));
	gate_artifact_free(a);
	close(fd);
}

/* The loader a program names, learnt by its path. */
static void learn_from_program(struct gated_loaders *l, const char *prog)
{
	struct gated_elf e;
	int fd = open(prog, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	gated_elf_from_fd(fd, &e);
	close(fd);
	if (e.kind != GATED_ELF_DYNAMIC)
		return;
	bool is_new;
	uint8_t id = gated_loaders_intern(l, e.interp, &is_new);
	if (id)
		gated_loaders_learn(l, id);
	else
		hash_path(l, e.interp);
}

size_t gated_loaders_scan(struct gated_loaders *l, char *const *interpreters, size_t n)
{
	static const char *const programs[] = {"/bin/sh", "/usr/bin/env", "/bin/true",
					       "/usr/bin/python3", "/usr/bin/perl"};
	static const char *const globs[] = {"/lib64/ld-linux*.so*",	"/lib/ld-linux*.so*",
					    "/lib/*/ld-linux*.so*",	"/lib/ld-musl-*.so*",
					    "/usr/lib64/ld-linux*.so*", "/usr/lib/*/ld-linux*.so*"};
	for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++)
		learn_from_program(l, programs[i]);
	for (size_t i = 0; i < n; i++)
		learn_from_program(l, interpreters[i]);
	for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++) {
		glob_t gl;
		if (glob(globs[i], GLOB_NOSORT, NULL, &gl) == 0)
			for (size_t j = 0; j < gl.gl_pathc && j < 32; j++)
				hash_path(l, gl.gl_pathv[j]);
		globfree(&gl);
	}
	return gated_loaders_count(l);
}

bool gated_loaders_is_loader(struct gated_loaders *l, const uint8_t sha256[32])
{
	bool is = false;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->ndigests && !is; i++)
		is = memcmp(l->digest[i], sha256, 32) == 0;
	pthread_mutex_unlock(&l->lock);
	return is;
}

uint8_t gated_loaders_intern(struct gated_loaders *l, const char *path, bool *is_new)
{
	uint8_t id = 0;
	*is_new = false;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 1; i <= l->npaths && !id; i++)
		if (strcmp(l->path[i], path) == 0)
			id = (uint8_t)i;
	if (!id && l->npaths < GATED_LOADER_PATHS && (l->path[l->npaths + 1] = strdup(path))) {
		id = (uint8_t)++l->npaths;
		*is_new = true;
	}
	pthread_mutex_unlock(&l->lock);
	return id;
}

/* Paths are never removed, so the string outlives the lock. */
static const char *path_of(struct gated_loaders *l, uint8_t id)
{
	pthread_mutex_lock(&l->lock);
	const char *p = id && id <= l->npaths ? l->path[id] : NULL;
	pthread_mutex_unlock(&l->lock);
	return p;
}

void gated_loaders_learn(struct gated_loaders *l, uint8_t id)
{
	const char *p = path_of(l, id);
	if (p)
		hash_path(l, p);
}

/* Lock held. The slot holding pid, else a free or expired one (then
 * *found is false), else NULL. */
static struct record *slot(struct gated_loaders *l, pid_t pid, int64_t now, bool *found)
{
	struct record *spare = NULL;
	*found = false;
	for (unsigned i = 0; i < PROBES; i++) {
		struct record *r = &l->rec[((unsigned)pid + i) % GATED_LOADER_RECORDS];
		if (r->pid == pid) {
			*found = true;
			return r;
		}
		if (!spare && (r->pid == 0 || r->until_ns < now))
			spare = r;
	}
	return spare;
}

void gated_loaders_program(struct gated_loaders *l, pid_t pid, uint8_t id, int64_t now_ns)
{
	bool found;
	pthread_mutex_lock(&l->lock);
	struct record *r = slot(l, pid, now_ns, &found);
	if (r && id)
		*r = (struct record){
			.pid = pid, .id = id, .until_ns = now_ns + GATED_LOADER_EXPECT_NS};
	else if (r && found)
		r->pid = 0;
	/* No slot (PROBES live records around pid): its loader is denied. */
	pthread_mutex_unlock(&l->lock);
}

/* Same file as the interpreter path in the process's root? */
static bool is_named_file(pid_t pid, const char *interp, int fd)
{
	char p[PATH_MAX];
	struct stat a, b;
	int n = snprintf(p, sizeof p, "/proc/%d/root%s", (int)pid, interp);
	if (n < 0 || (size_t)n >= sizeof p || interp[0] != '/')
		return false;
	return stat(p, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

const char *gated_loaders_check(struct gated_loaders *l, pid_t pid, int fd, int64_t now_ns)
{
	bool found;
	uint8_t id = 0;
	pthread_mutex_lock(&l->lock);
	struct record *r = slot(l, pid, now_ns, &found);
	if (found) {
		if (r->until_ns >= now_ns)
			id = r->id;
		r->pid = 0; /* used up either way */
	}
	pthread_mutex_unlock(&l->lock);
	if (!id)
		return "the dynamic loader run as a program (no program exec named it)";
	const char *interp = path_of(l, id);
	if (!interp || !is_named_file(pid, interp, fd))
		return "the dynamic loader run as a program (not the interpreter the program names)";
	return NULL;
}

size_t gated_loaders_count(struct gated_loaders *l)
{
	pthread_mutex_lock(&l->lock);
	size_t n = l->ndigests;
	pthread_mutex_unlock(&l->lock);
	return n;
}
