/* fuzz_apt_index.c - the apt-origin parsers (gate/debian/apt_origin.c) on
 * untrusted bytes: the signed text of a Release, a Packages index and a
 * Release date. What parses must hold the parsers' promises: the index is
 * sorted and every entry can be found by its digest and, when it has a
 * name, version and arch, by those (byname sorted, every match equal);
 * Release files have non-empty paths without spaces, within the cap. */
#include "../../gate/debian/apt_origin.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_error err = {0};
	struct gate_apt_release r;
	struct gate_apt_index ix;
	int64_t t;
	if (gate_apt_parse_release((const char *)data, size, &r, &err) == GATE_OK) {
		if (r.nfiles > GATE_APT_MAX_RELEASE_FILES)
			abort();
		for (size_t i = 0; i < r.nfiles; i++)
			if (!r.files[i].path[0] || strchr(r.files[i].path, ' '))
				abort();
		gate_apt_release_clear(&r);
	}
	if (gate_apt_parse_packages((const char *)data, size, &ix, &err) == GATE_OK) {
		for (size_t i = 0; i < ix.n; i++) {
			const struct gate_apt_pkg *p = gate_apt_index_find(&ix, ix.pkgs[i].sha256);
			if (!p || memcmp(p->sha256, ix.pkgs[i].sha256, 32) != 0)
				abort();
			if (i && memcmp(ix.pkgs[i - 1].sha256, ix.pkgs[i].sha256, 32) > 0)
				abort();
		}
		size_t named = 0;
		for (size_t i = 0; i < ix.n; i++)
			named += ix.pkgs[i].name && ix.pkgs[i].version && ix.pkgs[i].arch;
		if (named != ix.nbyname)
			abort();
		for (size_t i = 0; i < ix.nbyname; i++) {
			const struct gate_apt_pkg *p = ix.byname[i];
			size_t n;
			struct gate_apt_pkg *const *m =
				gate_apt_index_find_version(&ix, p->name, p->version, p->arch, &n);
			if (!m || n == 0 || m > &ix.byname[i] || m + n <= &ix.byname[i])
				abort();
			for (size_t k = 0; k < n; k++)
				if (strcmp(m[k]->name, p->name) ||
				    strcmp(m[k]->version, p->version) ||
				    strcmp(m[k]->arch, p->arch))
					abort();
		}
		gate_apt_index_clear(&ix);
	}
	(void)gate_apt_parse_date((const char *)data, size, &t);
	return 0;
}
