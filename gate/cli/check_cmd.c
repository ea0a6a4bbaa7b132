/* check_cmd.c - `gate check PATH...`: decide many files against the policy
 * in parallel (CI admission), report, and exit 0 / 1 / 2. */
#include "cli.h"
#include "gate.h"
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
	"X.sigstore, X.bundle, X.sig with X.pem/X.crt or a pinned key) and\n"
	"evidence stores laid out as DIR/sha256/HEX/.\n"
	"\n"
	"  --policy FILE        policy (default $GATE_POLICY, /etc/gate/policy.yaml,\n"
	"                       else a built-in policy that denies everything)\n"
	"  --evidence DIR       an extra evidence store (repeatable)\n"
	"  --caller ci|apt|exec who is asking (default ci)\n"
	"  --format text|json|sarif|junit   report format (default text)\n"
	"  --output FILE        write the report there instead of stdout\n"
	"  --jobs N             parallel decisions (default: number of CPUs)\n"
	"  --current-time T     decide as of RFC 3339 time T (also $GATE_TIME)\n"
	"\n"
	"Exit: 0 every file allowed, 1 a file denied, 2 an error (bad usage,\n"
	"policy or unreadable file). In audit mode denials are reported, not\n"
	"enforced.\n";

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

/* Files that are evidence, not artifacts, when met inside a directory. */
static bool is_evidence_name(const char *name)
{
	static const char *const ext[] = {".sigstore.json", ".sigstore", ".bundle", ".sig",
					  ".pem",	    ".crt",	 ".p7s"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcmp(name + n - e, ext[i]) == 0)
			return true;
	}
	return false;
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
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !is_evidence_name(de->d_name))
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

struct check_job {
	struct gate_ctx *ctx;
	enum gate_caller caller;
	const struct files *files;
	struct gate_verdict *out;
	atomic_bool oom;
};

static void decide_one(void *arg, size_t i)
{
	struct check_job *j = arg;
	if (gate_decide(j->ctx, j->files->v[i], j->caller, &j->out[i]) != GATE_OK)
		atomic_store(&j->oom, true);
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

struct check_args {
	const char *policy, *output, *now;
	const char *dirs[17];
	size_t ndirs;
	enum gate_format fmt;
	enum gate_caller caller;
	unsigned jobs;
};

static int check_usage_error(const char *msg)
{
	fprintf(stderr, "gate check: %s\n(see 'gate check --help')\n", msg);
	return GATE_EXIT_USAGE;
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	long n;
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
			a->output = optarg;
			break;
		case 't':
			a->now = optarg;
			break;
		case 'f':
			if (!gate_cli_parse_format(optarg, &a->fmt))
				return check_usage_error(
					"--format must be text, json, sarif or junit");
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
	return -1;
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
	FILE *out = stdout;
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
	if (!(verdicts = calloc(files.n ? files.n : 1, sizeof(*verdicts))))
		goto out;
	struct check_job job = {.ctx = ctx, .caller = a.caller, .files = &files, .out = verdicts};
	gate_cli_pool_run(files.n, a.jobs, "checking", decide_one, &job);
	if (atomic_load(&job.oom)) {
		fprintf(stderr, "gate check: out of memory\n");
		goto out;
	}
	if (a.output && !(out = fopen(a.output, "w"))) {
		fprintf(stderr, "gate check: cannot write %s: %s\n", a.output, strerror(errno));
		goto out;
	}
	switch (a.fmt) {
	case GATE_FMT_TEXT:
		print_text(out, verdicts, files.n);
		break;
	case GATE_FMT_JSON:
		print_json(out, verdicts, files.n, policy_name);
		break;
	case GATE_FMT_SARIF:
		gate_report_sarif(out, verdicts, files.n, policy_name);
		break;
	case GATE_FMT_JUNIT:
		gate_report_junit(out, verdicts, files.n, policy_name);
		break;
	}
	if (fflush(out) != 0) {
		fprintf(stderr, "gate check: writing the report failed\n");
		goto out;
	}
	code = exit_code(verdicts, files.n);
out:
	if (out != stdout && out)
		fclose(out);
	for (size_t i = 0; verdicts && i < files.n; i++)
		gate_verdict_clear(&verdicts[i]);
	free(verdicts);
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	gate_ctx_free(ctx);
	return code;
}
