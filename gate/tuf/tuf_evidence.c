/* tuf_evidence.c - TUF repositories of the policy as evidence
 * (tuf_evidence.h): update a repository's cache, and find the artifact
 * among its targets. */
#include "tuf_evidence.h"
#include "gate_util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- updates ---- */

static enum gate_err update(const struct gate_policy_tuf *t, int64_t now,
			    const struct gate_tuf_caps *caps, bool no_wait,
			    struct gate_tuf_cache_state *st, struct gate_error *err)
{
	if (!t->cache_dir)
		return gate_fail(
			err, GATE_E_IO, NULL, t->name,
			"no cache directory (set GATE_CACHE_DIR or HOME; --cache-dir for the hook and gated)");
	struct gate_tuf_cache_opts o = {
		.dir = t->cache_dir,
		.metadata_url = t->url,
		.root = t->root,
		.root_len = t->root_len,
		.walk = true,
		.now = now,
		.caps = caps,
		.no_wait = no_wait,
	};
	return gate_tuf_cache_update(&o, st, err);
}

enum gate_err gate_tuf_update(const struct gate_policy_tuf *t, int64_t now,
			      const struct gate_tuf_caps *caps, struct gate_tuf_cache_state *st,
			      struct gate_error *err)
{
	return update(t, now, caps, false, st, err);
}

/* ---- the back-off ----
 *
 * A decision-time update that failed is not tried again for every file of
 * a run (1,000 files x 30 s): the failure is remembered process-wide per
 * repository (its cache directory) for GATE_TUF_RETRY_AFTER seconds, and
 * decisions meanwhile deny with it at once. */

struct backoff {
	char dir[512];
	int64_t until_ms;
	struct gate_error e;
};
static struct backoff backoffs[GATE_TUF_BACKOFF_SLOTS];
static pthread_mutex_t backoff_mu = PTHREAD_MUTEX_INITIALIZER;

static long retry_after(void)
{
	const char *s = getenv("GATE_TUF_RETRY_AFTER");
	char *end;
	long v = s && *s ? strtol(s, &end, 10) : -1;
	return s && *s && !*end && v >= 0 && v <= 86400 ? v : GATE_TUF_RETRY_AFTER_DEFAULT;
}

/* The remembered failure of dir's update, if it is recent: *e and true. */
static bool backoff_get(const char *dir, struct gate_error *e, long *left)
{
	bool hit = false;
	int64_t now = gate_tuf_mono_ms();
	pthread_mutex_lock(&backoff_mu);
	for (size_t i = 0; i < GATE_TUF_BACKOFF_SLOTS && !hit; i++)
		if (strcmp(backoffs[i].dir, dir) == 0 && backoffs[i].until_ms > now) {
			*e = backoffs[i].e;
			*left = (long)((backoffs[i].until_ms - now + 999) / 1000);
			hit = true;
		}
	pthread_mutex_unlock(&backoff_mu);
	return hit;
}

/* Remember (e non-NULL) or forget dir's failure; the oldest slot goes. */
static void backoff_set(const char *dir, const struct gate_error *e)
{
	size_t slot = 0;
	if (strlen(dir) >= sizeof backoffs[0].dir)
		return; /* not remembered: retried, as before */
	pthread_mutex_lock(&backoff_mu);
	for (size_t i = 0; i < GATE_TUF_BACKOFF_SLOTS; i++) {
		if (strcmp(backoffs[i].dir, dir) == 0) {
			slot = i;
			break;
		}
		if (backoffs[i].until_ms < backoffs[slot].until_ms)
			slot = i;
	}
	if (e) {
		snprintf(backoffs[slot].dir, sizeof backoffs[slot].dir, "%s", dir);
		backoffs[slot].until_ms = gate_tuf_mono_ms() + (int64_t)retry_after() * 1000;
		backoffs[slot].e = *e;
	} else if (strcmp(backoffs[slot].dir, dir) == 0) {
		memset(&backoffs[slot], 0, sizeof backoffs[slot]);
	}
	pthread_mutex_unlock(&backoff_mu);
}

/* ---- the lookup ---- */

struct lookup {
	const char *hex;
	uint64_t size;
	const char *pattern;
	char *cand[GATE_POLICY_TUF_MAX_CANDIDATES];
	size_t ncand;
	bool oom;
};

static const char *sha256_of(const struct gate_tuf_hash *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].alg, "sha256") == 0)
			return h[i].hex;
	return NULL;
}

static bool collect(void *ctx, const struct gate_tuf_file *f, const char *role)
{
	struct lookup *l = ctx;
	const char *h = sha256_of(f->hashes, f->nhashes);
	(void)role;
	if (!h || f->length < 0 || (uint64_t)f->length != l->size || strcasecmp(h, l->hex) != 0 ||
	    (l->pattern && !gate_glob_match(l->pattern, f->name)))
		return true;
	for (size_t i = 0; i < l->ncand; i++)
		if (strcmp(l->cand[i], f->name) == 0)
			return true;
	if (!(l->cand[l->ncand] = strdup(f->name))) {
		l->oom = true;
		return false;
	}
	return ++l->ncand < GATE_POLICY_TUF_MAX_CANDIDATES;
}

/* T22 decides who speaks for path: the entry found by the delegation
 * search must be the artifact (same length and SHA-256). */
static bool confirm(struct gate_tuf_updater *u, const struct lookup *l, const char *path,
		    const char **role)
{
	const struct gate_tuf_target *t = NULL;
	const char *h;
	if (gate_tuf_find_target(u, path, &t, NULL) != GATE_OK || !t)
		return false;
	h = sha256_of(t->hashes, t->nhashes);
	*role = t->role;
	return t->length == l->size && h && strcasecmp(h, l->hex) == 0;
}

static void ago(int64_t secs, char *buf, size_t cap)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, cap, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, cap, "%lldm", (long long)(secs / 60));
	else if (secs < 2 * 86400)
		snprintf(buf, cap, "%lldh", (long long)(secs / 3600));
	else
		snprintf(buf, cap, "%lldd", (long long)(secs / 86400));
}

/* Verified facts of kind tuf_target: repository, target path, role. */
static enum gate_err listed(const struct gate_policy_tuf *t, const char *hex, const char *path,
			    const char *role, struct gate_facts **out, struct gate_error *err)
{
	struct gate_facts *f = calloc(1, sizeof(*f));
	if (!f || !(f->anchor_name = strdup(t->name)) || !(f->identity = strdup(path)) ||
	    !(f->subject = strdup(role ? role : "?"))) {
		gate_facts_free(f);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	f->kind = GATE_SIGNER_TUF;
	snprintf(f->digest, sizeof f->digest, "%s", hex);
	*out = f;
	return GATE_OK;
}

/* Decision-time updates are short: a decision has a deadline. */
static void decision_caps(struct gate_tuf_caps *c)
{
	gate_tuf_caps_env(c);
	if (!getenv("GATE_TUF_CONNECT_TIMEOUT"))
		c->fetch.connect_timeout = 5;
	if (!getenv("GATE_TUF_LOW_SPEED_TIME"))
		c->fetch.low_speed_time = 10;
	if (!getenv("GATE_TUF_TIMEOUT"))
		c->fetch.total_timeout = 30;
}

/* A decision-time update: short caps; never waiting for another update
 * of the same cache (*busy: the decision reads the last good metadata
 * while that one runs); not retried within the back-off after a failure
 * (*note says so). */
static enum gate_err refresh(const struct gate_policy_tuf *t, int64_t now, bool *busy, char *note,
			     size_t cap, struct gate_error *e)
{
	struct gate_tuf_caps caps;
	struct gate_tuf_cache_state st = {0};
	long left = 0;
	enum gate_err rc;
	*busy = false;
	note[0] = '\0';
	if (backoff_get(t->cache_dir, e, &left)) {
		snprintf(note, cap, " (earlier in this run; next try in %lds)", left);
		return e->code ? e->code : GATE_E_IO;
	}
	decision_caps(&caps);
	rc = update(t, now, &caps, true, &st, e);
	if (rc != GATE_OK && st.busy) {
		*busy = true;
		memset(e, 0, sizeof *e);
		return GATE_OK;
	}
	backoff_set(t->cache_dir, rc == GATE_OK ? NULL : e);
	return rc;
}

static const char *why_of(const struct gate_error *e)
{
	return e->msg[0] ? e->msg : gate_err_str(e->code);
}

/* The file a failure is about: a URL shortens to its last component (the
 * reason has to fit one line). */
static const char *field_of(const struct gate_error *e)
{
	const char *slash = strstr(e->field, "://") ? strrchr(e->field, '/') : NULL;
	return slash && slash[1] ? slash + 1 : e->field;
}

/* Whether the cache is within max_staleness; else *why says how old. */
static bool within(const struct gate_policy_tuf *t, int64_t now, char *why, size_t cap)
{
	int64_t last = 0;
	char age[32], max[32];
	if (!gate_tuf_cache_stamp(t->cache_dir, &last)) {
		snprintf(
			why, cap, "%s",
			gate_tuf_cache_stamp_bad(t->cache_dir)
				? "last update unknown: last-update is unreadable or not a unix time"
				: "never updated");
		return false;
	}
	/* An update "in the future" means the clock went back: not fresh. */
	if (last > now + GATE_POLICY_CLOCK_SKEW) {
		snprintf(why, cap, "last update is in the future (clock changed?)");
		return false;
	}
	if (now - last <= t->max_staleness)
		return true;
	ago(now - last, age, sizeof age);
	gate_format_duration(t->max_staleness, max, sizeof max);
	snprintf(why, cap, "last updated %s ago, more than max_staleness %s", age, max);
	return false;
}

enum gate_err gate_tuf_evidence(const struct gate_policy *p, const struct gate_rule *r,
				const char *sha256_hex, uint64_t size, int64_t now,
				struct gate_facts **out, struct gate_error *err)
{
	const struct gate_policy_tuf *t = &p->tufs[r->tuf];
	struct lookup l = {.hex = sha256_hex, .size = size, .pattern = r->tuf_path};
	struct gate_tuf_cache *c = NULL;
	struct gate_tuf_walk_stats ws = {0};
	struct gate_error e = {0};
	char why[160], note[64] = "";
	bool updated = false, busy = false;
	*out = NULL;
	if (!r->has_tuf || r->tuf >= p->ntufs)
		return gate_fail(err, GATE_E_USAGE, NULL, "tuf_target",
				 "the rule names no TUF repository");
	if (!t->cache_dir)
		return gate_fail(
			err, GATE_E_IO, NULL, "tuf_target",
			"TUF repository '%s': no cache directory (set GATE_CACHE_DIR; --cache-dir for the hook and gated)",
			t->name);
	if (!within(t, now, why, sizeof why)) {
		if (!t->refresh)
			return gate_fail(err, GATE_E_EXPIRED, NULL, "tuf_target",
					 "TUF repository '%s' %s: run 'gate trust update --policy'",
					 t->name, why);
		/* Another update running: the last good metadata, which must
		 * still verify and be unexpired (T9, T15, T20). */
		if (refresh(t, now, &busy, note, sizeof note, &e) != GATE_OK)
			return gate_fail(err, e.code, e.rule, "tuf_target",
					 "TUF repository '%s' %s, and the update failed%s: "
					 "%s%s%s%s%s%s",
					 t->name, why, note, field_of(&e), e.field[0] ? ": " : "",
					 why_of(&e), e.rule[0] ? " [" : "", e.rule,
					 e.rule[0] ? "]" : "");
		updated = true;
	}
	enum gate_err rc = gate_tuf_cache_open(t->cache_dir, now, &c, &e);
	if (rc != GATE_OK && t->refresh && !updated) {
		memset(&e, 0, sizeof e);
		if ((rc = refresh(t, now, &busy, note, sizeof note, &e)) == GATE_OK && !busy)
			rc = gate_tuf_cache_open(t->cache_dir, now, &c, &e);
		else if (rc == GATE_OK)
			rc = gate_fail(&e, GATE_E_IO, NULL, NULL,
				       "no usable cached metadata, and another update is running");
	}
	if (rc != GATE_OK)
		return gate_fail(err, rc, e.rule, "tuf_target",
				 "TUF repository '%s'%s: %s%s%s%s%s%s", t->name, note, field_of(&e),
				 e.field[0] ? ": " : "", why_of(&e), e.rule[0] ? " [" : "", e.rule,
				 e.rule[0] ? "]" : "");
	rc = gate_tuf_walk_targets(gate_tuf_cache_updater(c), GATE_TUF_WALK_MAX_ROLES, collect, &l,
				   &ws, &e);
	const char *role = NULL;
	size_t found = l.ncand;
	for (size_t i = 0; rc == GATE_OK && i < l.ncand && found == l.ncand; i++)
		if (confirm(gate_tuf_cache_updater(c), &l, l.cand[i], &role))
			found = i;
	if (rc != GATE_OK || l.oom)
		rc = gate_fail(err, l.oom ? GATE_E_NOMEM : rc, e.rule, "tuf_target",
			       "TUF repository '%s': %s", t->name,
			       l.oom ? "out of memory" : why_of(&e));
	else if (found < l.ncand)
		rc = listed(t, sha256_hex, l.cand[found], role, out, err);
	else
		rc = gate_fail(err, GATE_E_DENIED, NULL, "tuf_target",
			       "not a target of TUF repository '%s'%s%.60s%s%s%s", t->name,
			       r->tuf_path ? " under '" : "", r->tuf_path ? r->tuf_path : "",
			       r->tuf_path ? "'" : "", ws.skipped ? "; unavailable role: " : "",
			       ws.skipped ? why_of(&ws.first_skip) : "");
	for (size_t i = 0; i < l.ncand; i++)
		free(l.cand[i]);
	gate_tuf_cache_close(c);
	return rc;
}
