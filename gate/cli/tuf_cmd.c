/* tuf_cmd.c - `gate tuf`: a TUF client on the command line, speaking the
 * tuf-conformance client protocol (spec/TUF.md §6):
 *
 *   gate tuf --metadata-dir D init ROOT_FILE
 *   gate tuf --metadata-url MU --metadata-dir D refresh
 *   gate tuf --metadata-url MU --metadata-dir D --target-name T [...]
 *            --target-dir TD --target-base-url TU download
 *
 * Options come before the sub-command. Exit 0 on success, 1 on any failure
 * of the workflow (the protocol's codes), 2 on a usage error. "now" is
 * $GATE_TIME (RFC 3339) when set, else time() through libc (so libfaketime
 * works). */
#include "cli.h"
#include "tuf_trust.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char tuf_usage[] =
	"usage: gate tuf [options] init ROOT_FILE | refresh | download\n"
	"       gate tuf repo init|add|sign ...   (publish a repository; see\n"
	"                                          'gate tuf repo --help')\n"
	"\n"
	"A TUF client (The Update Framework, spec 1.0): keeps verified metadata in\n"
	"a directory and downloads verified targets.\n"
	"\n"
	"  --metadata-dir D       trusted metadata (root.json, ...) (required)\n"
	"  --metadata-url MU      repository metadata URL (http, https, file);\n"
	"                         without it refresh/download only verify the\n"
	"                         cached metadata, offline\n"
	"  --target-dir TD        where downloaded targets are stored\n"
	"  --target-base-url TU   repository targets URL\n"
	"  --target-name T        target path to download (repeatable, in order)\n"
	"\n"
	"  init ROOT_FILE   trust ROOT_FILE (must be signed by its own root keys)\n"
	"  refresh          update root, timestamp, snapshot and targets\n"
	"  download         refresh, then find and download every --target-name\n"
	"\n"
	"The reference time is $GATE_TIME (RFC 3339) when set, else the clock.\n"
	"GATE_TUF_CONNECT_TIMEOUT, GATE_TUF_LOW_SPEED_LIMIT, GATE_TUF_LOW_SPEED_TIME\n"
	"and GATE_TUF_TIMEOUT override the fetcher's limits (seconds, bytes/s).\n"
	"Exit: 0 success, 1 failure, 2 usage error.\n";

enum { OPT_MDIR = 256, OPT_MURL, OPT_TDIR, OPT_TURL, OPT_TNAME };

static const struct option tuf_opts[] = {
	{"metadata-dir", required_argument, NULL, OPT_MDIR},
	{"metadata-url", required_argument, NULL, OPT_MURL},
	{"target-dir", required_argument, NULL, OPT_TDIR},
	{"target-base-url", required_argument, NULL, OPT_TURL},
	{"target-name", required_argument, NULL, OPT_TNAME},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct tuf_args {
	const char *mdir, *murl, *tdir, *turl;
	const char **names;
	size_t nnames;
	int64_t now;
};

static int tuf_usage_error(const char *msg)
{
	fprintf(stderr, "gate tuf: %s\n(see 'gate tuf --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static int fail(const char *what, const struct gate_error *e)
{
	gate_cli_print_error(what, e);
	return GATE_EXIT_DENY;
}

static int cmd_init(const struct tuf_args *a, const char *root_file)
{
	struct gate_error e = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(root_file, GATE_TUF_ROOT_MAX_LEN, &buf, &len, &e);
	if (rc == GATE_OK)
		rc = gate_tuf_init(a->mdir, buf, len, &e);
	free(buf);
	if (rc != GATE_OK)
		return fail(root_file, &e);
	printf("trusted root installed in ");
	gate_put_escaped(stdout, a->mdir);
	putchar('\n');
	return GATE_EXIT_OK;
}

static void print_versions(const struct gate_tuf_updater *u)
{
	printf("root v%lld, timestamp v%lld, snapshot v%lld, targets v%lld\n",
	       (long long)gate_tuf_trusted_version(u, GATE_TUF_ROOT),
	       (long long)gate_tuf_trusted_version(u, GATE_TUF_TIMESTAMP),
	       (long long)gate_tuf_trusted_version(u, GATE_TUF_SNAPSHOT),
	       (long long)gate_tuf_trusted_version(u, GATE_TUF_TARGETS));
}

static int download_one(struct gate_tuf_updater *u, const struct tuf_args *a, const char *name)
{
	struct gate_error e = {0};
	const struct gate_tuf_target *t = NULL;
	char *path = NULL;
	bool fetched = false;
	enum gate_err rc = gate_tuf_find_target(u, name, &t, &e);
	if (rc != GATE_OK)
		return fail(name, &e);
	if (!t) {
		fputs("gate: ", stderr);
		gate_put_escaped(stderr, name);
		fputs(": no such target in the trusted metadata [T22]\n", stderr);
		return GATE_EXIT_DENY;
	}
	if (mkdir(a->tdir, 0755) != 0 && errno != EEXIST) {
		fputs("gate: cannot create ", stderr);
		gate_put_escaped(stderr, a->tdir);
		fprintf(stderr, ": %s\n", strerror(errno));
		return GATE_EXIT_DENY;
	}
	if ((rc = gate_tuf_download_target(u, t, a->tdir, &path, &fetched, &e)) != GATE_OK)
		return fail(name, &e);
	gate_put_escaped(stdout, name);
	fputs(fetched ? " downloaded to " : " already present in ", stdout);
	gate_put_escaped(stdout, path);
	putchar('\n');
	free(path);
	return GATE_EXIT_OK;
}

static int cmd_update(const struct tuf_args *a, bool download)
{
	struct gate_error e = {0};
	struct gate_tuf_updater *u = NULL;
	int ret = GATE_EXIT_OK;
	struct gate_tuf_caps caps;
	gate_tuf_caps_env(&caps); /* defaults, or GATE_TUF_* for tests */
	enum gate_err rc = gate_tuf_updater_new(a->mdir, a->murl, a->turl, a->now, &caps, &u, &e);
	if (rc == GATE_OK)
		rc = gate_tuf_refresh(u, &e);
	if (rc != GATE_OK) {
		ret = fail(a->mdir, &e);
		goto out;
	}
	print_versions(u);
	/* In argument order, one updater; the first failure stops. */
	for (size_t i = 0; download && i < a->nnames && ret == GATE_EXIT_OK; i++)
		ret = download_one(u, a, a->names[i]);
out:
	gate_tuf_updater_free(u);
	return ret;
}

/* Returns -1 when parsing went fine, else an exit code. */
static int parse(int argc, char **argv, struct tuf_args *a)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", tuf_opts, NULL)) != -1) {
		switch (c) {
		case OPT_MDIR:
			a->mdir = optarg;
			break;
		case OPT_MURL:
			a->murl = optarg;
			break;
		case OPT_TDIR:
			a->tdir = optarg;
			break;
		case OPT_TURL:
			a->turl = optarg;
			break;
		case OPT_TNAME:
			a->names[a->nnames++] = optarg;
			break;
		case 'h':
			fputs(tuf_usage, stdout);
			return GATE_EXIT_OK;
		default:
			return tuf_usage_error("unknown option or missing value");
		}
	}
	if (!a->mdir)
		return tuf_usage_error("--metadata-dir is required");
	if (!gate_cli_now(NULL, &a->now))
		return tuf_usage_error("GATE_TIME is not an RFC 3339 time");
	return -1;
}

int gate_cmd_tuf(int argc, char **argv)
{
	struct tuf_args a = {0};
	int ret;
	/* The publishing side: gate/cli/tuf_repo_cmd.c. */
	if (argc > 1 && strcmp(argv[1], "repo") == 0)
		return gate_cmd_tuf_repo(argc - 1, argv + 1);
	/* Every --target-name fits: at most one per argument. */
	if (!(a.names = calloc((size_t)argc + 1, sizeof(*a.names)))) {
		fputs("gate tuf: out of memory\n", stderr);
		return GATE_EXIT_DENY;
	}
	if ((ret = parse(argc, argv, &a)) >= 0)
		goto out;
	const char *sub = optind < argc ? argv[optind] : NULL;
	int rest = argc - optind - 1;
	if (!sub) {
		ret = tuf_usage_error("missing sub-command (init, refresh or download)");
	} else if (strcmp(sub, "init") == 0) {
		ret = rest == 1 ? cmd_init(&a, argv[optind + 1])
				: tuf_usage_error("init takes exactly one ROOT_FILE");
	} else if (strcmp(sub, "refresh") == 0) {
		ret = rest == 0 ? cmd_update(&a, false)
				: tuf_usage_error("refresh takes no arguments");
	} else if (strcmp(sub, "download") == 0) {
		if (rest != 0)
			ret = tuf_usage_error("download takes no arguments (use --target-name)");
		else if (!a.tdir || a.nnames == 0)
			ret = tuf_usage_error("download needs --target-dir and --target-name");
		else
			ret = cmd_update(&a, true);
	} else {
		ret = tuf_usage_error("unknown sub-command (init, refresh or download)");
	}
out:
	free(a.names);
	return ret;
}
