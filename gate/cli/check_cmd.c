/* check_cmd.c - `gate check PATH...`: decide many files against the policy
 * in parallel (CI admission), report, and exit 0 / 1 / 2. */
#include "cli.h"
#include "gate.h"
#include "gate_util.h"
#include "policy_model.h"
#include "pool.h"
#include "signer.h"
#include "verdict.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK_MAX_FILES 1000000
#define CHECK_MAX_JOBS GATE_POOL_MAX_JOBS
#define CHECK_MAX_DEPTH 64

static const char check_usage[] =
	"usage: gate check [options] PATH...\n"
	"\n"
	"Decide every file (directories recursively, links not followed) against\n"
	"the policy. Evidence: sidecars next to each file (X.sigstore.json,\n"
	"X.sigstore, X.bundle, X.sig with X.pem/X.crt or a pinned key, X.p7s) and\n"
	"evidence stores laid out as DIR/sha256/HEX/. Every file under a PATH is\n"
	"decided; a sidecar or store entry is left out of the report only when\n"
	"the file it belongs to is decided in the same run.\n"
	"\n"
	"  --policy FILE        policy (default $GATE_POLICY, /etc/gate/policy.yaml,\n"
	"                       else a built-in policy that denies everything)\n"
	"  --evidence DIR       an extra evidence store (repeatable)\n"
	"  --caller ci|apt|exec who is asking (default ci)\n"
	"  --format text|json|sarif|junit|markdown   report format (default text)\n"
	"  --output FILE        write the report there instead of stdout\n"
	"  --output FORMAT=FILE also write a FORMAT report to FILE (repeatable;\n"
	"                       stdout then gets one only with --format)\n"
	"  --jobs N             parallel decisions (default: number of CPUs)\n"
	"  --current-time T     decide as of RFC 3339 time T (also $GATE_TIME)\n"
	"  --allow-empty        exit 0 when the PATHs hold no file (else 2)\n"
	"\n"
	"Exit: 0 every file allowed, 1 a file denied, 2 an error (bad usage,\n"
	"policy, unreadable file, or nothing to decide). In audit mode denials\n"
	"are reported, not enforced.\n";

struct files {
	char **v;
	size_t n, cap;
};

static bool files_add(struct files *f, const char *path)
{
	if (f->n >= CHECK_MAX_FILES)
		return false;
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 64;
		char **nv = realloc(f->v, nc * sizeof(char *));
		if (!nv)
			return false;
		f->v = nv;
		f->cap = nc;
	}
	return (f->v[f->n] = strdup(path)) != NULL && ++f->n;
}

/* The length of name's evidence suffix (".sig", ".sigstore.json", ...),
 * 0 when it has none. */
static size_t evidence_suffix(const char *name)
{
	static const char *const ext[] = {".sigstore.json", ".sigstore", ".bundle", ".sig",
					  ".pem",	    ".crt",	 ".p7s"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcmp(name + n - e, ext[i]) == 0)
			return e;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk a directory in name order, not following links; links and special
 * files are still listed so that they are reported, not silently skipped. */
static bool walk(struct files *f, const char *dir, unsigned depth)
{
	if (depth > CHECK_MAX_DEPTH) {
		fprintf(stderr, "gate check: %s: nested deeper than %d directories\n", dir,
			CHECK_MAX_DEPTH);
		return false;
	}
	DIR *d = opendir(dir);
	if (!d)
		return files_add(f, dir); /* reported as unreadable */
	struct files names = {0};
	struct dirent *de;
	bool ok = true;
	while (ok && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ok = files_add(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		char *p = NULL;
		struct stat st;
		if (ok && asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
				   names.v[i]) < 0)
			ok = false;
		if (ok && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			ok = walk(f, p, depth + 1);
		else if (ok)
			ok = files_add(f, p);
		free(p);
		free(names.v[i]);
	}
	free(names.v);
	return ok;
}

/* ---- evidence that belongs to a decided file ---- */

static int cmp_ptr_str(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* s among the strings sorted points to (n of them, sorted by cmp_ptr_str). */
static bool among(char **const *sorted, size_t n, const char *s)
{
	const char *key = s, *const *kp = &key;
	return n && bsearch(&kp, sorted, n, sizeof(*sorted), cmp_ptr_str) != NULL;
}

/* An array of pointers to the n strings at v, sorted; NULL when out of
 * memory. */
static char ***sorted_refs(char **v, size_t n)
{
	char ***r = calloc(n ? n : 1, sizeof(*r));
	for (size_t i = 0; r && i < n; i++)
		r[i] = &v[i];
	if (r)
		qsort(r, n, sizeof(*r), cmp_ptr_str);
	return r;
}

/* A sidecar "X.sig" (.bundle, ...) whose X is among the run's paths. */
static bool owned_sidecar(const char *path, char **const *paths, size_t n)
{
	size_t e = evidence_suffix(path);
	char *owner = e ? strndup(path, strlen(path) - e) : NULL;
	bool yes = owner && among(paths, n, owner);
	free(owner);
	return yes;
}

/* An evidence store entry ".../sha256/HEX.ext" of a file decided with
 * SHA-256 HEX. */
static bool owned_store_entry(const char *path, char **const *digests, size_t n)
{
	const char *base = strrchr(path, '/');
	char hex[65];
	base = base ? base + 1 : path;
	if (base - path < 7 || strncmp(base - 7, "sha256/", 7) != 0 ||
	    strspn(base, "0123456789abcdef") != 64 || base[64] != '.')
		return false;
	memcpy(hex, base, 64);
	hex[64] = '\0';
	return among(digests, n, hex);
}

struct check_job {
	struct gate_ctx *ctx;
	enum gate_caller caller;
	const struct files *files;
	struct gate_verdict *out;
	const size_t *which; /* the files to decide, by index */
	atomic_bool oom;
};

static void decide_one(void *arg, size_t k)
{
	struct check_job *j = arg;
	size_t i = j->which[k];
	if (gate_decide(j->ctx, j->files->v[i], j->caller, &j->out[i]) != GATE_OK)
		atomic_store(&j->oom, true);
}

/* Decide every file, in two rounds: first all but evidence-named ones
 * (their sidecars, "X.sig" of a listed X, are left out at once), then the
 * evidence-named rest, less the store entries of a file decided in the
 * first round. What is left out is neither decided nor reported; files and
 * v are compacted to what was. False when out of memory. */
static bool decide_all(struct gate_ctx *ctx, enum gate_caller caller, unsigned jobs,
		       struct files *f, struct gate_verdict *v)
{
	size_t n = f->n, nw = 0, kept = 0;
	size_t *which = calloc(n ? n : 1, sizeof(*which));
	bool *skip = calloc(n ? n : 1, sizeof(*skip)), ok = false;
	char ***paths = sorted_refs(f->v, n), ***digests = NULL, **dv = NULL;
	struct check_job job = {.ctx = ctx, .caller = caller, .files = f, .out = v};
	if (!which || !skip || !paths)
		goto out;
	for (size_t round = 0; round < 2; round++) {
		nw = 0;
		for (size_t i = 0; i < n; i++) {
			bool ev = evidence_suffix(f->v[i]) > 0;
			if (round == 0 && ev)
				skip[i] = owned_sidecar(f->v[i], paths, n);
			else if (round == 1 && ev && !skip[i])
				skip[i] = owned_store_entry(f->v[i], digests, kept);
			if (!skip[i] && ev == (round == 1))
				which[nw++] = i;
		}
		job.which = which;
		gate_cli_pool_run(nw, jobs, "checking", decide_one, &job);
		if (atomic_load(&job.oom))
			goto out;
		if (round == 0) { /* the digests decided so far, for store entries */
			if (!(dv = calloc(nw ? nw : 1, sizeof(*dv))))
				goto out;
			for (size_t k = 0; k < nw; k++)
				dv[k] = v[which[k]].digest;
			kept = nw;
			if (!(digests = sorted_refs(dv, kept)))
				goto out;
		}
	}
	ok = true;
out:
	kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (skip && skip[i]) {
			free(f->v[i]);
			continue;
		}
		v[kept] = v[i];
		f->v[kept++] = f->v[i];
	}
	f->n = kept;
	free(which);
	free(skip);
	free(paths);
	free(digests);
	free(dv);
	return ok;
}

/* ---- reports ---- */

static void print_text(FILE *out, const struct gate_verdict *v, size_t n)
{
	size_t counts[3] = {0};
	for (size_t i = 0; i < n; i++) {
		const char *tag = v[i].kind == GATE_VERDICT_ALLOW  ? "ALLOW"
				  : v[i].kind == GATE_VERDICT_DENY ? "DENY "
								   : "ERROR";
		counts[v[i].kind]++;
		fprintf(out, "%s  ", tag);
		gate_put_escaped(out, v[i].path);
		fputs(v[i].allowed && v[i].kind != GATE_VERDICT_ALLOW
			      ? "  (audit: allowed)\n       "
			      : "\n       ",
		      out);
		gate_put_escaped(out, v[i].reason);
		fputc('\n', out);
	}
	fprintf(out, "%zu allowed, %zu denied, %zu errors\n", counts[0], counts[1], counts[2]);
}

static json_t *verdict_json(const struct gate_verdict *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "path", gate_json_text(v->path));
	gate_verdict_put_json(o, v, GATE_VJ_DETAIL);
	return o;
}

static void print_json(FILE *out, const struct gate_verdict *v, size_t n, const char *policy)
{
	json_t *o = json_object(), *res = json_array();
	size_t counts[3] = {0};
	for (size_t i = 0; i < n; i++) {
		counts[v[i].kind]++;
		json_array_append_new(res, verdict_json(&v[i]));
	}
	json_object_set_new(o, "policy", json_string(policy));
	json_object_set_new(o, "results", res);
	json_object_set_new(o, "allowed", json_integer((json_int_t)counts[0]));
	json_object_set_new(o, "denied", json_integer((json_int_t)counts[1]));
	json_object_set_new(o, "errors", json_integer((json_int_t)counts[2]));
	json_dumpf(o, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(o);
}

/* ---- the command ---- */

#define CHECK_MAX_OUTPUTS 8

struct check_output {
	enum gate_format fmt;
	const char *file;
	bool plain; /* --output FILE: in the --format */
};

struct check_args {
	const char *policy, *now;
	struct check_output outputs[CHECK_MAX_OUTPUTS];
	size_t noutputs;
	bool fmt_set, plain_output; /* --format given, --output FILE given */
	const char *dirs[17];
	size_t ndirs;
	enum gate_format fmt;
	enum gate_caller caller;
	unsigned jobs;
	bool allow_empty;
};

static int check_usage_error(const char *msg)
{
	fprintf(stderr, "gate check: %s\n(see 'gate check --help')\n", msg);
	return GATE_EXIT_USAGE;
}

/* --output FILE (the --format report, once) or --output FORMAT=FILE. A
 * FILE whose name starts with a format and '=' is written as ./FORMAT=...
 * Returns NULL, or what is wrong. */
static const char *add_output(struct check_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[16];
	struct check_output o = {.fmt = GATE_FMT_TEXT, .file = arg};
	bool typed = false;
	if (eq && (size_t)(eq - arg) < sizeof name) {
		memcpy(name, arg, (size_t)(eq - arg));
		name[eq - arg] = '\0';
		typed = gate_cli_parse_format(name, &o.fmt);
	}
	if (typed)
		o.file = eq + 1;
	if (a->noutputs == CHECK_MAX_OUTPUTS)
		return "at most 8 --output";
	if (!o.file[0])
		return "--output needs a FILE (FILE or FORMAT=FILE)";
	if (!typed && a->plain_output)
		return "--output FILE given twice (--output FORMAT=FILE adds reports)";
	a->plain_output |= !typed;
	o.plain = !typed;
	a->outputs[a->noutputs++] = o;
	return NULL;
}

static int parse_check_args(int argc, char **argv, struct check_args *a)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"format", required_argument, NULL, 'f'},
		{"jobs", required_argument, NULL, 'j'},
		{"evidence", required_argument, NULL, 'e'},
		{"caller", required_argument, NULL, 'c'},
		{"output", required_argument, NULL, 'o'},
		{"current-time", required_argument, NULL, 't'},
		{"allow-empty", no_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	long n;
	const char *bad;
	a->jobs = gate_cli_ncpus();
	a->caller = GATE_CALLER_CI;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'h':
			fputs(check_usage, stdout);
			return GATE_EXIT_OK;
		case 'p':
			a->policy = optarg;
			break;
		case 'o':
			if ((bad = add_output(a, optarg)))
				return check_usage_error(bad);
			break;
		case 't':
			a->now = optarg;
			break;
		case 'E':
			a->allow_empty = true;
			break;
		case 'f':
			if (!gate_cli_parse_format(optarg, &a->fmt))
				return check_usage_error(
					"--format must be text, json, sarif, junit or markdown");
			a->fmt_set = true;
			break;
		case 'j':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > CHECK_MAX_JOBS)
				return check_usage_error("--jobs must be a number from 1 to 256");
			a->jobs = (unsigned)n;
			break;
		case 'e':
			if (a->ndirs == 16)
				return check_usage_error("at most 16 --evidence stores");
			a->dirs[a->ndirs++] = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "ci") == 0)
				a->caller = GATE_CALLER_CI;
			else if (strcmp(optarg, "apt") == 0)
				a->caller = GATE_CALLER_APT;
			else if (strcmp(optarg, "exec") == 0)
				a->caller = GATE_CALLER_EXEC;
			else
				return check_usage_error("--caller must be ci, apt or exec");
			break;
		default:
			return check_usage_error(optopt ? "option needs a value"
							: "unknown option");
		}
	}
	if (optind >= argc)
		return check_usage_error("give at least one PATH");
	for (size_t i = 0; i < a->noutputs; i++)
		if (a->outputs[i].plain)
			a->outputs[i].fmt = a->fmt;
	return -1;
}

/* False when the report could not be built or written. */
static bool print_report(FILE *out, enum gate_format fmt, const struct gate_verdict *v, size_t n,
			 const char *policy)
{
	bool ok = true;
	switch (fmt) {
	case GATE_FMT_TEXT:
		print_text(out, v, n);
		break;
	case GATE_FMT_JSON:
		print_json(out, v, n, policy);
		break;
	case GATE_FMT_SARIF:
		ok = gate_report_sarif(out, v, n, policy);
		break;
	case GATE_FMT_JUNIT:
		gate_report_junit(out, v, n, policy);
		break;
	case GATE_FMT_MARKDOWN:
		gate_report_markdown(out, v, n, policy);
		break;
	}
	return ok && !ferror(out);
}

/* One --output: the report is built in memory, then replaces the file
 * atomically (a link planted there is replaced, never followed), so a
 * failed write leaves the old file or none, never a part. */
static bool write_output(const struct check_output *o, const struct gate_verdict *v, size_t n,
			 const char *policy)
{
	char *buf = NULL;
	size_t len = 0;
	struct gate_error err = {0};
	FILE *out = open_memstream(&buf, &len);
	bool ok = out != NULL;
	if (out) {
		ok = print_report(out, o->fmt, v, n, policy);
		ok = fclose(out) == 0 && ok;
	}
	if (!ok)
		fprintf(stderr, "gate check: %s: the report could not be built (out of memory)\n",
			o->file);
	else if (gate_atomic_write_file(o->file, ".gate-report.XXXXXX", buf, len, 0644,
					GATE_ATOMIC_UMASK, &err) != GATE_OK) {
		gate_cli_print_error("--output", &err);
		ok = false;
	}
	free(buf);
	return ok;
}

/* Every --output, each on its own (one failing does not stop the others),
 * then stdout: the --format report when no --output FILE took it, and
 * when --format was given or there is no --output at all. */
static bool write_reports(const struct check_args *a, const struct gate_verdict *v, size_t n,
			  const char *policy)
{
	bool ok = true;
	for (size_t i = 0; i < a->noutputs; i++)
		ok = write_output(&a->outputs[i], v, n, policy) && ok;
	if (!a->plain_output && (a->fmt_set || a->noutputs == 0)) {
		if (!print_report(stdout, a->fmt, v, n, policy) || fflush(stdout) != 0) {
			fprintf(stderr, "gate check: writing the report failed\n");
			ok = false;
		}
	}
	return ok;
}

static int exit_code(const struct gate_verdict *v, size_t n)
{
	int code = GATE_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		if (v[i].allowed)
			continue;
		if (v[i].kind == GATE_VERDICT_ERROR)
			return GATE_EXIT_USAGE;
		code = GATE_EXIT_DENY;
	}
	return code;
}

int gate_cmd_check(int argc, char **argv)
{
	struct check_args a = {0};
	struct files files = {0};
	struct gate_ctx *ctx = NULL;
	struct gate_verdict *verdicts = NULL;
	struct gate_error err = {0};
	int code = parse_check_args(argc, argv, &a);
	if (code >= 0)
		return code;
	struct gate_ctx_opts copts = {.evidence_dirs = a.dirs};
	if (!gate_cli_now(a.now, &copts.now))
		return check_usage_error("--current-time / GATE_TIME must be RFC 3339");
	struct gate_policy *policy = gate_cli_load_policy(a.policy);
	if (!policy)
		return GATE_EXIT_USAGE;
	const char *policy_name = policy->file;
	code = GATE_EXIT_USAGE;
	if (gate_ctx_new(policy, &copts, &ctx, &err) != GATE_OK) {
		gate_cli_print_error("audit", &err);
		gate_policy_free(policy);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		struct stat st;
		bool ok = lstat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)
				  ? walk(&files, argv[i], 0)
				  : files_add(&files, argv[i]);
		if (!ok) {
			fprintf(stderr, "gate check: too many files or out of memory\n");
			goto out;
		}
	}
	if (files.n == 0 && !a.allow_empty) {
		fprintf(stderr,
			"gate check: no file to decide under the PATHs given (--allow-empty "
			"accepts that)\n");
		goto out;
	}
	if (!(verdicts = calloc(files.n ? files.n : 1, sizeof(*verdicts))) ||
	    !decide_all(ctx, a.caller, a.jobs, &files, verdicts)) {
		fprintf(stderr, "gate check: out of memory\n");
		goto out;
	}
	if (!write_reports(&a, verdicts, files.n, policy_name))
		goto out;
	code = exit_code(verdicts, files.n);
out:
	for (size_t i = 0; verdicts && i < files.n; i++)
		gate_verdict_clear(&verdicts[i]);
	free(verdicts);
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	gate_ctx_free(ctx);
	return code;
}
