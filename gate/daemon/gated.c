/* gated.c - the exec allowlisting daemon: fanotify FAN_OPEN_EXEC_PERM on
 * the configured mounts or filesystems, answered from a verdict cache, the
 * install ledger, or a full policy decision (DESIGN "Install ledger and
 * exec allowlisting"; docs/EXEC.md). This file holds the command line,
 * start-up and shut-down, and the control thread: signals (SIGHUP reloads
 * the policy, SIGTERM/SIGINT stop), the status file and systemd's
 * readiness and watchdog notifications. */
#include "gated.h"
#include "nsguard.h"
#include "policy_model.h"
#include "tuf_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: gated [options] (--mount DIR | --filesystem DIR)...\n"
	"\n"
	"Answer every exec on the marked mounts or filesystems from the verdict\n"
	"cache, the install ledger, or a full policy decision (caller exec).\n"
	"\n"
	"  --policy FILE        the policy (default " GATED_POLICY_DEFAULT "); its mode\n"
	"                       is the daemon's mode; SIGHUP reloads it\n"
	"  --ledger DB          allow files the install ledger vouches for by SHA-256:\n"
	"                       installed through the apt hook, or imported from\n"
	"                       dpkg with a verified archive origin; never config\n"
	"                       files or files changed since install\n"
	"  --mount DIR          mark the mount DIR is on (FAN_MARK_MOUNT)\n"
	"  --filesystem DIR     mark the whole filesystem DIR is on, in every mount\n"
	"                       and namespace (FAN_MARK_FILESYSTEM)\n"
	"  --interpreter PATH   also decide the scripts this interpreter opens, and\n"
	"                       those of its copies and hard links (known by\n"
	"                       SHA-256, hashed at start and on SIGHUP): adds\n"
	"                       FAN_OPEN_PERM to the marks (see docs/EXEC.md)\n"
	"  --interpreter-inline allow|deny\n"
	"                       deny: an interpreter given code with -c/-e or on\n"
	"                       standard input is refused its first open of a\n"
	"                       file on a marked filesystem (default allow)\n"
	"  --loader-as-program deny|log\n"
	"                       the dynamic loader exec'd as a program (ld.so ./x,\n"
	"                       also ldd): deny (default), or log it and decide\n"
	"                       the loader as any program\n"
	"  --deadline-ms N      answer the default when no decision came within N ms\n"
	"                       (default 2000)\n"
	"  --default allow|deny the default in enforce mode (default deny); audit\n"
	"                       and off modes always allow\n"
	"  --workers N          decision threads (default 4)\n"
	"  --cache N            verdict cache entries (default 16384)\n"
	"  --queue N            events waiting for a worker (default 1024); beyond\n"
	"                       it the default is answered at once; files of 16 MiB\n"
	"                       and more have a queue of this size and N/2 workers\n"
	"                       (at least 1) of their own\n"
	"  --max-size BYTES     deny larger files at once, unhashed (default\n"
	"                       1073741824, 1 GiB)\n"
	"  --log-queue N        audit records waiting for the writer (default 4096);\n"
	"                       beyond it they are dropped and counted\n"
	"  --status FILE        status file for 'gate status' (default\n"
	"                       " GATED_STATUS_DEFAULT ")\n"
	"  --audit SINK         syslog, stderr or a file (default: the policy's\n"
	"                       audit.log, else syslog)\n"
	"  --follow-mounts DIR  mark the filesystem of every mount at or under DIR,\n"
	"                       now and as mounts appear (--filesystem / implies\n"
	"                       --follow-mounts /)\n"
	"  --posture log|fix|refuse\n"
	"                       what to do, in enforce mode, about what marks cannot\n"
	"                       close (vm.memfd_noexec, unprivileged user namespaces,\n"
	"                       unmarked mounts that allow exec): log each gap\n"
	"                       (default), fix it, or refuse to start\n"
	"  --sysctl-root DIR    read the posture sysctls under DIR (default /proc/sys)\n"
	"  --cache-dir DIR      fetched evidence and TUF metadata (absolute; default\n"
	"                       /var/cache/gate and /var/lib/gate/tuf)\n"
	"  --probe              check that fanotify and the marks work, then exit\n"
	"\n"
	"gated never reads its environment beyond systemd's NOTIFY_SOCKET and\n"
	"WATCHDOG_USEC: what it decides with comes from these options and the\n"
	"files they name.\n"
	"\n"
	"Exit: 0 stopped by SIGTERM/SIGINT (or probe passed), 1 fanotify or the\n"
	"marks failed, 2 usage or policy error, 3 refused (--posture refuse).\n";

/* ---- policy references ---- */

struct gated_policy *gated_policy_get(struct gated *g)
{
	pthread_mutex_lock(&g->pol_lock);
	struct gated_policy *p = g->pol;
	p->refs++;
	pthread_mutex_unlock(&g->pol_lock);
	return p;
}

void gated_policy_put(struct gated *g, struct gated_policy *p)
{
	pthread_mutex_lock(&g->pol_lock);
	bool last = --p->refs == 0;
	pthread_mutex_unlock(&g->pol_lock);
	if (last) {
		gate_ctx_free(p->ctx);
		free(p);
	}
}

bool gated_default_allows(const struct gated *g)
{
	return atomic_load(&g->mode) != GATE_MODE_ENFORCE || g->cfg.default_allow == 1;
}

static void policy_error(const struct gate_error *e, char *buf, size_t cap)
{
	if (e->file[0] && e->line)
		snprintf(buf, cap, "%s:%u:%u: %s", e->file, e->line, e->column, e->msg);
	else if (e->file[0])
		snprintf(buf, cap, "%s: %s", e->file, e->msg);
	else
		snprintf(buf, cap, "%s", e->msg);
}

/* Load the policy into a new context; *why says what failed. */
static struct gated_policy *policy_load(const char *path, char *why, size_t cap)
{
	struct gate_policy *p = NULL;
	struct gate_ctx *ctx = NULL;
	struct gate_error e = {0};
	struct gate_ctx_opts o = {.no_audit = true}; /* gated logs off the decision path */
	struct gated_policy *gp = calloc(1, sizeof(*gp));
	if (!gp) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (gate_policy_load(path, &p, &e) != GATE_OK) {
		policy_error(&e, why, cap);
		free(gp);
		return NULL;
	}
	gate_trust_warn(p->root, 0);
	gp->mode = gate_policy_mode(p, GATE_CALLER_EXEC);
	if (gate_ctx_new(p, &o, &ctx, &e) != GATE_OK) {
		policy_error(&e, why, cap);
		gate_policy_free(p);
		free(gp);
		return NULL;
	}
	gp->ctx = ctx;
	gp->refs = 1;
	return gp;
}

/* SIGHUP: all or nothing. A policy that does not load leaves the old one
 * in force and says why. */
static void reload(struct gated *g)
{
	char why[sizeof g->reload_error];
	gated_ledger_reopen(g); /* whatever the policy does */
	struct gated_policy *np = policy_load(g->cfg.policy, why, sizeof why);
	if (!np) {
		g->reload_failures++;
		snprintf(g->reload_error, sizeof g->reload_error, "%s", why);
		gated_log_msg(g, "reload", "policy not reloaded, the old one stays in force: %s",
			      why);
		return;
	}
	pthread_mutex_lock(&g->pol_lock);
	struct gated_policy *old = g->pol;
	g->pol = np;
	atomic_store(&g->mode, (int)np->mode);
	pthread_mutex_unlock(&g->pol_lock);
	gate_vcache_invalidate(g->cache); /* after the swap: vcache.h */
	gated_policy_put(g, old);
	struct gate_error e = {0};
	if (gated_guard_setup(g, true, &e) != GATE_OK)
		gated_log_msg(g, "reload",
			      "interpreters not hashed again, the old digests stay: %s", e.msg);
	g->reloads++;
	g->reload_error[0] = '\0';
	gated_log_msg(g, "reload", "policy %s reloaded: mode %s", g->cfg.policy,
		      gate_mode_name(np->mode));
}

/* SIGHUP: the policy, then the mounts and the posture again (nsguard.h);
 * refuse only refuses to start. */
static void on_sighup(struct gated *g)
{
	reload(g);
	gated_ns_rescan(g);
	(void)gated_posture_check(g, true);
}

/* ---- systemd notifications (sd_notify protocol, no libsystemd) ---- */

static void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = path ? strlen(path) : 0;
	if (n == 0 || n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	/* MSG_DONTWAIT: the control thread must not wait on systemd either. */
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

/* ---- command line ---- */

enum {
	OPT_POLICY = 256,
	OPT_LEDGER,
	OPT_MOUNT,
	OPT_FS,
	OPT_INTERP,
	OPT_INLINE,
	OPT_LOADER,
	OPT_DEADLINE,
	OPT_DEFAULT,
	OPT_WORKERS,
	OPT_CACHE,
	OPT_QUEUE,
	OPT_LOGQ,
	OPT_STATUS,
	OPT_AUDIT,
	OPT_PROBE,
	OPT_VERSION,
	OPT_FOLLOW,
	OPT_POSTURE,
	OPT_SYSCTL_ROOT,
	OPT_MAX_SIZE,
	OPT_CACHE_DIR,
};

static const struct option opts[] = {
	{"policy", required_argument, NULL, OPT_POLICY},
	{"ledger", required_argument, NULL, OPT_LEDGER},
	{"mount", required_argument, NULL, OPT_MOUNT},
	{"filesystem", required_argument, NULL, OPT_FS},
	{"interpreter", required_argument, NULL, OPT_INTERP},
	{"interpreter-inline", required_argument, NULL, OPT_INLINE},
	{"loader-as-program", required_argument, NULL, OPT_LOADER},
	{"deadline-ms", required_argument, NULL, OPT_DEADLINE},
	{"default", required_argument, NULL, OPT_DEFAULT},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"cache", required_argument, NULL, OPT_CACHE},
	{"queue", required_argument, NULL, OPT_QUEUE},
	{"log-queue", required_argument, NULL, OPT_LOGQ},
	{"status", required_argument, NULL, OPT_STATUS},
	{"audit", required_argument, NULL, OPT_AUDIT},
	{"probe", no_argument, NULL, OPT_PROBE},
	{"follow-mounts", required_argument, NULL, OPT_FOLLOW},
	{"posture", required_argument, NULL, OPT_POSTURE},
	{"sysctl-root", required_argument, NULL, OPT_SYSCTL_ROOT},
	{"max-size", required_argument, NULL, OPT_MAX_SIZE},
	{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("gated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see 'gated --help')\n", stderr);
	return 2;
}

static bool parse_num(const char *s, unsigned long long lo, unsigned long long hi,
		      unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!s[0] || s[0] == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int add_path(const char **list, size_t *n, const char *p, const char *what)
{
	if (*n >= GATED_MAX_MARKS)
		return usage_error("too many %s options", what);
	if (p[0] != '/')
		return usage_error("%s needs an absolute path", what);
	list[(*n)++] = p;
	return 0;
}

static int add_interpreter(struct gated_config *c, const char *p)
{
	char *r;
	if (c->ninterpreters >= GATED_MAX_INTERP)
		return usage_error("too many %s options", "--interpreter");
	if (!(r = realpath(p, NULL)))
		return usage_error("--interpreter %s: no such file", p);
	c->interpreters[c->ninterpreters++] = r;
	return 0;
}

static int number_opt(int o, const char *arg, struct gated_config *c)
{
	unsigned long long v;
	switch (o) {
	case OPT_DEADLINE:
		if (!parse_num(arg, 1, GATED_DEADLINE_MAX_MS, &v))
			return usage_error("--deadline-ms must be 1..600000 (got '%s')", arg);
		c->deadline_ms = (int)v;
		return 0;
	case OPT_WORKERS:
		if (!parse_num(arg, 1, GATED_MAX_WORKERS, &v))
			return usage_error("--workers must be 1..64 (got '%s')", arg);
		c->workers = (unsigned)v;
		return 0;
	case OPT_MAX_SIZE:
		if (!parse_num(arg, 1, UINT64_MAX, &v))
			return usage_error(
				"--max-size must be a number of bytes, 1 or more (got '%s')", arg);
		c->max_size = (uint64_t)v;
		return 0;
	case OPT_CACHE:
		if (!parse_num(arg, 1, GATE_VCACHE_MAX, &v))
			return usage_error("--cache must be 1..4194304 (got '%s')", arg);
		c->cache = (size_t)v;
		return 0;
	default:
		if (!parse_num(arg, 1, GATE_BQUEUE_MAX, &v))
			return usage_error("queue sizes must be 1..1048576 (got '%s')", arg);
		*(o == OPT_QUEUE ? &c->queue : &c->log_queue) = (size_t)v;
		return 0;
	}
}

static int one_opt(int o, const char *arg, struct gated_config *c, bool *probe)
{
	switch (o) {
	case OPT_POLICY:
		c->policy = arg;
		return 0;
	case OPT_LEDGER:
		c->ledger = arg;
		return 0;
	case OPT_MOUNT:
		return add_path(c->mounts, &c->nmounts, arg, "--mount");
	case OPT_FS:
		if (strcmp(arg, "/") == 0 &&
		    add_path(c->follow, &c->nfollow, arg, "--follow-mounts"))
			return 2;
		return add_path(c->filesystems, &c->nfilesystems, arg, "--filesystem");
	case OPT_FOLLOW:
		return add_path(c->follow, &c->nfollow, arg, "--follow-mounts");
	case OPT_POSTURE:
		if (!gated_posture_parse(arg, &c->posture))
			return usage_error("--posture must be log, fix or refuse (got '%s')", arg);
		return 0;
	case OPT_SYSCTL_ROOT:
		if (arg[0] != '/')
			return usage_error("--sysctl-root needs an absolute path (got '%s')", arg);
		c->sysctl_root = arg;
		return 0;
	case OPT_INTERP:
		return add_interpreter(c, arg);
	case OPT_STATUS:
		c->status = arg;
		return 0;
	case OPT_CACHE_DIR: /* the environment is empty (main): this is its one way in */
		if (arg[0] != '/')
			return usage_error("--cache-dir needs an absolute path (got '%s')", arg);
		if (setenv("GATE_CACHE_DIR", arg, 1) != 0)
			return usage_error("%s", "out of memory");
		return 0;
	case OPT_AUDIT:
		c->audit = arg;
		return 0;
	case OPT_PROBE:
		*probe = true;
		return 0;
	case OPT_INLINE:
		if (strcmp(arg, "allow") != 0 && strcmp(arg, "deny") != 0)
			return usage_error("--interpreter-inline must be allow or deny (got '%s')",
					   arg);
		c->interp_inline =
			strcmp(arg, "deny") == 0 ? GATED_INLINE_DENY : GATED_INLINE_ALLOW;
		return 0;
	case OPT_LOADER:
		if (strcmp(arg, "deny") != 0 && strcmp(arg, "log") != 0)
			return usage_error("--loader-as-program must be deny or log (got '%s')",
					   arg);
		c->loader_log = strcmp(arg, "log") == 0;
		return 0;
	case OPT_DEFAULT:
		if (strcmp(arg, "allow") != 0 && strcmp(arg, "deny") != 0)
			return usage_error("--default must be allow or deny (got '%s')", arg);
		c->default_allow = strcmp(arg, "allow") == 0;
		return 0;
	default:
		return number_opt(o, arg, c);
	}
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct gated_config *c, bool *probe)
{
	*c = (struct gated_config){.policy = GATED_POLICY_DEFAULT,
				   .deadline_ms = 2000,
				   .workers = 4,
				   .cache = 16384,
				   .queue = 1024,
				   .log_queue = 4096,
				   .status = GATED_STATUS_DEFAULT,
				   .default_allow = -1,
				   .max_size = GATED_MAX_SIZE_DEFAULT};
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int rc;
		if (o == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (o == OPT_VERSION) {
			printf("gated %s\n", gate_version());
			return 0;
		}
		if (o == '?')
			return 2;
		if ((rc = one_opt(o, optarg, c, probe)) != 0)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (c->nmounts + c->nfilesystems + c->nfollow == 0)
		return usage_error("%s", "nothing to watch: give --mount DIR, --filesystem DIR or "
					 "--follow-mounts DIR");
	return -1;
}

/* ---- start and stop ---- */

static void status_try(struct gated *g, bool running)
{
	if (gated_status_write(g, running, NULL) != GATE_OK)
		return; /* the control loop reports failures */
}

struct threads {
	pthread_t reader, log, workers[GATED_MAX_WORKERS + GATED_MAX_WORKERS / 2];
	unsigned nworkers;
	bool reader_on, log_on;
};

static enum gate_err setup(struct gated *g, struct gate_error *err)
{
	char why[sizeof g->reload_error];
	enum gate_err rc;
	g->self = getpid();
	g->started = (int64_t)time(NULL);
	g->started_mono_ns = gate_now_ns();
	g->fan_fd = g->stop_fd = -1;
	pthread_mutex_init(&g->pol_lock, NULL);
	gate_pending_init(&g->pending);
	if (!(g->pol = policy_load(g->cfg.policy, why, sizeof why)))
		return gate_fail(err, GATE_E_POLICY, NULL, "policy", "%s", why);
	atomic_store(&g->mode, (int)g->pol->mode);
	if (!g->cfg.audit) {
		const char *pa = gate_ctx_policy(g->pol->ctx)->audit_log;
		g->cfg.audit = pa ? pa : "syslog";
	}
	if ((rc = gate_vcache_new(g->cfg.cache, &g->cache, err)) != GATE_OK ||
	    (rc = gate_bqueue_new(g->cfg.queue, &g->work, err)) != GATE_OK ||
	    (rc = gate_bqueue_new(g->cfg.queue, &g->big, err)) != GATE_OK ||
	    (rc = gate_bqueue_new(g->cfg.log_queue, &g->logq, err)) != GATE_OK)
		return rc;
	if ((rc = gated_guard_setup(g, false, err)) != GATE_OK)
		return rc;
	if ((g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return gate_fail(err, GATE_E_IO, NULL, "eventfd", "%s", strerror(errno));
	return GATE_OK;
}

static void teardown(struct gated *g)
{
	if (g->fan_fd >= 0)
		close(g->fan_fd);
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	if (g->pol)
		gated_policy_put(g, g->pol);
	gate_vcache_free(g->cache);
	gated_guard_free(g);
	gate_bqueue_free(g->work);
	gate_bqueue_free(g->big);
	gate_bqueue_free(g->logq);
	gate_pending_destroy(&g->pending);
	pthread_mutex_destroy(&g->pol_lock);
}

static bool start_threads(struct gated *g, struct threads *t)
{
	if (pthread_create(&t->log, NULL, gated_log_main, g) != 0)
		return false;
	t->log_on = true;
	for (; t->nworkers < g->cfg.workers; t->nworkers++)
		if (pthread_create(&t->workers[t->nworkers], NULL, gated_worker_main, g) != 0)
			return false;
	for (unsigned i = 0; i < gated_big_workers(g); i++, t->nworkers++)
		if (pthread_create(&t->workers[t->nworkers], NULL, gated_big_worker_main, g) != 0)
			return false;
	if (pthread_create(&t->reader, NULL, gated_reader_main, g) != 0)
		return false;
	t->reader_on = true;
	return true;
}

static bool join_by(pthread_t t, int64_t deadline_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t left = deadline_ns - gate_now_ns();
	if (left < 0)
		left = 0;
	ts.tv_sec += left / 1000000000LL;
	ts.tv_nsec += left % 1000000000LL;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

/* Stop in the order that keeps the kernel answered and never leaves an
 * open of our own unanswered (the status file, sidecars or the ledger may
 * be on a marked filesystem): the last status first; then the work queue
 * closes (the reader answers new events with the default at once) and
 * the workers finish while the reader still runs; then the reader answers
 * whatever is pending with the default and exits; the log writer last.
 * The group stays open until every thread is gone (or the process exits),
 * so no late answer can be written to a reused descriptor number. A worker
 * stuck in a decision (slow evidence) or a writer stuck on its sink is not
 * waited for beyond 2 s: the process exits without freeing, which is safe
 * once nothing is pending. */
static bool stop_threads(struct gated *g, struct threads *t)
{
	uint64_t one = 1;
	bool all = true;
	int64_t by = gate_now_ns() + 2000000000LL;
	if (t->reader_on)
		status_try(g, false);
	gate_bqueue_close(g->work);
	gate_bqueue_close(g->big);
	for (unsigned i = 0; i < t->nworkers; i++)
		all = join_by(t->workers[i], by) && all;
	if (write(g->stop_fd, &one, sizeof one) < 0)
		all = false;
	if (t->reader_on)
		pthread_join(t->reader, NULL);
	gate_bqueue_close(g->logq);
	if (t->log_on)
		all = join_by(t->log, by) && all;
	return all;
}

static void control_loop(struct gated *g)
{
	sigset_t set;
	siginfo_t info;
	struct timespec tick = {1, 0};
	const char *wd = getenv("WATCHDOG_USEC");
	unsigned long long beat = 0;
	int64_t beat_seen = gate_now_ns();
	bool status_ok = true;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (!atomic_load(&g->stopping)) {
		struct gate_error e = {0};
		/* The watchdog is fed only while the reader goes round its
		 * loop (at least once a second when healthy), and before the
		 * status write, whose disk may be slow. */
		unsigned long long b = atomic_load(&g->reader_beat);
		if (b != beat) {
			beat = b;
			beat_seen = gate_now_ns();
		}
		if (wd && gate_now_ns() - beat_seen < 3000000000LL)
			sd_notify_msg("WATCHDOG=1");
		gated_ledger_watch(g);
		bool ok = gated_status_write(g, true, &e) == GATE_OK;
		if (!ok && status_ok)
			gated_log_msg(g, "status", "%s", e.msg);
		status_ok = ok;
		int sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGHUP)
			on_sighup(g);
		else if (sig == SIGTERM || sig == SIGINT)
			break;
	}
}

static void block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* a log FIFO whose reader left: EPIPE, not death */
	gated_lease_signals();
}

/* Every event in flight holds a descriptor (two while it is hashed): a
 * full queue must not run us out of them, or the kernel denies execs on
 * its own. */
static void raise_fd_limit(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void ensure_status_dir(const char *status)
{
	char *d = strdup(status), *slash = d ? strrchr(d, '/') : NULL;
	if (slash && slash != d) {
		*slash = '\0';
		(void)mkdir(d, 0755);
	}
	free(d);
}

static int run(struct gated *g, bool probe)
{
	struct gate_error e = {0};
	struct threads t = {0};
	int code = 0;
	if (probe) { /* needs no policy: the test suites' "can we?" */
		code = gated_fan_init(g, &e) == GATE_OK && gated_fan_mark(g, &e) == GATE_OK ? 0 : 1;
		fprintf(code ? stderr : stdout, "gated: %s\n", code ? e.msg : "fanotify works");
		if (g->fan_fd >= 0)
			close(g->fan_fd);
		return code;
	}
	block_signals(); /* before anything: a SIGHUP during start-up must not kill us */
	if (setup(g, &e) != GATE_OK) {
		fprintf(stderr, "gated: %s\n", e.msg);
		return e.code == GATE_E_POLICY ? 2 : 1;
	}
	ensure_status_dir(g->cfg.status);
	raise_fd_limit();
	/* The group first, then the threads, then the marks: no exec waits
	 * on a reader that is not running yet. */
	if (gated_fan_init(g, &e) != GATE_OK) {
		fprintf(stderr, "gated: %s\n", e.msg);
		return 1;
	}
	if (!start_threads(g, &t)) {
		fprintf(stderr, "gated: cannot start threads\n");
		code = 1;
	} else if (gated_fan_mark(g, &e) != GATE_OK || gated_ns_start(g, &e) != GATE_OK) {
		gated_log_msg(g, "fatal", "%s", e.msg);
		code = 1;
	} else if (gated_posture_check(g, true) && g->cfg.posture == GATED_POSTURE_REFUSE &&
		   atomic_load(&g->mode) == GATE_MODE_ENFORCE) {
		gated_posture_print(g, stderr);
		gated_log_msg(g, "fatal", "refusing to start: posture gaps (--posture refuse)");
		code = 3;
	} else {
		gated_log_msg(g, "start",
			      "watching %zu mount(s), %zu filesystem(s), mounts under %zu "
			      "director(ies); mode %s",
			      g->cfg.nmounts, g->cfg.nfilesystems, g->cfg.nfollow,
			      gate_mode_name((enum gate_mode)atomic_load(&g->mode)));
		status_try(g, true);
		sd_notify_msg("READY=1");
		control_loop(g);
		code = atomic_load(&g->stopping) ? 1 : 0; /* the reader died */
		sd_notify_msg("STOPPING=1");
	}
	gated_ns_stop(g); /* it marks and logs: before the threads it uses */
	if (!stop_threads(g, &t))
		_exit(code); /* nothing is pending: see stop_threads */
	return code;
}

int main(int argc, char **argv)
{
	/* Decisions come from flags and files only (gate_env_lock): not
	 * GATE_TIME, GATE_CACHE_DIR, $MAGIC (a rule on type), OPENSSL_CONF...
	 * systemd's two variables only say where to report. */
	static const char *const keep[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC", NULL};
	if (!gate_env_lock(keep)) {
		fputs("gated: out of memory\n", stderr);
		return 2;
	}
	struct gated g;
	bool probe = false;
	memset(&g, 0, sizeof g);
	int code = parse_args(argc, argv, &g.cfg, &probe);
	if (code < 0) {
		code = run(&g, probe);
		if (!probe)
			teardown(&g);
	}
	for (size_t i = 0; i < g.cfg.ninterpreters; i++)
		free(g.cfg.interpreters[i]);
	return code;
}
