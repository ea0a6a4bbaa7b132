/* fuzz_timestamp.c - an RFC 3161 TimeStampResp from untrusted bytes
 * verified (S12) over a fixed signature against the embedded root's TSAs. */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The signature of the conformance managed-key-happy-path bundle: its
 * timestamp (a seed) carries this signature's imprint. */
static const uint8_t sig[] = {
	0x30, 0x45, 0x02, 0x21, 0x00, 0x80, 0x09, 0xf8, 0x69, 0x21, 0x7d, 0xfe, 0xcd, 0x55, 0xc9,
	0x8f, 0x01, 0x1e, 0x21, 0x2d, 0x32, 0x15, 0x32, 0xb6, 0x8d, 0x17, 0xc1, 0x8d, 0xdb, 0x97,
	0x01, 0xa2, 0xc7, 0x25, 0x20, 0x11, 0x1c, 0x02, 0x20, 0x49, 0x47, 0x53, 0x33, 0xe4, 0xb9,
	0xc6, 0xe7, 0x0e, 0x0d, 0x11, 0x6d, 0xac, 0x61, 0xcd, 0xda, 0xe0, 0xa5, 0x4b, 0x43, 0x11,
	0x3e, 0x1a, 0x99, 0x9b, 0xbe, 0xa0, 0xd1, 0x91, 0xc4, 0x43, 0x97,
};

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
	struct gate_error err = {0};
	int64_t gen = 0;
	size_t idx = 0;
	enum gate_err rc = gate_rfc3161_verify(data, size, sig, sizeof sig, root, &gen, &idx, &err);
	if (rc == GATE_OK && idx >= root->ntsas)
		abort();
	return no_stale_errors();
}
