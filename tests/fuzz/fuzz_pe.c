/* fuzz_pe.c - Authenticode PE parsing and verification: gate_pe_parse
 * (headers, sections, certificate table against the file size),
 * gate_codesign_count (WIN_CERTIFICATE entries, nested signatures) and
 * gate_verify_codesign for every signature, over the fixture trust. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fixture_memfd(data, size);
	struct gate_pe pe;
	struct gate_error err = {0};
	size_t n = 0;
	if (gate_pe_parse(fd, &pe, &err) == GATE_OK) {
		uint8_t d[64];
		unsigned dl = 0;
		if (gate_pe_digest(fd, &pe, EVP_sha256(), d, &dl, &err) != GATE_OK)
			abort(); /* a parsed file always hashes */
	}
	(void)gate_pe_sniff(fd);
	struct gate_cs_input in = {.format = GATE_CS_PE, .fd = fd, .name = "fuzz"};
	struct gate_cs_opts o = {.trust = trust, .now = FIXTURE_NOW};
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
