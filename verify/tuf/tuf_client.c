/* tuf_client.c - the TUF client update workflow (spec/TUF.md §4, T1-T21,
 * T24) in the reference order of python-tuf's ngclient: root rotation,
 * timestamp, snapshot, targets, then delegated targets on demand. The
 * delegation search (T22, T23) and the enumeration of every role are in
 * tuf_walk.c, target files (T25) in tuf_download.c.
 *
 * Persistence rule: a file is written into the metadata or target directory
 * only after every check on it passed, byte-exact as it was served, through
 * a temporary file, fsync and rename. */
#include "tuf_client_int.h"

#include "lazy_curl.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void gate_tuf_caps_default(struct gate_tuf_caps *c)
{
	c->root_max = GATE_TUF_ROOT_MAX_LEN;
	c->timestamp_max = GATE_TUF_TIMESTAMP_MAX_LEN;
	c->snapshot_max = GATE_TUF_SNAPSHOT_MAX_LEN;
	c->targets_max = GATE_TUF_TARGETS_MAX_LEN;
	c->max_root_rotations = GATE_TUF_MAX_ROOT_ROTATIONS;
	c->max_delegations = GATE_TUF_MAX_DELEGATIONS;
	c->fetch.connect_timeout = 15;
	c->fetch.low_speed_limit = 1024;
	c->fetch.low_speed_time = 30;
	c->fetch.total_timeout = 600;
	c->fetch.deadline_ms = 0;
	c->fetch.deadline_s = 0;
	c->fetch.deadline_of = NULL; /* "update (GATE_TUF_TIMEOUT)" */
	c->fetch.file_regular = true;
}

/* ---- small helpers ---- */

char *gate_tuf_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static char *with_slash(const char *url)
{
	size_t n = strlen(url);
	return gate_tuf_xasprintf("%s%s", url, n && url[n - 1] == '/' ? "" : "/");
}

static size_t cap_of(int64_t signed_len, size_t dflt)
{
	/* T12/T17: the signed length when there is one, else the default;
	 * never more than what we agree to buffer. */
	uint64_t c = signed_len >= 0 ? (uint64_t)signed_len : (uint64_t)dflt;
	return c > GATE_TUF_METADATA_HARD_MAX ? GATE_TUF_METADATA_HARD_MAX : (size_t)c;
}

/* Write data as dir/name, atomically and durably. */
static enum gate_err write_atomic(const char *dir, const char *name, const uint8_t *data,
				  size_t len, struct gate_error *err)
{
	char *dst = gate_tuf_xasprintf("%s/%s", dir, name);
	enum gate_err rc =
		dst ? gate_atomic_write_file(dst, ".gate-tuf-XXXXXX", data, len, 0644, 0, err)
		    : gate_fail(err, GATE_E_NOMEM, NULL, name, "out of memory");
	free(dst);
	return rc;
}

/* Local copy of a metadata file: dir/<quoted role>.json. */
static enum gate_err read_local(struct gate_tuf_updater *u, const char *role, size_t cap,
				uint8_t **buf, size_t *len)
{
	char *q = gate_tuf_quote(role);
	char *path = q ? gate_tuf_xasprintf("%s/%s.json", u->dir, q) : NULL;
	enum gate_err rc = path ? gate_read_file(path, cap, buf, len, NULL) : GATE_E_NOMEM;
	free(q);
	free(path);
	return rc;
}

static enum gate_err persist(struct gate_tuf_updater *u, const char *role, const uint8_t *data,
			     size_t len, struct gate_error *err)
{
	char *q = gate_tuf_quote(role);
	char *name = q ? gate_tuf_xasprintf("%s.json", q) : NULL;
	enum gate_err rc = name ? write_atomic(u->dir, name, data, len, err)
				: gate_fail(err, GATE_E_NOMEM, NULL, role, "out of memory");
	free(q);
	free(name);
	return rc;
}

/* URL of a metadata file: base + [V.] + quoted role + ".json" (§4 Naming). */
static char *meta_url(const struct gate_tuf_updater *u, const char *role, int64_t version)
{
	char *q = gate_tuf_quote(role);
	char *url = NULL;
	if (q && version > 0)
		url = gate_tuf_xasprintf("%s%lld.%s.json", u->mdurl, (long long)version, q);
	else if (q)
		url = gate_tuf_xasprintf("%s%s.json", u->mdurl, q);
	free(q);
	return url;
}

static enum gate_err fetch_meta(struct gate_tuf_updater *u, const char *role, int64_t version,
				size_t cap, uint8_t **buf, size_t *len, long *status,
				struct gate_error *err)
{
	char *url = meta_url(u, role, version);
	if (!url)
		return gate_fail(err, GATE_E_NOMEM, NULL, role, "out of memory");
	enum gate_err rc = gate_tuf_fetch_buf(url, cap, &u->caps.fetch, buf, len, status, err);
	free(url);
	return rc;
}

/* Parse as type, verify the threshold with keys/role, then read the signed
 * fields: nothing signed is used before its signature verified. */
static enum gate_err verify_load(const uint8_t *buf, size_t len, enum gate_tuf_type type,
				 const struct gate_tuf_keys *keys, const struct gate_tuf_role *role,
				 const char *what, const char *rule, struct gate_tuf_md **out,
				 struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, type, &md, err);
	if (rc == GATE_OK)
		rc = gate_tuf_verify_role(md, keys, role, what, rule, err);
	if (rc == GATE_OK)
		rc = gate_tuf_md_load(md, err);
	if (rc != GATE_OK) {
		/* A malformed file fails the step that read it. */
		if (err && strcmp(err->rule, "TUF-1") == 0)
			snprintf(err->rule, sizeof err->rule, "%s", rule);
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

/* T3, T9, T15, T20: one wording for every role, so that a frozen
 * repository (or a stopped signer) is recognisable as such. */
static enum gate_err fail_expired(struct gate_error *err, const char *rule, const char *file,
				  const char *role, const struct gate_tuf_md *md)
{
	char t[32];
	gate_format_time(md->expires, t);
	return gate_fail(err, GATE_E_EXPIRED, rule, file,
			 "expired metadata: possible freeze attack: %.64s v%lld expired at %s",
			 role, (long long)md->version, t);
}

/* ---- construction ---- */

void gate_tuf_updater_free(struct gate_tuf_updater *u)
{
	if (!u)
		return;
	gate_tuf_md_free(u->root);
	gate_tuf_md_free(u->timestamp);
	gate_tuf_md_free(u->snapshot);
	for (size_t i = 0; i < u->nroles; i++) {
		free(u->roles[i].name);
		gate_tuf_md_free(u->roles[i].md);
	}
	free(u->roles);
	for (size_t i = 0; i < u->nfound; i++)
		free(u->found[i]);
	free(u->found);
	if (u->curl_inited)
		curl_global_cleanup();
	free(u->dir);
	free(u->mdurl);
	free(u->tgturl);
	free(u);
}

enum gate_err gate_tuf_updater_new(const char *metadata_dir, const char *metadata_url,
				   const char *target_base_url, int64_t now,
				   const struct gate_tuf_caps *caps, struct gate_tuf_updater **out,
				   struct gate_error *err)
{
	struct gate_tuf_updater *u = calloc(1, sizeof(*u));
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc;
	if (!u)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	if (caps)
		u->caps = *caps;
	else
		gate_tuf_caps_default(&u->caps);
	/* T0: one reference time for the whole update. */
	u->now = now ? now : (int64_t)time(NULL);
	if (!(u->dir = strdup(metadata_dir)) ||
	    (metadata_url && !(u->mdurl = with_slash(metadata_url))) ||
	    (target_base_url && !(u->tgturl = with_slash(target_base_url)))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	/* T1: the trusted root, verified by itself; no network before it. */
	char *path = gate_tuf_xasprintf("%s/root.json", metadata_dir);
	if (!path) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	rc = gate_read_file(path, u->caps.root_max, &buf, &len, err);
	free(path);
	if (rc == GATE_OK)
		rc = gate_tuf_root_load(buf, len, &u->root, err);
	if (rc != GATE_OK) {
		/* Whatever went wrong inside (JSON, keys, threshold), the
		 * step that failed is T1. */
		if (err)
			snprintf(err->rule, sizeof err->rule, "T1");
		goto out;
	}
	if (u->mdurl) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			rc = gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "libcurl init failed");
			goto out;
		}
		u->curl_inited = true;
	}
out:
	free(buf);
	if (rc != GATE_OK) {
		gate_tuf_updater_free(u);
		return rc;
	}
	*out = u;
	return GATE_OK;
}

enum gate_err gate_tuf_init(const char *metadata_dir, const uint8_t *root, size_t len,
			    struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_root_load(root, len, &md, err);
	gate_tuf_md_free(md);
	if (rc != GATE_OK)
		return rc;
	if (mkdir(metadata_dir, 0755) != 0 && errno != EEXIST)
		return gate_fail(err, GATE_E_IO, NULL, metadata_dir, "cannot create: %s",
				 strerror(errno));
	return write_atomic(metadata_dir, "root.json", root, len, err);
}

/* The trusted metadata of a top-level role, or NULL before it is loaded. */
static const struct gate_tuf_md *trusted_md(const struct gate_tuf_updater *u, enum gate_tuf_type t)
{
	if (t == GATE_TUF_ROOT)
		return u->root;
	if (t == GATE_TUF_TIMESTAMP)
		return u->timestamp;
	if (t == GATE_TUF_SNAPSHOT)
		return u->snapshot;
	return gate_tuf_find_loaded(u, "targets");
}

int64_t gate_tuf_trusted_version(const struct gate_tuf_updater *u, enum gate_tuf_type t)
{
	const struct gate_tuf_md *md = trusted_md(u, t);
	return md ? md->version : 0;
}

int64_t gate_tuf_trusted_expires(const struct gate_tuf_updater *u, enum gate_tuf_type t)
{
	const struct gate_tuf_md *md = trusted_md(u, t);
	return md ? md->expires : 0;
}

/* ---- root (T2-T5) ---- */

static bool same_role(const struct gate_tuf_role *a, const struct gate_tuf_role *b)
{
	if (a->threshold != b->threshold || a->nkeyids != b->nkeyids)
		return false;
	/* keyids are distinct within a role, so equal sizes + inclusion =
	 * equal sets. */
	for (size_t i = 0; i < a->nkeyids; i++) {
		bool found = false;
		for (size_t j = 0; j < b->nkeyids && !found; j++)
			found = strcmp(a->keyids[i], b->keyids[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static void forget_local(struct gate_tuf_updater *u, const char *role)
{
	char *path = gate_tuf_xasprintf("%s/%s.json", u->dir, role);
	if (path)
		unlink(path);
	free(path);
}

static enum gate_err update_root(struct gate_tuf_updater *u, struct gate_error *err)
{
	struct gate_tuf_md *initial = u->root;
	enum gate_err rc = GATE_OK;
	for (unsigned i = 0; u->mdurl && i < u->caps.max_root_rotations; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		long status = 0;
		struct gate_tuf_md *next = NULL;
		struct gate_error fe = {0};
		if (u->root->version == INT64_MAX)
			break;
		/* T2: always versioned; 404/403 = no newer root. */
		rc = fetch_meta(u, "root", u->root->version + 1, u->caps.root_max, &buf, &len,
				&status, &fe);
		if (rc != GATE_OK && gate_tuf_status_missing(status)) {
			rc = GATE_OK;
			break;
		}
		if (rc != GATE_OK && err)
			*err = fe;
		if (rc == GATE_OK)
			rc = gate_tuf_root_update(u->root, buf, len, &next, err);
		if (rc == GATE_OK)
			rc = persist(u, "root", buf, len, err);
		free(buf);
		if (rc != GATE_OK) {
			gate_tuf_md_free(next);
			break;
		}
		if (u->root != initial)
			gate_tuf_md_free(u->root);
		u->root = next;
	}
	/* T3: only the final root must be unexpired (after persisting). */
	if (rc == GATE_OK && gate_tuf_expired(u->root, u->now))
		rc = fail_expired(err, "T3", "root.json", "root", u->root);
	/* T4: after a timestamp or snapshot key rotation the cached files can
	 * no longer serve as rollback baselines (fast-forward recovery). */
	if (rc == GATE_OK && u->root != initial &&
	    (!same_role(&initial->roles[GATE_TUF_TIMESTAMP], &u->root->roles[GATE_TUF_TIMESTAMP]) ||
	     !same_role(&initial->roles[GATE_TUF_SNAPSHOT], &u->root->roles[GATE_TUF_SNAPSHOT]))) {
		forget_local(u, "timestamp");
		forget_local(u, "snapshot");
	}
	if (u->root != initial)
		gate_tuf_md_free(initial);
	return rc;
}

/* ---- timestamp (T6-T10) ---- */

static enum gate_err update_timestamp(struct gate_tuf_updater *u, struct gate_error *err)
{
	const struct gate_tuf_keys *keys = &u->root->keys;
	const struct gate_tuf_role *role = &u->root->roles[GATE_TUF_TIMESTAMP];
	struct gate_tuf_md *old = NULL, *cur = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	bool fresh = false;
	enum gate_err rc;
	/* T6: the cached timestamp is a baseline once it verifies, expired
	 * or not. */
	if (read_local(u, "timestamp", u->caps.timestamp_max, &buf, &len) == GATE_OK)
		(void)verify_load(buf, len, GATE_TUF_TIMESTAMP, keys, role, "timestamp.json", "T6",
				  &old, NULL);
	free(buf);
	buf = NULL;
	if (!u->mdurl) {
		if (!old)
			return gate_fail(err, GATE_E_IO, "T6", "timestamp.json",
					 "no valid cached timestamp (offline)");
		cur = old;
		old = NULL;
	} else {
		/* T7: never versioned. */
		rc = fetch_meta(u, "timestamp", 0, u->caps.timestamp_max, &buf, &len, NULL, err);
		if (rc == GATE_OK)
			rc = verify_load(buf, len, GATE_TUF_TIMESTAMP, keys, role, "timestamp.json",
					 "T7", &cur, err);
		if (rc != GATE_OK)
			goto out;
		fresh = true;
		/* T8: rollback checks against the baseline. */
		if (old && cur->version < old->version) {
			rc = gate_fail(err, GATE_E_MISMATCH, "T8", "timestamp.json",
				       "version %lld is older than the trusted %lld",
				       (long long)cur->version, (long long)old->version);
			goto out;
		}
		if (old && cur->version == old->version) {
			/* Same version: keep what we had, do not persist. */
			gate_tuf_md_free(cur);
			cur = old;
			old = NULL;
			fresh = false;
		} else if (old && cur->snapshot_meta.version < old->snapshot_meta.version) {
			rc = gate_fail(err, GATE_E_MISMATCH, "T8", "timestamp.json",
				       "snapshot version %lld is older than the trusted %lld",
				       (long long)cur->snapshot_meta.version,
				       (long long)old->snapshot_meta.version);
			goto out;
		}
	}
	/* T9 */
	if (gate_tuf_expired(cur, u->now)) {
		rc = fail_expired(err, "T9", "timestamp.json", "timestamp", cur);
		goto out;
	}
	/* T10 */
	rc = fresh ? persist(u, "timestamp", buf, len, err) : GATE_OK;
out:
	free(buf);
	gate_tuf_md_free(old);
	if (rc != GATE_OK) {
		gate_tuf_md_free(cur);
		return rc;
	}
	u->timestamp = cur;
	return GATE_OK;
}

/* ---- snapshot (T11-T16) ---- */

static enum gate_err snapshot_rollback(const struct gate_tuf_md *old, const struct gate_tuf_md *cur,
				       struct gate_error *err)
{
	/* T14: nothing listed before may disappear or go back. */
	for (size_t i = 0; i < old->nmeta; i++) {
		const struct gate_tuf_file *n = gate_tuf_find_meta(cur, old->meta[i].name);
		if (!n)
			return gate_fail(err, GATE_E_MISMATCH, "T14", "snapshot.json",
					 "\"%.80s\" was removed", old->meta[i].name);
		if (n->version < old->meta[i].version)
			return gate_fail(err, GATE_E_MISMATCH, "T14", "snapshot.json",
					 "\"%.80s\" went back from version %lld to %lld",
					 old->meta[i].name, (long long)old->meta[i].version,
					 (long long)n->version);
	}
	return GATE_OK;
}

static enum gate_err update_snapshot(struct gate_tuf_updater *u, struct gate_error *err)
{
	const struct gate_tuf_keys *keys = &u->root->keys;
	const struct gate_tuf_role *role = &u->root->roles[GATE_TUF_SNAPSHOT];
	const struct gate_tuf_file *sm = &u->timestamp->snapshot_meta;
	struct gate_tuf_md *old = NULL, *cur = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	size_t cap = cap_of(sm->length, u->caps.snapshot_max);
	enum gate_err rc;
	/* T11: a cached snapshot that verifies (no hash check: the timestamp
	 * may be newer) is final if unexpired and of the expected version,
	 * else it is the rollback baseline. */
	size_t local_cap = cap > u->caps.snapshot_max ? cap : cap_of(-1, u->caps.snapshot_max);
	if (read_local(u, "snapshot", local_cap, &buf, &len) == GATE_OK)
		(void)verify_load(buf, len, GATE_TUF_SNAPSHOT, keys, role, "snapshot.json", "T11",
				  &old, NULL);
	free(buf);
	buf = NULL;
	if (old && !gate_tuf_expired(old, u->now) && old->version == sm->version) {
		u->snapshot = old;
		return GATE_OK;
	}
	if (!u->mdurl) {
		gate_tuf_md_free(old);
		return gate_fail(err, GATE_E_IO, "T11", "snapshot.json",
				 "no valid cached snapshot v%lld (offline)",
				 (long long)sm->version);
	}
	/* T12: exact length and hashes before parsing. */
	rc = fetch_meta(u, "snapshot", u->root->consistent_snapshot ? sm->version : 0, cap, &buf,
			&len, NULL, err);
	if (rc == GATE_OK)
		rc = gate_tuf_check_file(sm, buf, len, "snapshot.json", "T12", err);
	/* T13 */
	if (rc == GATE_OK)
		rc = verify_load(buf, len, GATE_TUF_SNAPSHOT, keys, role, "snapshot.json", "T13",
				 &cur, err);
	/* T14 */
	if (rc == GATE_OK && old)
		rc = snapshot_rollback(old, cur, err);
	/* T15 */
	if (rc == GATE_OK && gate_tuf_expired(cur, u->now))
		rc = fail_expired(err, "T15", "snapshot.json", "snapshot", cur);
	if (rc == GATE_OK && cur->version != sm->version)
		rc = gate_fail(err, GATE_E_MISMATCH, "T15", "snapshot.json",
			       "version %lld, the timestamp says %lld", (long long)cur->version,
			       (long long)sm->version);
	/* T16 */
	if (rc == GATE_OK)
		rc = persist(u, "snapshot", buf, len, err);
	free(buf);
	gate_tuf_md_free(old);
	if (rc != GATE_OK) {
		gate_tuf_md_free(cur);
		return rc;
	}
	u->snapshot = cur;
	return GATE_OK;
}

/* ---- targets and delegated targets (T17-T21, T24) ---- */

struct gate_tuf_md *gate_tuf_find_loaded(const struct gate_tuf_updater *u, const char *name)
{
	for (size_t i = 0; i < u->nroles; i++)
		if (strcmp(u->roles[i].name, name) == 0)
			return u->roles[i].md;
	return NULL;
}

static enum gate_err add_loaded(struct gate_tuf_updater *u, const char *name,
				struct gate_tuf_md *md, struct gate_error *err)
{
	if (u->nroles == u->aroles) {
		size_t na = u->aroles ? u->aroles * 2 : 8;
		struct loaded *nr = realloc(u->roles, na * sizeof(*nr));
		if (!nr)
			return gate_fail(err, GATE_E_NOMEM, NULL, name, "out of memory");
		u->roles = nr;
		u->aroles = na;
	}
	char *n = strdup(name);
	if (!n)
		return gate_fail(err, GATE_E_NOMEM, NULL, name, "out of memory");
	u->roles[u->nroles].name = n;
	u->roles[u->nroles].md = md;
	u->nroles++;
	return GATE_OK;
}

/* T18-T20 over candidate bytes of role (local or downloaded). */
static enum gate_err check_role(struct gate_tuf_updater *u, const char *name,
				const struct gate_tuf_file *m, const struct gate_tuf_keys *keys,
				const struct gate_tuf_role *role, const uint8_t *buf, size_t len,
				struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_check_file(m, buf, len, name, "T18", err);
	if (rc == GATE_OK)
		rc = verify_load(buf, len, GATE_TUF_TARGETS, keys, role, name, "T19", &md, err);
	if (rc == GATE_OK && md->version != m->version)
		rc = gate_fail(err, GATE_E_MISMATCH, "T20", name,
			       "version %lld, the snapshot says %lld", (long long)md->version,
			       (long long)m->version);
	if (rc == GATE_OK && gate_tuf_expired(md, u->now))
		rc = fail_expired(err, "T20", name, name, md);
	if (rc != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

/* Load role "name" delegated with keys/role (root's for "targets"). */
enum gate_err gate_tuf_load_role(struct gate_tuf_updater *u, const char *name,
				 const struct gate_tuf_keys *keys, const struct gate_tuf_role *role,
				 struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = gate_tuf_find_loaded(u, name);
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc;
	if (md) {
		/* T24: reached again through another delegator: its keys and
		 * threshold must hold too; authority is not inherited. */
		rc = gate_tuf_verify_role(md, keys, role, name, "T24", err);
		if (rc == GATE_OK)
			*out = md;
		return rc;
	}
	char *metaname = gate_tuf_xasprintf("%s.json", name);
	if (!metaname)
		return gate_fail(err, GATE_E_NOMEM, NULL, name, "out of memory");
	const struct gate_tuf_file *m = gate_tuf_find_meta(u->snapshot, metaname);
	free(metaname);
	/* T17: unlisted roles are neither downloaded nor trusted. */
	if (!m)
		return gate_fail(err, GATE_E_MISMATCH, "T17", name,
				 "delegated role is not listed in the snapshot");
	size_t cap = cap_of(m->length, u->caps.targets_max);
	if (read_local(u, name, cap, &buf, &len) == GATE_OK &&
	    check_role(u, name, m, keys, role, buf, len, &md, NULL) == GATE_OK) {
		free(buf);
		buf = NULL;
	} else {
		free(buf);
		buf = NULL;
		if (!u->mdurl)
			return gate_fail(err, GATE_E_IO, "T17", name,
					 "no valid cached copy (offline)");
		rc = fetch_meta(u, name, u->root->consistent_snapshot ? m->version : 0, cap, &buf,
				&len, NULL, err);
		if (rc == GATE_OK)
			rc = check_role(u, name, m, keys, role, buf, len, &md, err);
		/* T21 */
		if (rc == GATE_OK)
			rc = persist(u, name, buf, len, err);
		free(buf);
		if (rc != GATE_OK) {
			gate_tuf_md_free(md);
			return rc;
		}
	}
	if ((rc = add_loaded(u, name, md, err)) != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

enum gate_err gate_tuf_refresh(struct gate_tuf_updater *u, struct gate_error *err)
{
	struct gate_tuf_md *targets = NULL;
	enum gate_err rc;
	if (u->state != REFRESH_NONE)
		return gate_fail(err, GATE_E_USAGE, NULL, NULL, "refresh runs once per updater");
	u->state = REFRESH_FAILED;
	if ((rc = update_root(u, err)) != GATE_OK || (rc = update_timestamp(u, err)) != GATE_OK ||
	    (rc = update_snapshot(u, err)) != GATE_OK ||
	    (rc = gate_tuf_load_role(u, "targets", &u->root->keys,
				     &u->root->roles[GATE_TUF_TARGETS], &targets, err)) != GATE_OK)
		return rc;
	u->state = REFRESH_OK;
	return GATE_OK;
}
