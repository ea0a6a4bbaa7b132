/* cli.h - the `gate` command line: shared helpers of the subcommands. */
#ifndef GATE_CLI_H
#define GATE_CLI_H

#include "verify.h"

#include <stdio.h>

/* Exit codes of every subcommand. */
enum { GATE_EXIT_OK = 0, GATE_EXIT_DENY = 1, GATE_EXIT_USAGE = 2 };

enum gate_format { GATE_FMT_TEXT, GATE_FMT_JSON };

/* Exit code for an error code: input and usage problems are 2, a rejection
 * after verification is 1. */
int gate_cli_exit_for(enum gate_err rc);
/* Print text from untrusted input with control and non-ASCII bytes shown
 * as \xNN, so it can never forge lines or terminal escapes. */
void gate_cli_put_escaped(FILE *out, const char *s);
/* "2024-03-19T17:26:26Z" into buf (at least 21 bytes). */
void gate_cli_time(int64_t t, char *buf, size_t cap);
/* Print an error as "gate: FILE: FIELD: MESSAGE [RULE]" on stderr. */
void gate_cli_print_error(const char *what, const struct gate_error *e);
bool gate_cli_parse_format(const char *s, enum gate_format *out);

int gate_cmd_verify(int argc, char **argv);

#endif
