/* fuzz_mountinfo.c - gated's parsers of the kernel's text (gate/daemon/
 * mountinfo.c): a whole /proc/self/mountinfo, each line alone, and a sysctl
 * value. Every parsed mount point is absolute and NUL-terminated inside its
 * field. */
#include "mountinfo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gated_mount *v = NULL, m;
	size_t n = 0;
	long x;
	if (gated_mountinfo_parse((const char *)data, size, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (v[i].point[0] != '/' || !memchr(v[i].point, '\0', sizeof v[i].point) ||
			    !memchr(v[i].fstype, '\0', sizeof v[i].fstype))
				abort();
	}
	free(v);
	if (gated_mountinfo_line((const char *)data, size, &m) && m.point[0] != '/')
		abort();
	(void)gated_sysctl_int((const char *)data, size, &x);
	return 0;
}
