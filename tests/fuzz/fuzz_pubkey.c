/* fuzz_pubkey.c - gate_pubkey_parse (PEM or DER SPKI) on untrusted bytes. */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	struct gate_pubkey *k = NULL;
	struct gate_error err = {0};
	char id[65];
	if (gate_pubkey_parse(data, size, &k, &err) != GATE_OK) {
		if (k)
			abort();
		return no_stale_errors();
	}
	if (!k->pkey || !k->spki || k->spki_len == 0 || k->alg == GATE_ALG_UNKNOWN)
		abort();
	gate_pubkey_id(k, id);
	/* A key that parsed must be usable for a (failing) verification. */
	static const uint8_t msg[] = "fuzz", sig[64] = {0x30};
	(void)gate_sig_verify_msg(k->pkey, k->alg, msg, sizeof msg, sig, sizeof sig);
	gate_pubkey_free(k);
	return no_stale_errors();
}
