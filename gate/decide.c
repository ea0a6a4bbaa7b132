/* decide.c - one decision: identify, select, gather evidence, verify,
 * evaluate, answer (DESIGN "Data flow of one decision"). */
#include "gate_int.h"
#include "apt_origin.h"
#include "gate_keys.h"
#include "policy_tuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct gate_ctx {
	struct gate_policy *policy;
	struct gate_audit *audit;
	char **dirs; /* policy evidence dirs + extra ones */
	size_t ndirs;
	int64_t now;
};

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

void gate_verdict_clear(struct gate_verdict *v)
{
	free(v->rule);
	free(v->path);
	free(v->mime);
	for (size_t i = 0; i < v->nevidence; i++) {
		free(v->evidence[i].source);
		gate_facts_free(v->evidence[i].facts);
	}
	free(v->evidence);
	memset(v, 0, sizeof(*v));
}

/* ---- verification of one evidence item ---- */

static bool in_any_set(const struct gate_policy *p, const struct gate_facts *f)
{
	for (size_t s = 0; s < p->nsets; s++)
		for (size_t i = 0; i < p->sets[s].n; i++)
			if (gate_signer_entry_matches(p, &p->sets[s].entries[i], f))
				return true;
	return false;
}

/* A managed-key signature names no key we can trust, so it is tried against
 * every pinned key of the policy; the first that verifies is the signer. */
static enum gate_err verify_item(struct gate_ctx *c, const struct gate_bundle *b,
				 const struct gate_artifact *a, struct gate_facts **facts,
				 struct gate_error *err)
{
	const struct gate_policy *p = c->policy;
	struct gate_verify_opts o = {.root = p->root, .now = c->now};
	if (!gate_bundle_has_pubkey_material(b))
		return gate_verify_bundle(b, a, &o, facts, err);
	if (p->nkeys == 0)
		return gate_fail(err, GATE_E_KEY, "S19", "key",
				 "signed with a managed key, and the policy pins no keys");
	enum gate_err rc = GATE_E_KEY;
	for (size_t i = 0; i < p->nkeys; i++) {
		o.key = p->keys[i].key;
		rc = gate_verify_bundle(b, a, &o, facts, err);
		if (rc == GATE_OK || gate_err_is_input(rc))
			return rc;
	}
	return gate_fail(err, rc, "S19", err ? err->field : "key",
			 "no pinned key of the policy verifies it (last: %s)",
			 err ? err->msg : "rejected");
}

/* X.509 evidence: a detached .p7s over the artifact, or a signature
 * embedded in it, read through the artifact's descriptor (never by
 * re-opening the path). Unsigned JAR entries become a fact the rule's
 * coverage requirement judges. */
static enum gate_err verify_x509_item(struct gate_ctx *c, const struct gate_evidence_item *it,
				      const struct gate_artifact *a, struct gate_facts **facts,
				      struct gate_error *err)
{
	const struct gate_policy *p = c->policy;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	enum gate_err rc;
	if (!p->x509)
		return gate_fail(err, GATE_E_CERT, NULL, "trust.x509_roots",
				 "an X.509 signature, and the policy names no X.509 roots");
	if (a->fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, "artifact", "known only by its digest");
	if (it->kind == GATE_EV_P7S &&
	    (rc = gate_read_file(it->file, 1024 * 1024, &sig, &siglen, err)) != GATE_OK)
		return rc;
	struct gate_cs_input in = {
		.format = it->kind == GATE_EV_P7S  ? GATE_CS_CMS
			  : it->kind == GATE_EV_PE ? GATE_CS_PE
						   : GATE_CS_JAR,
		.fd = a->fd,
		.name = a->path,
		.sig = sig,
		.siglen = siglen,
		.index = it->index,
		.sha256 = a->sha256,
	};
	struct gate_cs_opts o = {.trust = p->x509, .now = c->now, .allow_unsigned_entries = true};
	rc = gate_verify_codesign(&in, &o, facts, err);
	free(sig);
	return rc;
}

/* apt-origin evidence (apt_origin.h): one item per archive of the policy,
 * when the rule's signer set names an apt_archive. */
static bool rule_wants_apt(const struct gate_policy *p, const struct gate_rule *r)
{
	if (!p->napts || r->signers >= p->nsets)
		return false;
	for (size_t i = 0; i < p->sets[r->signers].n; i++)
		if (p->sets[r->signers].entries[i].kind == GATE_SIGNER_APT)
			return true;
	return false;
}

static void gather_apt(struct gate_ctx *c, struct gate_verdict *v, const struct gate_artifact *a,
		       struct gate_facts **ok, size_t *nok)
{
	for (size_t i = 0; i < c->policy->napts && *nok < GATE_MAX_EVIDENCE; i++) {
		struct gate_evidence_result *r = &v->evidence[v->nevidence++];
		if (asprintf(&r->source, "apt:%s", c->policy->apts[i].name) < 0)
			r->source = NULL;
		if (gate_apt_origin_verify(c->policy, i, a->sha256, v->size, v->time, &r->facts,
					   &r->error) == GATE_OK) {
			r->verified = true;
			r->in_policy = in_any_set(c->policy, r->facts);
			ok[(*nok)++] = r->facts;
		}
	}
}

static void gather(struct gate_ctx *c, struct gate_verdict *v, const struct gate_artifact *a,
		   struct gate_facts **ok, size_t *nok, bool apt)
{
	struct gate_evidence_list l;
	size_t napt = apt ? c->policy->napts : 0;
	*nok = 0;
	if (gate_evidence_find(v->path, v->digest, (const char *const *)c->dirs, c->ndirs, &l) !=
		    GATE_OK ||
	    gate_evidence_add_embedded(&l, a->fd, v->path) != GATE_OK) {
		gate_evidence_list_clear(&l);
		return;
	}
	if ((l.n || napt) && !(v->evidence = calloc(l.n + napt, sizeof(*v->evidence)))) {
		gate_evidence_list_clear(&l);
		return;
	}
	/* for the apt hook, the archives' verdict explains most */
	if (napt && v->caller == GATE_CALLER_APT)
		gather_apt(c, v, a, ok, nok);
	for (size_t i = 0; i < l.n && *nok < GATE_MAX_EVIDENCE; i++) {
		struct gate_evidence_result *r = &v->evidence[v->nevidence++];
		struct gate_bundle *b = NULL;
		r->source = strdup(l.items[i].file);
		if (gate_evidence_is_x509(&l.items[i])
			    ? verify_x509_item(c, &l.items[i], a, &r->facts, &r->error) == GATE_OK
			    : gate_evidence_load(&l.items[i], &b, &r->error) == GATE_OK &&
				      verify_item(c, b, a, &r->facts, &r->error) == GATE_OK) {
			r->verified = true;
			r->in_policy = in_any_set(c->policy, r->facts);
			ok[(*nok)++] = r->facts;
		}
		gate_bundle_free(b);
	}
	if (napt && v->caller != GATE_CALLER_APT)
		gather_apt(c, v, a, ok, nok);
	gate_evidence_list_clear(&l);
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

static void evaluate(struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		     const struct gate_artifact *a)
{
	struct gate_facts *ok[GATE_MAX_EVIDENCE];
	size_t nok = 0;
	if (r->has_signers)
		gather(c, v, a, ok, &nok, rule_wants_apt(c->policy, r));
	gate_policy_evaluate(c->policy, r, ok, nok, v->time, &v->eval);
	/* tuf_target is looked up here, where digest and size are known
	 * (policy/policy_tuf.h). */
	if (r->has_tuf)
		gate_policy_evaluate_tuf(c->policy, r, v->digest, v->size, v->time, &v->eval);
	v->kind = v->eval.decision == GATE_DECISION_ALLOW ? GATE_VERDICT_ALLOW : GATE_VERDICT_DENY;
	const struct gate_req_result *f = first_failed(&v->eval);
	if (!f || strcmp(f->what, "tuf_target") == 0) {
		say(v, "rule '%s': %s", r->name, f ? f->detail : v->eval.reqs[0].detail);
		return;
	}
	if (v->nevidence == 0) {
		say(v,
		    "rule '%s': no signature found (no sidecar bundle or .sig, nothing in the "
		    "evidence stores)",
		    r->name);
		return;
	}
	/* Say why evidence did not count when none of it verified. */
	if (nok == 0) {
		const struct gate_evidence_result *e = &v->evidence[0];
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

static bool policy_uses_types(const struct gate_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].ntypes)
			return true;
	return false;
}

/* Steps 2-6 over an identified artifact (a is borrowed). */
static void decide_artifact(struct gate_ctx *c, struct gate_verdict *v,
			    const struct gate_artifact *a)
{
	gate_artifact_sha256_hex(a, v->digest);
	v->size = gate_artifact_size(a);
	/* libmagic is most of the cost of deciding a small file: ask it only
	 * when some rule matches on the type. */
	if (policy_uses_types(c->policy)) {
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
	struct gate_subject s = {.path = v->path,
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
	if (!check_depth(v->path, v) || !check_file_type(v->path, v))
		return;
	if (gate_artifact_open(v->path, &a, &e) != GATE_OK) {
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
	v->mode = c->policy->mode;
	v->time = c->now ? c->now : (int64_t)time(NULL);
	if (!(v->path = strdup(path)))
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
	if (check_depth(v->path, v))
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
