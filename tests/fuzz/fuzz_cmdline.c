/* fuzz_cmdline - gated's reading of an interpreter's /proc/PID/cmdline
 * (gate/daemon/interp.c, gated_argv_classify): NUL-separated arguments of
 * any length, the last possibly unterminated. The first input byte picks
 * the interpreter family. */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *operand = NULL;
	if (size == 0)
		return 0;
	enum gated_family fam = (enum gated_family)(data[0] % GATED_FAM_UNKNOWN);
	/* A copy of exactly the input: reads past it are ASan's to find. */
	char *cmd = malloc(size - 1 ? size - 1 : 1);
	if (!cmd)
		return 0;
	memcpy(cmd, data + 1, size - 1);
	enum gated_argv a = gated_argv_classify(fam, cmd, size - 1, &operand);
	if ((a == GATED_ARGV_SCRIPT) != (operand != NULL))
		abort();
	if (operand && !memmem(cmd, size - 1, operand, strlen(operand) + 1))
		abort(); /* the operand is one of the arguments, NUL included */
	free(operand);
	free(cmd);
	return 0;
}
