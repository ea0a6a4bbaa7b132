/* dpkg_parse.c - the parsers of dpkg's files (dpkg_import.h): the status
 * file's installed stanzas, the diversions file, .md5sums files and the
 * Conffiles field. Untrusted text, length-bounded (tests/fuzz/fuzz_dpkg.c). */
#include "dpkg_import_int.h"
#include "deb822.h"
#include "gate_util.h"

#include <stdlib.h>
#include <string.h>

static bool field_dup(char **out, const char *v, size_t vl)
{
	gate_d822_trim(&v, &vl);
	free(*out);
	return (*out = strndup(v, vl)) != NULL;
}

/* "install ok installed": the third word is the state. */
static bool is_installed(const char *status)
{
	const char *sp = strrchr(status, ' ');
	return sp && strcmp(sp + 1, "installed") == 0;
}

static void stanza_clear(struct gate_dpkg_stanza *s)
{
	free(s->name);
	free(s->version);
	free(s->arch);
	free(s->status);
	free(s->conffiles);
	memset(s, 0, sizeof(*s));
}

enum gate_err gate_dpkg_parse_status(const char *text, size_t len, const char *label,
				     gate_dpkg_stanza_fn fn, void *ctx, struct gate_error *err)
{
	struct gate_d822 d = {text, text + len};
	struct gate_dpkg_stanza s = {0};
	enum gate_err rc = GATE_OK;
	size_t line = 1;
	for (;;) {
		const char *k, *v;
		size_t kl, vl;
		bool eof;
		const char *at = d.p;
		int f = gate_d822_field(&d, &k, &kl, &v, &vl, &eof);
		for (const char *q = at; q < d.p; q++)
			line += *q == '\n';
		if (f < 0) {
			/* the offending line is the last one read */
			if (d.p > text && d.p[-1] == '\n')
				line--;
			rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s:%zu: malformed field",
				       label, line);
			break;
		}
		if (f == 1) {
			bool ok = true;
			if (gate_d822_key_is(k, kl, "Package"))
				ok = field_dup(&s.name, v, vl);
			else if (gate_d822_key_is(k, kl, "Version"))
				ok = field_dup(&s.version, v, vl);
			else if (gate_d822_key_is(k, kl, "Architecture"))
				ok = field_dup(&s.arch, v, vl);
			else if (gate_d822_key_is(k, kl, "Status"))
				ok = field_dup(&s.status, v, vl);
			else if (gate_d822_key_is(k, kl, "Conffiles"))
				ok = field_dup(&s.conffiles, v, vl);
			if (!ok) {
				rc = gate_dpkg_oom(err);
				break;
			}
			continue;
		}
		/* end of a stanza: hand over installed packages */
		if (s.name && s.status && is_installed(s.status)) {
			if (!s.version || !*s.version || !s.arch || !*s.arch || !*s.name) {
				rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					       "%s:%zu: installed package '%s' without a version "
					       "or architecture",
					       label, line, s.name);
				break;
			}
			/* They name files (info/NAME:ARCH.list, NAME_VERSION_ARCH.deb):
			 * Debian's own character sets only, never a '/'. */
			if (strspn(s.name, "abcdefghijklmnopqrstuvwxyz0123456789+-.") !=
				    strlen(s.name) ||
			    strspn(s.arch, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
				    strlen(s.arch) ||
			    strchr(s.version, '/') || s.name[0] == '.') {
				rc = gate_fail(
					err, GATE_E_PARSE, NULL, FIELD,
					"%s:%zu: installed package '%s': not a valid package "
					"name, version or architecture",
					label, line, s.name);
				break;
			}
			if ((rc = fn(ctx, &s, err)) != GATE_OK)
				break;
		}
		stanza_clear(&s);
		if (eof)
			break;
	}
	stanza_clear(&s);
	return rc;
}

void gate_dpkg_diversions_free(struct gate_dpkg_diversion *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].from);
		free(d[i].to);
		free(d[i].pkg);
	}
	free(d);
}

enum gate_err gate_dpkg_parse_diversions(const char *text, size_t len, const char *label,
					 struct gate_dpkg_diversion **out, size_t *nout,
					 struct gate_error *err)
{
	const char *p = text, *end = text + len, *l;
	struct gate_dpkg_diversion *v = NULL;
	size_t ll, n = 0, k = 0;
	char *trip[3];
	enum gate_err rc = GATE_OK;
	while (gate_d822_value_line(&p, end, &l, &ll)) {
		if (!(trip[k] = strndup(l, ll))) {
			rc = gate_dpkg_oom(err);
			break;
		}
		if (++k < 3)
			continue;
		k = 0;
		struct gate_dpkg_diversion *nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv) {
			k = 3;
			rc = gate_dpkg_oom(err);
			break;
		}
		v = nv;
		v[n++] = (struct gate_dpkg_diversion){trip[0], trip[1], trip[2]};
	}
	for (size_t i = 0; i < k; i++)
		free(trip[i]);
	if (rc == GATE_OK && k != 0)
		rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
			       "%s: not a whole number of (from, to, package) triples", label);
	if (rc != GATE_OK) {
		gate_dpkg_diversions_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return GATE_OK;
}

int gate_dpkg_cmp_md5ent(const void *a, const void *b)
{
	return strcmp(((const struct gate_dpkg_md5 *)a)->path,
		      ((const struct gate_dpkg_md5 *)b)->path);
}

size_t gate_dpkg_parse_md5sums(char *text, size_t len, struct gate_dpkg_md5 **out)
{
	size_t n = 0, cap = 0;
	struct gate_dpkg_md5 *v = NULL;
	const char *p = text, *end = text + len, *l;
	size_t ll;
	while (gate_d822_value_line(&p, end, &l, &ll)) {
		if (ll < 35 || l[32] != ' ' || l[33] != ' ')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct gate_dpkg_md5 *nv = realloc(v, nc * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		if (!gate_hex_decode(l, 32, v[n].md5, 16))
			continue;
		((char *)l)[ll] = '\0'; /* the newline (or the buffer's NUL) */
		v[n++].path = l + 34;
	}
	if (n)
		qsort(v, n, sizeof(*v), gate_dpkg_cmp_md5ent);
	*out = v;
	return n;
}

bool gate_dpkg_is_conffile(const char *conffiles, const char *path)
{
	size_t pl = strlen(path);
	if (!pl)
		return false; /* strstr would find "" everywhere, forever */
	for (const char *c = conffiles; c && (c = strstr(c, path)) != NULL; c += pl) {
		bool start = c == conffiles || c[-1] == ' ' || c[-1] == '\n';
		if (start && c[pl] == ' ')
			return true;
	}
	return false;
}
