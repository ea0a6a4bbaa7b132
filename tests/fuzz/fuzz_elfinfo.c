/* fuzz_elfinfo - gated's ELF reader (gate/daemon/elfinfo.c): PT_INTERP of
 * an untrusted file, ELF32/ELF64 in either byte order, read piecewise
 * through a callback that refuses anything outside the input. */
#include "elfinfo.h"

#include <stdlib.h>
#include <string.h>

struct buf {
	const uint8_t *p;
	size_t n;
};

static bool rd(void *ctx, void *out, size_t n, uint64_t off)
{
	const struct buf *b = ctx;
	if (off > b->n || n > b->n - off)
		abort(); /* the parser must check bounds before reading */
	memcpy(out, b->p + off, n);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = {data, size};
	struct gated_elf e;
	gated_elf_parse(rd, &b, size, &e);
	if (e.kind == GATED_ELF_DYNAMIC) {
		size_t n = strnlen(e.interp, sizeof e.interp);
		if (n == 0 || n >= sizeof e.interp)
			abort();
	}
	if (e.kind == GATED_ELF_MALFORMED && !e.why)
		abort();
	return 0;
}
