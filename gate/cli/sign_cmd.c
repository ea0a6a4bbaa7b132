/* sign_cmd.c - `gate keygen` and `gate sign` for self-managed keys. */
#include "cli.h"

int gate_cmd_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("gate keygen: not available yet\n", stderr);
	return GATE_EXIT_USAGE;
}

int gate_cmd_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("gate sign: not available yet\n", stderr);
	return GATE_EXIT_USAGE;
}
