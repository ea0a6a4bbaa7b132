/* main.c - `gate`: dispatch to the subcommands. */
#include "cli.h"

#include <string.h>

static const char usage[] =
	"usage: gate <command> [options]\n"
	"\n"
	"Commands:\n"
	"  verify     verify an artifact's Sigstore signature and print the facts\n"
	"  version    print the version\n"
	"\n"
	"Exit codes: 0 verified/allowed, 1 rejected/denied, 2 usage or input error.\n"
	"Run 'gate <command> --help' for a command's options.\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return GATE_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return GATE_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("gate %s\n", gate_version());
		return GATE_EXIT_OK;
	}
	if (strcmp(cmd, "verify") == 0)
		return gate_cmd_verify(argc - 1, argv + 1);
	fprintf(stderr, "gate: unknown command '");
	gate_cli_put_escaped(stderr, cmd);
	fprintf(stderr, "'\n%s", usage);
	return GATE_EXIT_USAGE;
}
