/* tuf_repo_cmd.c - `gate tuf repo init|add|sign`: publish a static TUF
 * repository (gate/tuf/tuf_repo.h) from a directory of files, e.g. an
 * allowlist for `trust.tuf` in the policy. */
#include "cli.h"
#include "policy.h"
#include "tuf_repo.h"
#include "tuf_trust.h"

#include <fts.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define REPO_MAX_FILES 100000

static const char repo_usage[] =
	"usage: gate tuf repo init --repo DIR --key ROLE=PEM... [--threshold ROLE=N]...\n"
	"                          [--expires ROLE=WHEN]... [--consistent-snapshot]\n"
	"       gate tuf repo add  --repo DIR --key ROLE=PEM... [--expires ROLE=WHEN]...\n"
	"                          [--from SRCDIR] [--prefix P] [FILE[=PATH]]...\n"
	"       gate tuf repo sign --repo DIR --key ROLE=PEM... [--set-key ROLE=PEM]...\n"
	"                          [--threshold ROLE=N]... [--expires ROLE=WHEN]... ROLE...\n"
	"\n"
	"Publish a static TUF repository: DIR/metadata/ (serve as the metadata URL)\n"
	"and DIR/targets/ (the targets URL). ROLE is root, timestamp, snapshot or\n"
	"targets. Keys: Ed25519 or ECDSA P-256 PEM files ('gate keygen --alg\n"
	"ed25519', 'openssl genpkey'); private keys sign, and stay outside DIR.\n"
	"\n"
	"init   root v1 with the keys given per role (--key may repeat a role, and\n"
	"       a public key there adds a key without signing), thresholds\n"
	"       (default 1), and empty targets, snapshot and timestamp.\n"
	"add    publish FILE as target PATH (default: its name under --prefix),\n"
	"       every regular file of SRCDIR as its relative path; then new\n"
	"       targets, snapshot and timestamp versions.\n"
	"sign   new versions of the ROLEs (and of every role above: targets ->\n"
	"       snapshot -> timestamp), e.g. 'sign timestamp' from a timer to keep\n"
	"       it fresh. 'sign root' makes root N+1 signed by the threshold of the\n"
	"       old AND the new root keys; --set-key ROLE=PEM (repeatable) replaces\n"
	"       ROLE's keys there (rotation: the old keys are revoked), --threshold\n"
	"       changes a role's threshold.\n"
	"\n"
	"  --expires ROLE=WHEN  a duration from now (90d, 12h) or an RFC 3339 time;\n"
	"                       defaults root 365d, targets 90d, snapshot 7d,\n"
	"                       timestamp 1d\n"
	"  --passphrase-env VAR the passphrase of encrypted keys\n"
	"\n"
	"The reference time is $GATE_TIME (RFC 3339) when set, else the clock.\n"
	"Exit: 0 success, 1 failure, 2 usage error.\n";

enum {
	OPT_REPO = 256,
	OPT_KEY,
	OPT_SETKEY,
	OPT_TH,
	OPT_EXP,
	OPT_CS,
	OPT_FROM,
	OPT_PREFIX,
	OPT_PASS
};

static const struct option repo_opts[] = {
	{"repo", required_argument, NULL, OPT_REPO},
	{"key", required_argument, NULL, OPT_KEY},
	{"set-key", required_argument, NULL, OPT_SETKEY},
	{"threshold", required_argument, NULL, OPT_TH},
	{"expires", required_argument, NULL, OPT_EXP},
	{"consistent-snapshot", no_argument, NULL, OPT_CS},
	{"from", required_argument, NULL, OPT_FROM},
	{"prefix", required_argument, NULL, OPT_PREFIX},
	{"passphrase-env", required_argument, NULL, OPT_PASS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct repo_args {
	struct gate_tuf_repo_params p;
	const char *from, *prefix, *pass_env;
	struct gate_tuf_rkey *owned[2 * GATE_TUF_REPO_MAX_KEYS];
	size_t nowned;
	bool is_init;
};

static int repo_usage_error(const char *msg)
{
	fprintf(stderr, "gate tuf repo: %s\n(see 'gate tuf repo --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static bool role_of(const char *s, size_t n, enum gate_tuf_type *out)
{
	for (int t = 0; t < GATE_TUF_NTYPES; t++) {
		const char *name = gate_tuf_type_name((enum gate_tuf_type)t);
		if (strlen(name) == n && strncmp(s, name, n) == 0) {
			*out = (enum gate_tuf_type)t;
			return true;
		}
	}
	return false;
}

/* "ROLE=VALUE": the role and a pointer to VALUE. */
static const char *role_value(const char *arg, enum gate_tuf_type *role)
{
	const char *eq = strchr(arg, '=');
	if (!eq || !eq[1] || !role_of(arg, (size_t)(eq - arg), role))
		return NULL;
	return eq + 1;
}

static int add_key(struct repo_args *a, const char *arg, bool set)
{
	enum gate_tuf_type role;
	const char *file = role_value(arg, &role);
	struct gate_error e = {0};
	struct gate_tuf_rkey *k = NULL;
	const char *pass = a->pass_env ? getenv(a->pass_env) : NULL;
	size_t *n = set ? &a->p.nset_keys : &a->p.nkeys;
	if (!file)
		return repo_usage_error("a key is ROLE=PEM with ROLE root, timestamp, snapshot or "
					"targets");
	if (*n >= GATE_TUF_REPO_MAX_KEYS)
		return repo_usage_error("too many keys");
	if (gate_tuf_rkey_load(file, pass, true, &k, &e) != GATE_OK) {
		gate_cli_print_error(file, &e);
		return GATE_EXIT_USAGE;
	}
	a->owned[a->nowned++] = k;
	struct gate_tuf_repo_key *slot = set ? &a->p.set_keys[*n] : &a->p.keys[*n];
	slot->role = role;
	slot->key = k;
	(*n)++;
	return -1;
}

static int parse_threshold(struct repo_args *a, const char *arg)
{
	enum gate_tuf_type role;
	const char *v = role_value(arg, &role);
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || *end || n < 1 || n > GATE_TUF_REPO_MAX_KEYS)
		return repo_usage_error("--threshold is ROLE=N with N from 1 to 64");
	a->p.threshold[role] = n;
	return -1;
}

static int parse_expires(struct repo_args *a, const char *arg)
{
	enum gate_tuf_type role;
	const char *v = role_value(arg, &role);
	int64_t d = 0, t = 0;
	if (v && gate_parse_duration(v, &d))
		t = gate_tuf_now(a->p.now) + d;
	else if (!v || !gate_parse_rfc3339(v, &t))
		return repo_usage_error("--expires is ROLE=90d or ROLE=2027-01-01T00:00:00Z");
	a->p.expires[role] = t;
	return -1;
}

static int parse(int argc, char **argv, struct repo_args *a)
{
	int c, r;
	optind = 1;
	opterr = 0;
	/* The passphrase must be known before keys load. */
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--passphrase-env") == 0)
			a->pass_env = argv[i + 1];
	if (!gate_cli_now(NULL, &a->p.now))
		return repo_usage_error("GATE_TIME is not an RFC 3339 time");
	while ((c = getopt_long(argc, argv, "h", repo_opts, NULL)) != -1) {
		r = -1;
		switch (c) {
		case OPT_REPO:
			a->p.dir = optarg;
			break;
		case OPT_KEY:
			r = add_key(a, optarg, false);
			break;
		case OPT_SETKEY:
			r = add_key(a, optarg, true);
			break;
		case OPT_TH:
			r = parse_threshold(a, optarg);
			break;
		case OPT_EXP:
			r = parse_expires(a, optarg);
			break;
		case OPT_CS:
			a->p.consistent_snapshot = true;
			break;
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_PREFIX:
			a->prefix = optarg;
			break;
		case OPT_PASS:
			break;
		case 'h':
			fputs(repo_usage, stdout);
			return GATE_EXIT_OK;
		default:
			return repo_usage_error("unknown option or missing value");
		}
		if (r >= 0)
			return r;
	}
	if (!a->p.dir)
		return repo_usage_error("--repo DIR is required");
	return -1;
}

/* ---- add: the list of files ---- */

struct flist {
	char **file, **path;
	size_t n;
	const char *prefix;
};

static bool flist_add(struct flist *l, const char *file, const char *path)
{
	char **nf, **np;
	if (l->n >= REPO_MAX_FILES)
		return false;
	if (!(nf = realloc(l->file, (l->n + 1) * sizeof(char *))))
		return false;
	l->file = nf;
	if (!(np = realloc(l->path, (l->n + 1) * sizeof(char *))))
		return false;
	l->path = np;
	l->file[l->n] = strdup(file);
	if (asprintf(&l->path[l->n], "%s%s", l->prefix ? l->prefix : "", path) < 0)
		l->path[l->n] = NULL;
	if (!l->file[l->n] || !l->path[l->n]) {
		free(l->file[l->n]);
		free(l->path[l->n]);
		return false;
	}
	l->n++;
	return true;
}

/* Every regular file under base, symbolic links neither followed nor
 * published. */
static bool flist_walk(struct flist *l, const char *base)
{
	char *const roots[] = {(char *)base, NULL};
	FTS *f = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	FTSENT *e;
	bool ok = f != NULL;
	while (ok && (e = fts_read(f))) {
		if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR || e->fts_info == FTS_NS)
			ok = false;
		else if (e->fts_info == FTS_F) {
			const char *rel = e->fts_path + strlen(base);
			while (*rel == '/')
				rel++;
			ok = flist_add(l, e->fts_path, rel);
		}
	}
	if (f && fts_close(f) != 0)
		ok = false;
	return ok;
}

static void flist_free(struct flist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->file[i]);
		free(l->path[i]);
	}
	free(l->file);
	free(l->path);
}

static int cmd_add(struct repo_args *a, int argc, char **argv, int first)
{
	struct flist l = {.prefix = a->prefix};
	struct gate_error e = {0};
	int ret = GATE_EXIT_OK;
	for (int i = first; i < argc; i++) {
		char *arg = argv[i], *eq = strchr(arg, '=');
		char *file = eq ? strndup(arg, (size_t)(eq - arg)) : strdup(arg);
		const char *name = eq ? eq + 1 : strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
		bool ok = file && flist_add(&l, file, name);
		free(file);
		if (!ok) {
			ret = repo_usage_error("too many files, or out of memory");
			goto out;
		}
	}
	if (a->from) {
		if (!flist_walk(&l, a->from)) {
			fprintf(stderr, "gate tuf repo: cannot read every file under %s\n",
				a->from);
			ret = GATE_EXIT_DENY;
			goto out;
		}
	}
	if (l.n == 0) {
		ret = repo_usage_error("add needs FILE arguments or --from SRCDIR");
		goto out;
	}
	if (gate_tuf_repo_add(&a->p, (const char *const *)l.file, (const char *const *)l.path, l.n,
			      &e) != GATE_OK) {
		gate_cli_print_error(a->p.dir, &e);
		ret = gate_cli_exit_for(e.code) == GATE_EXIT_USAGE ? GATE_EXIT_USAGE
								   : GATE_EXIT_DENY;
		goto out;
	}
	printf("%zu target%s published in ", l.n, l.n == 1 ? "" : "s");
	gate_put_escaped(stdout, a->p.dir);
	putchar('\n');
out:
	flist_free(&l);
	return ret;
}

static int cmd_sign(struct repo_args *a, int argc, char **argv, int first)
{
	unsigned roles = 0;
	struct gate_error e = {0};
	for (int i = first; i < argc; i++) {
		enum gate_tuf_type t;
		if (!role_of(argv[i], strlen(argv[i]), &t))
			return repo_usage_error(
				"sign takes roles: root, timestamp, snapshot, targets");
		roles |= 1u << t;
	}
	if (!roles)
		return repo_usage_error("sign needs at least one ROLE");
	if (gate_tuf_repo_sign(&a->p, roles, &e) != GATE_OK) {
		gate_cli_print_error(a->p.dir, &e);
		return e.code == GATE_E_USAGE ? GATE_EXIT_USAGE : GATE_EXIT_DENY;
	}
	puts("signed");
	return GATE_EXIT_OK;
}

int gate_cmd_tuf_repo(int argc, char **argv)
{
	struct repo_args a = {0};
	struct gate_error e = {0};
	int ret = parse(argc, argv, &a);
	if (ret >= 0)
		goto out;
	const char *sub = optind < argc ? argv[optind] : NULL;
	if (!sub) {
		ret = repo_usage_error("missing sub-command (init, add or sign)");
	} else if (strcmp(sub, "init") == 0) {
		if (optind + 1 != argc || a.from || a.prefix || a.p.nset_keys) {
			ret = repo_usage_error("init takes --key, --threshold, --expires and "
					       "--consistent-snapshot only");
		} else if (gate_tuf_repo_init(&a.p, &e) != GATE_OK) {
			gate_cli_print_error(a.p.dir, &e);
			ret = e.code == GATE_E_USAGE ? GATE_EXIT_USAGE : GATE_EXIT_DENY;
		} else {
			fputs("TUF repository created in ", stdout);
			gate_put_escaped(stdout, a.p.dir);
			puts("/metadata (root.json is the root to give clients)");
			ret = GATE_EXIT_OK;
		}
	} else if (strcmp(sub, "add") == 0) {
		ret = a.p.nset_keys || a.p.consistent_snapshot
			      ? repo_usage_error(
					"--set-key and --consistent-snapshot do not go with add")
			      : cmd_add(&a, argc, argv, optind + 1);
	} else if (strcmp(sub, "sign") == 0) {
		ret = a.from || a.prefix || a.p.consistent_snapshot
			      ? repo_usage_error(
					"--from, --prefix and --consistent-snapshot do not go "
					"with sign")
			      : cmd_sign(&a, argc, argv, optind + 1);
	} else {
		ret = repo_usage_error("unknown sub-command (init, add or sign)");
	}
out:
	for (size_t i = 0; i < a.nowned; i++)
		gate_tuf_rkey_free(a.owned[i]);
	return ret;
}
