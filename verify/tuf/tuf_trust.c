/* tuf_trust.c - verified local caches of TUF repositories and the Sigstore
 * trusted root over TUF (tuf_trust.h). The network is used only by
 * gate_tuf_cache_update(); everything else reads the cache and verifies it
 * offline with the TUF client (metadata_url NULL). */
#include "tuf_trust.h"

#include "gate_trustroot.h"

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

/* ---- locking ---- */

static int lock_exclusive(const char *dir, struct gate_error *err)
{
	char *p = gate_path_join(dir, ".lock");
	int fd = p ? open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
	free(p);
	if (fd < 0) {
		gate_fail(err, GATE_E_IO, NULL, dir, "cannot open the lock: %s", strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		gate_fail(err, GATE_E_IO, NULL, dir, "cannot lock: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Readers wait a little for an update in progress, never forever: a
 * decision has a deadline. -1 = no lock file (nothing was ever written
 * through the update path: fine), -2 = still locked. */
static int lock_shared(const char *dir)
{
	char *p = gate_path_join(dir, ".lock");
	int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	free(p);
	if (fd < 0)
		return -1;
	for (int waited = 0; flock(fd, LOCK_SH | LOCK_NB) != 0; waited += 10) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return -1;
		}
		if (waited >= GATE_TUF_LOCK_WAIT_MS) {
			close(fd);
			return -2;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
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

static enum gate_err bootstrap(const struct gate_tuf_cache_opts *o, const char *mdir,
			       struct gate_error *err)
{
	char *p = gate_path_join(mdir, "root.json");
	struct stat st;
	bool have = p && stat(p, &st) == 0;
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

enum gate_err gate_tuf_cache_update(const struct gate_tuf_cache_opts *o,
				    struct gate_tuf_cache_state *st, struct gate_error *err)
{
	struct gate_tuf_cache_state local;
	struct gate_tuf_updater *u = NULL;
	struct gate_tuf_caps caps;
	struct gate_tuf_walk_stats ws;
	char *mdir = gate_path_join(o->dir, "metadata"), *tdir = gate_path_join(o->dir, "targets");
	int64_t now = gate_tuf_now(o->now);
	int lock = -1;
	enum gate_err rc;
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!o->caps)
		gate_tuf_caps_env(&caps);
	if (!mdir || !tdir) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	if (gate_mkdirs(mdir, strlen(mdir), 0755) != 0 ||
	    gate_mkdirs(tdir, strlen(tdir), 0755) != 0) {
		rc = gate_fail(err, GATE_E_IO, NULL, o->dir, "cannot create: %s", strerror(errno));
		goto out;
	}
	if ((lock = lock_exclusive(o->dir, err)) < 0) {
		rc = GATE_E_IO;
		goto out;
	}
	(void)gate_tuf_cache_stamp(o->dir, &st->last_update);
	if ((rc = bootstrap(o, mdir, err)) != GATE_OK ||
	    (rc = gate_tuf_updater_new(mdir, o->metadata_url, o->targets_url, now,
				       o->caps ? o->caps : &caps, &u, err)) != GATE_OK)
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
	if ((rc = write_stamp(o->dir, now, err)) == GATE_OK)
		st->last_update = now;
out:
	gate_tuf_updater_free(u);
	if (lock >= 0)
		close(lock);
	free(mdir);
	free(tdir);
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
	if (stat(root, &st) != 0) {
		rc = gate_fail(err, GATE_E_IO, "T1", NULL,
			       "no cached TUF metadata (never updated)");
		goto out;
	}
	if ((c->lock = lock_shared(dir)) == -2) {
		c->lock = -1;
		rc = gate_fail(err, GATE_E_IO, NULL, NULL, "an update is in progress");
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
