/* fuzz_cms.c - detached CMS/PKCS#7 signatures: gate_cs_parse_p7 (DER and
 * PEM), the signer's attributes and signature, RFC 3161 tokens and PKCS#9
 * countersignatures, chain and facts, over a fixed artifact ("payload\n",
 * what the seeds sign) with the fixture trust. */
#include "codesign_fixture.h"

#include <openssl/err.h>

static struct gate_x509_trust *trust;
static int art = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	trust = fixture_trust();
	art = fixture_memfd((const uint8_t *)"payload\n", 8);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_error err = {0};
	size_t n = 0;
	struct gate_cs_input in = {
		.format = GATE_CS_CMS, .fd = art, .name = "fuzz", .sig = data, .siglen = size};
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
	return 0;
}
