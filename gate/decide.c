/* decide.c - one decision: identify, select, gather evidence, verify,
 * evaluate, answer (DESIGN "Data flow of one decision"). */
#include "gate_int.h"
#include "tuf.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *gate_verdict_name(enum gate_verdict_kind k)
{
	return k == GATE_VERDICT_ALLOW ? "allow" : k == GATE_VERDICT_DENY ? "deny" : "error";
}

const struct gate_policy *gate_ctx_policy(const struct gate_ctx *ctx)
{
	return ctx->policy;
}

void gate_ctx_free(struct gate_ctx *ctx)
{
	if (!ctx)
		return;
	gate_policy_free(ctx->policy);
	gate_audit_close(ctx->audit);
	for (size_t i = 0; i < ctx->ndirs; i++)
		free(ctx->dirs[i]);
	free(ctx->dirs);
	free(ctx->cwd);
	free(ctx);
}

enum gate_err gate_ctx_new(struct gate_policy *policy, const struct gate_ctx_opts *opts,
			   struct gate_ctx **out, struct gate_error *err)
{
	struct gate_ctx *c = calloc(1, sizeof(*c));
	size_t extra = 0;
	enum gate_err rc = GATE_OK;
	if (!c)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	while (opts && opts->evidence_dirs && opts->evidence_dirs[extra])
		extra++;
	c->dirs = calloc(policy->nevidence_dirs + extra + 1, sizeof(char *));
	if (!c->dirs) {
		free(c);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	for (size_t i = 0; i < policy->nevidence_dirs + extra; i++) {
		const char *d = i < policy->nevidence_dirs
					? policy->evidence_dirs[i]
					: opts->evidence_dirs[i - policy->nevidence_dirs];
		if (!(c->dirs[c->ndirs++] = strdup(d)))
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	c->now = opts ? opts->now : 0;
	if (opts && opts->fetch_budget_s > 0) {
		c->fetch_budget_s = opts->fetch_budget_s;
		c->fetch_deadline_ms = gate_tuf_mono_ms() + (int64_t)opts->fetch_budget_s * 1000;
	}
	c->cwd = getcwd(NULL, 0); /* NULL: relative paths are errors */
	if (rc == GATE_OK && policy->audit_log && !(opts && opts->no_audit))
		rc = gate_audit_open(policy->audit_log, &c->audit, err);
	if (rc != GATE_OK) {
		gate_ctx_free(c);
		return rc;
	}
	c->policy = policy;
	*out = c;
	return GATE_OK;
}

static void say(struct gate_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct gate_verdict *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof v->reason, fmt, ap);
	va_end(ap);
}

struct gate_verdict *gate_verdict_new(void)
{
	return calloc(1, sizeof(struct gate_verdict));
}

void gate_verdict_free(struct gate_verdict *v)
{
	if (!v)
		return;
	gate_verdict_clear(v);
	free(v);
}

enum gate_verdict_kind gate_verdict_kind(const struct gate_verdict *v)
{
	return v->kind;
}

bool gate_verdict_allowed(const struct gate_verdict *v)
{
	return v->allowed;
}

const char *gate_verdict_reason(const struct gate_verdict *v)
{
	return v->reason;
}

const char *gate_verdict_rule(const struct gate_verdict *v)
{
	return v->rule;
}

const char *gate_verdict_digest(const struct gate_verdict *v)
{
	return v->digest;
}

void gate_verdict_clear(struct gate_verdict *v)
{
	free(v->rule);
	free(v->path);
	free(v->fullpath);
	free(v->mime);
	for (size_t i = 0; i < v->nevidence; i++) {
		free(v->evidence[i].source);
		gate_facts_free(v->evidence[i].facts);
	}
	free(v->evidence);
	memset(v, 0, sizeof(*v));
}

/* ---- the decision ---- */

/* The failed requirement that explains most: a per-signature requirement
 * (tlog, timestamp, age, window) says why signers did not count, so it
 * comes before the bare threshold line. */
static const struct gate_req_result *first_failed(const struct gate_eval *ev)
{
	const struct gate_req_result *threshold = NULL;
	for (size_t i = 0; i < ev->nreqs; i++) {
		if (ev->reqs[i].held)
			continue;
		if (strcmp(ev->reqs[i].what, "signers") != 0)
			return &ev->reqs[i];
		threshold = &ev->reqs[i];
	}
	return threshold;
}

/* A tuf_target line that did not hold says why the lookup found nothing:
 * the TUF evidence result's message. */
static void explain_tuf(struct gate_verdict *v)
{
	for (size_t i = 0; i < v->eval.nreqs; i++) {
		struct gate_req_result *q = &v->eval.reqs[i];
		if (q->held || strcmp(q->what, "tuf_target") != 0)
			continue;
		for (size_t k = 0; k < v->nevidence; k++)
			if (!v->evidence[k].verified && v->evidence[k].from == GATE_SOURCE_TUF)
				snprintf(q->detail, sizeof q->detail, "%.250s",
					 v->evidence[k].error.msg);
	}
}

/* Steps 4 and 5: gather, then evaluate what was gathered. */
static void evaluate(struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		     const struct gate_artifact *a)
{
	struct gate_gathered g;
	gate_gather(c, r, v, a, &g);
	gate_policy_evaluate(c->policy, r, g.ok, g.nok, v->time, &v->eval);
	explain_tuf(v);
	/* Signatures, not listings, explain a signer requirement. */
	const struct gate_evidence_result *first = NULL;
	size_t nsig = 0, nok = 0;
	for (size_t k = 0; k < v->nevidence; k++) {
		if (v->evidence[k].from == GATE_SOURCE_TUF)
			continue;
		first = first ? first : &v->evidence[k];
		nsig++;
		nok += v->evidence[k].verified;
	}
	v->kind = v->eval.decision == GATE_DECISION_ALLOW ? GATE_VERDICT_ALLOW : GATE_VERDICT_DENY;
	const struct gate_req_result *f = first_failed(&v->eval);
	if (!f || strcmp(f->what, "tuf_target") == 0) {
		say(v, "rule '%s': %s", r->name, f ? f->detail : v->eval.reqs[0].detail);
		return;
	}
	if (nsig == 0) {
		say(v,
		    "rule '%s': no signature found (no sidecar bundle or .sig, nothing in the "
		    "evidence stores)",
		    r->name);
		return;
	}
	/* Say why evidence did not count when none of it verified. */
	if (nok == 0) {
		const struct gate_evidence_result *e = first;
		say(v, "rule '%s': %s; %s: %s%s%s", r->name, f->detail, e->source, e->error.rule,
		    e->error.rule[0] ? " " : "", e->error.msg);
		return;
	}
	say(v, "rule '%s': %s", r->name, f->detail);
}

static void fail_error(struct gate_verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_error(struct gate_verdict *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof v->reason, fmt, ap);
	va_end(ap);
	v->kind = GATE_VERDICT_ERROR;
}

/* A folder reaches a decision when it could not be walked: say why (the
 * walker's opendir error), not "not a regular file". */
static void fail_folder(const char *path, struct gate_verdict *v)
{
	DIR *d = opendir(path);
	if (!d) {
		fail_error(v, "cannot read folder %s: %s", path, strerror(errno));
		return;
	}
	closedir(d);
	fail_error(v, "%s is a folder, not a regular file", path);
}

/* Regular files only: a link could change under us and a FIFO or device is
 * not an artifact. */
static bool check_file_type(const char *path, struct gate_verdict *v)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		fail_error(v, "cannot read %s: %s", path, strerror(errno));
		return false;
	}
	if (S_ISLNK(st.st_mode)) {
		fail_error(v, "%s is a symbolic link: decide its target instead", path);
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		fail_folder(path, v);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		fail_error(v, "%s is not a regular file", path);
		return false;
	}
	return true;
}

/* Path globs cover GATE_GLOB_MAX_SEGS components; a deeper path could slip
 * past a rule that denies by path, so it is an error, not a non-match. */
static bool check_depth(const char *path, struct gate_verdict *v)
{
	size_t segs = 1;
	for (const char *p = path; *p; p++)
		segs += *p == '/';
	if (segs <= GATE_GLOB_MAX_SEGS)
		return true;
	fail_error(v, "%s has %zu path components, more than the %d that path rules can match",
		   path, segs, GATE_GLOB_MAX_SEGS);
	return false;
}

/* The policy's digest lists come before every rule: a denied digest is
 * denied whatever signs it (and wins over the allow list). */
static bool decide_by_digest(struct gate_ctx *c, struct gate_verdict *v, const uint8_t *sha256)
{
	const struct gate_policy *p = c->policy;
	bool deny = gate_digest_listed(&p->deny_digests, sha256);
	if (!deny && !gate_digest_listed(&p->allow_digests, sha256))
		return false;
	v->kind = deny ? GATE_VERDICT_DENY : GATE_VERDICT_ALLOW;
	v->rule = strdup(deny ? "digests.deny" : "digests.allow");
	say(v, "sha256:%s is on the policy's %s list (%s)", v->digest, deny ? "deny" : "allow",
	    deny ? "digests.deny" : "digests.allow");
	return true;
}

static void decide_read(struct gate_ctx *c, struct gate_verdict *v, const struct gate_artifact *a);

/* Steps 2-6 over an identified artifact (a is borrowed). Every reader of
 * the file (hash, signatures, libmagic, the X.509 formats) is done when the
 * answer is known: a file that changed meanwhile is not answered for. */
static void decide_artifact(struct gate_ctx *c, struct gate_verdict *v,
			    const struct gate_artifact *a)
{
	decide_read(c, v, a);
	if (v->kind != GATE_VERDICT_ERROR && !gate_artifact_unchanged(a))
		fail_error(v,
			   "%s changed while it was being decided (its size, mtime or ctime "
			   "moved): decide it again",
			   v->path);
}

static void decide_read(struct gate_ctx *c, struct gate_verdict *v, const struct gate_artifact *a)
{
	gate_artifact_sha256_hex(a, v->digest);
	v->size = gate_artifact_size(a);
	if (decide_by_digest(c, v, gate_artifact_sha256(a)))
		return;
	/* libmagic is most of the cost of deciding a small file: ask it only
	 * when some rule matches on the type. */
	if (c->policy->uses_types) {
		/* Fail closed: without libmagic a rule on type could not match
		 * what it names. */
		const char *why = gate_mime_unavailable();
		if (why) {
			fail_error(v, "cannot tell the file type of %s: %s", v->path, why);
			return;
		}
		v->mime = gate_mime_of_fd(a->fd);
		if (!v->mime) {
			fail_error(v,
				   "cannot tell the file type of %s: libmagic failed (its "
				   "database is missing or the file cannot be read)",
				   v->path);
			return;
		}
	}
	struct gate_subject s = {.path = v->fullpath,
				 .mime = v->mime ? v->mime : "application/octet-stream",
				 .size = v->size,
				 .caller = v->caller};
	const struct gate_rule *r = gate_policy_select(c->policy, &s);
	if (!r) {
		v->kind = GATE_VERDICT_DENY;
		say(v, "no rule matches (%s%s%llu bytes): denied by default",
		    v->mime ? v->mime : "", v->mime ? ", " : "", (unsigned long long)v->size);
	} else {
		v->rule = strdup(r->name);
		if (r->has_signers || r->has_tuf) {
			evaluate(c, r, v, a);
		} else {
			v->kind = r->decision == GATE_DECISION_ALLOW ? GATE_VERDICT_ALLOW
								     : GATE_VERDICT_DENY;
			say(v, "rule '%s' decides %s", r->name,
			    r->decision == GATE_DECISION_ALLOW ? "allow" : "deny");
		}
	}
}

static void decide(struct gate_ctx *c, struct gate_verdict *v)
{
	struct gate_artifact *a = NULL;
	struct gate_error e = {0};
	if (!v->fullpath) {
		fail_error(v, "cannot read %s: a relative path, and the current folder is unknown",
			   v->path);
		return;
	}
	if (!check_depth(v->fullpath, v) || !check_file_type(v->fullpath, v))
		return;
	if (gate_artifact_open(v->fullpath, &a, &e) != GATE_OK) {
		fail_error(v, "cannot read %s: %s", v->path, e.msg);
		return;
	}
	decide_artifact(c, v, a);
	gate_artifact_free(a);
}

/* The shared frame of every entry point: the verdict's fixed fields
 * first, the mode's answer and the audit event last. */
static enum gate_err begin(struct gate_ctx *c, const char *path, enum gate_caller caller,
			   struct gate_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->caller = caller;
	v->mode = gate_policy_mode(c->policy, caller);
	v->time = c->now ? c->now : (int64_t)time(NULL);
	/* One spelling per file before any rule sees it: "./a", "a//b",
	 * "x/../a" and the absolute path are the same path. */
	if (!(v->path = gate_path_normalize(path, NULL)))
		return GATE_E_NOMEM;
	if ((path[0] == '/' || c->cwd) && !(v->fullpath = gate_path_normalize(path, c->cwd)))
		return GATE_E_NOMEM;
	return GATE_OK;
}

static void finish(struct gate_ctx *c, struct gate_verdict *v)
{
	/* Errors deny in enforce mode (fail closed); audit mode logs and
	 * allows; off allows. */
	v->allowed = v->kind == GATE_VERDICT_ALLOW || v->mode != GATE_MODE_ENFORCE;
	if (c->audit && v->mode != GATE_MODE_OFF)
		gate_audit_decision(c->audit, v);
}

enum gate_err gate_decide(struct gate_ctx *c, const char *path, enum gate_caller caller,
			  struct gate_verdict *v)
{
	if (begin(c, path, caller, v) != GATE_OK)
		return GATE_E_NOMEM;
	decide(c, v);
	finish(c, v);
	return GATE_OK;
}

enum gate_err gate_decide_artifact(struct gate_ctx *c, const struct gate_artifact *a,
				   const char *path, enum gate_caller caller,
				   struct gate_verdict *v)
{
	if (begin(c, path ? path : "(descriptor)", caller, v) != GATE_OK)
		return GATE_E_NOMEM;
	if (!path) { /* no name: no path rule can match it */
		free(v->fullpath);
		v->fullpath = NULL;
	}
	if (!v->fullpath || check_depth(v->fullpath, v))
		decide_artifact(c, v, a);
	finish(c, v);
	return GATE_OK;
}

/* No lstat and no open by path: the descriptor is what gets hashed and
 * typed, so a file swapped under the path after the caller opened it
 * cannot be decided in its place (the exec daemon's TOCTOU). */
enum gate_err gate_decide_fd(struct gate_ctx *c, int fd, const char *path, enum gate_caller caller,
			     struct gate_verdict *v)
{
	struct gate_artifact *a = NULL;
	struct gate_error e = {0};
	if (gate_artifact_from_fd(fd, path, &a, &e) == GATE_OK) {
		enum gate_err rc = gate_decide_artifact(c, a, path, caller, v);
		gate_artifact_free(a);
		return rc;
	}
	if (begin(c, path ? path : "(descriptor)", caller, v) != GATE_OK)
		return GATE_E_NOMEM;
	fail_error(v, "cannot read %s: %s", v->path, e.msg);
	finish(c, v);
	return GATE_OK;
}
