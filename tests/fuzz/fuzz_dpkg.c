/* fuzz_dpkg.c - the parsers of dpkg's database (gate/debian/dpkg_parse.c) on
 * untrusted bytes: the same input as a status file, a diversions file and
 * a .md5sums file, and each parsed path looked up among the Conffiles it
 * came with. Promises checked: every installed stanza handed over has a
 * non-empty name, version and architecture; diversions come in whole
 * triples; md5sums entries are sorted by path and each is found again by
 * bsearch. */
#include "../../gate/debian/dpkg_import.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum gate_err on_stanza(void *ctx, struct gate_dpkg_stanza *s, struct gate_error *err)
{
	(void)err;
	if (!s->name || !*s->name || !s->version || !*s->version || !s->arch || !*s->arch)
		abort();
	(void)gate_dpkg_is_conffile(s->conffiles, s->name);
	(*(size_t *)ctx)++;
	return GATE_OK;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct gate_dpkg_md5 *)a)->path,
		      ((const struct gate_dpkg_md5 *)b)->path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_error err = {0};
	struct gate_dpkg_diversion *d = NULL;
	struct gate_dpkg_md5 *m = NULL;
	size_t n = 0, stanzas = 0;
	(void)gate_dpkg_parse_status((const char *)data, size, "status", on_stanza, &stanzas, &err);
	if (gate_dpkg_parse_diversions((const char *)data, size, "diversions", &d, &n, &err) ==
	    GATE_OK) {
		for (size_t i = 0; i < n; i++)
			if (!d[i].from || !d[i].to || !d[i].pkg)
				abort();
		gate_dpkg_diversions_free(d, n);
	}
	/* The md5sums parser writes NULs into its text, which needs one
	 * writable byte past the end (as gate_read_file gives). */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = gate_dpkg_parse_md5sums(text, size, &m);
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(m[i - 1].path, m[i].path) > 0)
			abort();
		if (!bsearch(&m[i], m, n, sizeof(*m), cmp))
			abort();
		(void)gate_dpkg_is_conffile(text, m[i].path);
	}
	free(m);
	free(text);
	return 0;
}
