/* policy_cmd.c - `gate policy lint|explain`. */
#include "cli.h"

int gate_cmd_policy(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return GATE_EXIT_USAGE;
}
