/* sign_cmd.c - `gate keygen` and `gate sign` for self-managed keys, fully
 * offline. Passphrases come only from a named environment variable: on the
 * command line they would show in ps. */
#include "cli.h"
#include "sign.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char keygen_usage[] =
	"usage: gate keygen [options]\n"
	"\n"
	"Make a key pair for offline signing (like cosign generate-key-pair).\n"
	"\n"
	"  --alg ecdsa-p256|ecdsa-p384|ed25519  key algorithm (default ecdsa-p256)\n"
	"  --output-key-prefix PREFIX           write PREFIX.key (private, mode 0600)\n"
	"                                       and PREFIX.pub (default prefix: gate)\n"
	"  --passphrase-env VAR                 encrypt the private key with the\n"
	"                                       passphrase in environment variable VAR\n"
	"                                       (without it the key is unencrypted)\n"
	"\n"
	"Existing files are never overwritten.\n"
	"Exit: 0 written, 2 usage or input error.\n";

static const char sign_usage[] =
	"usage: gate sign --key FILE [options] ARTIFACT\n"
	"\n"
	"Sign a file with a managed key: a Sigstore bundle and a cosign-style\n"
	"detached signature, with no transparency log (verify them with\n"
	"'gate verify --key PUB --insecure-ignore-tlog').\n"
	"\n"
	"  --key FILE                 PEM private key (from 'gate keygen')\n"
	"  --passphrase-env VAR       the key's passphrase is in environment\n"
	"                             variable VAR\n"
	"  --bundle FILE              bundle output (default ARTIFACT.sigstore.json)\n"
	"  --output-signature FILE    base64 signature output (default ARTIFACT.sig)\n"
	"\n"
	"Outputs are replaced atomically; a symlink is never written through.\n"
	"Exit: 0 signed, 2 usage or input error.\n";

enum {
	OPT_ALG = 256,
	OPT_PREFIX,
	OPT_PASS_ENV,
	OPT_KEY,
	OPT_BUNDLE,
	OPT_SIG_OUT,
};

static const struct option keygen_opts[] = {
	{"alg", required_argument, NULL, OPT_ALG},
	{"output-key-prefix", required_argument, NULL, OPT_PREFIX},
	{"passphrase-env", required_argument, NULL, OPT_PASS_ENV},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const struct option sign_opts[] = {
	{"key", required_argument, NULL, OPT_KEY},
	{"passphrase-env", required_argument, NULL, OPT_PASS_ENV},
	{"bundle", required_argument, NULL, OPT_BUNDLE},
	{"output-signature", required_argument, NULL, OPT_SIG_OUT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct sign_args {
	const char *alg, *prefix, *pass_env, *key, *bundle, *sig_out, *artifact;
};

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "gate %s: %s\n(see 'gate %s --help')\n", cmd, msg, cmd);
	return GATE_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(const char *cmd, const struct option *opts, const char *usage, int argc,
		      char **argv, struct sign_args *sa)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char **slot = NULL;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return GATE_EXIT_OK;
		case OPT_ALG:
			slot = &sa->alg;
			break;
		case OPT_PREFIX:
			slot = &sa->prefix;
			break;
		case OPT_PASS_ENV:
			slot = &sa->pass_env;
			break;
		case OPT_KEY:
			slot = &sa->key;
			break;
		case OPT_BUNDLE:
			slot = &sa->bundle;
			break;
		case OPT_SIG_OUT:
			slot = &sa->sig_out;
			break;
		default:
			return usage_error(cmd, optopt ? "option needs a value" : "unknown option");
		}
		if (*slot)
			return usage_error(cmd, "an option was given twice");
		if (!*optarg)
			return usage_error(cmd, "an option value is empty");
		*slot = optarg;
	}
	return -1;
}

/* Copy the passphrase out of the environment into a buffer the caller
 * wipes, then wipe and drop the variable: /proc/PID/environ would show it
 * for as long as the process runs. *out stays NULL without --passphrase-env.
 * Returns -1 to go on, or an exit code. */
static int take_passphrase(const char *cmd, const char *var, char **out)
{
	*out = NULL;
	if (!var)
		return -1;
	char *val = getenv(var);
	if (!val) {
		fprintf(stderr, "gate %s: environment variable ", cmd);
		gate_put_escaped(stderr, var);
		fputs(" (--passphrase-env) is not set\n", stderr);
		return GATE_EXIT_USAGE;
	}
	if (!*val) {
		fprintf(stderr, "gate %s: environment variable ", cmd);
		gate_put_escaped(stderr, var);
		fputs(" (--passphrase-env) is empty\n", stderr);
		return GATE_EXIT_USAGE;
	}
	if (!(*out = strdup(val))) {
		fprintf(stderr, "gate %s: out of memory\n", cmd);
		return GATE_EXIT_USAGE;
	}
	explicit_bzero(val, strlen(val));
	unsetenv(var);
	return -1;
}

static void wipe_passphrase(char *pass)
{
	if (!pass)
		return;
	explicit_bzero(pass, strlen(pass));
	free(pass);
}

static char *join(const char *a, const char *b)
{
	char *s = NULL;
	return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

static void print_wrote(const char *what, const char *path)
{
	printf("wrote %s: ", what);
	gate_put_escaped(stdout, path);
	fputc('\n', stdout);
}

int gate_cmd_keygen(int argc, char **argv)
{
	struct sign_args sa = {0};
	struct gate_error err = {0};
	char *pass = NULL, *priv = NULL, *pub = NULL;
	int code = parse_args("keygen", keygen_opts, keygen_usage, argc, argv, &sa);
	if (code >= 0)
		return code;
	if (optind != argc)
		return usage_error("keygen", "no positional arguments are taken");
	if ((code = take_passphrase("keygen", sa.pass_env, &pass)) >= 0)
		return code;
	const char *prefix = sa.prefix ? sa.prefix : "gate";
	if (!(priv = join(prefix, ".key")) || !(pub = join(prefix, ".pub"))) {
		fputs("gate keygen: out of memory\n", stderr);
		code = GATE_EXIT_USAGE;
		goto out;
	}
	enum gate_err rc = gate_keygen_write(priv, pub, sa.alg, pass, &err);
	if (rc != GATE_OK) {
		gate_cli_print_error(NULL, &err);
		code = GATE_EXIT_USAGE;
		goto out;
	}
	if (!pass)
		fputs("gate keygen: warning: the private key is NOT encrypted (no "
		      "--passphrase-env); keep it secret\n",
		      stderr);
	print_wrote("private key", priv);
	print_wrote("public key", pub);
	code = GATE_EXIT_OK;
out:
	wipe_passphrase(pass);
	free(priv);
	free(pub);
	return code;
}

int gate_cmd_sign(int argc, char **argv)
{
	struct sign_args sa = {0};
	struct gate_error err = {0};
	char *pass = NULL, *bundle = NULL, *sig = NULL;
	int code = parse_args("sign", sign_opts, sign_usage, argc, argv, &sa);
	if (code >= 0)
		return code;
	if (optind + 1 != argc)
		return usage_error("sign", "exactly one ARTIFACT is required");
	sa.artifact = argv[optind];
	if (!sa.key)
		return usage_error("sign", "--key FILE is required (make one with 'gate keygen')");
	if ((code = take_passphrase("sign", sa.pass_env, &pass)) >= 0)
		return code;
	bundle = sa.bundle ? strdup(sa.bundle) : join(sa.artifact, ".sigstore.json");
	sig = sa.sig_out ? strdup(sa.sig_out) : join(sa.artifact, ".sig");
	if (!bundle || !sig) {
		fputs("gate sign: out of memory\n", stderr);
		code = GATE_EXIT_USAGE;
		goto out;
	}
	/* Signing has no "rejected" outcome: every failure is bad input or
	 * usage (a wrong passphrase included), so exit 2. */
	if (gate_sign_file(sa.key, pass, sa.artifact, bundle, sig, &err) != GATE_OK) {
		gate_cli_print_error(sa.artifact, &err);
		code = GATE_EXIT_USAGE;
		goto out;
	}
	print_wrote("bundle", bundle);
	print_wrote("signature", sig);
	code = GATE_EXIT_OK;
out:
	wipe_passphrase(pass);
	free(bundle);
	free(sig);
	return code;
}
