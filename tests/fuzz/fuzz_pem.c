/* fuzz_pem.c - the PEM readers on untrusted text: gate_pem_decode (the
 * certificate or key a log body carries, S6) and gate_certs_from_pem (cosign
 * certificates and chains). */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const uint8_t *data, size_t size, const char *label)
{
	uint8_t *der = NULL;
	size_t dlen = 0;
	if (gate_pem_decode(data, size, label, &der, &dlen)) {
		if (!der || dlen == 0 || dlen > size)
			abort();
		free(der);
	}
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
	STACK_OF(X509) *sk = NULL;
	struct gate_error err = {0};
	decode(data, size, "CERTIFICATE");
	decode(data, size, "PUBLIC KEY");
	enum gate_err rc = gate_certs_from_pem(data, size, GATE_MAX_CHAIN, &sk, "fuzz", &err);
	if (rc == GATE_OK && (!sk || sk_X509_num(sk) < 1 || sk_X509_num(sk) > GATE_MAX_CHAIN))
		abort();
	if (rc != GATE_OK && sk)
		abort();
	sk_X509_pop_free(sk, X509_free);
	return no_stale_errors();
}
