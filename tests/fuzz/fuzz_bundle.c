/* fuzz_bundle.c - gate_bundle_parse on untrusted bytes; whatever parses is
 * then run through gate_verify_bundle in keyless and in managed-key mode, so
 * that every verification path (S4-S19) sees garbage that got past the
 * parser. */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Later than every seed's integratedTime, so S11 does not stop them
 * early; fixed so that runs are reproducible. */
#define NOW 1800000000
/* The conformance suite's a.txt: with it the seed bundles get past S6. */
#define ARTIFACT "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
/* managed-key-happy-path/key.pub */
static const char managed_key[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n"
	"fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n"
	"-----END PUBLIC KEY-----\n";

/* Read-only after initialisation. */
static struct gate_trusted_root *root;
static struct gate_artifact *artifact;
static struct gate_pubkey *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (gate_trusted_root_default(&root, NULL) != GATE_OK ||
	    gate_artifact_from_digest(ARTIFACT, &artifact, NULL) != GATE_OK ||
	    gate_pubkey_parse((const uint8_t *)managed_key, sizeof(managed_key) - 1, &key, NULL) !=
		    GATE_OK)
		abort();
	return 0;
}

static void verify(const struct gate_bundle *b, const struct gate_verify_opts *o)
{
	struct gate_facts *f = NULL;
	struct gate_error err = {0};
	if (gate_verify_bundle(b, artifact, o, &f, &err) == GATE_OK && !f)
		abort(); /* success must hand back facts */
	gate_facts_free(f);
}

/* Nothing may be left in OpenSSL's error queue: a stale error would be
 * reported as the reason of a later, unrelated failure. */
static int no_stale_errors(void)
{
	if (ERR_peek_error())
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_bundle *b = NULL;
	struct gate_error err = {0};
	if (gate_bundle_parse(data, size, &b, &err) != GATE_OK) {
		if (b)
			abort(); /* *out is set only on success */
		return no_stale_errors();
	}
	const struct gate_verify_opts keyless = {
		.root = root,
		.identity =
			"https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-"
			"beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/"
			"heads/main",
		.issuer = "https://token.actions.githubusercontent.com",
		.now = NOW,
		.require_tlog = true,
	};
	const struct gate_verify_opts keyless_regex = {
		.root = root,
		.identity_regex = "https://github\\.com/.*",
		.issuer_regex = "https://token\\.actions\\.githubusercontent\\.com",
		.now = NOW,
	};
	const struct gate_verify_opts managed = {
		.root = root,
		.key = key,
		.now = NOW,
		.require_tlog = true,
	};
	verify(b, &keyless);
	verify(b, &keyless_regex);
	verify(b, &managed);
	gate_bundle_free(b);
	return no_stale_errors();
}
