/* apt_ledger.c - the install ledger tells what dpkg installed
 * (apt_ledger.h). The pre-install hook runs before dpkg, which may still
 * fail (a maintainer script, a file conflict, the wrong architecture) or
 * never run (apt or the hook killed): so it only records what it allowed
 * as pending. After dpkg, the pending packages dpkg lists as installed at
 * their version are recorded from the files dpkg unpacked - hashed on
 * disk and compared with the digests the verified .deb ships - and the
 * rest are dropped. No second decompression of data.tar: dpkg has done
 * it. */
#include "apt_ledger.h"
#include "deb.h"
#include "dpkg_import.h"
#include "gate_util.h"
#include "signer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DPKG_SUFFIX "/var/lib/dpkg"

/* ---- the root ---- */

/* From dpkg's status file: its directory, and the root above
 * /var/lib/dpkg ("/" when it is somewhere else). */
static enum gate_err from_status(struct gate_apt_root *r, const char *status,
				 struct gate_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", status);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return gate_fail(err, GATE_E_USAGE, NULL, "Dir::State::status",
				 "%s: not an absolute path", status);
	*(slash == dir ? slash + 1 : slash) = '\0';
	enum gate_err e = gate_ledger_canon_root(dir, r->admindir, err);
	if (e != GATE_OK)
		return e;
	size_t al = strlen(r->admindir), sl = strlen(DPKG_SUFFIX);
	if (al >= sl && strcmp(r->admindir + al - sl, DPKG_SUFFIX) == 0)
		snprintf(r->root, sizeof r->root, "%.*s", (int)(al - sl), r->admindir);
	else
		r->root[0] = '\0';
	return gate_ledger_canon_root(r->root, r->root, err);
}

enum gate_err gate_apt_root_bind(struct gate_ledger *l, const char *opt_root, const char *status,
				 struct gate_apt_root *out, struct gate_error *err)
{
	char *root = NULL, *admindir = NULL;
	enum gate_err e = GATE_OK;
	if (opt_root) {
		if ((e = gate_ledger_canon_root(opt_root, out->root, err)) == GATE_OK)
			e = gate_ledger_canon_admindir(out->root, NULL, out->admindir, err);
	} else if (status) {
		e = from_status(out, status, err);
	} else if ((e = gate_ledger_get_root(l, &root, &admindir, err)) == GATE_OK) {
		snprintf(out->root, sizeof out->root, "%s", root ? root : "/");
		if (admindir)
			snprintf(out->admindir, sizeof out->admindir, "%s", admindir);
		else
			e = gate_ledger_canon_admindir(out->root, NULL, out->admindir, err);
	}
	free(root);
	free(admindir);
	return e == GATE_OK ? gate_ledger_bind_root(l, out->root, out->admindir, err) : e;
}

/* ---- settling ---- */

struct pending_set {
	struct gate_ledger_pkg *p;
	size_t n, cap;
	bool oom;
};

static void take_pending(void *ctx, struct gate_ledger_pkg *p)
{
	struct pending_set *s = ctx;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct gate_ledger_pkg *np = realloc(s->p, nc * sizeof(*np));
		if (!np) {
			s->oom = true;
			return;
		}
		s->p = np;
		s->cap = nc;
	}
	s->p[s->n++] = *p;
	memset(p, 0, sizeof(*p));
}

struct settle_out {
	struct gate_apt_settled *st;
};

/* A file not as the verified .deb ships it, or one that could not be
 * read: said on apt's terminal; never vouched for. */
static void settle_event(void *ctx, const struct gate_import_event *ev)
{
	struct settle_out *o = ctx;
	if (!ev->path || (ev->recorded && strcmp(ev->what, "config") == 0))
		return;
	o->st->files_bad++;
	fputs("gate: warning: ", stderr);
	gate_put_escaped(stderr, ev->package);
	fputc(' ', stderr);
	gate_put_escaped(stderr, ev->path);
	fprintf(stderr, ": %s%s", ev->what, ev->detail[0] ? ": " : "");
	gate_put_escaped(stderr, ev->detail);
	fputc('\n', stderr);
}

static enum gate_err record_installed(struct gate_ledger *l, const struct gate_apt_root *r,
				      const struct pending_set *ps, struct gate_apt_settled *st,
				      struct gate_error *err)
{
	struct settle_out o = {st};
	struct gate_import_stats is = {0};
	struct gate_import_opts opts = {
		.root = strcmp(r->root, "/") == 0 ? "" : r->root,
		.admindir = r->admindir,
		.pending = ps->p,
		.npending = ps->n,
		.event = settle_event,
		.ctx = &o,
	};
	enum gate_err e = gate_import_dpkg(l, &opts, &is, err);
	st->recorded = is.imported;
	return e;
}

/* The pending packages dpkg did not install, named: it failed, or never
 * ran. */
static enum gate_err name_dropped(struct gate_ledger *l, const struct pending_set *ps,
				  struct gate_error *err)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct gate_ledger_pkg *p = &ps->p[i];
		bool found = false;
		enum gate_ledger_source src;
		enum gate_err e =
			gate_ledger_has_version(l, p->name, p->arch, p->version, &found, &src, err);
		if (e != GATE_OK)
			return e;
		if (found && src == GATE_LEDGER_INSTALL)
			continue;
		fputs("gate: not recorded: ", stderr);
		gate_put_escaped(stderr, p->name);
		fputc(' ', stderr);
		gate_put_escaped(stderr, p->version);
		fputc(' ', stderr);
		gate_put_escaped(stderr, p->arch);
		fputs(": dpkg did not install it (allowed, but the installation failed or never "
		      "ran)\n",
		      stderr);
	}
	return GATE_OK;
}

enum gate_err gate_apt_settle(struct gate_ledger *l, const struct gate_apt_root *r,
			      struct gate_apt_settled *st, struct gate_error *err)
{
	struct pending_set ps = {0};
	int64_t last = 0;
	char status[PATH_MAX + 8];
	memset(st, 0, sizeof(*st));
	enum gate_err e = gate_ledger_list_pending(l, take_pending, &ps, &last, err);
	if (e == GATE_OK && ps.oom)
		e = gate_fail(err, GATE_E_NOMEM, NULL, "ledger", "out of memory");
	st->pending = ps.n;
	if (e == GATE_OK && ps.n && (e = record_installed(l, r, &ps, st, err)) == GATE_OK &&
	    (e = name_dropped(l, &ps, err)) == GATE_OK)
		e = gate_ledger_drop_pending(l, last, err);
	snprintf(status, sizeof status, "%s/status", r->admindir);
	if (e == GATE_OK)
		e = gate_ledger_prune_dpkg(l, status, &st->forgotten, err);
	for (size_t i = 0; i < ps.n; i++)
		gate_ledger_pkg_clear(&ps.p[i]);
	free(ps.p);
	return e;
}

int gate_apt_post_invoke(const char *ledger, const char *opt_root)
{
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	struct gate_apt_root r;
	struct gate_apt_settled st;
	struct stat sb;
	if (lstat(ledger, &sb) != 0 && errno == ENOENT)
		return 0; /* nothing was ever recorded */
	int lock = gate_apt_digest_lock(ledger);
	if (gate_ledger_open(ledger, false, &l, &err) != GATE_OK ||
	    gate_apt_root_bind(l, opt_root, NULL, &r, &err) != GATE_OK ||
	    gate_apt_settle(l, &r, &st, &err) != GATE_OK) {
		fprintf(stderr, "gate: cannot bring the ledger %s up to date after dpkg: %s\n",
			ledger, err.msg[0] ? err.msg : gate_err_str(err.code));
		gate_ledger_close(l);
		if (lock >= 0)
			close(lock);
		return 2;
	}
	gate_ledger_close(l);
	if (lock >= 0)
		close(lock);
	if (st.pending || st.forgotten)
		fprintf(stderr,
			"gate: ledger %s: %zu of %zu allowed package%s installed and recorded, "
			"%zu removed package%s forgotten\n",
			ledger, st.recorded, st.pending, st.pending == 1 ? "" : "s", st.forgotten,
			st.forgotten == 1 ? "" : "s");
	return st.files_bad ? 1 : 0;
}

/* ---- what the pre-install hook keeps ---- */

/* The .deb's md5sums as pending files: "/" + each path, sorted, once. */
static enum gate_err sums_to_files(char *text, size_t len, struct gate_ledger_pkg *pkg,
				   struct gate_error *err)
{
	struct gate_dpkg_md5 *m = NULL;
	size_t n = gate_dpkg_parse_md5sums(text, len, &m);
	enum gate_err e = GATE_OK;
	free(pkg->files); /* data.tar was not read: no files, an empty array */
	pkg->files = NULL;
	pkg->nfiles = 0;
	if (n && !(pkg->files = calloc(n, sizeof(*pkg->files))))
		e = gate_fail(err, GATE_E_NOMEM, NULL, "deb", "out of memory");
	for (size_t i = 0; e == GATE_OK && i < n; i++) {
		if (pkg->nfiles && strcmp(pkg->files[pkg->nfiles - 1].path + 1, m[i].path) == 0)
			continue;
		struct gate_ledger_file *f = &pkg->files[pkg->nfiles];
		if (asprintf(&f->path, "/%s", m[i].path) < 0) {
			f->path = NULL;
			e = gate_fail(err, GATE_E_NOMEM, NULL, "deb", "out of memory");
			break;
		}
		gate_hex_encode(m[i].md5, 16, f->md5);
		pkg->nfiles++;
	}
	free(m);
	return e;
}

enum gate_err gate_apt_read_pending(const char *deb, struct gate_ledger_pkg *pkg,
				    struct gate_error *err)
{
	char *sums = NULL;
	size_t len = 0;
	enum gate_err e = gate_deb_read_sums(deb, -1, pkg, &sums, &len, NULL, err);
	if (e == GATE_OK && sums)
		e = sums_to_files(sums, len, pkg, err);
	free(sums);
	return e;
}

/* ---- the background step ---- */

int gate_apt_digest_lock(const char *ledger)
{
	char path[PATH_MAX];
	int w = snprintf(path, sizeof path, "%s-digest.lock", ledger);
	if (w < 0 || (size_t)w >= sizeof path)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -1;
	struct timespec nap = {0, 20 * 1000 * 1000};
	time_t end = time(NULL) + GATE_APT_DIGEST_WAIT_S;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK || time(NULL) >= end) {
			fprintf(stderr,
				"gate: warning: %s is still held after %d s: the files of pending "
				"packages are hashed on disk instead\n",
				path, GATE_APT_DIGEST_WAIT_S);
			close(fd);
			return -1;
		}
		nanosleep(&nap, NULL);
	}
	return fd;
}

/* The grandchild: its own session, stdio on /dev/null, the lock as fd 3
 * and nothing else open, so that apt waits for none of it. */
static void exec_digest(const char *ledger, int lock)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
	    dup2(lock, 3) < 0)
		_exit(127);
	close_range(4, ~0U, 0);
	execl("/proc/self/exe", "gate", "hook", "apt", "--digest-pending", "--ledger", ledger,
	      (char *)NULL);
	_exit(127);
}

void gate_apt_start_digest(const char *ledger, int lock)
{
	if (lock < 0)
		return;
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		if (setsid() < 0)
			_exit(127);
		pid_t grand = fork();
		if (grand == 0)
			exec_digest(ledger, lock);
		_exit(grand < 0 ? 127 : 0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static bool needs_digest(const struct gate_ledger_pkg *p)
{
	if (!p->deb)
		return false;
	for (size_t i = 0; i < p->nfiles; i++)
		if (!p->files[i].sha256[0])
			return true;
	return p->nfiles == 0;
}

/* Whether decoding p's data.tar is cheap next to hashing what dpkg
 * installs: it stores at least half of its installed size (random or
 * already-compressed contents). A package of program bytes stores about a
 * quarter, and decoding it (xz) costs as much CPU as dpkg's own unpacking,
 * on the CPUs dpkg is using: those are hashed on disk after dpkg instead
 * (docs/BENCHMARKS.md). */
static bool cheap_to_decode(const struct gate_ledger_pkg *p)
{
	struct gate_ledger_pkg h = {0};
	struct gate_deb_sizes sz = {0};
	struct gate_error e = {0};
	char *sums = NULL;
	size_t len = 0;
	bool ok = gate_deb_read_sums(p->deb, -1, &h, &sums, &len, &sz, &e) == GATE_OK &&
		  sz.installed_kib && sz.data_bytes && sz.installed_kib <= UINT64_MAX / 1024 / 2 &&
		  sz.installed_kib * 1024 <= sz.data_bytes * 2;
	free(sums);
	gate_ledger_pkg_clear(&h);
	return ok;
}

/* The files of one pending package from its .deb, when it is still the
 * .deb that was decided and names the same package. */
static enum gate_err digest_one(struct gate_ledger *l, const struct gate_ledger_pkg *p)
{
	struct gate_ledger_pkg d = {0};
	struct gate_error e = {0};
	if (!cheap_to_decode(p))
		return GATE_OK; /* hashed on disk after dpkg */
	enum gate_err rc = gate_deb_read(p->deb, -1, &d, &e);
	if (rc == GATE_OK && strcmp(d.deb_sha256, p->deb_sha256) == 0 &&
	    strcmp(d.name, p->name) == 0 && strcmp(d.version, p->version) == 0 &&
	    strcmp(d.arch, p->arch) == 0)
		rc = gate_ledger_digest_pending(l, &d, &e);
	gate_ledger_pkg_clear(&d);
	return rc;
}

int gate_apt_digest(const char *ledger)
{
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	struct pending_set ps = {0};
	int64_t last = 0;
	int code = 2;
	if (gate_ledger_open(ledger, false, &l, &err) != GATE_OK ||
	    gate_ledger_list_pending(l, take_pending, &ps, &last, &err) != GATE_OK || ps.oom)
		goto out;
	code = 0;
	for (size_t i = 0; i < ps.n; i++)
		if (needs_digest(&ps.p[i]) && digest_one(l, &ps.p[i]) != GATE_OK)
			code = 1;
out:
	for (size_t i = 0; i < ps.n; i++)
		gate_ledger_pkg_clear(&ps.p[i]);
	free(ps.p);
	gate_ledger_close(l);
	return code;
}
