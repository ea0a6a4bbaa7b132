/* verify_cmd.c - `gate verify`: cosign-style verification of one artifact.
 * Prints facts, never a policy decision. */
#include "cli.h"
#include "tuf_trust.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char verify_usage[] =
	"usage: gate verify [options] ARTIFACT|sha256:HEX\n"
	"\n"
	"Evidence (one of):\n"
	"  --bundle FILE                      Sigstore bundle or cosign --bundle JSON\n"
	"  --signature FILE                   detached base64 signature, with\n"
	"      --certificate FILE             PEM signing certificate (keyless), and\n"
	"      --certificate-chain FILE       PEM intermediates (optional)\n"
	"      or --key FILE                  PEM public key (managed key)\n"
	"Expectations (keyless needs an identity and an issuer):\n"
	"  --certificate-identity ID          exact SAN (email or URI)\n"
	"  --certificate-identity-regexp RE   anchored POSIX ERE over the SAN\n"
	"  --certificate-oidc-issuer URL      exact OIDC issuer\n"
	"  --certificate-oidc-issuer-regexp RE  anchored POSIX ERE over the issuer\n"
	"  --key FILE                         verify with a managed public key\n"
	"  --certificate-github-workflow-trigger|-sha|-name|-repository|-ref V\n"
	"                                     exact value of that Fulcio extension\n"
	"                                     (as cosign; the certificate must carry it)\n"
	"Trust and output:\n"
	"  --trusted-root FILE                trusted_root.json (default: the one\n"
	"                                     'gate trust update' cached, when its\n"
	"                                     TUF metadata verifies and is fresh;\n"
	"                                     else the embedded public-good root)\n"
	"  --insecure-ignore-tlog             accept evidence with no log entry\n"
	"  --current-time RFC3339             verify as of this time (tests, audits)\n"
	"  --format text|json                 output format (default text)\n"
	"  --new-bundle-format                accepted for cosign compatibility: a\n"
	"                                     bundle's format is read from the file\n"
	"ARTIFACT '-' reads the artifact from standard input.\n"
	"\n"
	"Classic X.509 code signing (CMS, Authenticode, JAR):\n"
	"  gate verify --ca ROOTS.pem [--p7s FILE | --pe | --jar] ARTIFACT\n"
	"  --p7s FILE                         detached CMS/PKCS#7 signature (DER or PEM)\n"
	"  --pe, --jar                        embedded signature (default: by content)\n"
	"  --ca FILE                          trusted root certificates (repeatable)\n"
	"  --tsa-ca FILE                      timestamp authority roots (repeatable)\n"
	"  --crl FILE                         CRL file, PEM or DER (repeatable)\n"
	"  --crl-mode require|prefer|ignore   unknown revocation status fails with\n"
	"                                     require, is noted with prefer (default)\n"
	"  --crl-fetch [--crl-cache DIR]      download CRLs from distribution points\n"
	"  --allow-unsigned-entries           JAR: count entries no signature covers\n"
	"                                     instead of rejecting them\n"
	"\n"
	"  A file verifies only when every signature in it does (C9).\n"
	"\n"
	"Exit: 0 verified, 1 rejected, 2 usage or input error. A rejection names\n"
	"the rule of the verification spec (S1..S19 for Sigstore, C1..C13 for\n"
	"X.509 code signing: docs/CODESIGN.md), the field and the reason. A\n"
	"malformed but readable signed file is rejected (1); a file or trust that\n"
	"cannot be read, or input over a size cap, is an error (2).\n";

struct verify_args {
	const char *bundle, *signature, *certificate, *chain, *key, *root;
	const char *identity, *identity_re, *issuer, *issuer_re, *artifact, *now;
	/* --certificate-github-workflow-*: values indexed like wf_claims */
	const char *wf[5];
	bool ignore_tlog;
	enum gate_format fmt;
};

/* cosign's --certificate-github-workflow-X flags and the extension each
 * names (the facts' names, signer.h). */
static const char *const wf_claims[5] = {"github_workflow_trigger", "github_workflow_sha",
					 "github_workflow_name", "github_workflow_repository",
					 "github_workflow_ref"};

enum {
	OPT_BUNDLE = 256,
	OPT_SIGNATURE,
	OPT_CERT,
	OPT_CHAIN,
	OPT_KEY,
	OPT_ID,
	OPT_ID_RE,
	OPT_ISS,
	OPT_ISS_RE,
	OPT_ROOT,
	OPT_FORMAT,
	OPT_IGNORE_TLOG,
	OPT_NOW,
	OPT_NEW_BUNDLE,
	OPT_WF, /* OPT_WF + i: wf_claims[i] */
};

static const struct option verify_opts[] = {
	{"bundle", required_argument, NULL, OPT_BUNDLE},
	{"signature", required_argument, NULL, OPT_SIGNATURE},
	{"certificate", required_argument, NULL, OPT_CERT},
	{"certificate-chain", required_argument, NULL, OPT_CHAIN},
	{"key", required_argument, NULL, OPT_KEY},
	{"certificate-identity", required_argument, NULL, OPT_ID},
	{"certificate-identity-regexp", required_argument, NULL, OPT_ID_RE},
	{"certificate-oidc-issuer", required_argument, NULL, OPT_ISS},
	{"certificate-oidc-issuer-regexp", required_argument, NULL, OPT_ISS_RE},
	{"trusted-root", required_argument, NULL, OPT_ROOT},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"insecure-ignore-tlog", no_argument, NULL, OPT_IGNORE_TLOG},
	{"current-time", required_argument, NULL, OPT_NOW},
	{"new-bundle-format", no_argument, NULL, OPT_NEW_BUNDLE},
	{"certificate-github-workflow-trigger", required_argument, NULL, OPT_WF + 0},
	{"certificate-github-workflow-sha", required_argument, NULL, OPT_WF + 1},
	{"certificate-github-workflow-name", required_argument, NULL, OPT_WF + 2},
	{"certificate-github-workflow-repository", required_argument, NULL, OPT_WF + 3},
	{"certificate-github-workflow-ref", required_argument, NULL, OPT_WF + 4},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "gate verify: %s\n(see 'gate verify --help')\n", msg);
	return GATE_EXIT_USAGE;
}

static bool set_once(const char **slot, const char *val)
{
	if (*slot)
		return false;
	*slot = val;
	return true;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct verify_args *va)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", verify_opts, NULL)) != -1) {
		const char **slot = NULL;
		switch (c) {
		case 'h':
			fputs(verify_usage, stdout);
			return GATE_EXIT_OK;
		case OPT_BUNDLE:
			slot = &va->bundle;
			break;
		case OPT_SIGNATURE:
			slot = &va->signature;
			break;
		case OPT_CERT:
			slot = &va->certificate;
			break;
		case OPT_CHAIN:
			slot = &va->chain;
			break;
		case OPT_KEY:
			slot = &va->key;
			break;
		case OPT_ID:
			slot = &va->identity;
			break;
		case OPT_ID_RE:
			slot = &va->identity_re;
			break;
		case OPT_ISS:
			slot = &va->issuer;
			break;
		case OPT_ISS_RE:
			slot = &va->issuer_re;
			break;
		case OPT_ROOT:
			slot = &va->root;
			break;
		case OPT_NOW:
			slot = &va->now;
			break;
		case OPT_IGNORE_TLOG:
			va->ignore_tlog = true;
			break;
		case OPT_NEW_BUNDLE:
			break;
		case OPT_WF + 0:
		case OPT_WF + 1:
		case OPT_WF + 2:
		case OPT_WF + 3:
		case OPT_WF + 4:
			slot = &va->wf[c - OPT_WF];
			break;
		case OPT_FORMAT:
			if (!gate_cli_parse_format(optarg, &va->fmt) || va->fmt > GATE_FMT_JSON)
				return usage_error("--format must be text or json");
			break;
		default:
			return usage_error(optopt ? "option needs a value" : "unknown option");
		}
		if (slot && !set_once(slot, optarg))
			return usage_error("an option was given twice");
	}
	if (optind + 1 != argc)
		return usage_error("exactly one ARTIFACT or sha256:HEX is required");
	va->artifact = argv[optind];
	if (!!va->bundle + !!va->signature != 1)
		return usage_error("give exactly one of --bundle and --signature");
	if (va->bundle && (va->certificate || va->chain))
		return usage_error("--certificate and --certificate-chain go with --signature, "
				   "not --bundle");
	if (va->chain && !va->certificate)
		return usage_error("--certificate-chain needs --certificate");
	if (va->key && va->certificate)
		return usage_error("--key and --certificate exclude each other");
	bool wf = false;
	for (size_t i = 0; i < 5; i++)
		wf = wf || va->wf[i];
	if (va->key && (va->identity || va->identity_re || va->issuer || va->issuer_re || wf))
		return usage_error(
			"--key excludes the --certificate-identity/issuer/github-workflow "
			"flags");
	if (va->signature && !va->key && !va->certificate)
		return usage_error("--signature needs --certificate or --key");
	if (va->identity && va->identity_re)
		return usage_error("give --certificate-identity or its -regexp form, not both");
	if (va->issuer && va->issuer_re)
		return usage_error("give --certificate-oidc-issuer or its -regexp form, not both");
	if (!va->key && (!(va->identity || va->identity_re) || !(va->issuer || va->issuer_re)))
		return usage_error("keyless verification needs --certificate-identity[-regexp] "
				   "and --certificate-oidc-issuer[-regexp]");
	return -1;
}

static enum gate_err load_evidence(const struct verify_args *va, struct gate_bundle **out,
				   struct gate_error *err)
{
	/* Named on the command line: a pipe is read too (gate_read_stream). */
	uint8_t *sig = NULL, *cert = NULL, *chain = NULL;
	size_t sl = 0, cl = 0, chl = 0;
	enum gate_err rc;
	const size_t cap = 1024 * 1024;
	if (va->bundle) {
		if ((rc = gate_read_stream(va->bundle, GATE_MAX_BUNDLE, &sig, &sl, err)) == GATE_OK)
			rc = gate_bundle_parse(sig, sl, out, err);
		if (rc != GATE_OK && err && !err->file[0])
			snprintf(err->file, sizeof(err->file), "%s", va->bundle);
	} else if ((rc = gate_read_stream(va->signature, cap, &sig, &sl, err)) == GATE_OK &&
		   (!va->certificate ||
		    (rc = gate_read_stream(va->certificate, cap, &cert, &cl, err)) == GATE_OK) &&
		   (!va->chain ||
		    (rc = gate_read_stream(va->chain, cap, &chain, &chl, err)) == GATE_OK)) {
		rc = gate_bundle_from_detached(sig, sl, cert, cl, chain, chl, out, err);
	}
	free(sig);
	free(cert);
	free(chain);
	return rc;
}

/* Check that regexps compile before any work, so a typo is a usage error. */
static enum gate_err check_regex(const char *re, struct gate_error *err)
{
	if (!re)
		return GATE_OK;
	enum gate_err rc = gate_regex_full_match(re, "", err);
	return rc == GATE_E_IDENTITY ? GATE_OK : rc;
}

/* S16: each --certificate-github-workflow-X value is the certificate's
 * extension, exactly (cosign's comparison). */
static enum gate_err check_workflow(const struct verify_args *va, const struct gate_facts *f,
				    struct gate_error *err)
{
	for (size_t i = 0; i < 5; i++) {
		if (!va->wf[i])
			continue;
		const char *v = gate_facts_ext(f, wf_claims[i]);
		char field[96];
		snprintf(field, sizeof field, "certificate.extensions.%s", wf_claims[i]);
		if (!v)
			return gate_fail(err, GATE_E_IDENTITY, "S16", field,
					 "the certificate has no %s extension; expected '%s'",
					 wf_claims[i], va->wf[i]);
		if (strcmp(v, va->wf[i]) != 0)
			return gate_fail(err, GATE_E_IDENTITY, "S16", field,
					 "%s '%s' is not the expected '%s'", wf_claims[i], v,
					 va->wf[i]);
	}
	return GATE_OK;
}

/* The artifact named '-': standard input, copied to an unlinked temporary
 * file (so every algorithm reads the same bytes, Ed25519's whole message
 * included), capped at GATE_MAX_STDIN_ARTIFACT bytes. */
#define GATE_MAX_STDIN_ARTIFACT (4ull * 1024 * 1024 * 1024)

static enum gate_err open_stdin(struct gate_artifact **out, struct gate_error *err)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	uint8_t buf[65536];
	uint64_t total = 0;
	enum gate_err rc = GATE_E_IO;
	snprintf(path, sizeof path, "%s/gate-stdin-XXXXXX", dir && dir[0] ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, "-", "cannot create a temporary file in %s",
				 dir && dir[0] ? dir : "/tmp");
	unlink(path);
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = gate_fail(err, GATE_E_IO, NULL, "-", "reading standard input: %s",
				       strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((total += (uint64_t)n) > GATE_MAX_STDIN_ARTIFACT) {
			rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, "-",
				       "standard input is larger than %llu bytes",
				       (unsigned long long)GATE_MAX_STDIN_ARTIFACT);
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = gate_fail(err, GATE_E_IO, NULL, "-",
					       "copying standard input to %s: %s", path,
					       strerror(errno));
				goto out;
			}
			off += w;
		}
	}
	rc = gate_artifact_from_fd(fd, "-", out, err);
out:
	close(fd);
	return rc;
}

static void print_text(const struct verify_args *va, const struct gate_facts *f)
{
	fputs("verified: ", stdout);
	gate_put_escaped(stdout, va->artifact);
	fputc('\n', stdout);
	gate_facts_put_text(stdout, "  ", f, GATE_FACTS_DETAIL);
}

static void print_result(const struct verify_args *va, enum gate_err rc, const struct gate_facts *f,
			 const struct gate_error *e)
{
	if (va->fmt == GATE_FMT_JSON) {
		json_t *o = json_object();
		json_object_set_new(o, "artifact", json_string(va->artifact));
		json_object_set_new(o, "verified", json_boolean(rc == GATE_OK));
		json_object_set_new(o, rc == GATE_OK ? "facts" : "error",
				    rc == GATE_OK ? gate_facts_json(f) : gate_error_json(e));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	if (rc == GATE_OK) {
		print_text(va, f);
		return;
	}
	printf("rejected: ");
	gate_put_escaped(stdout, va->artifact);
	printf("\n  rule: %s\n  field: ", e->rule[0] ? e->rule : "-");
	gate_put_escaped(stdout, e->field[0] ? e->field : "-");
	fputs("\n  reason: ", stdout);
	gate_put_escaped(stdout, e->msg[0] ? e->msg : gate_err_str(e->code));
	fputc('\n', stdout);
}

int gate_cmd_verify(int argc, char **argv)
{
	if (gate_cli_verify_is_x509(argc, argv))
		return gate_cmd_verify_x509(argc, argv);
	struct verify_args va = {0};
	struct gate_error err = {0};
	struct gate_trusted_root *root = NULL;
	struct gate_pubkey *key = NULL;
	struct gate_bundle *bundle = NULL;
	struct gate_artifact *art = NULL;
	struct gate_facts *facts = NULL;
	enum gate_err rc;
	int code = parse_args(argc, argv, &va);
	if (code >= 0)
		return code;
	struct gate_verify_opts opts = {
		.identity = va.identity,
		.identity_regex = va.identity_re,
		.issuer = va.issuer,
		.issuer_regex = va.issuer_re,
		.require_tlog = !va.ignore_tlog,
	};
	if (va.now && !gate_parse_rfc3339(va.now, &opts.now))
		return usage_error("--current-time must be RFC 3339, e.g. 2025-01-01T00:00:00Z");
	if ((rc = check_regex(va.identity_re, &err)) != GATE_OK ||
	    (rc = check_regex(va.issuer_re, &err)) != GATE_OK)
		goto fail;
	rc = va.root ? gate_trusted_root_load(va.root, &root, &err)
		     : gate_trusted_root_best(NULL, 0, &root, NULL, &err);
	if (rc != GATE_OK)
		goto fail;
	gate_trust_warn(root, opts.now);
	opts.root = root;
	if (va.key && (rc = gate_pubkey_load(va.key, &key, &err)) != GATE_OK)
		goto fail;
	opts.key = key;
	if ((rc = load_evidence(&va, &bundle, &err)) != GATE_OK)
		goto fail;
	rc = strncmp(va.artifact, "sha256:", 7) == 0
		     ? gate_artifact_from_digest(va.artifact, &art, &err)
	     : strcmp(va.artifact, "-") == 0 ? open_stdin(&art, &err)
					     : gate_artifact_open(va.artifact, &art, &err);
	if (rc != GATE_OK)
		goto fail;
	rc = gate_verify_bundle(bundle, art, &opts, &facts, &err);
	if (rc == GATE_OK && (rc = check_workflow(&va, facts, &err)) != GATE_OK) {
		gate_facts_free(facts);
		facts = NULL;
	}
	if (rc != GATE_OK && gate_err_is_input(rc))
		goto fail;
	print_result(&va, rc, facts, &err);
	code = gate_cli_exit_for(rc);
	goto out;
fail:
	/* Input errors: say which file and field on stderr, and in JSON mode
	 * still emit a result object so pipelines see why. */
	if (va.fmt == GATE_FMT_JSON)
		print_result(&va, rc, NULL, &err);
	gate_cli_print_error(va.artifact, &err);
	code = gate_cli_exit_for(rc);
out:
	gate_facts_free(facts);
	gate_artifact_free(art);
	gate_bundle_free(bundle);
	gate_pubkey_free(key);
	gate_trusted_root_free(root);
	return code;
}
