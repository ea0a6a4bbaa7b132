/* fuzz_checkpoint.c - the transparency-log proof checks on untrusted bytes:
 * the input as a signed note (S8) against the first log of the embedded
 * root, and the same input split into an inclusion proof (S9):
 *
 *   index (8 bytes, big endian) || tree size (8) || n (1) || n hashes of 32
 *   bytes || leaf body (the rest)
 */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The inclusion proof of the conformance happy-path-v0.3 bundle, so that
 * its checkpoint (and its proof, as a seed) verify all the way. */
#define TREE_SIZE 75408393u
static const uint8_t root_hash[32] = {
	0x16, 0x79, 0xe3, 0xd7, 0x75, 0x2e, 0xd6, 0x37, 0x64, 0xb0, 0xf7,
	0x38, 0x1d, 0x92, 0xda, 0xa4, 0xa5, 0xf7, 0xdb, 0xd7, 0x55, 0x94,
	0x3e, 0x7e, 0x30, 0x63, 0x6c, 0x8a, 0xa0, 0x6a, 0xd5, 0x73,
};

static struct gate_trusted_root *root; /* read-only after initialisation */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (gate_trusted_root_default(&root, NULL) != GATE_OK || root->ntlogs < 1)
		abort();
	return 0;
}

static void merkle(const uint8_t *data, size_t size)
{
	struct gate_rd r = {data, size};
	struct gate_error err = {0};
	uint64_t index, tsize, n;
	const uint8_t *hashes;
	if (!gate_rd_uint(&r, 8, &index) || !gate_rd_uint(&r, 8, &tsize) ||
	    !gate_rd_uint(&r, 1, &n) || !gate_rd_bytes(&r, n * 32, &hashes))
		return;
	/* Copied so that ASan sees the exact extent of each part. */
	uint8_t(*h)[32] = n ? malloc(n * 32) : NULL;
	uint8_t *body = r.n ? malloc(r.n) : NULL;
	if ((n && !h) || (r.n && !body))
		abort();
	if (n)
		memcpy(h, hashes, n * 32);
	if (r.n)
		memcpy(body, r.p, r.n);
	(void)gate_merkle_verify(body, r.n, index, tsize, (const uint8_t(*)[32])h, n, root_hash,
				 &err);
	free(h);
	free(body);
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
	/* libFuzzer hands over an exact-size heap copy that is not
	 * NUL-terminated: reading past size is an overflow ASan reports. */
	(void)gate_checkpoint_verify((const char *)data, size, &root->tlogs[0], TREE_SIZE,
				     root_hash, &err);
	merkle(data, size);
	return no_stale_errors();
}
