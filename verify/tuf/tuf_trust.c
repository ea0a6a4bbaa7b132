/* tuf_trust.c - verified local caches of TUF repositories and the Sigstore
 * trusted root over TUF (tuf_trust.h). The network is used only by
 * gate_tuf_cache_update(); everything else reads the cache and verifies it
 * offline with the TUF client (metadata_url NULL). */
#include "tuf_trust.h"

#include "gate_trustroot.h"

#include <dirent.h>
#include <jansson.h>
#include <stdatomic.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern const unsigned char gate_embedded_tuf_root[];
extern const unsigned long gate_embedded_tuf_root_len;

const uint8_t *gate_tuf_embedded_root(size_t *len)
{
	*len = (size_t)gate_embedded_tuf_root_len;
	return gate_embedded_tuf_root;
}

int64_t gate_tuf_now(int64_t now)
{
	const char *s = getenv("GATE_TIME");
	int64_t t = 0;
	if (now)
		return now;
	if (s && *s && gate_parse_rfc3339(s, &t))
		return t;
	return (int64_t)time(NULL);
}

char *gate_tuf_state_dir(const char *sub)
{
	const char *base = getenv("GATE_CACHE_DIR"), *home;
	char *out = NULL;
	int n = -1;
	if (base && base[0] == '/')
		n = asprintf(&out, "%s/tuf/%s", base, sub);
	else if (geteuid() == 0)
		n = asprintf(&out, "/var/lib/gate/tuf/%s", sub);
	else if ((base = getenv("XDG_CACHE_HOME")) && base[0] == '/')
		n = asprintf(&out, "%s/gate/tuf/%s", base, sub);
	else if ((home = getenv("HOME")) && home[0] == '/')
		n = asprintf(&out, "%s/.cache/gate/tuf/%s", home, sub);
	return n < 0 ? NULL : out;
}

static void env_long(const char *name, long *slot)
{
	const char *s = getenv(name);
	char *end;
	if (!s || !*s)
		return;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*end && errno == 0 && v > 0 && v <= 86400L * 365)
		*slot = v;
}

void gate_tuf_caps_env(struct gate_tuf_caps *c)
{
	gate_tuf_caps_default(c);
	env_long("GATE_TUF_CONNECT_TIMEOUT", &c->fetch.connect_timeout);
	env_long("GATE_TUF_LOW_SPEED_LIMIT", &c->fetch.low_speed_limit);
	env_long("GATE_TUF_LOW_SPEED_TIME", &c->fetch.low_speed_time);
	env_long("GATE_TUF_TIMEOUT", &c->fetch.total_timeout);
}

/* ---- files ---- */

/* "1787616000\n": digits only, at most 18 (no overflow), nothing else but
 * one newline. */
bool gate_tuf_cache_stamp(const char *dir, int64_t *out)
{
	char *p = gate_path_join(dir, "last-update");
	uint8_t *buf = NULL;
	size_t len = 0;
	bool ok = false;
	if (p && gate_read_file(p, 64, &buf, &len, NULL) == GATE_OK) {
		int64_t v = 0;
		size_t i = 0;
		for (; i < len && i < 18 && buf[i] >= '0' && buf[i] <= '9'; i++)
			v = v * 10 + (buf[i] - '0');
		ok = i > 0 && (i == len || (i + 1 == len && buf[i] == '\n'));
		if (ok)
			*out = v;
	}
	free(buf);
	free(p);
	return ok;
}

bool gate_tuf_cache_stamp_bad(const char *dir)
{
	int64_t t;
	char *p = gate_path_join(dir, "last-update");
	struct stat st;
	bool present = p && lstat(p, &st) == 0;
	free(p);
	return present && !gate_tuf_cache_stamp(dir, &t);
}

static enum gate_err write_stamp(const char *dir, int64_t t, struct gate_error *err)
{
	char *dst = gate_path_join(dir, "last-update");
	char text[32];
	int n = snprintf(text, sizeof text, "%lld\n", (long long)t);
	if (!dst)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	enum gate_err rc =
		gate_atomic_write_file(dst, ".last-update-XXXXXX", text, (size_t)n, 0644, 0, err);
	free(dst);
	return rc;
}

/* ---- locking ----
 *
 * DIR/.lock serialises updates (exclusive, for the whole update, network
 * included); readers never take it. DIR/.swap is held shared by readers
 * while they read DIR/metadata, and exclusive by an update only for the
 * instant it swaps its finished copy in: a decision never waits for an
 * update's downloads, it reads the last good metadata meanwhile. Both are
 * opened without blocking and only when regular (a FIFO planted there
 * would otherwise hang every command); one that is not is set aside. */

static int open_lock(const char *dir, const char *name, bool create, struct gate_error *err)
{
	char *p = gate_path_join(dir, name);
	int fd = -1;
	if (!p) {
		gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		return -1;
	}
	for (int tries = 0; tries < 2; tries++) {
		fd = gate_open_regular(p, create ? O_RDWR | O_CREAT : O_RDONLY, 0644);
		if (fd != -2 || !create)
			break;
		/* Only an update repairs (it holds or is about to hold the
		 * update lock); readers go on without the lock. */
		if (gate_tuf_set_aside(p, NULL, NULL, 0, err) != GATE_OK)
			break;
	}
	if (fd < 0 && create && err && !err->code)
		gate_fail(err, GATE_E_IO, NULL, p, "cannot open the lock: %s",
			  fd == -2 ? "not a regular file" : strerror(errno));
	free(p);
	return fd < 0 ? -1 : fd;
}

/* Take flock op on fd, polling until deadline_ms (monotonic; 0 = try
 * once). false when it is still held by someone else. */
static bool lock_until(int fd, int op, int64_t deadline_ms)
{
	while (flock(fd, op | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || gate_tuf_mono_ms() >= deadline_ms)
			return false;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* The update lock: waits for another update at most until deadline_ms
 * (0: not at all). -1 = error, -2 = another update holds it. */
static int lock_update(const char *dir, int64_t deadline_ms, struct gate_error *err)
{
	int fd = open_lock(dir, ".lock", true, err);
	if (fd < 0)
		return -1;
	if (!lock_until(fd, LOCK_EX, deadline_ms)) {
		close(fd);
		gate_fail(err, GATE_E_IO, NULL, dir, "another update of this cache is running");
		return -2;
	}
	return fd;
}

/* Readers wait a little for a swap, never for an update: -1 = no usable
 * lock file (nothing was swapped in yet: fine), -2 = still locked. */
static int lock_read(const char *dir)
{
	int fd = open_lock(dir, ".swap", false, NULL);
	if (fd < 0)
		return -1;
	if (!lock_until(fd, LOCK_SH, gate_tuf_mono_ms() + GATE_TUF_LOCK_WAIT_MS)) {
		close(fd);
		return -2;
	}
	return fd;
}

/* ---- state ---- */

static void fill_state(const struct gate_tuf_updater *u, struct gate_tuf_cache_state *st)
{
	for (int t = 0; t < GATE_TUF_NTYPES; t++) {
		st->version[t] = gate_tuf_trusted_version(u, (enum gate_tuf_type)t);
		st->expires[t] = gate_tuf_trusted_expires(u, (enum gate_tuf_type)t);
	}
}

static bool walk_count(void *ctx, const struct gate_tuf_file *f, const char *role)
{
	(void)ctx;
	(void)f;
	(void)role;
	return true;
}

/* ---- update ---- */

/* ---- the update's working copy ----
 *
 * An update works on DIR/.metadata.update, a copy of DIR/metadata (hard
 * links: the client replaces files by rename, never in place), and swaps
 * it in at the end with one atomic exchange. Readers see the whole old
 * metadata or the whole new, never a new timestamp beside an old snapshot,
 * and never wait for the network. */

#define STAGE_NAME ".metadata.update"
/* Entries a metadata folder may hold: every role, and a little more. */
#define GATE_TUF_CACHE_MAX_FILES (GATE_TUF_WALK_MAX_ROLES + 64)
/* How long an update waits for readers to let it swap (readers hold the
 * swap lock for one lookup). */
#define GATE_TUF_SWAP_WAIT_MS 10000

/* Remove a working copy (left by an interrupted update, or swapped out). */
static enum gate_err stage_clear(const char *stage, struct gate_error *err)
{
	DIR *d = opendir(stage);
	struct dirent *e;
	enum gate_err rc = GATE_OK;
	if (!d && errno == ENOTDIR && unlink(stage) == 0)
		return GATE_OK; /* a file planted there */
	if (!d)
		return errno == ENOENT ? GATE_OK
				       : gate_fail(err, GATE_E_IO, NULL, stage, "cannot open: %s",
						   strerror(errno));
	while (rc == GATE_OK && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0 &&
		    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0)
			rc = gate_fail(err, GATE_E_IO, NULL, stage, "cannot remove %s: %s",
				       e->d_name, strerror(errno));
	}
	closedir(d);
	if (rc == GATE_OK && rmdir(stage) != 0 && errno != ENOENT)
		rc = gate_fail(err, GATE_E_IO, NULL, stage, "cannot remove: %s", strerror(errno));
	return rc;
}

/* Whether the cached root.json still verifies by itself (T1). */
static bool root_ok(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct gate_tuf_md *md = NULL;
	bool ok = gate_read_file(path, GATE_TUF_ROOT_MAX_LEN, &buf, &len, NULL) == GATE_OK &&
		  gate_tuf_root_load(buf, len, &md, NULL) == GATE_OK;
	gate_tuf_md_free(md);
	free(buf);
	return ok;
}

static enum gate_err copy_in(const char *src, const char *dst, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc;
	if (link(src, dst) == 0)
		return GATE_OK;
	rc = gate_read_file(src, GATE_TUF_METADATA_HARD_MAX, &buf, &len, err);
	if (rc == GATE_OK)
		rc = gate_atomic_write_file(dst, ".gate-tuf-XXXXXX", buf, len, 0644, 0, err);
	free(buf);
	return rc;
}

/* Damaged entries are set aside into DIR rather than copied: anything
 * but a regular file (a FIFO, a folder), and a root.json that no longer
 * verifies by itself when there is a root to start again from (T1). The
 * update then fetches them again. */
static enum gate_err stage_fill(const struct gate_tuf_cache_opts *o, const char *mdir,
				const char *stage, struct gate_tuf_cache_state *st,
				struct gate_error *err)
{
	DIR *d = NULL;
	struct dirent *e;
	size_t n = 0;
	enum gate_err rc = GATE_OK;
	if (mkdir(stage, 0755) != 0)
		return gate_fail(err, GATE_E_IO, NULL, stage, "cannot create: %s", strerror(errno));
	if (!(d = opendir(mdir)))
		return gate_fail(err, GATE_E_IO, NULL, mdir, "cannot open: %s", strerror(errno));
	while (rc == GATE_OK && (e = readdir(d))) {
		char *src = NULL, *dst = NULL;
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		if (++n > GATE_TUF_CACHE_MAX_FILES) {
			rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, mdir, "more than %u entries",
				       GATE_TUF_CACHE_MAX_FILES);
			break;
		}
		if (!(src = gate_path_join(mdir, e->d_name)) ||
		    !(dst = gate_path_join(stage, e->d_name))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		} else if (lstat(src, &sb) != 0) {
			/* gone meanwhile: nothing to copy */
		} else if (!S_ISREG(sb.st_mode) ||
			   (o->root && strcmp(e->d_name, "root.json") == 0 && !root_ok(src))) {
			if ((rc = gate_tuf_set_aside(src, o->dir, NULL, 0, err)) == GATE_OK &&
			    st->set_aside++ == 0)
				snprintf(st->aside, sizeof st->aside, "metadata/%.50s", e->d_name);
		} else {
			rc = copy_in(src, dst, err);
		}
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}

static void sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Swap the working copy in: one atomic exchange, while no reader reads. */
static enum gate_err stage_swap(const char *dir, const char *stage, const char *mdir,
				struct gate_error *err)
{
	int fd = open_lock(dir, ".swap", true, err);
	enum gate_err rc = GATE_OK;
	if (fd < 0)
		return GATE_E_IO;
	if (!lock_until(fd, LOCK_EX, gate_tuf_mono_ms() + GATE_TUF_SWAP_WAIT_MS)) {
		close(fd);
		return gate_fail(err, GATE_E_IO, NULL, dir,
				 "readers kept the cache busy for %d s: update not applied",
				 GATE_TUF_SWAP_WAIT_MS / 1000);
	}
	sync_dir(stage);
	if (renameat2(AT_FDCWD, stage, AT_FDCWD, mdir, RENAME_EXCHANGE) != 0)
		rc = gate_fail(err, GATE_E_IO, NULL, mdir, "cannot swap in the update: %s",
			       strerror(errno));
	else
		sync_dir(dir);
	close(fd);
	return rc;
}

static enum gate_err bootstrap(const struct gate_tuf_cache_opts *o, const char *mdir,
			       struct gate_error *err)
{
	char *p = gate_path_join(mdir, "root.json");
	struct stat st;
	bool have = p && lstat(p, &st) == 0;
	free(p);
	if (!p)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	if (have)
		return GATE_OK;
	if (!o->root)
		return gate_fail(err, GATE_E_IO, "T1", mdir, "no trusted root.json to start from");
	return gate_tuf_init(mdir, o->root, o->root_len, err);
}

static enum gate_err fetch_target(struct gate_tuf_updater *u, const char *tdir, const char *path,
				  bool required, bool *downloaded, struct gate_error *err)
{
	const struct gate_tuf_target *t = NULL;
	bool got = false;
	enum gate_err rc = gate_tuf_find_target(u, path, &t, err);
	if (rc != GATE_OK)
		return rc;
	if (!t)
		return required ? gate_fail(err, GATE_E_MISMATCH, "T22", path,
					    "not a target of the repository")
				: GATE_OK;
	if (t->length > GATE_TUF_TRUST_TARGET_MAX)
		return gate_fail(err, GATE_E_TOO_LARGE, "T25", path,
				 "listed with %llu bytes, more than the %u allowed",
				 (unsigned long long)t->length, GATE_TUF_TRUST_TARGET_MAX);
	rc = gate_tuf_download_target(u, t, tdir, NULL, &got, err);
	if (got)
		*downloaded = true;
	return rc;
}

/* The refresh, walk and downloads of one update, in the working copy. */
static enum gate_err update_in(const struct gate_tuf_cache_opts *o, const char *stage,
			       const char *tdir, const struct gate_tuf_caps *caps, int64_t now,
			       struct gate_tuf_cache_state *st, struct gate_error *err)
{
	struct gate_tuf_updater *u = NULL;
	struct gate_tuf_walk_stats ws;
	enum gate_err rc;
	if ((rc = bootstrap(o, stage, err)) != GATE_OK ||
	    (rc = gate_tuf_updater_new(stage, o->metadata_url, o->targets_url, now, caps, &u,
				       err)) != GATE_OK)
		goto out;
	st->initial_root = gate_tuf_trusted_version(u, GATE_TUF_ROOT);
	rc = gate_tuf_refresh(u, err);
	fill_state(u, st);
	if (rc != GATE_OK)
		goto out;
	if (o->walk) {
		rc = gate_tuf_walk_targets(u, GATE_TUF_WALK_MAX_ROLES, walk_count, NULL, &ws, err);
		st->roles = ws.roles;
		st->targets = ws.targets;
		st->skipped = ws.skipped;
		/* An update is complete only when every role is cached: the
		 * offline lookups need them all. */
		if (rc == GATE_OK && ws.skipped) {
			if (err)
				*err = ws.first_skip;
			rc = ws.first_skip.code ? ws.first_skip.code : GATE_E_INTERNAL;
		}
		if (rc == GATE_OK && ws.truncated)
			rc = gate_fail(err, GATE_E_TOO_LARGE, "T22", NULL,
				       "more than %u delegated roles", GATE_TUF_WALK_MAX_ROLES);
		if (rc != GATE_OK)
			goto out;
	}
	for (size_t i = 0; o->required && o->required[i]; i++)
		if ((rc = fetch_target(u, tdir, o->required[i], true, &st->downloaded, err)) !=
		    GATE_OK)
			goto out;
	for (size_t i = 0; o->optional && o->optional[i]; i++)
		if ((rc = fetch_target(u, tdir, o->optional[i], false, &st->downloaded, err)) !=
		    GATE_OK)
			goto out;
out:
	gate_tuf_updater_free(u);
	return rc;
}

enum gate_err gate_tuf_cache_update(const struct gate_tuf_cache_opts *o,
				    struct gate_tuf_cache_state *st, struct gate_error *err)
{
	struct gate_tuf_cache_state local;
	struct gate_tuf_caps caps;
	char *mdir = gate_path_join(o->dir, "metadata"), *tdir = gate_path_join(o->dir, "targets");
	char *stage = gate_path_join(o->dir, STAGE_NAME);
	int64_t now = gate_tuf_now(o->now);
	int lock = -1;
	enum gate_err rc;
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (o->caps)
		caps = *o->caps;
	else
		gate_tuf_caps_env(&caps);
	/* One deadline for the whole update, not one per file. */
	if (caps.fetch.total_timeout > 0 && !caps.fetch.deadline_ms) {
		caps.fetch.deadline_ms =
			gate_tuf_mono_ms() + (int64_t)caps.fetch.total_timeout * 1000;
		caps.fetch.deadline_s = caps.fetch.total_timeout;
	}
	if (!mdir || !tdir || !stage) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	if (gate_mkdirs(mdir, strlen(mdir), 0755) != 0 ||
	    gate_mkdirs(tdir, strlen(tdir), 0755) != 0) {
		rc = gate_fail(err, GATE_E_IO, NULL, o->dir, "cannot create: %s", strerror(errno));
		goto out;
	}
	if ((lock = lock_update(o->dir, o->no_wait ? 0 : caps.fetch.deadline_ms, err)) < 0) {
		st->busy = lock == -2;
		rc = GATE_E_IO;
		goto out;
	}
	(void)gate_tuf_cache_stamp(o->dir, &st->last_update);
	if ((rc = stage_clear(stage, err)) != GATE_OK ||
	    (rc = stage_fill(o, mdir, stage, st, err)) != GATE_OK)
		goto out;
	rc = update_in(o, stage, tdir, &caps, now, st, err);
	/* Swapped in even after a failure: what the client verified and
	 * persisted stays (e.g. rotated roots before an expiry error), as if
	 * it had been written in place. */
	struct gate_error se = {0};
	enum gate_err src = stage_swap(o->dir, stage, mdir, &se);
	if (src == GATE_OK)
		src = stage_clear(stage, &se);
	if (rc == GATE_OK && src != GATE_OK) {
		rc = src;
		if (err)
			*err = se;
	}
	if (rc == GATE_OK && (rc = write_stamp(o->dir, now, err)) == GATE_OK)
		st->last_update = now;
out:
	if (lock >= 0)
		close(lock);
	free(mdir);
	free(tdir);
	free(stage);
	return rc;
}

/* ---- offline view ---- */

struct gate_tuf_cache {
	char *dir, *tdir;
	int lock;
	int64_t last_update;
	struct gate_tuf_updater *u;
};

void gate_tuf_cache_close(struct gate_tuf_cache *c)
{
	if (!c)
		return;
	gate_tuf_updater_free(c->u);
	if (c->lock >= 0)
		close(c->lock);
	free(c->dir);
	free(c->tdir);
	free(c);
}

enum gate_err gate_tuf_cache_open(const char *dir, int64_t now, struct gate_tuf_cache **out,
				  struct gate_error *err)
{
	struct gate_tuf_cache *c = calloc(1, sizeof(*c));
	char *mdir = NULL, *root = NULL;
	struct gate_tuf_caps caps;
	struct stat st;
	enum gate_err rc;
	if (!c)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	c->lock = -1;
	if (!(c->dir = strdup(dir)) || !(c->tdir = gate_path_join(dir, "targets")) ||
	    !(mdir = gate_path_join(dir, "metadata")) ||
	    !(root = gate_path_join(mdir, "root.json"))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	if (lstat(root, &st) != 0) {
		rc = gate_fail(err, GATE_E_IO, "T1", NULL,
			       "no cached TUF metadata (never updated)");
		goto out;
	}
	if ((c->lock = lock_read(dir)) == -2) {
		c->lock = -1;
		rc = gate_fail(err, GATE_E_IO, NULL, NULL,
			       "an update is being swapped in for more than %d ms",
			       GATE_TUF_LOCK_WAIT_MS);
		goto out;
	}
	(void)gate_tuf_cache_stamp(dir, &c->last_update);
	gate_tuf_caps_default(&caps);
	/* metadata_url NULL: offline, by construction no network. */
	if ((rc = gate_tuf_updater_new(mdir, NULL, NULL, gate_tuf_now(now), &caps, &c->u, err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_refresh(c->u, err)) != GATE_OK)
		goto out;
out:
	free(mdir);
	free(root);
	if (rc != GATE_OK) {
		gate_tuf_cache_close(c);
		return rc;
	}
	*out = c;
	return GATE_OK;
}

struct gate_tuf_updater *gate_tuf_cache_updater(struct gate_tuf_cache *c)
{
	return c->u;
}

void gate_tuf_cache_fill(const struct gate_tuf_cache *c, struct gate_tuf_cache_state *st)
{
	memset(st, 0, sizeof(*st));
	fill_state(c->u, st);
	st->initial_root = st->version[GATE_TUF_ROOT];
	st->last_update = c->last_update;
}

enum gate_err gate_tuf_cache_target(struct gate_tuf_cache *c, const char *path, char **out,
				    struct gate_error *err)
{
	const struct gate_tuf_target *t = NULL;
	enum gate_err rc = gate_tuf_find_target(c->u, path, &t, err);
	*out = NULL;
	if (rc != GATE_OK || !t)
		return rc;
	return gate_tuf_find_cached_target(c->u, t, c->tdir, out, err);
}

/* ---- the Sigstore trusted root ---- */

/* The embedded TUF root's expiry (signed.expires), read without parsing
 * its keys: the embedded trusted root is as fresh as the TUF root it came
 * with. 0 when unreadable (then it is never called expired). */
static int64_t embedded_expires(void)
{
	size_t len = 0;
	const uint8_t *b = gate_tuf_embedded_root(&len);
	json_t *j = json_loadb((const char *)b, len, 0, NULL);
	const char *s = json_string_value(json_object_get(json_object_get(j, "signed"), "expires"));
	int64_t t = 0;
	if (!s || !gate_parse_rfc3339(s, &t))
		t = 0;
	json_decref(j);
	return t;
}

static void embedded_info(struct gate_trust_info *info)
{
	size_t len = 0;
	const uint8_t *b = gate_tuf_embedded_root(&len);
	struct gate_tuf_md *md = NULL;
	if (gate_tuf_md_parse_load(b, len, GATE_TUF_ROOT, &md, NULL) == GATE_OK) {
		info->embedded_root_version = md->version;
		info->embedded_root_expires = md->expires;
	}
	gate_tuf_md_free(md);
}

/* The cached trusted root, or an error saying why not. */
static enum gate_err from_cache(const char *dir, int64_t now, struct gate_trusted_root **out,
				struct gate_tuf_cache_state *st, struct gate_error *err)
{
	struct gate_tuf_cache *c = NULL;
	char *file = NULL;
	enum gate_err rc = gate_tuf_cache_open(dir, now, &c, err);
	if (rc != GATE_OK)
		return rc;
	gate_tuf_cache_fill(c, st);
	if ((rc = gate_tuf_cache_target(c, GATE_TUF_SIGSTORE_TRUSTED_ROOT, &file, err)) != GATE_OK)
		goto out;
	if (!file) {
		rc = gate_fail(err, GATE_E_IO, "T25", GATE_TUF_SIGSTORE_TRUSTED_ROOT,
			       "not listed, or no verified copy in the cache");
		goto out;
	}
	if ((rc = gate_trusted_root_load(file, out, err)) == GATE_OK)
		(*out)->source = "cache";
out:
	free(file);
	gate_tuf_cache_close(c);
	return rc;
}

enum gate_err gate_trusted_root_best(const char *dir, int64_t now, struct gate_trusted_root **out,
				     struct gate_trust_info *info, struct gate_error *err)
{
	struct gate_trust_info local;
	struct gate_error ce = {0};
	char *def = NULL;
	enum gate_err rc;
	/* Parsing the embedded TUF root (and its keys) only to report its
	 * version was a third of a small `gate verify`: done only when asked. */
	bool want_info = info != NULL;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!dir)
		dir = def = gate_tuf_state_dir("sigstore");
	if (!dir) {
		snprintf(info->why, sizeof info->why, "no cache directory (no $HOME)");
	} else {
		snprintf(info->dir, sizeof info->dir, "%s", dir);
		rc = from_cache(dir, now, out, &info->state, &ce);
		if (rc == GATE_OK) {
			info->source = GATE_TRUST_CACHE;
			free(def);
			return GATE_OK;
		}
		snprintf(info->why, sizeof info->why, "%s%s%s%s%s%s", ce.field,
			 ce.field[0] ? ": " : "", ce.msg[0] ? ce.msg : gate_err_str(ce.code),
			 ce.rule[0] ? " [" : "", ce.rule, ce.rule[0] ? "]" : "");
	}
	free(def);
	info->source = GATE_TRUST_EMBEDDED;
	if (want_info)
		embedded_info(info);
	if ((rc = gate_trusted_root_default(out, err)) == GATE_OK)
		(*out)->expires = embedded_expires();
	return rc;
}

void gate_trust_warn(const struct gate_trusted_root *root, int64_t now)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	char t[32];
	if (!root || !gate_trust_expired(root, gate_tuf_now(now)) ||
	    atomic_flag_test_and_set(&warned))
		return;
	gate_format_time(root->expires, t);
	fprintf(stderr,
		"gate: warning: the Sigstore trusted root in use is the one embedded in gate, and "
		"its TUF root expired %s: run 'gate trust update' (a policy with "
		"trust.require_fresh: true denies what it verifies)\n",
		t);
}
