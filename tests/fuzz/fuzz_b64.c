/* fuzz_b64.c - strict base64 decoding of untrusted text, and the round
 * trip decode(encode(x)) == x for everything that decodes. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *x = NULL, *y = NULL;
	size_t xlen = 0, ylen = 0;
	struct gate_error err = {0};
	if (gate_b64_decode((const char *)data, size, &x, &xlen, "fuzz", &err) != GATE_OK) {
		if (x)
			abort();
		return 0;
	}
	if (xlen > size || x[xlen] != 0)
		abort(); /* NUL-terminated, never longer than its text */
	char *enc = gate_b64_encode(x, xlen);
	if (!enc)
		abort();
	if (gate_b64_decode(enc, strlen(enc), &y, &ylen, "fuzz", &err) != GATE_OK || ylen != xlen ||
	    memcmp(x, y, xlen) != 0)
		abort();
	free(enc);
	free(x);
	free(y);
	return 0;
}
