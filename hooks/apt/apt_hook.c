/* apt_hook.c - `gate hook apt`: APT's DPkg::Pre-Install-Pkgs hook. apt
 * writes the transaction on our stdin (apt_proto.h) before dpkg runs; every
 * .deb about to be unpacked is decided with caller apt, in parallel. Any
 * deny or error in enforce mode refuses the whole transaction (exit
 * non-zero: apt stops before dpkg unpacks anything); audit mode allows and
 * logs. When everything is allowed, the packages the policy allowed are
 * kept in the install ledger as pending, in one transaction (a failure in
 * enforce mode refuses too); `--post-invoke`, run by apt after dpkg,
 * records those dpkg installed (apt_ledger.h).
 *
 * `gate hook apt --install|--uninstall` writes or removes the apt.conf
 * snippet (50gate) that makes apt call us. */
#include "apt_hook.h"
#include "apt_ledger.h"
#include "apt_proto.h"
#include "cli.h"
#include "verdict.h"
#include "gate_util.h"
#include "ledger.h"
#include "policy_model.h"
#include "pool.h"
#include "signer.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOOK_MIN_JOBS 8	       /* default parallel decisions, whatever the CPUs */
#define HOOK_FETCH_TIMEOUT 30L /* seconds for all evidence fetches together */

static const char hook_usage[] =
	"usage: gate hook apt [options]           (run by apt, reads stdin)\n"
	"       gate hook apt --install [--apt-conf-dir DIR] [options]\n"
	"       gate hook apt --uninstall [--apt-conf-dir DIR]\n"
	"       gate hook apt --post-invoke [--ledger DB] [--root DIR]  (run by apt after dpkg)\n"
	"\n"
	"APT's DPkg::Pre-Install-Pkgs hook. apt writes the packages of a\n"
	"transaction on stdin (protocol version 1, 2 or 3) before dpkg runs; every\n"
	".deb to be unpacked is decided against the policy with caller apt.\n"
	"Evidence for a .deb: sidecars (X.deb.sigstore.json, X.deb.sig, ...) and\n"
	"evidence stores by digest (DIR/sha256/HEX/, or URL/sha256/HEX.sigstore.json\n"
	"for https:// and file:// stores).\n"
	"\n"
	"  --policy FILE        policy (default " GATE_POLICY_DEFAULT "; while no\n"
	"                       policy file exists the hook checks nothing, warns\n"
	"                       and lets apt proceed)\n"
	"  --evidence DIR       an extra evidence store (repeatable)\n"
	"  --ledger DB          install ledger (default " GATE_LEDGER_DEFAULT ")\n"
	"  --no-ledger          do not record allowed packages\n"
	"  --root DIR           the system dpkg installs into (default: from apt's\n"
	"                       Dir::State::status, else the ledger's, else /)\n"
	"  --no-background      never decode a .deb's data.tar while dpkg runs (by\n"
	"                       default, those that compress little are): the step\n"
	"                       after dpkg hashes all installed files instead\n"
	"  --post-invoke        after dpkg: record the allowed packages dpkg\n"
	"                       installed, drop the others, forget removed ones\n"
	"  --jobs N             parallel decisions (default: the number of CPUs, at\n"
	"                       least 8: a decision mostly waits on evidence fetches)\n"
	"  --fetch-timeout S    one deadline, in seconds, for every evidence fetch of\n"
	"                       the transaction together (default 30); a fetch still\n"
	"                       running then fails, and its package is denied\n"
	"  --current-time T     decide as of RFC 3339 time T\n"
	"  --cache-dir DIR      fetched evidence and TUF metadata (absolute; default\n"
	"                       /var/cache/gate and /var/lib/gate/tuf)\n"
	"  --install            write DIR/" HOOK_CONF_NAME " so that apt runs this binary\n"
	"                       with the options given here (absolute paths)\n"
	"  --uninstall          remove DIR/" HOOK_CONF_NAME " if gate wrote it\n"
	"  --apt-conf-dir DIR   default " HOOK_CONF_DIR "\n"
	"\n"
	"The hook never reads its environment (apt passes on its caller's): what it\n"
	"decides with comes from these options and the files they name.\n"
	"\n"
	"Exit: 0 the transaction may proceed; 1 a package denied, 2 an error (bad\n"
	"input, broken policy, unreadable .deb, ledger failure) in enforce mode:\n"
	"apt then stops before dpkg runs and nothing is installed. In audit mode\n"
	"denials and errors are reported and logged, and apt proceeds.\n";

static int hook_usage_error(const char *msg)
{
	fprintf(stderr, "gate hook apt: %s\n(see 'gate hook apt --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static int parse_hook_args(int argc, char **argv, struct hook_args *a)
{
	enum {
		O_LEDGER = 256,
		O_NO_LEDGER,
		O_INSTALL,
		O_UNINSTALL,
		O_CONF_DIR,
		O_TIME,
		O_CACHE,
		O_FETCH,
		O_ROOT,
		O_POST,
		O_DIGEST,
		O_BG
	};
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"evidence", required_argument, NULL, 'e'},
		{"jobs", required_argument, NULL, 'j'},
		{"ledger", required_argument, NULL, O_LEDGER},
		{"no-ledger", no_argument, NULL, O_NO_LEDGER},
		{"current-time", required_argument, NULL, O_TIME},
		{"cache-dir", required_argument, NULL, O_CACHE},
		{"fetch-timeout", required_argument, NULL, O_FETCH},
		{"install", no_argument, NULL, O_INSTALL},
		{"uninstall", no_argument, NULL, O_UNINSTALL},
		{"apt-conf-dir", required_argument, NULL, O_CONF_DIR},
		{"root", required_argument, NULL, O_ROOT},
		{"post-invoke", no_argument, NULL, O_POST},
		/* the background step the hook starts itself (apt_ledger.h) */
		{"digest-pending", no_argument, NULL, O_DIGEST},
		{"no-background", no_argument, NULL, O_BG},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	a->jobs = gate_cli_ncpus() > HOOK_MIN_JOBS ? gate_cli_ncpus() : HOOK_MIN_JOBS;
	a->fetch_s = HOOK_FETCH_TIMEOUT;
	a->conf_dir = HOOK_CONF_DIR;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
		char *end;
		long n;
		switch (c) {
		case 'h':
			fputs(hook_usage, stdout);
			return GATE_EXIT_OK;
		case 'p':
			a->policy = optarg;
			break;
		case O_LEDGER:
			a->ledger = optarg;
			break;
		case O_NO_LEDGER:
			a->no_ledger = true;
			break;
		case O_TIME:
			a->now = optarg;
			break;
		case O_FETCH:
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > 3600)
				return hook_usage_error(
					"--fetch-timeout must be 1 to 3600 seconds");
			a->fetch_s = n;
			break;
		case O_CACHE:
			if (optarg[0] != '/')
				return hook_usage_error("--cache-dir must be an absolute path");
			a->cache_dir = optarg;
			break;
		case O_INSTALL:
			a->install = true;
			break;
		case O_UNINSTALL:
			a->uninstall = true;
			break;
		case O_CONF_DIR:
			a->conf_dir = optarg;
			break;
		case O_ROOT:
			a->root = optarg;
			break;
		case O_POST:
			a->post = true;
			break;
		case O_DIGEST:
			a->digest = true;
			break;
		case O_BG:
			a->no_background = true;
			break;
		case 'e':
			if (a->ndirs == HOOK_MAX_EVIDENCE)
				return hook_usage_error("at most 16 --evidence stores");
			a->dirs[a->ndirs++] = optarg;
			break;
		case 'j':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > GATE_POOL_MAX_JOBS)
				return hook_usage_error("--jobs must be a number from 1 to 256");
			a->jobs = (unsigned)n;
			break;
		default:
			return hook_usage_error(optopt ? "option needs a value" : "unknown option");
		}
	}
	if (optind < argc)
		return hook_usage_error(
			"no arguments are taken (apt writes the packages on stdin)");
	if (a->install + a->uninstall + a->post > 1)
		return hook_usage_error(
			"--install, --uninstall and --post-invoke exclude each other");
	if (a->post && a->no_ledger)
		return hook_usage_error("--post-invoke needs the ledger (not --no-ledger)");
	if (a->no_ledger && a->ledger)
		return hook_usage_error("--ledger and --no-ledger exclude each other");
	if (!a->ledger)
		a->ledger = GATE_LEDGER_DEFAULT;
	/* The environment is empty here (main.c): the flag is its one way in. */
	if (a->cache_dir && setenv("GATE_CACHE_DIR", a->cache_dir, 1) != 0)
		return hook_usage_error("out of memory");
	return -1;
}

/* ---- deciding ---- */

struct item {
	const struct gate_apt_action *act;
	struct gate_verdict v;
	struct gate_ledger_pkg pkg; /* filled when have_pkg */
	bool have_pkg;
	bool oom;
	char deb_err[GATE_ERR_MSG_MAX + 96]; /* the .deb could not be read for the ledger */
};

struct run {
	struct gate_ctx *ctx;
	enum gate_mode mode;
	struct item *items;
	size_t n;
	bool read_debs;
};

/* JSON array of the distinct verified signers, for the ledger (a bundle
 * and a .sig by the same key are one signer). */
static char *signers_json(const struct gate_verdict *v)
{
	const struct gate_facts *f[GATE_MAX_EVIDENCE];
	size_t n = 0;
	for (size_t i = 0; i < v->nevidence && n < GATE_MAX_EVIDENCE; i++)
		if (v->evidence[i].verified && v->evidence[i].facts)
			f[n++] = v->evidence[i].facts;
	json_t *a = gate_facts_signers_json(f, n);
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static const char *first_verified_source(const struct gate_verdict *v)
{
	for (size_t i = 0; i < v->nevidence; i++)
		if (v->evidence[i].verified && v->evidence[i].source)
			return v->evidence[i].source;
	return NULL;
}

/* What the ledger keeps of an allowed .deb until dpkg installed it: its
 * control fields and the digest it ships for every file. The bytes read
 * must be the bytes decided. */
static void read_deb(struct item *it)
{
	struct gate_error e = {0};
	const char *origin = first_verified_source(&it->v);
	memset(&it->pkg, 0, sizeof it->pkg);
	if (gate_apt_read_pending(it->act->deb, &it->pkg, &e) != GATE_OK) {
		snprintf(it->deb_err, sizeof it->deb_err, "not a readable .deb: %s",
			 e.msg[0] ? e.msg : gate_err_str(e.code));
		gate_ledger_pkg_clear(&it->pkg);
		return;
	}
	/* With md5sums only the control.tar was read (gate_deb_read_sums):
	 * the package is the .deb of the decided digest, which the step after
	 * dpkg checks again before it takes file digests from it. */
	if (!it->pkg.deb_sha256[0])
		snprintf(it->pkg.deb_sha256, sizeof it->pkg.deb_sha256, "%s", it->v.digest);
	if (strcmp(it->pkg.deb_sha256, it->v.digest) != 0) {
		snprintf(it->deb_err, sizeof it->deb_err,
			 "the .deb changed while it was checked (sha256 %.16s... decided, %.16s... "
			 "read)",
			 it->v.digest, it->pkg.deb_sha256);
		gate_ledger_pkg_clear(&it->pkg);
		return;
	}
	it->pkg.rule = it->v.rule ? strdup(it->v.rule) : NULL;
	it->pkg.signers = signers_json(&it->v);
	it->pkg.origin = origin ? strdup(origin) : NULL;
	it->pkg.deb = strdup(it->act->deb);
	it->pkg.time = it->v.time;
	if ((it->v.rule && !it->pkg.rule) || !it->pkg.signers || (origin && !it->pkg.origin) ||
	    !it->pkg.deb) {
		it->oom = true;
		gate_ledger_pkg_clear(&it->pkg);
		return;
	}
	it->have_pkg = true;
}

static void decide_one(void *arg, size_t i)
{
	struct run *r = arg;
	struct item *it = &r->items[i];
	if (it->act->op == GATE_APT_OP_ERROR) {
		/* apt names no archive: nothing can be checked. */
		it->v.kind = GATE_VERDICT_ERROR;
		it->v.mode = r->mode;
		it->v.caller = GATE_CALLER_APT;
		it->v.allowed = r->mode != GATE_MODE_ENFORCE;
		snprintf(it->v.reason, sizeof it->v.reason,
			 "apt gave no archive path for this package (**ERROR**)");
		return;
	}
	if (gate_decide(r->ctx, it->act->deb, GATE_CALLER_APT, &it->v) != GATE_OK) {
		it->oom = true;
		return;
	}
	if (r->read_debs && it->v.kind == GATE_VERDICT_ALLOW)
		read_deb(it);
}

/* "name version" (versions 2, 3) or the file name (version 1). */
static void put_package(FILE *out, const struct gate_apt_action *a)
{
	if (a->name) {
		gate_put_escaped(out, a->name);
		fputc(' ', out);
		gate_put_escaped(out, a->new_version ? a->new_version : "-");
	} else {
		const char *slash = strrchr(a->deb, '/');
		gate_put_escaped(out, slash ? slash + 1 : a->deb);
	}
	if (a->deb) {
		fputs(" (", out);
		gate_put_escaped(out, a->deb);
		fputc(')', out);
	}
}

/* One line per package the policy did not allow: the verdict, the package,
 * the rule and the reason. The reason of a rule's verdict starts with
 * "rule 'NAME'" already; "no rule matches" says that none did. */
static void report_item(const struct run *r, const struct item *it)
{
	const struct gate_verdict *v = &it->v;
	const char *mode = gate_mode_name(r->mode);
	if (v->kind == GATE_VERDICT_ALLOW && !it->deb_err[0])
		return;
	if (v->kind == GATE_VERDICT_ALLOW) /* audit or off: installed, not recorded */
		fprintf(stderr, "gate: NOT RECORDED (%s mode) ", mode);
	else if (r->mode != GATE_MODE_ENFORCE)
		fprintf(stderr, "gate: %s (%s mode: allowed) ",
			v->kind == GATE_VERDICT_DENY ? "DENY" : "ERROR", mode);
	else
		fprintf(stderr, "gate: %s ", v->kind == GATE_VERDICT_DENY ? "DENY" : "ERROR");
	put_package(stderr, it->act);
	fputs(": ", stderr);
	if (v->kind == GATE_VERDICT_ALLOW) {
		gate_put_escaped(stderr, it->deb_err);
	} else {
		if (v->rule && strncmp(v->reason, "rule '", 6) != 0) {
			fputs("rule '", stderr);
			gate_put_escaped(stderr, v->rule);
			fputs("': ", stderr);
		}
		gate_put_escaped(stderr, v->reason);
	}
	fputc('\n', stderr);
}

/* In enforce mode a .deb the policy allowed but that cannot be read for
 * the ledger is an error: it would be installed unrecorded. */
static void apply_deb_errors(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct item *it = &r->items[i];
		if (!it->deb_err[0] || r->mode != GATE_MODE_ENFORCE)
			continue;
		it->v.kind = GATE_VERDICT_ERROR;
		it->v.allowed = false;
		snprintf(it->v.reason, sizeof it->v.reason, "%s", it->deb_err);
		it->deb_err[0] = '\0';
	}
}

/* Keep the allowed packages as pending in one transaction, in the ledger
 * of this root (another root's ledger is refused). First the ledger is
 * settled against dpkg (apt_ledger.h), in case the step after an earlier
 * transaction never ran; a failure there is said, not fatal. */
static enum gate_err record(const struct run *r, const struct hook_args *a, const char *status,
			    size_t *recorded, size_t *forgotten, struct gate_error *err)
{
	struct gate_ledger_pkg *pkgs = calloc(r->n ? r->n : 1, sizeof(*pkgs));
	struct gate_ledger *l = NULL;
	struct gate_apt_root root;
	struct gate_apt_settled st = {0};
	size_t n = 0;
	enum gate_err rc;
	if (!pkgs)
		return GATE_E_NOMEM;
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].have_pkg)
			pkgs[n++] = r->items[i].pkg; /* shallow: items keep ownership */
	*recorded = n;
	int lock = -1;
	rc = n ? gate_ledger_open(a->ledger, false, &l, err) : GATE_OK;
	if (rc == GATE_OK && n)
		rc = gate_apt_root_bind(l, a->root, status, &root, err);
	if (rc == GATE_OK && n)
		lock = gate_apt_digest_lock(a->ledger);
	struct gate_error serr = {0};
	if (rc == GATE_OK && n && gate_apt_settle(l, &root, &st, &serr) != GATE_OK)
		fprintf(stderr, "gate: warning: the ledger is not settled against dpkg: %s\n",
			serr.msg);
	*forgotten = st.forgotten;
	if (rc == GATE_OK && n)
		rc = gate_ledger_add_pending(l, pkgs, n, err);
	gate_ledger_close(l);
	if (rc == GATE_OK && n && !a->no_background)
		gate_apt_start_digest(a->ledger, lock);
	if (lock >= 0)
		close(lock);
	free(pkgs);
	return rc;
}

/* A failure that concerns the whole transaction: refuse in enforce mode,
 * otherwise say so and let apt go on. */
static int fail_all(enum gate_mode mode, const char *what)
{
	if (mode == GATE_MODE_ENFORCE) {
		fprintf(stderr,
			"gate: %s: refusing the transaction (enforce mode): apt stops "
			"before dpkg runs, nothing is installed\n",
			what);
		return GATE_EXIT_USAGE;
	}
	fprintf(stderr, "gate: %s (%s mode: apt proceeds)\n", what, gate_mode_name(mode));
	return GATE_EXIT_OK;
}

/* Log a failure of the whole transaction as a decision event on the
 * policy's audit sink, so audit mode leaves a trace of it. */
static void audit_failure(const struct gate_policy *p, const char *reason)
{
	struct gate_audit *a = NULL;
	char path[] = "(apt hook stdin)";
	enum gate_mode mode = gate_policy_mode(p, GATE_CALLER_APT);
	if (!p->audit_log || mode == GATE_MODE_OFF ||
	    gate_audit_open(p->audit_log, &a, NULL) != GATE_OK)
		return;
	struct gate_verdict v = {.kind = GATE_VERDICT_ERROR,
				 .allowed = mode != GATE_MODE_ENFORCE,
				 .mode = mode,
				 .path = path,
				 .caller = GATE_CALLER_APT,
				 .time = (int64_t)time(NULL)};
	snprintf(v.reason, sizeof v.reason, "%s", reason);
	gate_audit_decision(a, &v);
	gate_audit_close(a);
}

static int summarize(const struct run *r, const char *policy, size_t *ndeny, size_t *nerr)
{
	*ndeny = *nerr = 0;
	for (size_t i = 0; i < r->n; i++) {
		report_item(r, &r->items[i]);
		if (r->items[i].v.allowed)
			continue;
		if (r->items[i].v.kind == GATE_VERDICT_DENY)
			(*ndeny)++;
		else
			(*nerr)++;
	}
	if (*ndeny + *nerr == 0)
		return GATE_EXIT_OK;
	fprintf(stderr,
		"gate: %zu of %zu packages refused by %s: apt stops before dpkg runs, nothing "
		"is installed\n",
		*ndeny + *nerr, r->n, policy);
	return *nerr ? GATE_EXIT_USAGE : GATE_EXIT_DENY;
}

static int decide_all(const struct hook_args *a, struct gate_ctx *ctx,
		      const struct gate_apt_req *req, const char *policy_name)
{
	struct run r = {.ctx = ctx, .mode = gate_policy_mode(gate_ctx_policy(ctx), GATE_CALLER_APT), .read_debs = !a->no_ledger};
	int code = GATE_EXIT_USAGE;
	size_t nunpack = 0, ndeny, nerr, recorded = 0, forgotten = 0;
	for (size_t i = 0; i < req->nactions; i++)
		nunpack += req->actions[i].op == GATE_APT_UNPACK ||
			   req->actions[i].op == GATE_APT_OP_ERROR;
	if (nunpack == 0)
		return GATE_EXIT_OK; /* removals and configures: nothing to decide */
	if (!(r.items = calloc(nunpack, sizeof(*r.items))))
		return fail_all(r.mode, "out of memory");
	for (size_t i = 0; i < req->nactions; i++)
		if (req->actions[i].op == GATE_APT_UNPACK ||
		    req->actions[i].op == GATE_APT_OP_ERROR)
			r.items[r.n++].act = &req->actions[i];
	gate_cli_pool_run(r.n, a->jobs, "gate: checking packages", decide_one, &r);
	for (size_t i = 0; i < r.n; i++)
		if (r.items[i].oom) {
			code = fail_all(r.mode, "out of memory while deciding");
			goto out;
		}
	apply_deb_errors(&r);
	if ((code = summarize(&r, policy_name, &ndeny, &nerr)) != GATE_EXIT_OK)
		goto out;
	if (r.read_debs) {
		struct gate_error e = {0};
		if (record(&r, a, req->status_file, &recorded, &forgotten, &e) != GATE_OK) {
			char what[GATE_ERR_MSG_MAX + PATH_MAX];
			snprintf(what, sizeof what,
				 "cannot record the packages in the ledger %s: %s", a->ledger,
				 e.msg[0] ? e.msg : gate_err_str(e.code));
			code = fail_all(r.mode, what);
			goto out;
		}
	}
	fprintf(stderr, "gate: %zu package%s allowed by %s (%s)", r.n, r.n == 1 ? "" : "s",
		policy_name, gate_mode_name(r.mode));
	if (r.read_debs)
		fprintf(stderr, ", %zu to record in %s once dpkg has installed them", recorded,
			a->ledger);
	if (forgotten)
		fprintf(stderr, " (%zu removed package%s forgotten)", forgotten,
			forgotten == 1 ? "" : "s");
	fputc('\n', stderr);
	code = GATE_EXIT_OK;
out:
	for (size_t i = 0; i < r.n; i++) {
		gate_verdict_clear(&r.items[i].v);
		if (r.items[i].have_pkg)
			gate_ledger_pkg_clear(&r.items[i].pkg);
	}
	free(r.items);
	return code;
}

/* Print every package of an unparsed or undecidable transaction that we
 * could still name, so the user sees what was refused. */
static void list_refused(const struct gate_apt_req *req, const char *why)
{
	for (size_t i = 0; req && i < req->nactions; i++) {
		if (req->actions[i].op != GATE_APT_UNPACK)
			continue;
		fputs("gate: ERROR ", stderr);
		put_package(stderr, &req->actions[i]);
		fprintf(stderr, ": %s\n", why);
	}
}

/* No --policy and no /etc/gate/policy.yaml: the hook was installed before
 * any policy was written. Refusing would break apt on a fresh install, so
 * apt proceeds, nothing is recorded as vouched for, and every transaction
 * says what to do. Only a file that is absent counts: one that exists but
 * cannot be read or loaded refuses, as a broken policy does. */
static bool no_policy_file(const struct hook_args *a)
{
	return !a->policy && access(GATE_POLICY_DEFAULT, F_OK) != 0 && errno == ENOENT;
}

static int run_without_policy(void)
{
	fprintf(stderr,
		"gate: WARNING: no policy file: " GATE_POLICY_DEFAULT
		" does not exist, so the apt hook checks nothing and apt proceeds "
		"(nothing is recorded in the ledger as vouched for).\n"
		"gate: write a policy to " GATE_POLICY_DEFAULT
		" and check it with 'gate policy lint " GATE_POLICY_DEFAULT
		"', or remove the hook with 'gate hook apt --uninstall'.\n");
	return GATE_EXIT_OK;
}

static int run_hook(const struct hook_args *a)
{
	uint8_t *in = NULL;
	size_t len = 0;
	struct gate_apt_req *req = NULL;
	struct gate_error perr = {0}, err = {0};
	struct gate_ctx *ctx = NULL;
	int code;
	if (isatty(STDIN_FILENO) == 1)
		return hook_usage_error("stdin is a terminal: apt runs this hook and writes the "
					"packages on its stdin (see hooks/apt/README.md)");
	/* Read all of stdin first, policy or not: apt fails the transaction
	 * when the hook closes its pipe before apt has written everything. */
	bool read_ok = gate_apt_read_input(STDIN_FILENO, &in, &len);
	if (no_policy_file(a)) {
		free(in);
		return run_without_policy();
	}
	if (!read_ok)
		return fail_all(GATE_MODE_ENFORCE, "cannot read the transaction from apt");
	enum gate_err prc = gate_apt_parse(in, len, &req, &perr);
	free(in);
	struct gate_ctx_opts copts = {.evidence_dirs = a->dirs, .fetch_budget_s = a->fetch_s};
	if (!gate_cli_now(a->now, &copts.now)) {
		gate_apt_req_free(req);
		return hook_usage_error("--current-time must be RFC 3339");
	}
	struct gate_policy *policy = gate_cli_load_policy(a->policy);
	if (!policy) {
		/* No mode to read: fail closed. */
		list_refused(req, "the policy is broken");
		gate_apt_req_free(req);
		return fail_all(
			GATE_MODE_ENFORCE,
			"the policy is broken (see above; check it with 'gate policy lint')");
	}
	if (prc != GATE_OK) {
		char what[GATE_ERR_MSG_MAX + 64];
		snprintf(what, sizeof what,
			 "apt's hook input is not the Pre-Install-Pkgs protocol: %s", perr.msg);
		audit_failure(policy, what);
		code = fail_all(gate_policy_mode(policy, GATE_CALLER_APT), what);
		gate_policy_free(policy);
		return code;
	}
	/* Archives whose lists the policy does not name: where apt keeps
	 * them, as its configuration says (e.g. apt -o Dir=/srv/root). */
	for (size_t i = 0; req->lists_dir && i < policy->napts; i++)
		if (!policy->apts[i].lists && !(policy->apts[i].lists = strdup(req->lists_dir))) {
			prc = GATE_E_NOMEM;
			snprintf(err.msg, sizeof err.msg, "out of memory");
		}
	char *policy_name = strdup(policy->file ? policy->file : "the built-in policy");
	enum gate_mode mode = gate_policy_mode(policy, GATE_CALLER_APT);
	if (!policy_name || prc != GATE_OK || gate_ctx_new(policy, &copts, &ctx, &err) != GATE_OK) {
		char what[GATE_ERR_MSG_MAX + 32];
		snprintf(what, sizeof what, "cannot start deciding: %s", err.msg);
		if (!ctx)
			gate_policy_free(policy);
		code = fail_all(mode, what);
	} else {
		code = decide_all(a, ctx, req, policy_name);
	}
	gate_ctx_free(ctx);
	free(policy_name);
	gate_apt_req_free(req);
	return code;
}

static int hook_apt(int argc, char **argv)
{
	struct hook_args a = {0};
	bool ledger_given;
	int code = parse_hook_args(argc, argv, &a);
	if (code >= 0)
		return code;
	ledger_given = strcmp(a.ledger, GATE_LEDGER_DEFAULT) != 0;
	if (a.install)
		return gate_apt_install_hook(&a, ledger_given);
	if (a.uninstall)
		return gate_apt_uninstall_hook(&a);
	if (a.post)
		return gate_apt_post_invoke(a.ledger, a.root);
	if (a.digest)
		return gate_apt_digest(a.ledger);
	return run_hook(&a);
}

int gate_cmd_hook(int argc, char **argv)
{
	static const char usage[] =
		"usage: gate hook apt [options]   (see 'gate hook apt --help')\n"
		"\n"
		"Package manager hooks: apt (DPkg::Pre-Install-Pkgs).\n";
	if (argc >= 2 && strcmp(argv[1], "apt") == 0)
		return hook_apt(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return GATE_EXIT_OK;
	}
	fputs(usage, stderr);
	return GATE_EXIT_USAGE;
}
