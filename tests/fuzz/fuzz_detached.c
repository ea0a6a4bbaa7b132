/* fuzz_detached.c - gate_bundle_from_detached on cosign's detached outputs:
 * a base64 signature file, a certificate (PEM, DER or base64 of PEM) and a
 * PEM chain, all untrusted. The input is split as
 *
 *   siglen (2 bytes, big endian) || certlen (2) || sig || cert || chain
 *
 * with certlen 0xffff meaning "no certificate" (managed-key mode). */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

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
	struct gate_rd r = {data, size};
	uint64_t siglen, certlen;
	const uint8_t *sig, *cert = NULL;
	struct gate_bundle *b = NULL;
	struct gate_error err = {0};
	if (!gate_rd_uint(&r, 2, &siglen) || !gate_rd_uint(&r, 2, &certlen) ||
	    !gate_rd_bytes(&r, siglen, &sig))
		return no_stale_errors();
	if (certlen != 0xffff && !gate_rd_bytes(&r, certlen, &cert))
		return no_stale_errors();
	/* Each part in its own exact-size buffer so ASan sees its end. */
	uint8_t *s = malloc(siglen + 1), *c = cert ? malloc(certlen + 1) : NULL;
	uint8_t *ch = malloc(r.n + 1);
	if (!s || (cert && !c) || !ch)
		abort();
	memcpy(s, sig, siglen);
	if (cert)
		memcpy(c, cert, certlen);
	memcpy(ch, r.p, r.n);
	enum gate_err rc =
		gate_bundle_from_detached(s, siglen, c, certlen, r.n ? ch : NULL, r.n, &b, &err);
	if ((rc == GATE_OK) != (b != NULL))
		abort();
	if (b && (b->sig_len == 0 || (cert && !b->leaf)))
		abort();
	gate_bundle_free(b);
	free(s);
	free(c);
	free(ch);
	return no_stale_errors();
}
