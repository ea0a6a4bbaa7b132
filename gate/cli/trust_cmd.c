/* trust_cmd.c - `gate trust update|show`: the trust material gate keeps
 * fresh over TUF (verify/tuf/tuf_trust.h): the Sigstore trusted root (embedded
 * TUF root as bootstrap, cache in /var/lib/gate/tuf/sigstore as root or
 * $XDG_CACHE_HOME/gate/tuf/sigstore) and the TUF repositories a policy
 * names under trust.tuf. Only `update` uses the network. */
#include "cli.h"
#include "gate.h"
#include "gate_trustroot.h"
#include "tuf_evidence.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char trust_usage[] =
	"usage: gate trust update [options]\n"
	"       gate trust show [options]\n"
	"\n"
	"update   refresh the Sigstore trusted root (trusted_root.json, and\n"
	"         signing_config.v0.2.json when listed) through the Sigstore TUF\n"
	"         repository into the cache; with --policy, update the policy's\n"
	"         TUF repositories (trust.tuf) instead. Run it from a timer:\n"
	"         decisions never use the network unless a repository says\n"
	"         refresh: true.\n"
	"show     print what is trusted: the source of the Sigstore trusted root\n"
	"         (cache or embedded), its TUF metadata versions and expiry, each\n"
	"         transparency log, CA, timestamp authority and CT log with its\n"
	"         validity; with --policy, each TUF repository's state.\n"
	"\n"
	"  --dir DIR          Sigstore cache (default $GATE_CACHE_DIR/tuf/sigstore,\n"
	"                     /var/lib/gate/tuf/sigstore as root, else\n"
	"                     $XDG_CACHE_HOME/gate/tuf/sigstore)\n"
	"  --url URL          TUF repository (default " GATE_TUF_SIGSTORE_URL ");\n"
	"                     metadata at URL/, targets at URL/targets/\n"
	"  --targets-url URL  targets elsewhere\n"
	"  --root FILE        root.json to start from when DIR has none (default:\n"
	"                     the Sigstore root embedded in gate)\n"
	"  --policy FILE      work on the TUF repositories of this policy\n"
	"  --repo NAME        only this one (with --policy)\n"
	"  --format text|json (show)\n"
	"\n"
	"The reference time is $GATE_TIME (RFC 3339) when set, else the clock.\n"
	"Transfers: GATE_TUF_CONNECT_TIMEOUT, GATE_TUF_LOW_SPEED_LIMIT,\n"
	"GATE_TUF_LOW_SPEED_TIME, GATE_TUF_TIMEOUT override the fetcher's limits.\n"
	"Exit: 0 success, 1 failure, 2 usage error.\n";

enum { OPT_DIR = 256, OPT_URL, OPT_TURL, OPT_ROOT, OPT_POLICY, OPT_REPO, OPT_FORMAT };

static const struct option trust_opts[] = {
	{"dir", required_argument, NULL, OPT_DIR},
	{"url", required_argument, NULL, OPT_URL},
	{"targets-url", required_argument, NULL, OPT_TURL},
	{"root", required_argument, NULL, OPT_ROOT},
	{"policy", required_argument, NULL, OPT_POLICY},
	{"repo", required_argument, NULL, OPT_REPO},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct trust_args {
	const char *dir, *url, *turl, *root, *policy, *repo;
	bool json;
	int64_t now;
};

static int trust_usage_error(const char *msg)
{
	fprintf(stderr, "gate trust: %s\n(see 'gate trust --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static void put_time(FILE *out, int64_t t)
{
	char buf[32];
	gate_cli_time(t, buf, sizeof buf);
	fputs(buf, out);
}

static void print_versions(FILE *out, const struct gate_tuf_cache_state *st, int64_t now)
{
	static const char *const names[] = {"root", "timestamp", "snapshot", "targets"};
	for (int t = 0; t < GATE_TUF_NTYPES; t++) {
		if (!st->version[t])
			continue;
		fprintf(out, "  %-10s v%lld, expires ", names[t], (long long)st->version[t]);
		put_time(out, st->expires[t]);
		fputs(now >= st->expires[t] ? " (expired)\n" : "\n", out);
	}
}

/* ---- update ---- */

/* Damaged cache entries an update set aside (and fetched again). */
static void print_aside(const char *dir, const struct gate_tuf_cache_state *st)
{
	if (!st->set_aside)
		return;
	fputs("gate trust: warning: ", stderr);
	gate_put_escaped(stderr, dir ? dir : "");
	fputs(": set aside ", stderr);
	gate_put_escaped(stderr, st->aside);
	fprintf(stderr,
		"%s (damaged: not a regular file, or a root.json that no longer verifies [T1]) "
		"as .damaged.*, fetched again\n",
		st->set_aside > 1 ? " and more" : "");
}

static int update_sigstore(const struct trust_args *a)
{
	static const char *const required[] = {GATE_TUF_SIGSTORE_TRUSTED_ROOT, NULL};
	static const char *const optional[] = {GATE_TUF_SIGSTORE_SIGNING_CONFIG, NULL};
	struct gate_error e = {0};
	struct gate_tuf_cache_state st;
	uint8_t *rootbuf = NULL;
	size_t rootlen = 0;
	char *def = a->dir ? NULL : gate_tuf_state_dir("sigstore");
	char *turl = NULL;
	const char *dir = a->dir ? a->dir : def;
	const char *url = a->url ? a->url : GATE_TUF_SIGSTORE_URL;
	int ret = GATE_EXIT_DENY;
	enum gate_err rc;
	if (!dir) {
		fputs("gate trust: no cache directory: set GATE_CACHE_DIR or use --dir\n", stderr);
		return GATE_EXIT_USAGE;
	}
	if (a->turl)
		turl = strdup(a->turl);
	else if (asprintf(&turl, "%s%stargets/", url, url[strlen(url) - 1] == '/' ? "" : "/") < 0)
		turl = NULL;
	if (!turl) {
		fputs("gate trust: out of memory\n", stderr);
		goto out;
	}
	if (a->root) {
		if ((rc = gate_read_file(a->root, GATE_TUF_ROOT_MAX_LEN, &rootbuf, &rootlen, &e)) !=
		    GATE_OK) {
			gate_cli_print_error(a->root, &e);
			ret = GATE_EXIT_USAGE;
			goto out;
		}
	}
	struct gate_tuf_cache_opts o = {
		.dir = dir,
		.metadata_url = url,
		.targets_url = turl,
		.root = rootbuf,
		.root_len = rootlen,
		.required = required,
		.optional = optional,
		.now = a->now,
	};
	if (!rootbuf)
		o.root = gate_tuf_embedded_root(&o.root_len);
	rc = gate_tuf_cache_update(&o, &st, &e);
	print_aside(dir, &st);
	/* Say how far the root got even when a later step failed: a
	 * rotation is verified and persisted before anything else (T2). */
	if (st.initial_root && st.version[GATE_TUF_ROOT] != st.initial_root)
		fprintf(rc == GATE_OK ? stdout : stderr,
			"TUF root v%lld -> v%lld (each version verified by the old and the new "
			"root keys, persisted)\n",
			(long long)st.initial_root, (long long)st.version[GATE_TUF_ROOT]);
	if (rc != GATE_OK) {
		gate_cli_print_error(dir, &e);
		fputs("gate trust: update failed; nothing unverified was stored (what verified "
		      "before the failure stays)\n",
		      stderr);
		goto out;
	}
	struct gate_trusted_root *tr = NULL;
	struct gate_trust_info info;
	if (gate_trusted_root_best(dir, a->now, &tr, &info, &e) != GATE_OK ||
	    info.source != GATE_TRUST_CACHE) {
		fprintf(stderr, "gate trust: the updated trusted root is not usable: %s\n",
			info.why);
		gate_trusted_root_free(tr);
		goto out;
	}
	gate_trusted_root_free(tr);
	printf("Sigstore trusted root updated in ");
	gate_put_escaped(stdout, dir);
	printf("%s\n", st.downloaded ? "" : " (targets unchanged)");
	print_versions(stdout, &st, gate_tuf_now(a->now));
	ret = GATE_EXIT_OK;
out:
	free(rootbuf);
	free(turl);
	free(def);
	return ret;
}

static int update_policy(const struct trust_args *a)
{
	struct gate_policy *p = gate_cli_load_policy(a->policy);
	int ret = GATE_EXIT_OK;
	size_t done = 0;
	if (!p)
		return GATE_EXIT_USAGE;
	for (size_t i = 0; i < p->ntufs; i++) {
		const struct gate_policy_tuf *t = &p->tufs[i];
		struct gate_tuf_cache_state st;
		struct gate_error e = {0};
		if (a->repo && strcmp(a->repo, t->name) != 0)
			continue;
		done++;
		enum gate_err rc = gate_tuf_update(t, a->now, NULL, &st, &e);
		print_aside(t->cache_dir, &st);
		if (rc != GATE_OK) {
			fprintf(stderr, "gate: TUF repository '%s': ", t->name);
			if (e.field[0]) {
				gate_put_escaped(stderr, e.field);
				fputs(": ", stderr);
			}
			gate_put_escaped(stderr, e.msg[0] ? e.msg : gate_err_str(e.code));
			fprintf(stderr, "%s%s%s\n", e.rule[0] ? " [" : "", e.rule,
				e.rule[0] ? "]" : "");
			ret = GATE_EXIT_DENY;
			continue;
		}
		printf("TUF repository '%s' updated: %zu role%s, %zu target%s\n", t->name, st.roles,
		       st.roles == 1 ? "" : "s", st.targets, st.targets == 1 ? "" : "s");
		print_versions(stdout, &st, gate_tuf_now(a->now));
	}
	if (a->repo && !done) {
		fputs("gate trust: no such repository under trust.tuf: ", stderr);
		gate_put_escaped(stderr, a->repo);
		fputc('\n', stderr);
		ret = GATE_EXIT_USAGE;
	} else if (!done) {
		fputs("gate trust: the policy names no TUF repository (trust.tuf)\n", stderr);
		ret = GATE_EXIT_USAGE;
	}
	gate_policy_free(p);
	return ret;
}

/* ---- show ---- */

static const char *validity_word(const struct gate_validity *v, int64_t now)
{
	if (now < v->start)
		return "not yet valid";
	if (v->has_end && now > v->end)
		return "ended";
	return "active";
}

static void show_validity(const struct gate_validity *v, int64_t now)
{
	fputs("valid ", stdout);
	put_time(stdout, v->start);
	fputs(" - ", stdout);
	if (v->has_end)
		put_time(stdout, v->end);
	else
		fputs("(open)", stdout);
	printf(" [%s]\n", validity_word(v, now));
}

static json_t *validity_json(const struct gate_validity *v, int64_t now)
{
	char t[32];
	json_t *o = json_object();
	gate_cli_time(v->start, t, sizeof t);
	json_object_set_new(o, "start", json_string(t));
	if (v->has_end) {
		gate_cli_time(v->end, t, sizeof t);
		json_object_set_new(o, "end", json_string(t));
	} else {
		json_object_set_new(o, "end", json_null());
	}
	json_object_set_new(o, "status", json_string(validity_word(v, now)));
	return o;
}

static void show_logs(const char *title, const struct gate_log *l, size_t n, int64_t now)
{
	printf("%s: %zu\n", title, n);
	for (size_t i = 0; i < n; i++) {
		fputs("  ", stdout);
		gate_put_escaped(stdout, l[i].base_url ? l[i].base_url : "(no URL)");
		fputs("  ", stdout);
		show_validity(&l[i].valid, now);
	}
}

static void show_auths(const char *title, const struct gate_authority *a, size_t n, int64_t now)
{
	printf("%s: %zu\n", title, n);
	for (size_t i = 0; i < n; i++) {
		fputs("  ", stdout);
		gate_put_escaped(stdout, a[i].uri ? a[i].uri : "(no URI)");
		printf("  %zu certificate%s, ", a[i].nraw, a[i].nraw == 1 ? "" : "s");
		show_validity(&a[i].valid, now);
	}
}

static json_t *logs_json(const struct gate_log *l, size_t n, int64_t now)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = validity_json(&l[i].valid, now);
		json_object_set_new(o, "url",
				    l[i].base_url ? json_string(l[i].base_url) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *auths_json(const struct gate_authority *a, size_t n, int64_t now)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = validity_json(&a[i].valid, now);
		json_object_set_new(o, "uri", a[i].uri ? json_string(a[i].uri) : json_null());
		json_object_set_new(o, "certificates", json_integer((json_int_t)a[i].nraw));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *state_json(const struct gate_tuf_cache_state *st)
{
	static const char *const names[] = {"root", "timestamp", "snapshot", "targets"};
	json_t *o = json_object();
	char t[32];
	for (int i = 0; i < GATE_TUF_NTYPES; i++) {
		if (!st->version[i])
			continue;
		json_t *r = json_object();
		json_object_set_new(r, "version", json_integer(st->version[i]));
		gate_cli_time(st->expires[i], t, sizeof t);
		json_object_set_new(r, "expires", json_string(t));
		json_object_set_new(o, names[i], r);
	}
	if (st->last_update) {
		gate_cli_time(st->last_update, t, sizeof t);
		json_object_set_new(o, "last_update", json_string(t));
	}
	return o;
}

static void show_sigstore_text(const struct gate_trust_info *info,
			       const struct gate_trusted_root *tr, int64_t now)
{
	if (info->source == GATE_TRUST_CACHE) {
		fputs("Sigstore trusted root: cache ", stdout);
		gate_put_escaped(stdout, info->dir);
		fputs("\n  verified offline over TUF; metadata:\n", stdout);
		print_versions(stdout, &info->state, now);
		if (info->state.last_update) {
			fputs("  last update: ", stdout);
			put_time(stdout, info->state.last_update);
			fputc('\n', stdout);
		}
	} else {
		fputs("Sigstore trusted root: embedded (built into gate)\n", stdout);
		printf("  embedded TUF root v%lld, expires ",
		       (long long)info->embedded_root_version);
		put_time(stdout, info->embedded_root_expires);
		fputs(now >= info->embedded_root_expires ? " (expired: run 'gate trust update')\n"
							 : "\n",
		      stdout);
		if (info->dir[0]) {
			fputs("  cache ", stdout);
			gate_put_escaped(stdout, info->dir);
			fputs(" not used: ", stdout);
			gate_put_escaped(stdout, info->why);
			fputc('\n', stdout);
		}
	}
	show_logs("Transparency logs", tr->tlogs, tr->ntlogs, now);
	show_auths("Certificate authorities", tr->cas, tr->ncas, now);
	show_auths("Timestamp authorities", tr->tsas, tr->ntsas, now);
	show_logs("CT logs", tr->ctlogs, tr->nctlogs, now);
}

static json_t *show_sigstore_json(const struct gate_trust_info *info,
				  const struct gate_trusted_root *tr, int64_t now)
{
	json_t *o = json_object();
	char t[32];
	json_object_set_new(o, "source",
			    json_string(info->source == GATE_TRUST_CACHE ? "cache" : "embedded"));
	json_object_set_new(o, "cache_dir", info->dir[0] ? json_string(info->dir) : json_null());
	if (info->source == GATE_TRUST_CACHE) {
		json_object_set_new(o, "tuf", state_json(&info->state));
	} else {
		json_t *e = json_object();
		json_object_set_new(e, "version", json_integer(info->embedded_root_version));
		gate_cli_time(info->embedded_root_expires, t, sizeof t);
		json_object_set_new(e, "expires", json_string(t));
		json_object_set_new(o, "embedded_tuf_root", e);
		json_object_set_new(o, "cache_not_used", json_string(info->why));
	}
	json_object_set_new(o, "tlogs", logs_json(tr->tlogs, tr->ntlogs, now));
	json_object_set_new(o, "certificate_authorities", auths_json(tr->cas, tr->ncas, now));
	json_object_set_new(o, "timestamp_authorities", auths_json(tr->tsas, tr->ntsas, now));
	json_object_set_new(o, "ctlogs", logs_json(tr->ctlogs, tr->nctlogs, now));
	return o;
}

/* A policy repository: its cache verified offline, and its staleness. */
static json_t *show_repo(const struct gate_policy_tuf *t, int64_t now, bool json)
{
	struct gate_tuf_cache *c = NULL;
	struct gate_tuf_cache_state st = {0};
	struct gate_error e = {0};
	char max[32], t0[32];
	enum gate_err rc = t->cache_dir
				   ? gate_tuf_cache_open(t->cache_dir, now, &c, &e)
				   : gate_fail(&e, GATE_E_IO, NULL, NULL, "no cache directory");
	if (rc == GATE_OK)
		gate_tuf_cache_fill(c, &st);
	else if (t->cache_dir)
		(void)gate_tuf_cache_stamp(t->cache_dir, &st.last_update);
	gate_tuf_cache_close(c);
	bool stale = !st.last_update || now - st.last_update > t->max_staleness;
	gate_format_duration(t->max_staleness, max, sizeof max);
	if (json) {
		json_t *o = state_json(&st);
		json_object_set_new(o, "name", json_string(t->name));
		json_object_set_new(o, "url", json_string(t->url));
		json_object_set_new(o, "cache_dir",
				    t->cache_dir ? json_string(t->cache_dir) : json_null());
		json_object_set_new(o, "verified", json_boolean(rc == GATE_OK));
		if (rc != GATE_OK)
			json_object_set_new(o, "error", json_string(e.msg));
		json_object_set_new(o, "max_staleness", json_string(max));
		json_object_set_new(o, "stale", json_boolean(stale));
		json_object_set_new(o, "refresh", json_boolean(t->refresh));
		return o;
	}
	printf("TUF repository '%s': ", t->name);
	gate_put_escaped(stdout, t->url);
	fputs("\n  cache ", stdout);
	gate_put_escaped(stdout, t->cache_dir ? t->cache_dir : "(none)");
	fputc('\n', stdout);
	if (rc == GATE_OK) {
		fputs("  verified offline; metadata:\n", stdout);
		print_versions(stdout, &st, now);
	} else {
		fputs("  not usable: ", stdout);
		gate_put_escaped(stdout, e.msg[0] ? e.msg : gate_err_str(e.code));
		if (e.rule[0])
			printf(" [%s]", e.rule);
		fputc('\n', stdout);
	}
	if (st.last_update) {
		gate_cli_time(st.last_update, t0, sizeof t0);
		printf("  last update: %s (max_staleness %s: %s)\n", t0, max,
		       stale ? "STALE, lookups deny" : "fresh");
	} else if (t->cache_dir && gate_tuf_cache_stamp_bad(t->cache_dir)) {
		printf("  last update unknown: last-update is unreadable or not a unix time "
		       "(max_staleness %s): lookups deny until the next update rewrites it\n",
		       max);
	} else {
		printf("  never updated (max_staleness %s): lookups deny\n", max);
	}
	printf("  refresh during decisions: %s\n", t->refresh ? "yes" : "no");
	return NULL;
}

static int show(const struct trust_args *a)
{
	struct gate_trusted_root *tr = NULL;
	struct gate_trust_info info;
	struct gate_error e = {0};
	struct gate_policy *p = NULL;
	int64_t now = gate_tuf_now(a->now);
	json_t *out = a->json ? json_object() : NULL;
	if (gate_trusted_root_best(a->dir, now, &tr, &info, &e) != GATE_OK) {
		gate_cli_print_error("trusted root", &e);
		json_decref(out);
		return GATE_EXIT_DENY;
	}
	if (a->policy && !(p = gate_cli_load_policy(a->policy))) {
		gate_trusted_root_free(tr);
		json_decref(out);
		return GATE_EXIT_USAGE;
	}
	if (out)
		json_object_set_new(out, "sigstore", show_sigstore_json(&info, tr, now));
	else
		show_sigstore_text(&info, tr, now);
	json_t *repos = out ? json_array() : NULL;
	for (size_t i = 0; p && i < p->ntufs; i++) {
		if (a->repo && strcmp(a->repo, p->tufs[i].name) != 0)
			continue;
		json_t *r = show_repo(&p->tufs[i], now, out != NULL);
		if (repos)
			json_array_append_new(repos, r);
	}
	if (out) {
		json_object_set_new(out, "tuf_repositories", repos);
		json_dumpf(out, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(out);
	}
	gate_policy_free(p);
	gate_trusted_root_free(tr);
	return GATE_EXIT_OK;
}

/* Returns -1 when parsing went fine, else an exit code. */
static int parse(int argc, char **argv, struct trust_args *a)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", trust_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_URL:
			a->url = optarg;
			break;
		case OPT_TURL:
			a->turl = optarg;
			break;
		case OPT_ROOT:
			a->root = optarg;
			break;
		case OPT_POLICY:
			a->policy = optarg;
			break;
		case OPT_REPO:
			a->repo = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return trust_usage_error("--format must be text or json");
			a->json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			fputs(trust_usage, stdout);
			return GATE_EXIT_OK;
		default:
			return trust_usage_error("unknown option or missing value");
		}
	}
	if (!gate_cli_now(NULL, &a->now))
		return trust_usage_error("GATE_TIME is not an RFC 3339 time");
	if (a->repo && !a->policy)
		return trust_usage_error("--repo needs --policy");
	return -1;
}

int gate_cmd_trust(int argc, char **argv)
{
	struct trust_args a = {0};
	int ret = parse(argc, argv, &a);
	if (ret >= 0)
		return ret;
	const char *sub = optind < argc ? argv[optind] : NULL;
	if (!sub)
		return trust_usage_error("missing sub-command (update or show)");
	if (optind + 1 != argc)
		return trust_usage_error("exactly one sub-command (update or show)");
	if (strcmp(sub, "update") == 0) {
		if (a.json)
			return trust_usage_error("--format is for show");
		if (a.policy && (a.url || a.turl || a.root || a.dir))
			return trust_usage_error("--policy updates the policy's repositories: "
						 "--url, --targets-url, --root and --dir are for "
						 "the Sigstore root");
		return a.policy ? update_policy(&a) : update_sigstore(&a);
	}
	if (strcmp(sub, "show") == 0) {
		if (a.url || a.turl || a.root)
			return trust_usage_error("--url, --targets-url and --root are for update");
		return show(&a);
	}
	return trust_usage_error("unknown sub-command (update or show)");
}
