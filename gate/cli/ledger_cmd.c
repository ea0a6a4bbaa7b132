/* ledger_cmd.c - `gate ledger`: query the install ledger (what was allowed
 * at install time, down to every file's digest) and re-verify installed
 * files against it. `record-deb` records .deb files directly; the apt hook
 * calls the library instead, this is for tests and repairs. */
#include "cli.h"
#include "deb.h"
#include "dpkg_import.h"
#include "ledger.h"
#include "policy_model.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char ledger_usage[] =
	"usage: gate ledger [--db PATH] [--format text|json] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  list                      every recorded package\n"
	"  show PKG[:ARCH]           one package and the digest of each of its files\n"
	"  lookup PATH|DIGEST        which package installed this path, or a file\n"
	"                            with this digest (sha256:HEX or 64 hex digits)\n"
	"  verify [--root DIR] [PATH...]\n"
	"                            re-hash installed files (all, or those at or\n"
	"                            under PATH), DIR prepended to every path\n"
	"  record-deb [--rule NAME] FILE.deb...\n"
	"                            read each .deb and record it, all in one\n"
	"                            transaction (tests and repairs; the apt hook\n"
	"                            records what it allows by itself)\n"
	"  import dpkg [--root DIR] [--admindir DIR] [--policy FILE] [--jobs N]\n"
	"              [--force] [--verbose] [--debs DIR] [--current-time T]\n"
	"              [PKG[:ARCH]...]\n"
	"                            hash every file dpkg says an installed package\n"
	"                            installed (all packages, or the named ones),\n"
	"                            compare with dpkg's md5sums and record them;\n"
	"                            a package whose version a verified archive of\n"
	"                            the policy's trust.apt_archives lists is\n"
	"                            vouched for, config files and changed files\n"
	"                            never are (with --root, archives without\n"
	"                            lists: use DIR/var/lib/apt/lists). Resumable:\n"
	"                            packages recorded at their version are\n"
	"                            skipped (unless --force); packages no longer\n"
	"                            installed are forgotten.\n"
	"                            Prints every file not recorded as shipped\n"
	"                            (config files with --verbose). --debs DIR\n"
	"                            (e.g. /var/cache/apt/archives): compare each\n"
	"                            file with the package's .deb there, when it is\n"
	"                            the one the signed index lists (slower).\n"
	"\n"
	"Options:\n"
	"  --db PATH                 the ledger (default $GATE_LEDGER, else\n"
	"                            " GATE_LEDGER_DEFAULT ")\n"
	"  --format text|json        output format (default text)\n"
	"\n"
	"Exit: 0 ok/found/all files match, 1 not found or a file does not match\n"
	"(import: a listed file is missing, unreadable or changed), 2 usage or\n"
	"database error.\n";

struct ledger_args {
	const char *db, *root, *rule, *admindir, *policy, *time, *debs;
	unsigned jobs;
	bool force, verbose;
	enum gate_format fmt;
	const char *cmd;
	char **args;
	int nargs;
};

enum {
	OPT_DB = 256,
	OPT_FORMAT,
	OPT_ROOT,
	OPT_RULE,
	OPT_ADMINDIR,
	OPT_POLICY,
	OPT_JOBS,
	OPT_FORCE,
	OPT_VERBOSE,
	OPT_TIME,
	OPT_DEBS
};

static const struct option ledger_opts[] = {
	{"db", required_argument, NULL, OPT_DB},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"root", required_argument, NULL, OPT_ROOT},
	{"rule", required_argument, NULL, OPT_RULE},
	{"admindir", required_argument, NULL, OPT_ADMINDIR},
	{"policy", required_argument, NULL, OPT_POLICY},
	{"jobs", required_argument, NULL, OPT_JOBS},
	{"force", no_argument, NULL, OPT_FORCE},
	{"verbose", no_argument, NULL, OPT_VERBOSE},
	{"current-time", required_argument, NULL, OPT_TIME},
	{"debs", required_argument, NULL, OPT_DEBS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "gate ledger: %s\n(see 'gate ledger --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static bool set_once(const char **slot, const char *val)
{
	if (*slot)
		return false;
	*slot = val;
	return true;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct ledger_args *la)
{
	int c;
	bool fmt_set = false;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", ledger_opts, NULL)) != -1) {
		const char **slot = NULL;
		switch (c) {
		case 'h':
			fputs(ledger_usage, stdout);
			return GATE_EXIT_OK;
		case OPT_DB:
			slot = &la->db;
			break;
		case OPT_ROOT:
			slot = &la->root;
			break;
		case OPT_RULE:
			slot = &la->rule;
			break;
		case OPT_ADMINDIR:
			slot = &la->admindir;
			break;
		case OPT_POLICY:
			slot = &la->policy;
			break;
		case OPT_TIME:
			slot = &la->time;
			break;
		case OPT_DEBS:
			slot = &la->debs;
			break;
		case OPT_FORCE:
			la->force = true;
			break;
		case OPT_VERBOSE:
			la->verbose = true;
			break;
		case OPT_JOBS: {
			char *end = NULL;
			unsigned long n = strtoul(optarg, &end, 10);
			if (la->jobs || !*optarg || *end || n < 1 || n > GATE_DPKG_MAX_JOBS)
				return usage_error("--jobs must be a number from 1 to 64, once");
			la->jobs = (unsigned)n;
			break;
		}
		case OPT_FORMAT:
			if (fmt_set || !gate_cli_parse_format(optarg, &la->fmt) ||
			    la->fmt > GATE_FMT_JSON)
				return usage_error("--format must be text or json, once");
			fmt_set = true;
			break;
		default:
			return usage_error(optopt ? "option needs a value" : "unknown option");
		}
		if (slot && !set_once(slot, optarg))
			return usage_error("an option was given twice");
	}
	if (optind >= argc)
		return usage_error(
			"a command is required: list, show, lookup, verify, record-deb, import");
	la->cmd = argv[optind];
	la->args = argv + optind + 1;
	la->nargs = argc - optind - 1;
	if (!la->db)
		la->db = getenv("GATE_LEDGER");
	if (!la->db || !*la->db)
		la->db = GATE_LEDGER_DEFAULT;
	bool import = strcmp(la->cmd, "import") == 0;
	if (la->root && strcmp(la->cmd, "verify") != 0 && !import)
		return usage_error("--root goes with verify and import");
	if ((la->admindir || la->policy || la->time || la->jobs || la->force || la->verbose ||
	     la->debs) &&
	    !import)
		return usage_error("--admindir, --policy, --jobs, --force, --verbose, --debs and "
				   "--current-time go with import");
	if (la->rule && strcmp(la->cmd, "record-deb") != 0)
		return usage_error("--rule goes with record-deb");
	if (fmt_set && strcmp(la->cmd, "record-deb") == 0)
		return usage_error("record-deb has no --format");
	return -1;
}

static int db_error(const struct gate_error *e)
{
	gate_cli_print_error(NULL, e); /* messages name the file */
	return GATE_EXIT_USAGE;
}

static void put_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(o);
}

static void put_field(const char *label, const char *value)
{
	printf("%s: ", label);
	gate_put_escaped(stdout, value ? value : "-");
	putchar('\n');
}

/* ---- JSON of rows ---- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *pkg_json(const struct gate_ledger_pkg *p, bool with_files)
{
	char t[32];
	json_t *o = json_object();
	json_object_set_new(o, "name", str_or_null(p->name));
	json_object_set_new(o, "version", str_or_null(p->version));
	json_object_set_new(o, "architecture", str_or_null(p->arch));
	json_object_set_new(o, "deb_sha256",
			    p->deb_sha256[0] ? json_string(p->deb_sha256) : json_null());
	json_object_set_new(o, "source", json_string(gate_ledger_source_name(p->source)));
	json_object_set_new(o, "rule", str_or_null(p->rule));
	json_object_set_new(o, "origin", str_or_null(p->origin));
	/* Signers were written as JSON by the hook; keep them structured
	 * when they parse, as a string when they do not. */
	json_t *s = p->signers ? json_loads(p->signers, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_object_set_new(o, "signers", s ? s : str_or_null(p->signers));
	gate_cli_time(p->time, t, sizeof t);
	json_object_set_new(o, "recorded", json_string(t));
	if (!with_files) {
		json_object_set_new(o, "files", json_integer((json_int_t)p->nfiles));
		return o;
	}
	json_t *files = json_array();
	for (size_t i = 0; i < p->nfiles; i++) {
		json_t *f = json_object();
		json_object_set_new(f, "path", json_string(p->files[i].path));
		json_object_set_new(f, "sha256", json_string(p->files[i].sha256));
		json_object_set_new(f, "size", json_integer((json_int_t)p->files[i].size));
		json_object_set_new(f, "state",
				    json_string(gate_ledger_state_name(p->files[i].state)));
		json_array_append_new(files, f);
	}
	json_object_set_new(o, "files", files);
	return o;
}

/* A file row with its package, for lookup and verify. */
static json_t *file_json(const struct gate_ledger_pkg *p, const struct gate_ledger_file *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "path", str_or_null(f->path));
	json_object_set_new(o, "sha256", json_string(f->sha256));
	json_object_set_new(o, "size", json_integer((json_int_t)f->size));
	json_object_set_new(o, "state", json_string(gate_ledger_state_name(f->state)));
	json_object_set_new(o, "source", json_string(gate_ledger_source_name(p->source)));
	json_object_set_new(o, "package", str_or_null(p->name));
	json_object_set_new(o, "version", str_or_null(p->version));
	json_object_set_new(o, "architecture", str_or_null(p->arch));
	return o;
}

/* The end of show and lookup: the JSON document (the query, the count for
 * files, the rows under key; takes rows) and the verdict - exit 1 with a
 * message when nothing was found. */
static int query_done(const struct ledger_args *la, const char *key, json_t *rows, size_t found)
{
	if (la->fmt == GATE_FMT_JSON) {
		json_t *top = json_object();
		json_object_set_new(top, "query", json_string(la->args[0]));
		if (strcmp(key, "files") == 0)
			json_object_set_new(top, "found", json_integer((json_int_t)found));
		json_object_set_new(top, key, rows);
		put_json(top);
	} else {
		json_decref(rows);
	}
	if (!found) {
		fputs("gate: ", stderr);
		gate_put_escaped(stderr, la->args[0]);
		fputs(": not in the ledger\n", stderr);
		return GATE_EXIT_DENY;
	}
	return GATE_EXIT_OK;
}

/* ---- list ---- */

struct out_ctx {
	enum gate_format fmt;
	json_t *arr;
};

static void list_row(void *ctx, const struct gate_ledger_pkg *p)
{
	struct out_ctx *o = ctx;
	char t[32];
	if (o->fmt == GATE_FMT_JSON) {
		json_array_append_new(o->arr, pkg_json(p, false));
		return;
	}
	gate_cli_time(p->time, t, sizeof t);
	gate_put_escaped(stdout, p->name);
	putchar(' ');
	gate_put_escaped(stdout, p->version);
	putchar(' ');
	gate_put_escaped(stdout, p->arch);
	printf("  %zu file%s  rule=", p->nfiles, p->nfiles == 1 ? "" : "s");
	gate_put_escaped(stdout, p->rule ? p->rule : "-");
	printf("  %s  source=%s\n", t, gate_ledger_source_name(p->source));
}

static int cmd_list(struct gate_ledger *l, const struct ledger_args *la)
{
	struct out_ctx o = {.fmt = la->fmt, .arr = json_array()};
	struct gate_error e = {0};
	if (la->nargs != 0) {
		json_decref(o.arr);
		return usage_error("list takes no arguments");
	}
	if (gate_ledger_list(l, list_row, &o, &e) != GATE_OK) {
		json_decref(o.arr);
		return db_error(&e);
	}
	if (la->fmt == GATE_FMT_JSON) {
		json_t *top = json_object();
		json_object_set_new(top, "packages", o.arr);
		put_json(top);
	} else {
		json_decref(o.arr);
	}
	return GATE_EXIT_OK;
}

/* ---- show ---- */

static void show_row(void *ctx, const struct gate_ledger_pkg *p)
{
	struct out_ctx *o = ctx;
	char t[32];
	if (o->fmt == GATE_FMT_JSON) {
		json_array_append_new(o->arr, pkg_json(p, true));
		return;
	}
	gate_cli_time(p->time, t, sizeof t);
	put_field("package", p->name);
	put_field("version", p->version);
	put_field("architecture", p->arch);
	if (p->deb_sha256[0])
		printf("deb: sha256:%s\n", p->deb_sha256);
	else
		puts("deb: -");
	printf("source: %s\n", gate_ledger_source_name(p->source));
	put_field("rule", p->rule);
	put_field("signers", p->signers);
	put_field("origin", p->origin);
	printf("recorded: %s\nfiles: %zu\n", t, p->nfiles);
	for (size_t i = 0; i < p->nfiles; i++) {
		printf("  sha256:%s %10llu ", p->files[i].sha256,
		       (unsigned long long)p->files[i].size);
		gate_put_escaped(stdout, p->files[i].path);
		if (p->files[i].state != GATE_FILE_OK)
			printf(" [%s]", gate_ledger_state_name(p->files[i].state));
		putchar('\n');
	}
}

static int cmd_show(struct gate_ledger *l, const struct ledger_args *la)
{
	struct out_ctx o = {.fmt = la->fmt};
	struct gate_error e = {0};
	size_t found = 0;
	if (la->nargs != 1)
		return usage_error("show takes one package name");
	o.arr = json_array();
	if (gate_ledger_show(l, la->args[0], show_row, &o, &found, &e) != GATE_OK) {
		json_decref(o.arr);
		return db_error(&e);
	}
	return query_done(la, "packages", o.arr, found);
}

/* ---- lookup ---- */

static void lookup_row(void *ctx, const struct gate_ledger_pkg *p, const struct gate_ledger_file *f)
{
	struct out_ctx *o = ctx;
	if (o->fmt == GATE_FMT_JSON) {
		json_array_append_new(o->arr, file_json(p, f));
		return;
	}
	gate_put_escaped(stdout, f->path);
	printf(" sha256:%s ", f->sha256);
	gate_put_escaped(stdout, p->name);
	putchar(' ');
	gate_put_escaped(stdout, p->version);
	putchar(' ');
	gate_put_escaped(stdout, p->arch);
	if (f->state != GATE_FILE_OK || p->source != GATE_LEDGER_INSTALL)
		printf(" [%s, %s]", gate_ledger_state_name(f->state),
		       gate_ledger_source_name(p->source));
	putchar('\n');
}

static int cmd_lookup(struct gate_ledger *l, const struct ledger_args *la)
{
	struct out_ctx o = {.fmt = la->fmt};
	struct gate_error e = {0};
	size_t found = 0;
	enum gate_err rc;
	if (la->nargs != 1)
		return usage_error("lookup takes one absolute path or sha256 digest");
	o.arr = json_array();
	if ((rc = gate_ledger_lookup(l, la->args[0], lookup_row, &o, &found, &e)) != GATE_OK) {
		json_decref(o.arr);
		if (rc == GATE_E_USAGE)
			return usage_error(e.msg);
		return db_error(&e);
	}
	return query_done(la, "files", o.arr, found);
}

/* ---- verify ---- */

static void verify_row(void *ctx, const struct gate_ledger_pkg *p, const struct gate_ledger_file *f,
		       const char *status)
{
	struct out_ctx *o = ctx;
	if (o->fmt == GATE_FMT_JSON) {
		json_t *j = file_json(p, f);
		json_object_set_new(j, "status", json_string(status));
		json_array_append_new(o->arr, j);
		return;
	}
	printf("%s: ", status);
	gate_put_escaped(stdout, f->path);
	fputs(" (", stdout);
	gate_put_escaped(stdout, p->name);
	putchar(' ');
	gate_put_escaped(stdout, p->version);
	puts(")");
}

static int cmd_verify(struct gate_ledger *l, const struct ledger_args *la)
{
	struct out_ctx o = {.fmt = la->fmt, .arr = json_array()};
	struct gate_error e = {0};
	size_t checked = 0, bad = 0;
	char root[4096];
	/* Another system's files against this ledger would prove nothing. */
	enum gate_err rc = gate_ledger_canon_root(la->root, root, &e);
	if (rc == GATE_OK)
		rc = gate_ledger_check_root(l, root, &e);
	if (rc == GATE_OK)
		rc = gate_ledger_check(l, &e);
	if (rc == GATE_OK)
		rc = gate_ledger_verify(l, la->root, (const char *const *)la->args,
					(size_t)la->nargs, verify_row, &o, &checked, &bad, &e);
	if (rc != GATE_OK) {
		json_decref(o.arr);
		if (rc == GATE_E_USAGE)
			return usage_error(e.msg);
		return db_error(&e);
	}
	if (la->fmt == GATE_FMT_JSON) {
		json_t *top = json_object();
		json_object_set_new(top, "root", json_string(la->root ? la->root : "/"));
		json_object_set_new(top, "checked", json_integer((json_int_t)checked));
		json_object_set_new(top, "problems", o.arr);
		json_object_set_new(top, "ok", json_boolean(bad == 0));
		put_json(top);
	} else {
		json_decref(o.arr);
		printf("%zu file%s checked, %zu problem%s\n", checked, checked == 1 ? "" : "s", bad,
		       bad == 1 ? "" : "s");
	}
	return bad ? GATE_EXIT_DENY : GATE_EXIT_OK;
}

/* ---- record-deb ---- */

static int cmd_record_deb(struct gate_ledger *l, const struct ledger_args *la)
{
	struct gate_ledger_pkg *pkgs = NULL;
	struct gate_error e = {0};
	int code = GATE_EXIT_OK;
	size_t n = 0;
	if (la->nargs < 1)
		return usage_error("record-deb takes one or more .deb files");
	if (!(pkgs = calloc((size_t)la->nargs, sizeof(*pkgs)))) {
		fputs("gate: out of memory\n", stderr);
		return GATE_EXIT_USAGE;
	}
	int64_t now = (int64_t)time(NULL);
	for (; n < (size_t)la->nargs; n++) {
		const char *path = la->args[n];
		if (gate_deb_read(path, -1, &pkgs[n], &e) != GATE_OK) {
			gate_cli_print_error(NULL, &e);
			code = GATE_EXIT_USAGE;
			goto out;
		}
		pkgs[n].time = now;
		if ((la->rule && !(pkgs[n].rule = strdup(la->rule))) ||
		    !(pkgs[n].origin = strdup(path))) {
			n++;
			fputs("gate: out of memory\n", stderr);
			code = GATE_EXIT_USAGE;
			goto out;
		}
	}
	if (gate_ledger_record(l, pkgs, n, &e) != GATE_OK) {
		code = db_error(&e);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		fputs("recorded ", stdout);
		gate_put_escaped(stdout, pkgs[i].name);
		putchar(' ');
		gate_put_escaped(stdout, pkgs[i].version);
		putchar(' ');
		gate_put_escaped(stdout, pkgs[i].arch);
		printf(" (%zu file%s) sha256:%s\n", pkgs[i].nfiles, pkgs[i].nfiles == 1 ? "" : "s",
		       pkgs[i].deb_sha256);
	}
out:
	for (size_t i = 0; i < n; i++)
		gate_ledger_pkg_clear(&pkgs[i]);
	free(pkgs);
	return code;
}

/* ---- import ---- */

struct import_out {
	const struct ledger_args *la;
	json_t *events;
	bool tty, progress_shown;
};

static void import_event(void *ctx, const struct gate_import_event *ev)
{
	struct import_out *o = ctx;
	if (!ev->recorded || strcmp(ev->what, "config") != 0 || o->la->verbose) {
		if (o->la->fmt == GATE_FMT_JSON) {
			json_t *j = json_object();
			json_object_set_new(j, "package", json_string(ev->package));
			json_object_set_new(j, "version", json_string(ev->version));
			json_object_set_new(j, "architecture", json_string(ev->arch));
			json_object_set_new(j, "path", str_or_null(ev->path));
			json_object_set_new(j, "recorded", json_boolean(ev->recorded));
			json_object_set_new(j, "status", json_string(ev->what));
			json_object_set_new(j, "detail", json_string(ev->detail));
			json_array_append_new(o->events, j);
			return;
		}
		if (o->progress_shown) {
			fputs("\r\033[K", stderr);
			o->progress_shown = false;
		}
		printf("%s: ", ev->what);
		gate_put_escaped(stdout, ev->path ? ev->path : ev->package);
		fputs(" (", stdout);
		gate_put_escaped(stdout, ev->package);
		putchar(' ');
		gate_put_escaped(stdout, ev->version);
		putchar(')');
		if (ev->detail[0]) {
			fputs(": ", stdout);
			gate_put_escaped(stdout, ev->detail);
		}
		putchar('\n');
	}
}

static void import_progress(void *ctx, const struct gate_import_stats *st)
{
	struct import_out *o = ctx;
	if (!o->tty)
		return;
	size_t width = 30, fill = st->packages ? st->done * width / st->packages : width;
	char bar[32];
	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = '\0';
	fflush(stdout);
	fprintf(stderr, "\r\033[K[%s] %zu/%zu packages, %zu files, %.1f MiB", bar, st->done,
		st->packages, st->files, (double)st->bytes / (1024.0 * 1024.0));
	o->progress_shown = true;
}

static int cmd_import(struct gate_ledger *l, const struct ledger_args *la)
{
	struct import_out o = {.la = la, .events = json_array()};
	struct gate_import_stats st;
	struct gate_error e = {0};
	struct gate_policy *pol = NULL;
	struct timespec t0, t1;
	int64_t now = 0;
	int code = GATE_EXIT_USAGE;
	if (strcmp(la->args[0], "dpkg") != 0) {
		json_decref(o.events);
		return usage_error("import knows one package database: dpkg");
	}
	if (!gate_cli_now(la->time, &now)) {
		json_decref(o.events);
		return usage_error("--current-time / GATE_TIME must be RFC 3339");
	}
	if (!(pol = gate_cli_load_policy(la->policy)))
		goto out;
	/* Archives whose lists the policy does not name: apt's default
	 * place, under --root. */
	for (size_t i = 0; la->root && i < pol->napts; i++) {
		size_t n = strlen(la->root) + sizeof "/var/lib/apt/lists";
		if (!pol->apts[i].lists && (pol->apts[i].lists = malloc(n)))
			snprintf(pol->apts[i].lists, n, "%s/var/lib/apt/lists", la->root);
		if (!pol->apts[i].lists) {
			fputs("gate: out of memory\n", stderr);
			goto out;
		}
	}
	o.tty = la->fmt == GATE_FMT_TEXT && isatty(STDERR_FILENO);
	struct gate_import_opts opts = {
		.root = la->root,
		.admindir = la->admindir,
		.policy = pol,
		.now = now,
		.jobs = la->jobs,
		.force = la->force,
		.debs = la->debs,
		.only = (const char *const *)la->args + 1,
		.nonly = (size_t)la->nargs - 1,
		.event = import_event,
		.progress = import_progress,
		.ctx = &o,
	};
	char root[4096], admindir[4096];
	enum gate_err rc = gate_ledger_canon_root(la->root, root, &e);
	if (rc == GATE_OK)
		rc = gate_ledger_canon_admindir(root, la->admindir, admindir, &e);
	if (rc == GATE_OK)
		rc = gate_ledger_bind_root(l, root, admindir, &e);
	if (rc != GATE_OK) {
		fprintf(stderr, "gate ledger import: %s\n", e.msg);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = gate_import_dpkg(l, &opts, &st, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (o.progress_shown)
		fputs("\r\033[K", stderr);
	if (rc != GATE_OK) {
		gate_cli_print_error(NULL, &e);
		fprintf(stderr, "gate: import stopped; %zu package%s recorded so far are kept\n",
			st.imported, st.imported == 1 ? "" : "s");
		code = gate_cli_exit_for(rc) == GATE_EXIT_DENY ? GATE_EXIT_DENY : GATE_EXIT_USAGE;
		goto out;
	}
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (la->fmt == GATE_FMT_JSON) {
		json_t *top = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
			"packages", (json_int_t)st.packages, "imported", (json_int_t)st.imported,
			"skipped", (json_int_t)st.skipped, "archive", (json_int_t)st.archive,
			"files", (json_int_t)st.files, "ok", (json_int_t)st.ok, "config",
			(json_int_t)st.config, "changed", (json_int_t)st.changed, "unverified",
			(json_int_t)st.unverified, "problems", (json_int_t)st.problems, "links",
			(json_int_t)st.links, "dirs", (json_int_t)st.dirs, "bytes",
			(json_int_t)st.bytes, "forgotten", (json_int_t)st.forgotten, "deb_checked",
			(json_int_t)st.deb_checked, "seconds", secs);
		if (top) {
			json_object_set(top, "events", o.events);
			put_json(top);
		}
	} else {
		printf("%zu package%s installed: %zu imported (%zu vouched for by an archive, "
		       "%zu dpkg only), %zu already recorded\n",
		       st.packages, st.packages == 1 ? "" : "s", st.imported, st.archive,
		       st.imported - st.archive, st.skipped);
		if (la->debs)
			printf("%zu package%s checked file by file against their .deb in %s\n",
			       st.deb_checked, st.deb_checked == 1 ? "" : "s", la->debs);
		printf("%zu files recorded (%.1f MiB): %zu as shipped, %zu config, %zu changed, "
		       "%zu without a dpkg md5sum\n",
		       st.files, (double)st.bytes / (1024.0 * 1024.0), st.ok, st.config, st.changed,
		       st.unverified);
		printf("%zu listed file%s not recorded (reasons above); %zu links and %zu "
		       "directories not hashed; %.1f s\n",
		       st.problems, st.problems == 1 ? "" : "s", st.links, st.dirs, secs);
		if (st.forgotten)
			printf("%zu package%s no longer installed forgotten\n", st.forgotten,
			       st.forgotten == 1 ? "" : "s");
	}
	code = st.problems || st.changed ? GATE_EXIT_DENY : GATE_EXIT_OK;
out:
	json_decref(o.events);
	gate_policy_free(pol);
	return code;
}

int gate_cmd_ledger(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct gate_ledger *, const struct ledger_args *);
		bool write;
		int min, max; /* arguments; max -1: any */
	} cmds[] = {
		{"list", cmd_list, false, 0, 0},
		{"show", cmd_show, false, 1, 1},
		{"lookup", cmd_lookup, false, 1, 1},
		{"verify", cmd_verify, false, 0, -1},
		{"record-deb", cmd_record_deb, true, 1, -1},
		{"import", cmd_import, true, 1, -1},
	};
	struct ledger_args la = {0};
	struct gate_ledger *l = NULL;
	struct gate_error e = {0};
	int code = parse_args(argc, argv, &la);
	if (code >= 0)
		return code;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(la.cmd, cmds[i].name) != 0)
			continue;
		/* Before opening: a usage error must not create a ledger. */
		if (la.nargs < cmds[i].min || (cmds[i].max >= 0 && la.nargs > cmds[i].max))
			return usage_error(cmds[i].max == 0   ? "this command takes no arguments"
					   : cmds[i].max == 1 ? "this command takes one argument"
							      : "this command needs arguments");
		if (gate_ledger_open(la.db, !cmds[i].write, &l, &e) != GATE_OK)
			return db_error(&e);
		code = cmds[i].fn(l, &la);
		gate_ledger_close(l);
		return code;
	}
	fputs("gate ledger: unknown command '", stderr);
	gate_put_escaped(stderr, la.cmd);
	fputs("'\n(see 'gate ledger --help')\n", stderr);
	return GATE_EXIT_USAGE;
}
