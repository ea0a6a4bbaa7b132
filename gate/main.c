/* main.c - `gate`: dispatch to the subcommands. */
#include "cli.h"

#include <string.h>

static const char usage[] =
	"usage: gate <command> [options]\n"
	"\n"
	"Commands:\n"
	"  verify     verify an artifact's Sigstore signature and print the facts\n"
	"  check      decide files against the policy (CI admission): allow/deny and why\n"
	"  policy     lint a policy, or explain the decision for one artifact\n"
	"  keygen     make a key pair for offline signing\n"
	"  sign       sign an artifact with a managed key (bundle + .sig)\n"
	"  ledger     the install ledger: packages, files by path or digest, re-verify\n"
	"  hook       package manager hooks: 'gate hook apt' (run by apt)\n"
	"  tuf        TUF client: init, refresh metadata, download targets\n"
	"  trust      Sigstore trusted root and policy TUF repositories: update, show\n"
	"  status     the exec daemon gated: mode, answer counts, cache and queues\n"
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
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"verify", gate_cmd_verify}, {"check", gate_cmd_check},	 {"policy", gate_cmd_policy},
		{"keygen", gate_cmd_keygen}, {"sign", gate_cmd_sign},
		{"ledger", gate_cmd_ledger},
		{"hook", gate_cmd_hook},
		{"tuf", gate_cmd_tuf},
		{"trust", gate_cmd_trust},
		{"status", gate_cmd_status},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gate: unknown command '");
	gate_cli_put_escaped(stderr, cmd);
	fprintf(stderr, "'\n%s", usage);
	return GATE_EXIT_USAGE;
}
