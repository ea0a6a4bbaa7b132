/* interp.c - configured interpreters by digest, their command lines, and
 * the rule for which of their opens are decided (interp.h). */
#include "interp.h"
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

struct interp {
	uint8_t digest[32];
	uint64_t size;
	enum gated_family fam;
};

struct gated_interps {
	pthread_mutex_t lock; /* v, n: replaced on SIGHUP */
	struct interp *v;
	size_t n;
	struct gate_vcache *exes; /* val.kind: enum gated_family */
};

static enum gated_family family_of(const char *path)
{
	static const char *const shells[] = {"sh", "dash", "bash", "zsh", "ksh", "mksh", "ash"};
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
		if (strcmp(b, shells[i]) == 0)
			return GATED_FAM_SHELL;
	if (strncmp(b, "python", 6) == 0)
		return GATED_FAM_PYTHON;
	if (strncmp(b, "perl", 4) == 0)
		return GATED_FAM_PERL;
	return GATED_FAM_OTHER;
}

static enum gate_err hash_fd(int fd, const char *what, uint8_t out[32], struct gate_error *err)
{
	struct gate_artifact *a = NULL;
	enum gate_err rc = gate_artifact_from_fd(fd, what, &a, err);
	if (rc == GATE_OK)
		memcpy(out, gate_artifact_sha256(a), 32);
	gate_artifact_free(a);
	return rc;
}

/* A table of the interpreters' digests, sizes and families. */
static enum gate_err hash_all(char *const *paths, size_t n, struct interp **out,
			      struct gate_error *err)
{
	enum gate_err rc = GATE_OK;
	struct interp *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, "--interpreter", "out of memory");
	for (size_t i = 0; rc == GATE_OK && i < n; i++) {
		struct stat st = {0};
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
			rc = gate_fail(err, GATE_E_IO, NULL, "--interpreter", "%s: %s", paths[i],
				       fd < 0 ? strerror(errno) : "not a regular file");
		else
			rc = hash_fd(fd, paths[i], v[i].digest, err);
		if (fd >= 0)
			close(fd);
		v[i].size = (uint64_t)st.st_size;
		v[i].fam = family_of(paths[i]);
	}
	if (rc != GATE_OK) {
		free(v);
		return rc;
	}
	*out = v;
	return GATE_OK;
}

enum gate_err gated_interps_new(char *const *paths, size_t n, size_t cache,
				struct gated_interps **out, struct gate_error *err)
{
	enum gate_err rc;
	struct gated_interps *t = calloc(1, sizeof(*t));
	if (!t)
		return gate_fail(err, GATE_E_NOMEM, NULL, "--interpreter", "out of memory");
	pthread_mutex_init(&t->lock, NULL);
	if ((rc = gate_vcache_new(cache, &t->exes, err)) != GATE_OK ||
	    (rc = hash_all(paths, n, &t->v, err)) != GATE_OK) {
		gated_interps_free(t);
		return rc;
	}
	t->n = n;
	*out = t;
	return GATE_OK;
}

enum gate_err gated_interps_rehash(struct gated_interps *t, char *const *paths, size_t n,
				   struct gate_error *err)
{
	struct interp *v = NULL, *old;
	enum gate_err rc = hash_all(paths, n, &v, err);
	if (rc != GATE_OK)
		return rc;
	pthread_mutex_lock(&t->lock);
	old = t->v;
	t->v = v;
	t->n = n;
	pthread_mutex_unlock(&t->lock);
	gate_vcache_invalidate(t->exes); /* after the swap, as for verdicts (vcache.h) */
	free(old);
	return GATE_OK;
}

void gated_interps_free(struct gated_interps *t)
{
	if (!t)
		return;
	gate_vcache_free(t->exes);
	pthread_mutex_destroy(&t->lock);
	free(t->v);
	free(t);
}

static bool size_matches(struct gated_interps *t, uint64_t size)
{
	bool m = false;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && !m; i++)
		m = t->v[i].size == size;
	pthread_mutex_unlock(&t->lock);
	return m;
}

static enum gated_family digest_family(struct gated_interps *t, const uint8_t d[32])
{
	enum gated_family fam = GATED_FAM_NONE;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && fam == GATED_FAM_NONE; i++)
		if (memcmp(d, t->v[i].digest, 32) == 0)
			fam = t->v[i].fam;
	pthread_mutex_unlock(&t->lock);
	return fam;
}

enum gated_family gated_interps_peek(struct gated_interps *t, pid_t pid)
{
	char link[64];
	struct statx sx;
	struct stat st = {0};
	struct gate_vcache_key k;
	struct gate_vcache_val v;
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	/* Cached attributes only: the reader must not wait on a remote
	 * filesystem's server. */
	if (statx(AT_FDCWD, link, AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) != 0)
		return GATED_FAM_NONE; /* gone, or a kernel thread */
	if (!size_matches(t, sx.stx_size))
		return GATED_FAM_NONE;
	st.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st.st_ino = sx.stx_ino;
	st.st_size = (off_t)sx.stx_size;
	st.st_mtim = (struct timespec){sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
	st.st_ctim = (struct timespec){sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
	gate_vcache_key_from_stat(&st, &k);
	return gate_vcache_lookup(t->exes, &k, &v) ? (enum gated_family)v.kind : GATED_FAM_UNKNOWN;
}

enum gated_family gated_interps_resolve(struct gated_interps *t, pid_t pid)
{
	char link[64];
	struct stat st;
	struct gate_vcache_key k;
	struct gate_vcache_val v = {0};
	uint8_t d[32];
	struct timespec now;
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	int fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return GATED_FAM_NONE;
	enum gated_family fam = GATED_FAM_NONE;
	if (fstat(fd, &st) != 0 || !size_matches(t, (uint64_t)st.st_size))
		goto out;
	gate_vcache_key_from_stat(&st, &k);
	if (gate_vcache_lookup(t->exes, &k, &v)) {
		fam = (enum gated_family)v.kind;
		goto out;
	}
	uint64_t gen = gate_vcache_generation(t->exes);
	if (hash_fd(fd, link, d, NULL) != GATE_OK)
		goto out;
	fam = digest_family(t, d);
	v = (struct gate_vcache_val){.allowed = fam != GATED_FAM_NONE, .kind = (uint8_t)fam};
	gate_hex_encode(d, 32, v.digest);
	clock_gettime(CLOCK_REALTIME, &now);
	if (!gate_vcache_racy(&k, &now))
		gate_vcache_insert(t->exes, &k, gen, &v);
out:
	close(fd);
	return fam;
}

/* ---- command lines ---- */

struct args {
	const char *p, *end;
};

static const char *next_arg(struct args *a)
{
	if (a->p >= a->end)
		return NULL;
	const char *s = a->p;
	const char *nul = memchr(s, '\0', (size_t)(a->end - s));
	a->p = nul ? nul + 1 : a->end;
	return nul ? s : NULL; /* an unterminated last argument is not one */
}

/* sh/bash/dash: -c anywhere among the leading options is inline code,
 * -s or no operand is standard input; -o/+o and bash's --rcfile and
 * --init-file take an argument. */
static enum gated_argv shell_argv(struct args *a, const char **op)
{
	const char *s;
	while ((s = next_arg(a))) {
		if (strcmp(s, "--") == 0 || strcmp(s, "-") == 0)
			break;
		if (strncmp(s, "--", 2) == 0) {
			if (strcmp(s, "--rcfile") == 0 || strcmp(s, "--init-file") == 0)
				next_arg(a);
			continue;
		}
		if (s[0] != '-' && s[0] != '+') {
			*op = s;
			return GATED_ARGV_SCRIPT;
		}
		if (s[0] == '-' && strchr(s, 'c'))
			return GATED_ARGV_INLINE;
		if (s[0] == '-' && strchr(s, 's'))
			return GATED_ARGV_STDIN;
		if (strpbrk(s + 1, "oO"))
			next_arg(a);
	}
	*op = next_arg(a);
	return *op ? GATED_ARGV_SCRIPT : GATED_ARGV_STDIN;
}

/* python: -c code, -m module, - (stdin); -W and -X take an argument,
 * attached or not; flags combine (-Bc). */
static enum gated_argv python_argv(struct args *a, const char **op)
{
	const char *s;
	while ((s = next_arg(a))) {
		if (strcmp(s, "-") == 0)
			return GATED_ARGV_STDIN;
		if (strcmp(s, "--") == 0)
			break;
		if (s[0] != '-') {
			*op = s;
			return GATED_ARGV_SCRIPT;
		}
		if (s[1] == '-')
			continue; /* --help, --version, --check-hash-based-pycs takes one */
		for (const char *c = s + 1; *c; c++) {
			if (*c == 'c')
				return GATED_ARGV_INLINE;
			if (*c == 'm')
				return GATED_ARGV_MODULE;
			if (*c == 'W' || *c == 'X') {
				if (!c[1])
					next_arg(a);
				break;
			}
		}
	}
	*op = next_arg(a);
	return *op ? GATED_ARGV_SCRIPT : GATED_ARGV_STDIN;
}

/* perl: -e/-E code (flags combine: -le); - is stdin. Other families:
 * the first non-option is the script. */
static enum gated_argv other_argv(struct args *a, const char **op, bool perl)
{
	const char *s;
	while ((s = next_arg(a))) {
		if (strcmp(s, "-") == 0)
			return GATED_ARGV_STDIN;
		if (strcmp(s, "--") == 0)
			break;
		if (s[0] != '-') {
			*op = s;
			return GATED_ARGV_SCRIPT;
		}
		if (perl && s[1] != '-' && strpbrk(s + 1, "eE"))
			return GATED_ARGV_INLINE;
	}
	*op = next_arg(a);
	return *op ? GATED_ARGV_SCRIPT : GATED_ARGV_STDIN;
}

enum gated_argv gated_argv_classify(enum gated_family fam, const char *cmdline, size_t len,
				    char **operand)
{
	struct args a = {cmdline, cmdline + len};
	const char *op = NULL;
	enum gated_argv r;
	*operand = NULL;
	if (!next_arg(&a)) /* argv[0] */
		return GATED_ARGV_UNREAD;
	switch (fam) {
	case GATED_FAM_SHELL:
		r = shell_argv(&a, &op);
		break;
	case GATED_FAM_PYTHON:
		r = python_argv(&a, &op);
		break;
	default:
		r = other_argv(&a, &op, fam == GATED_FAM_PERL);
		break;
	}
	if (r == GATED_ARGV_SCRIPT && !(*operand = strdup(op)))
		return GATED_ARGV_UNREAD;
	return r;
}

enum gated_argv gated_interps_argv(pid_t pid, enum gated_family fam, char **operand)
{
	char path[64];
	*operand = NULL;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return GATED_ARGV_UNREAD;
	char *buf = malloc(GATED_CMDLINE_MAX + 1);
	size_t len = 0;
	ssize_t k = 1;
	while (buf && len <= GATED_CMDLINE_MAX && k > 0) {
		k = read(fd, buf + len, GATED_CMDLINE_MAX + 1 - len);
		if (k < 0 && errno == EINTR)
			k = 1;
		else if (k > 0)
			len += (size_t)k;
	}
	close(fd);
	enum gated_argv r = GATED_ARGV_UNREAD;
	if (buf && k == 0 && len > 0 && len <= GATED_CMDLINE_MAX)
		r = gated_argv_classify(fam, buf, len, operand);
	free(buf);
	return r;
}

/* ---- which opens are scripts ---- */

static bool has_suffix(const char *path, enum gated_family fam)
{
	static const char *const sh[] = {".sh", ".bash", ".zsh", ".ksh", NULL};
	static const char *const py[] = {".py", ".pyc", ".pyw", NULL};
	static const char *const pl[] = {".pl", ".pm", NULL};
	const char *const *list = fam == GATED_FAM_SHELL    ? sh
				  : fam == GATED_FAM_PYTHON ? py
				  : fam == GATED_FAM_PERL   ? pl
							    : NULL;
	size_t n = strlen(path);
	for (; list && *list; list++) {
		size_t m = strlen(*list);
		if (n > m && strcmp(path + n - m, *list) == 0)
			return true;
	}
	return false;
}

static bool is_operand(pid_t pid, int fd, const char *operand)
{
	char p[PATH_MAX];
	struct stat a, b;
	int n = snprintf(p, sizeof p, "/proc/%d/%s/%s", (int)pid,
			 operand[0] == '/' ? "root" : "cwd", operand);
	return n > 0 && (size_t)n < sizeof p && stat(p, &a) == 0 && fstat(fd, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool gated_interps_is_script(enum gated_family fam, pid_t pid, int fd, const char *operand)
{
	char link[64], path[PATH_MAX];
	char head[2];
	if (operand && is_operand(pid, fd, operand))
		return true;
	if (pread(fd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!')
		return true;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return true; /* cannot tell: decide it */
	path[n] = '\0';
	return has_suffix(path, fam);
}
