/* fuzz_jar.c - the ZIP reader and signed-JAR verification: gate_zip_open
 * (end record, central directory, local headers, duplicates, overlaps),
 * every entry read (stored, or inflated by libarchive) with its size and
 * CRC-32 checked, then gate_codesign_count and gate_verify_codesign of
 * every signature (manifest and .SF parsing, digests, PKCS#7 block). */
#include "codesign_fixture.h"

#include <openssl/err.h>

static struct gate_x509_trust *trust;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	trust = fixture_trust();
	return 0;
}

static bool discard(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fixture_memfd(data, size);
	struct gate_zip z;
	struct gate_error err = {0};
	size_t n = 0;
	if (gate_zip_open(fd, &z, &err) == GATE_OK) {
		for (size_t i = 0; i < z.n && i < 64; i++)
			(void)gate_zip_read(&z, i, 1u << 20, discard, NULL, &err);
		gate_zip_close(&z);
	}
	(void)gate_cs_sniff(fd);
	struct gate_cs_input in = {.format = GATE_CS_JAR, .fd = fd, .name = "fuzz"};
	struct gate_cs_opts o = {
		.trust = trust, .now = FIXTURE_NOW, .allow_unsigned_entries = true};
	if (gate_codesign_count(&in, &n, &err) == GATE_OK) {
		for (size_t i = 0; i < n && i < 4; i++) {
			struct gate_facts *f = NULL;
			in.index = i;
			if (gate_verify_codesign(&in, &o, &f, &err) == GATE_OK && !f)
				abort();
			gate_facts_free(f);
		}
	}
	fixture_no_ssl_errors();
	close(fd);
	return 0;
}
