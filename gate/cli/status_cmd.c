/* status_cmd.c - `gate status`: what the exec daemon gated is doing, read
 * from the status file it rewrites atomically every second
 * (gate/daemon/status.c). The file is checked like any input: size cap,
 * duplicate keys, types; strings are escaped when printed. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATUS_DEFAULT "/run/gated/status.json"
#define STATUS_MAX (256u * 1024) /* with up to 32 posture gaps */
#define STATUS_STALE_S 5	 /* the daemon writes every second */

static const char status_usage[] =
	"usage: gate status [--status FILE] [--format text|json]\n"
	"\n"
	"Show the exec daemon's mode, answer counts, cache and queue figures, and\n"
	"the posture gaps it found (what its marks cannot close).\n"
	"\n"
	"  --status FILE   gated's status file (default $GATED_STATUS, else\n"
	"                  " STATUS_DEFAULT ")\n"
	"  --format FMT    text (default) or json (the file plus \"stale\" and \"age\")\n"
	"\n"
	"Exit: 0 gated is running, 1 it is not (no status file, or one older than\n"
	"5 s, or its process is gone), 2 usage error or a malformed status file.\n";

struct st {
	json_t *o;
	const char *bad; /* first field missing or of the wrong type */
};

/* Dotted path into the object, e.g. "cache.hits"; records the first bad
 * field and answers 0. */
static json_t *field(struct st *s, const char *path)
{
	char key[64];
	json_t *cur = s->o;
	const char *p = path;
	while (cur && *p) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
		p += n + (p[n] == '.');
	}
	return cur;
}

static long long num(struct st *s, const char *path)
{
	json_t *j = field(s, path);
	if (json_is_integer(j) && json_integer_value(j) >= 0)
		return (long long)json_integer_value(j);
	if (!s->bad)
		s->bad = path;
	return 0;
}

static const char *str(struct st *s, const char *path)
{
	json_t *j = field(s, path);
	if (json_is_string(j))
		return json_string_value(j);
	if (!s->bad)
		s->bad = path;
	return "";
}

static void put(const char *label, const char *s)
{
	fputs(label, stdout);
	gate_put_escaped(stdout, s);
}

static void duration(long long s, char *buf, size_t cap)
{
	if (s >= 86400)
		snprintf(buf, cap, "%lldd%02lldh%02lldm", s / 86400, s % 86400 / 3600,
			 s % 3600 / 60);
	else if (s >= 3600)
		snprintf(buf, cap, "%lldh%02lldm%02llds", s / 3600, s % 3600 / 60, s % 60);
	else if (s >= 60)
		snprintf(buf, cap, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, cap, "%llds", s);
}

static void print_posture(struct st *s);

static void print_text(struct st *s, bool running, long long age)
{
	char up[32];
	long long hits = num(s, "cache.hits"), misses = num(s, "cache.misses");
	duration(num(s, "uptime"), up, sizeof up);
	if (running)
		printf("gated is running (pid %lld, up %s)", num(s, "pid"), up);
	else
		printf("gated is NOT running (status file written %llds ago by pid %lld)", age,
		       num(s, "pid"));
	put(", mode ", str(s, "mode"));
	put(", default ", str(s, "default"));
	printf(", deadline %lld ms, %lld workers\n", num(s, "deadline_ms"), num(s, "workers"));
	put("policy:  ", str(s, "policy"));
	printf(" (reloads: %lld ok, %lld failed)\n", num(s, "reloads.ok"),
	       num(s, "reloads.failed"));
	json_t *le = field(s, "reloads.last_error");
	if (json_is_string(le)) {
		put("         last reload error: ", json_string_value(le));
		fputc('\n', stdout);
	}
	printf("answers: %lld allowed, %lld denied, of %lld events\n", num(s, "counts.allowed"),
	       num(s, "counts.denied"), num(s, "counts.events"));
	printf("         %lld full decisions, %lld by the ledger, %lld by the cache\n",
	       num(s, "counts.decisions"), num(s, "counts.ledger"), hits);
	printf("         defaults: %lld at the deadline, %lld on a full queue; %lld decisions "
	       "finished late\n",
	       num(s, "counts.deadline"), num(s, "counts.queue_full"), num(s, "counts.late"));
	printf("         allowed at once: %lld own opens, %lld opens by non-interpreters, %lld in "
	       "mode off\n",
	       num(s, "counts.self"), num(s, "counts.passthrough"), num(s, "counts.off"));
	printf("cache:   %lld hits, %lld misses (%.1f%% hits), %lld of %lld entries, %lld "
	       "evictions\n",
	       hits, misses, hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
	       num(s, "cache.size"), num(s, "cache.capacity"), num(s, "cache.evictions"));
	printf("queues:  events %lld of %lld (max %lld, %lld refused), %lld in flight\n",
	       num(s, "queue.depth"), num(s, "queue.capacity"), num(s, "queue.max_depth"),
	       num(s, "queue.dropped"), num(s, "in_flight"));
	printf("         log %lld of %lld (max %lld): %lld written, %lld dropped\n",
	       num(s, "log.depth"), num(s, "log.capacity"), num(s, "log.max_depth"),
	       num(s, "log.written"), num(s, "log.dropped"));
	print_posture(s);
}

/* The posture (gate/daemon/posture.c): optional, absent from older
 * daemons and null while one stops. Only members of the right type are
 * printed. */
static void print_posture(struct st *s)
{
	json_t *gaps = field(s, "posture.gaps"), *set = field(s, "posture.setting");
	json_t *om = field(s, "posture.omitted"), *watch = field(s, "posture.mounts.watch");
	size_t open = 0, i;
	json_t *x;
	if (!json_is_array(gaps))
		return;
	json_array_foreach(gaps, i, x) open += !json_is_true(json_object_get(x, "fixed"));
	put("posture: ", json_is_string(set) ? json_string_value(set) : "?");
	printf(", %zu gap(s) open",
	       open + (size_t)(json_is_integer(om) && json_integer_value(om) > 0
				       ? json_integer_value(om)
				       : 0));
	put(", mounts watched by ", json_is_string(watch) ? json_string_value(watch) : "?");
	fputc('\n', stdout);
	json_array_foreach(gaps, i, x)
	{
		json_t *m = json_object_get(x, "message");
		if (!json_is_string(m))
			continue;
		put(json_is_true(json_object_get(x, "fixed")) ? "  fixed: " : "  gap:   ",
		    json_string_value(m));
		fputc('\n', stdout);
	}
	if (json_is_integer(om) && json_integer_value(om) > 0)
		printf("  ... and %lld more gaps\n", (long long)json_integer_value(om));
}

/* Every field the report prints, checked before anything is printed. */
static const char *const num_fields[] = {
	"pid",
	"time",
	"uptime",
	"deadline_ms",
	"workers",
	"in_flight",
	"reloads.ok",
	"reloads.failed",
	"counts.events",
	"counts.allowed",
	"counts.denied",
	"counts.deadline",
	"counts.queue_full",
	"counts.self",
	"counts.passthrough",
	"counts.off",
	"counts.ledger",
	"counts.decisions",
	"counts.late",
	"cache.hits",
	"cache.misses",
	"cache.size",
	"cache.capacity",
	"cache.evictions",
	"queue.depth",
	"queue.capacity",
	"queue.max_depth",
	"queue.dropped",
	"log.depth",
	"log.capacity",
	"log.max_depth",
	"log.written",
	"log.dropped",
};
static const char *const str_fields[] = {"mode", "policy", "default"};

static bool validate(struct st *s)
{
	for (size_t i = 0; i < sizeof num_fields / sizeof num_fields[0]; i++)
		(void)num(s, num_fields[i]);
	for (size_t i = 0; i < sizeof str_fields / sizeof str_fields[0]; i++)
		(void)str(s, str_fields[i]);
	if (!json_is_boolean(field(s, "running")) && !s->bad)
		s->bad = "running";
	json_t *le = field(s, "reloads.last_error");
	if (le && !json_is_string(le) && !s->bad)
		s->bad = "reloads.last_error";
	return !s->bad;
}

/* Running: it says so, it wrote recently, and its process exists. */
static bool is_running(struct st *s, long long *age)
{
	json_t *r = field(s, "running");
	long long pid = num(s, "pid"), t = num(s, "time");
	*age = (long long)time(NULL) - t;
	if (!json_is_true(r) || *age > STATUS_STALE_S || *age < -STATUS_STALE_S || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int parse_args(int argc, char **argv, const char **path, enum gate_format *fmt)
{
	static const struct option opts[] = {
		{"status", required_argument, NULL, 's'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(status_usage, stdout);
			return GATE_EXIT_OK;
		}
		if (o == 's')
			*path = optarg;
		else if (o != 'f' || !gate_cli_parse_format(optarg, fmt) ||
			 (*fmt != GATE_FMT_TEXT && *fmt != GATE_FMT_JSON)) {
			if (o == 'f')
				fputs("gate status: --format must be text or json\n", stderr);
			fputs(status_usage, stderr);
			return GATE_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fputs("gate status: no arguments expected\n", stderr);
		return GATE_EXIT_USAGE;
	}
	return -1;
}

static int load(const char *path, struct st *s)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct gate_error e = {0};
	json_error_t je;
	enum gate_err rc = gate_read_file(path, STATUS_MAX, &buf, &len, &e);
	if (rc == GATE_E_IO && access(path, F_OK) != 0) {
		fputs("gated is not running (no status file ", stdout);
		gate_put_escaped(stdout, path);
		fputs(")\n", stdout);
		return GATE_EXIT_DENY;
	}
	if (rc != GATE_OK) {
		gate_cli_print_error(path, &e);
		return GATE_EXIT_USAGE;
	}
	s->o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (!json_is_object(s->o) || num(s, "version") != 1) {
		fputs("gate: ", stderr);
		gate_put_escaped(stderr, path);
		fputs(s->o ? ": not a gated status file (version 1)\n"
			   : ": malformed status file (not JSON)\n",
		      stderr);
		return GATE_EXIT_USAGE;
	}
	if (!validate(s)) {
		fputs("gate: ", stderr);
		gate_put_escaped(stderr, path);
		fprintf(stderr, ": field '%s' is missing or not of its type\n", s->bad);
		return GATE_EXIT_USAGE;
	}
	return -1;
}

int gate_cmd_status(int argc, char **argv)
{
	const char *path = getenv("GATED_STATUS");
	enum gate_format fmt = GATE_FMT_TEXT;
	struct st s = {0};
	long long age = 0;
	int code = parse_args(argc, argv, &path, &fmt);
	if (code >= 0)
		return code;
	if (!path || !*path)
		path = STATUS_DEFAULT;
	if ((code = load(path, &s)) >= 0)
		goto out;
	bool running = is_running(&s, &age);
	if (fmt == GATE_FMT_JSON) {
		json_object_set_new(s.o, "stale", json_boolean(!running));
		json_object_set_new(s.o, "age", json_integer(age));
		json_dumpf(s.o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		print_text(&s, running, age);
	}
	code = running ? GATE_EXIT_OK : GATE_EXIT_DENY;
out:
	json_decref(s.o);
	return code;
}
