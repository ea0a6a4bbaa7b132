/* posture.c - the gaps gated cannot close with its own marks, checked
 * rather than assumed (docs/EXEC.md, "Posture"):
 *   vm.memfd_noexec         2, else memfd_create + execve(/proc/self/fd/N)
 *                           runs any ELF from a filesystem no one can mark
 *   unprivileged userns     off, else any user mounts a tmpfs (or binds
 *                           over a path) in a namespace gated cannot see
 *   unmarked mounts         a mount of gated's namespace, not marked and
 *                           without noexec, runs anything unchecked
 * --posture log (default) logs each gap as a "posture" audit event;
 * fix writes the sysctl or remounts a shared-memory tmpfs noexec, in
 * enforce mode; refuse stops gated at start, naming each gap (on SIGHUP
 * it only logs: stopping would leave every exec unchecked). The sysctl
 * files are read under --sysctl-root (default /proc/sys), so tests can
 * point the checks at files of their own. */
#include "nsguard.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYSCTL_TEXT_MAX 64

bool gated_posture_parse(const char *s, int *out)
{
	static const char *const names[] = {"log", "fix", "refuse"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return true;
		}
	return false;
}

static const char *posture_name(int p)
{
	return p == GATED_POSTURE_FIX ? "fix" : p == GATED_POSTURE_REFUSE ? "refuse" : "log";
}

static void sysctl_path(const struct gated *g, const char *rel, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", g->cfg.sysctl_root ? g->cfg.sysctl_root : GATED_SYSCTL_ROOT,
		 rel);
}

/* 1: *v read; 0: no such file; -1: unreadable or not an integer (why). */
static int sysctl_read(const char *path, long *v, char *why, size_t cap)
{
	char buf[SYSCTL_TEXT_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n < 0 || (size_t)n >= sizeof buf || !gated_sysctl_int(buf, (size_t)n, v)) {
		snprintf(why, cap, "%s: %s", path,
			 n < 0 ? strerror(errno) : "not an integer of at most 18 digits");
		return -1;
	}
	return 1;
}

static bool sysctl_write(const char *path, long v, char *why, size_t cap)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", v);
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	bool ok = fd >= 0 && write(fd, buf, (size_t)len) == len;
	if (!ok)
		snprintf(why, cap, "cannot write %ld to %s: %s", v, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A gap's message, cut at its size (paths may be long). */
static void msgf(struct gated_gap *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msgf(struct gated_gap *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof x->msg, fmt, ap);
	va_end(ap);
}

struct check {
	struct gated *g;
	bool fix;
	struct gated_gap *gaps;
	size_t n, omitted;
};

/* src into dst (cap bytes), cut to fit: gap texts are for people. */
static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct gated_gap *gap(struct check *c, const char *check, const char *what, const char *have,
			     const char *want)
{
	if (c->n >= GATED_MAX_GAPS) {
		c->omitted++;
		return NULL;
	}
	struct gated_gap *x = &c->gaps[c->n++];
	memset(x, 0, sizeof(*x));
	copy(x->check, sizeof x->check, check);
	copy(x->what, sizeof x->what, what);
	copy(x->have, sizeof x->have, have);
	copy(x->want, sizeof x->want, want);
	return x;
}

/* One integer sysctl that should be `want`; fixable by writing it. */
static void check_sysctl(struct check *c, const char *check, const char *rel, long want,
			 const char *missing, const char *risk)
{
	char path[PATH_MAX], why[PATH_MAX + 64], have[32], wants[32];
	long v = 0;
	sysctl_path(c->g, rel, path, sizeof path);
	int r = sysctl_read(path, &v, why, sizeof why);
	if (r == 1 && v == want)
		return;
	snprintf(wants, sizeof wants, "%ld", want);
	snprintf(have, sizeof have, "%s", r == 1 ? "" : r == 0 ? "missing" : "unreadable");
	if (r == 1)
		snprintf(have, sizeof have, "%ld", v);
	struct gated_gap *x = gap(c, check, path, have, wants);
	if (!x)
		return;
	if (r == 0) {
		msgf(x, "%s: %s is missing (%s): %s", check, path, missing, risk);
		return;
	}
	if (r < 0) {
		msgf(x, "%s: %s: %s", check, why, risk);
		return;
	}
	if (c->fix && sysctl_write(path, want, why, sizeof why)) {
		x->fixed = true;
		msgf(x, "%s: %s was %ld, set to %ld (--posture fix)", check, path, v, want);
		return;
	}
	msgf(x, "%s: %s is %ld, want %ld: %s%s%s", check, path, v, want, risk,
	     c->fix ? "; not fixed: " : "", c->fix ? why : "");
}

static bool sysctl_is(struct gated *g, const char *rel, long want)
{
	char path[PATH_MAX], why[PATH_MAX + 64];
	long v;
	sysctl_path(g, rel, path, sizeof path);
	return sysctl_read(path, &v, why, sizeof why) == 1 && v == want;
}

static bool sysctl_exists(struct gated *g, const char *rel)
{
	char path[PATH_MAX];
	sysctl_path(g, rel, path, sizeof path);
	return access(path, F_OK) == 0;
}

static void check_userns(struct check *c)
{
	static const char risk[] =
		"any user can mount a filesystem or bind over a path in a user namespace gated "
		"cannot see, and run what is there unchecked";
	if (sysctl_exists(c->g, "kernel/unprivileged_userns_clone")) { /* Debian */
		check_sysctl(c, "userns", "kernel/unprivileged_userns_clone", 0, "", risk);
		return;
	}
	if (sysctl_is(c->g, "kernel/apparmor_restrict_unprivileged_userns", 1))
		return; /* Ubuntu: unprivileged user namespaces get no capabilities */
	if (!sysctl_exists(c->g, "user/max_user_namespaces"))
		return; /* a kernel without user namespaces */
	check_sysctl(c, "userns", "user/max_user_namespaces", 0, "", risk);
}

/* Shared-memory mounts are for data, never programs: --posture fix may
 * remount them noexec. Nothing else is remounted (it could stop the
 * system). */
static bool fixable_mount(const struct gated_mount *m)
{
	return (strcmp(m->fstype, "tmpfs") == 0 || strcmp(m->fstype, "ramfs") == 0) &&
	       (strcmp(m->point, "/dev/shm") == 0 || strcmp(m->point, "/run/shm") == 0);
}

static bool remount_noexec(const char *point, char *why, size_t cap)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOEXEC};
	if (syscall(SYS_mount_setattr, AT_FDCWD, point, AT_SYMLINK_NOFOLLOW, &attr, sizeof attr) ==
	    0)
		return true;
	snprintf(why, cap, "mount_setattr(%s, noexec): %s", point, strerror(errno));
	return false;
}

static void check_mounts(struct check *c)
{
	struct gated_ns *ns = c->g->ns;
	char why[PATH_MAX + 64] = "";
	for (size_t i = 0; i < ns->nknown; i++) {
		const struct gated_mount *m = &ns->known[i];
		if (m->noexec || gated_mount_marked(ns, m))
			continue;
		struct gated_gap *x = gap(c, "mount", m->point, "exec", "noexec or marked");
		if (!x)
			continue;
		if (c->fix && fixable_mount(m) && remount_noexec(m->point, why, sizeof why)) {
			x->fixed = true;
			msgf(x, "mount: %s (%s) remounted noexec (--posture fix)", m->point,
			     m->fstype);
			continue;
		}
		msgf(x,
		     "mount: %s (%s, mount %u) allows exec and is not marked: execs there are not "
		     "checked (mark it with --filesystem or --follow-mounts, or mount it noexec)%s%s",
		     m->point, m->fstype, m->id, why[0] ? "; not fixed: " : "", why);
		why[0] = '\0';
	}
}

static bool had_gap(const struct gated_ns *ns, const struct gated_gap *x)
{
	for (size_t i = 0; i < ns->ngaps; i++)
		if (strcmp(ns->gaps[i].check, x->check) == 0 &&
		    strcmp(ns->gaps[i].what, x->what) == 0 && ns->gaps[i].fixed == x->fixed &&
		    strcmp(ns->gaps[i].have, x->have) == 0)
			return true;
	return false;
}

static bool listed(const struct gated_gap *v, size_t n, const struct gated_gap *x)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].check, x->check) == 0 && strcmp(v[i].what, x->what) == 0)
			return true;
	return false;
}

size_t gated_posture_check(struct gated *g, bool all)
{
	struct gated_ns *ns = g->ns;
	struct gated_gap *gaps = calloc(GATED_MAX_GAPS, sizeof(*gaps));
	size_t open = 0;
	if (!gaps) {
		gated_log_msg(g, "posture", "posture check: out of memory");
		return 1;
	}
	bool enforce = atomic_load(&g->mode) == GATE_MODE_ENFORCE;
	struct check c = {
		.g = g, .fix = enforce && g->cfg.posture == GATED_POSTURE_FIX, .gaps = gaps};
	pthread_mutex_lock(&ns->lock);
	check_sysctl(&c, "vm.memfd_noexec", "vm/memfd_noexec", 2, "a kernel before 6.3",
		     "memfd_create + execve(/proc/self/fd/N) runs any program without an exec "
		     "event");
	check_userns(&c);
	check_mounts(&c);
	for (size_t i = 0; i < c.n; i++) {
		open += !gaps[i].fixed;
		if (all || !had_gap(ns, &gaps[i]))
			gated_log_msg(g, "posture", "%s", gaps[i].msg);
	}
	/* What this run fixed stays listed as fixed, so the status keeps
	 * saying what gated changed on the system. */
	for (size_t i = 0; i < ns->ngaps; i++)
		if (ns->gaps[i].fixed && !listed(gaps, c.n, &ns->gaps[i]) && c.n < GATED_MAX_GAPS)
			gaps[c.n++] = ns->gaps[i];
	memcpy(ns->gaps, gaps, c.n * sizeof(*gaps));
	ns->ngaps = c.n;
	ns->omitted = c.omitted;
	ns->checked = (int64_t)time(NULL);
	pthread_mutex_unlock(&ns->lock);
	if (c.omitted && all)
		gated_log_msg(g, "posture", "%zu more posture gaps not listed", c.omitted);
	free(gaps);
	return open + c.omitted;
}

void gated_posture_print(struct gated *g, FILE *f)
{
	struct gated_ns *ns = g->ns;
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->ngaps; i++)
		if (!ns->gaps[i].fixed)
			fprintf(f, "gated: posture: %s\n", ns->gaps[i].msg);
	if (ns->omitted)
		fprintf(f, "gated: posture: %zu more gaps\n", ns->omitted);
	pthread_mutex_unlock(&ns->lock);
}

json_t *gated_posture_json(struct gated *g)
{
	struct gated_ns *ns = g->ns;
	if (!ns)
		return json_null(); /* stopping: the watcher is gone */
	json_t *gaps = json_array();
	if (!gaps)
		return json_null();
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->ngaps; i++) {
		const struct gated_gap *x = &ns->gaps[i];
		json_array_append_new(gaps,
				      json_pack("{ss ss ss ss sb ss}", "check", x->check, "what",
						x->what, "have", x->have, "want", x->want, "fixed",
						x->fixed, "message", x->msg));
	}
	json_t *follow = json_array();
	for (size_t i = 0; follow && i < g->cfg.nfollow; i++)
		json_array_append_new(follow, json_string(g->cfg.follow[i]));
	json_t *o = json_pack(
		"{ss sI so sI s{ss so sI sI sI}}", "setting", posture_name(g->cfg.posture),
		"checked", (json_int_t)ns->checked, "gaps", gaps, "omitted",
		(json_int_t)ns->omitted, "mounts", "watch", ns->watch ? ns->watch : "none",
		"follow", follow ? follow : json_null(), "marked", (json_int_t)ns->marked,
		"mark_failures", (json_int_t)ns->mark_failures, "rescans", (json_int_t)ns->rescans);
	pthread_mutex_unlock(&ns->lock);
	return o ? o : json_null();
}
