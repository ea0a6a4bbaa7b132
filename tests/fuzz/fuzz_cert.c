/* fuzz_cert.c - one DER certificate from untrusted bytes through the
 * certificate checks: identity and Fulcio extensions (S16), embedded SCTs
 * (S15) and the chain to the trusted root (S14). */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* integratedTime of the conformance happy-path-v0.3 bundle: inside its
 * leaf's ten-minute validity, so that seed verifies all the way. */
#define CHAIN_TIME 1710869186

static struct gate_trusted_root *root; /* read-only after initialisation */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (gate_trusted_root_default(&root, NULL) != GATE_OK)
		abort();
	return 0;
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
	X509 *leaf = gate_x509_from_der(data, size);
	X509 *issuer = NULL;
	struct gate_error err = {0};
	if (!leaf)
		return no_stale_errors();
	struct gate_facts *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	(void)gate_cert_identity(leaf, f, &err);
	/* A second call replaces what the first filled in. */
	(void)gate_cert_identity(leaf, f, &err);
	gate_facts_free(f);
	(void)gate_sct_verify(leaf, leaf, root, &err);
	if (gate_cert_verify_chain(leaf, NULL, root, CHAIN_TIME, NULL, &err) == GATE_OK &&
	    gate_cert_verify_chain(leaf, NULL, root, CHAIN_TIME, &issuer, &err) == GATE_OK) {
		(void)gate_sct_verify(leaf, issuer, root, &err);
		X509_free(issuer);
	}
	X509_free(leaf);
	return no_stale_errors();
}
