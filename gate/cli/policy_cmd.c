/* policy_cmd.c - `gate policy lint FILE...` and `gate policy explain`. */
#include "cli.h"
#include "verdict.h"
#include "policy_model.h"

#include <getopt.h>
#include <string.h>

static const char policy_usage[] =
	"usage: gate policy lint FILE...\n"
	"       gate policy explain [--policy FILE] [--caller ci|apt|exec]\n"
	"                           [--evidence DIR] [--current-time T] ARTIFACT\n"
	"\n"
	"lint     load each policy strictly (errors as FILE:LINE:COLUMN) and warn\n"
	"         about over-broad identity patterns. Exit 0 clean, 1 warnings,\n"
	"         2 errors.\n"
	"explain  decide one artifact and show every step: the rule that\n"
	"         matched, each evidence item, each verified fact and each\n"
	"         requirement. Exit as gate check.\n";

static void lint_print(void *ctx, const char *file, unsigned line, unsigned column, const char *msg)
{
	(void)ctx;
	printf("%s:%u:%u: warning: ", file, line, column);
	gate_put_escaped(stdout, msg);
	putchar('\n');
}

static int cmd_lint(int argc, char **argv)
{
	int code = GATE_EXIT_OK;
	if (argc < 2) {
		fputs(policy_usage, stderr);
		return GATE_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		struct gate_policy *p = NULL;
		struct gate_error e = {0};
		if (gate_policy_load(argv[i], &p, &e) != GATE_OK) {
			if (e.line)
				printf("%s:%u:%u: error: ", e.file, e.line, e.column);
			else
				printf("%s: error: ", argv[i]);
			gate_put_escaped(stdout, e.msg);
			putchar('\n');
			code = GATE_EXIT_USAGE;
			continue;
		}
		size_t warnings = gate_policy_lint(p, lint_print, NULL);
		printf("%s: %zu rule%s, %zu signer set%s, %zu warning%s\n", argv[i], p->nrules,
		       p->nrules == 1 ? "" : "s", p->nsets, p->nsets == 1 ? "" : "s", warnings,
		       warnings == 1 ? "" : "s");
		if (warnings && code == GATE_EXIT_OK)
			code = GATE_EXIT_DENY;
		gate_policy_free(p);
	}
	return code;
}

static void put_line(const char *label, const char *value)
{
	printf("  %s: ", label);
	gate_put_escaped(stdout, value ? value : "-");
	putchar('\n');
}

static void explain(const struct gate_verdict *v)
{
	char t[32];
	printf("%s: ", v->kind == GATE_VERDICT_ALLOW  ? "ALLOW"
		       : v->kind == GATE_VERDICT_DENY ? "DENY"
						      : "ERROR");
	gate_put_escaped(stdout, v->path);
	printf("%s\n", v->allowed && v->kind != GATE_VERDICT_ALLOW ? " (allowed: audit mode)" : "");
	gate_cli_time(v->time, t, sizeof t);
	printf("  mode: %s, caller: %s, time: %s\n", gate_mode_name(v->mode),
	       gate_caller_name(v->caller), t);
	if (v->digest[0])
		printf("  sha256: %s, size: %llu\n", v->digest, (unsigned long long)v->size);
	put_line("type", v->mime);
	put_line("rule", v->rule ? v->rule : "(none matched: default deny)");
	printf("  evidence: %zu item%s\n", v->nevidence, v->nevidence == 1 ? "" : "s");
	for (size_t i = 0; i < v->nevidence; i++) {
		const struct gate_evidence_result *e = &v->evidence[i];
		fputs("    - ", stdout);
		gate_put_escaped(stdout, e->source ? e->source : "?");
		if (e->verified) {
			printf(": verified%s\n",
			       e->in_policy ? "" : " (signer named by no signer set)");
			gate_facts_put_text(stdout, "      ", e->facts, GATE_FACTS_DETAIL);
		} else {
			fputs(": rejected: ", stdout);
			if (e->error.rule[0])
				printf("[%s] ", e->error.rule);
			if (e->error.field[0]) {
				gate_put_escaped(stdout, e->error.field);
				fputs(": ", stdout);
			}
			gate_put_escaped(stdout, e->error.msg);
			putchar('\n');
		}
	}
	if (v->eval.nreqs)
		printf("  requirements:\n");
	for (size_t i = 0; i < v->eval.nreqs; i++) {
		printf("    [%s] %s: ", v->eval.reqs[i].held ? "held" : "FAILED",
		       v->eval.reqs[i].what);
		gate_put_escaped(stdout, v->eval.reqs[i].detail);
		putchar('\n');
	}
	put_line("reason", v->reason);
}

static int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"caller", required_argument, NULL, 'c'},
		{"evidence", required_argument, NULL, 'e'},
		{"current-time", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *policy = NULL, *now = NULL, *dirs[17] = {NULL};
	size_t ndirs = 0;
	enum gate_caller caller = GATE_CALLER_CI;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p')
			policy = optarg;
		else if (c == 't')
			now = optarg;
		else if (c == 'e' && ndirs < 16)
			dirs[ndirs++] = optarg;
		else if (c == 'c' && strcmp(optarg, "apt") == 0)
			caller = GATE_CALLER_APT;
		else if (c == 'c' && strcmp(optarg, "exec") == 0)
			caller = GATE_CALLER_EXEC;
		else if (c == 'c' && strcmp(optarg, "ci") == 0)
			caller = GATE_CALLER_CI;
		else {
			fputs(policy_usage, stderr);
			return GATE_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs("gate policy explain: give exactly one ARTIFACT\n", stderr);
		return GATE_EXIT_USAGE;
	}
	struct gate_ctx_opts copts = {.evidence_dirs = dirs, .no_audit = true};
	if (!gate_cli_now(now, &copts.now)) {
		fputs("gate policy explain: --current-time must be RFC 3339\n", stderr);
		return GATE_EXIT_USAGE;
	}
	struct gate_policy *p = gate_cli_load_policy(policy);
	struct gate_ctx *ctx = NULL;
	struct gate_error e = {0};
	struct gate_verdict v;
	if (!p)
		return GATE_EXIT_USAGE;
	if (gate_ctx_new(p, &copts, &ctx, &e) != GATE_OK) {
		gate_policy_free(p);
		gate_cli_print_error("policy", &e);
		return GATE_EXIT_USAGE;
	}
	int code = GATE_EXIT_USAGE;
	if (gate_decide(ctx, argv[optind], caller, &v) == GATE_OK) {
		explain(&v);
		code = v.allowed		      ? GATE_EXIT_OK
		       : v.kind == GATE_VERDICT_ERROR ? GATE_EXIT_USAGE
						      : GATE_EXIT_DENY;
		gate_verdict_clear(&v);
	}
	gate_ctx_free(ctx);
	return code;
}

int gate_cmd_policy(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(policy_usage, stdout);
		return GATE_EXIT_OK;
	}
	fputs(policy_usage, stderr);
	return GATE_EXIT_USAGE;
}
