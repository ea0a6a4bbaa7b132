/* common.c - helpers shared by the subcommands. */
#include "cli.h"
#include "gate.h"
#include "policy_model.h"
#include "tuf_trust.h"

#include <stdlib.h>
#include <unistd.h>

#include <string.h>
#include <time.h>

int gate_cli_exit_for(enum gate_err rc)
{
	if (rc == GATE_OK)
		return GATE_EXIT_OK;
	return gate_err_is_input(rc) ? GATE_EXIT_USAGE : GATE_EXIT_DENY;
}

void gate_cli_time(int64_t t, char *buf, size_t cap)
{
	char tmp[32];
	gate_format_time(t, tmp);
	snprintf(buf, cap, "%s", tmp);
}

void gate_cli_print_error(const char *what, const struct gate_error *e)
{
	fputs("gate: ", stderr);
	if (e->file[0]) {
		gate_put_escaped(stderr, e->file);
		fputs(": ", stderr);
	} else if (what) {
		gate_put_escaped(stderr, what);
		fputs(": ", stderr);
	}
	if (e->field[0] && strcmp(e->field, e->file) != 0) {
		gate_put_escaped(stderr, e->field);
		fputs(": ", stderr);
	}
	gate_put_escaped(stderr, e->msg[0] ? e->msg : gate_err_str(e->code));
	if (e->rule[0])
		fprintf(stderr, " [%s]", e->rule);
	fputc('\n', stderr);
}

bool gate_cli_parse_format(const char *s, enum gate_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = GATE_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = GATE_FMT_JSON;
	else if (strcmp(s, "sarif") == 0)
		*out = GATE_FMT_SARIF;
	else if (strcmp(s, "junit") == 0)
		*out = GATE_FMT_JUNIT;
	else if (strcmp(s, "markdown") == 0)
		*out = GATE_FMT_MARKDOWN;
	else
		return false;
	return true;
}

struct gate_policy *gate_cli_load_policy(const char *path)
{
	struct gate_policy *p = NULL;
	struct gate_error e = {0};
	enum gate_err rc;
	const char *from = "--policy";
	if (!path) {
		path = getenv("GATE_POLICY");
		from = "GATE_POLICY";
	}
	/* Set but empty is a mistake, not "no policy": fail, and say where
	 * the empty name came from. */
	if (path && !*path) {
		fprintf(stderr, "gate: %s is empty: name a policy file\n", from);
		return NULL;
	}
	if (!path && access(GATE_POLICY_DEFAULT, F_OK) == 0)
		path = GATE_POLICY_DEFAULT;
	rc = path ? gate_policy_load(path, &p, &e) : gate_policy_default(&p, &e);
	if (rc == GATE_OK) {
		gate_trust_warn(p->root, 0);
		return p;
	}
	fputs("gate: ", stderr);
	if (e.file[0] && e.line)
		fprintf(stderr, "%s:%u:%u: ", e.file, e.line, e.column);
	else if (e.file[0])
		fprintf(stderr, "%s: ", e.file);
	else if (path) {
		gate_put_escaped(stderr, path);
		fputs(": ", stderr);
	}
	gate_put_escaped(stderr, e.msg);
	fputc('\n', stderr);
	return NULL;
}

bool gate_cli_now(const char *arg, int64_t *out)
{
	*out = 0;
	if (!arg)
		arg = getenv("GATE_TIME");
	if (!arg || !*arg)
		return true;
	return gate_parse_rfc3339(arg, out);
}
