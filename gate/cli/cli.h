/* cli.h - the `gate` command line: shared helpers of the subcommands. */
#ifndef GATE_CLI_H
#define GATE_CLI_H

#include "signer.h"
#include "verify.h"

#include <stdio.h>

/* Exit codes of every subcommand. */
enum { GATE_EXIT_OK = 0, GATE_EXIT_DENY = 1, GATE_EXIT_USAGE = 2 };

enum gate_format {
	GATE_FMT_TEXT,
	GATE_FMT_JSON,
	GATE_FMT_SARIF,
	GATE_FMT_JUNIT,
	GATE_FMT_MARKDOWN,
};

struct gate_verdict;

/* Exit code for an error code: input and usage problems are 2, a rejection
 * after verification is 1. */
int gate_cli_exit_for(enum gate_err rc);
/* "2024-03-19T17:26:26Z" into buf (at least 21 bytes). */
void gate_cli_time(int64_t t, char *buf, size_t cap);
/* Print an error as "gate: FILE: FIELD: MESSAGE [RULE]" on stderr. */
void gate_cli_print_error(const char *what, const struct gate_error *e);
bool gate_cli_parse_format(const char *s, enum gate_format *out);

/* The policy file every caller reads when none is named. */
#define GATE_POLICY_DEFAULT "/etc/gate/policy.yaml"

/* Load --policy FILE, else $GATE_POLICY, else /etc/gate/policy.yaml when it
 * exists, else the built-in deny-all policy. Prints the error and returns
 * NULL on failure. */
struct gate_policy *gate_cli_load_policy(const char *path);
/* Fix "now" for decisions: --current-time, else $GATE_TIME (RFC 3339), else
 * 0 (the real clock). Returns false on a malformed value. */
bool gate_cli_now(const char *arg, int64_t *out);

/* Reports over many verdicts (report.c). SARIF: false when it could not be
 * built (out of memory; said on stderr). */
bool gate_report_sarif(FILE *out, const struct gate_verdict *v, size_t n, const char *policy);
void gate_report_junit(FILE *out, const struct gate_verdict *v, size_t n, const char *policy);
/* A summary table for a CI job's page (GitHub's $GITHUB_STEP_SUMMARY,
 * GitLab): the counts, then denials and errors first, capped. */
void gate_report_markdown(FILE *out, const struct gate_verdict *v, size_t n, const char *policy);

int gate_cmd_verify(int argc, char **argv);
/* `gate verify` with X.509 flags (--p7s, --ca, --pe, --jar, ...):
 * verify_x509_cmd.c. */
bool gate_cli_verify_is_x509(int argc, char **argv);
int gate_cmd_verify_x509(int argc, char **argv);
int gate_cmd_check(int argc, char **argv);
int gate_cmd_policy(int argc, char **argv);
int gate_cmd_keygen(int argc, char **argv);
int gate_cmd_sign(int argc, char **argv);
int gate_cmd_ledger(int argc, char **argv);
int gate_cmd_hook(int argc, char **argv); /* hooks/apt/apt_hook.c */
int gate_cmd_tuf(int argc, char **argv);
int gate_cmd_trust(int argc, char **argv);    /* trust_cmd.c */
int gate_cmd_tuf_repo(int argc, char **argv); /* tuf_repo_cmd.c */
int gate_cmd_status(int argc, char **argv);   /* gated's status file */

#endif
