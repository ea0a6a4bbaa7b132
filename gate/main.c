/* main.c - `gate`: dispatch to the subcommands. */
#include "cli.h"
#include "gate_util.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
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

/* Verifying draws random numbers only for OpenSSL's blinding (in the P-384
 * chain check) and for TLS when a store or CRL is fetched. Instantiating
 * OpenSSL's default DRBG, CTR-DRBG over AES-256, fetches every cipher of the
 * provider: 11% of the instructions of a small `gate verify`. HASH-DRBG over
 * SHA-256 is an SP 800-90A DRBG of the same 256-bit strength, with the same
 * seed source, and SHA-256 is fetched anyway. Set before OpenSSL loads its
 * configuration, so that a [random] section there still decides. Commands
 * that make keys or signatures keep OpenSSL's default all the same. */
static void prefer_hash_drbg(void)
{
	(void)RAND_set_DRBG_type(NULL, "HASH-DRBG", NULL, NULL, "SHA256");
	(void)OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
}

int main(int argc, char **argv)
{
	/* File types come from the system's libmagic database, never from
	 * one the environment names: a rule on type must not be evaded by
	 * whoever sets $MAGIC. */
	unsetenv("MAGIC");
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
		bool signs; /* makes keys or signatures (tuf: repository publishing) */
	} cmds[] = {
		{"verify", gate_cmd_verify, false}, {"check", gate_cmd_check, false},
		{"policy", gate_cmd_policy, false}, {"keygen", gate_cmd_keygen, true},
		{"sign", gate_cmd_sign, true},	    {"ledger", gate_cmd_ledger, false},
		{"hook", gate_cmd_hook, false},	    {"tuf", gate_cmd_tuf, true},
		{"trust", gate_cmd_trust, false},   {"status", gate_cmd_status, false},
	};
	/* apt runs the hooks with whatever environment its caller had: their
	 * decisions come from flags and files only (gate_env_lock). */
	if (strcmp(cmd, "hook") == 0 && !gate_env_lock(NULL)) {
		fputs("gate: out of memory\n", stderr);
		return GATE_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			if (!cmds[i].signs)
				prefer_hash_drbg();
			return cmds[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "gate: unknown command '");
	gate_put_escaped(stderr, cmd);
	fprintf(stderr, "'\n%s", usage);
	return GATE_EXIT_USAGE;
}
