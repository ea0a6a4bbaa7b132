/* apt_parse.c - the parsers of apt-origin evidence (apt_origin.h): a
 * Release (its fields, dates and the SHA256 list of the files it vouches
 * for) and a Packages index (the entries sorted by SHA-256, and by
 * package, version and architecture for lookups by identity). Untrusted
 * deb822 text: length-bounded, needs no NUL. */
#include "apt_origin.h"
#include "deb822.h"
#include "gate_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- deb822 fields ---- */

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*out = x;
	return true;
}

static enum gate_err dupn(char **out, const char *s, size_t n, struct gate_error *err)
{
	free(*out);
	if (!(*out = strndup(s, n)))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	return GATE_OK;
}

bool gate_apt_parse_date(const char *s, size_t len, int64_t *out)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char buf[64], m[4] = {0}, tz[16] = {0};
	int day, year, hh, mm, ss, used = 0;
	if (len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	const char *p = buf;
	const char *comma = strchr(p, ',');
	if (comma)
		p = comma + 1;
	if (sscanf(p, " %2d %3s %4d %2d:%2d:%2d %15s%n", &day, m, &year, &hh, &mm, &ss, tz,
		   &used) != 7)
		return false;
	int mi = -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(m, mon[i]) == 0)
			mi = i;
	if (mi < 0 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60 ||
	    hh < 0 || mm < 0 || ss < 0)
		return false;
	int64_t off = 0;
	if (strcmp(tz, "UTC") == 0 || strcmp(tz, "GMT") == 0 || strcmp(tz, "Z") == 0) {
		off = 0;
	} else if ((tz[0] == '+' || tz[0] == '-') && strlen(tz) == 5 &&
		   strspn(tz + 1, "0123456789") == 4) {
		off = ((tz[1] - '0') * 10 + (tz[2] - '0')) * 3600 +
		      ((tz[3] - '0') * 10 + (tz[4] - '0')) * 60;
		if (tz[0] == '-')
			off = -off;
	} else {
		return false;
	}
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mi,
			.tm_mday = day,
			.tm_hour = hh,
			.tm_min = mm,
			.tm_sec = ss};
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (int64_t)t - off;
	return true;
}

void gate_apt_release_clear(struct gate_apt_release *r)
{
	free(r->origin);
	free(r->label);
	free(r->suite);
	free(r->codename);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	memset(r, 0, sizeof(*r));
}

/* The SHA256 field: lines "HEX SIZE PATH". */
static enum gate_err release_files(struct gate_apt_release *r, const char *v, size_t vl,
				   struct gate_error *err)
{
	const char *q = v, *l;
	size_t ll, cap = 0;
	while (gate_d822_value_line(&q, v + vl, &l, &ll)) {
		gate_d822_trim(&l, &ll);
		if (ll == 0)
			continue;
		const char *sp1 = memchr(l, ' ', ll);
		if (!sp1)
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		const char *rest = sp1;
		size_t rl = ll - (size_t)(rest - l);
		gate_d822_trim(&rest, &rl);
		const char *sp2 = memchr(rest, ' ', rl);
		if (!sp2)
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		const char *path = sp2;
		size_t pl = rl - (size_t)(path - rest);
		gate_d822_trim(&path, &pl);
		struct gate_apt_relfile f = {0};
		if ((size_t)(sp1 - l) != 64 || !gate_hex_decode(l, 64, f.sha256, 32) ||
		    !parse_u64(rest, (size_t)(sp2 - rest), &f.size) || pl == 0 ||
		    memchr(path, ' ', pl) || memchr(path, '\0', pl))
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		if (r->nfiles == GATE_APT_MAX_RELEASE_FILES)
			return gate_fail(err, GATE_E_TOO_LARGE, NULL, "SHA256",
					 "more than %u files", GATE_APT_MAX_RELEASE_FILES);
		if (r->nfiles == cap) {
			size_t nc = cap ? cap * 2 : 16;
			void *nf = realloc(r->files, nc * sizeof(*r->files));
			if (!nf)
				return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			r->files = nf;
			cap = nc;
		}
		if (!(f.path = strndup(path, pl)))
			return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		r->files[r->nfiles++] = f;
	}
	return GATE_OK; /* lines are bounded: the field reader refused over-long ones */
}

enum gate_err gate_apt_parse_release(const char *text, size_t len, struct gate_apt_release *r,
				     struct gate_error *err)
{
	struct gate_d822 d = {text, text + len};
	const char *k, *v;
	size_t kl, vl;
	bool eof, have_sha = false;
	int got;
	enum gate_err rc = GATE_OK;
	memset(r, 0, sizeof(*r));
	if (len > GATE_APT_MAX_RELEASE)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "Release", "over %u bytes",
				 GATE_APT_MAX_RELEASE);
	while (rc == GATE_OK && (got = gate_d822_field(&d, &k, &kl, &v, &vl, &eof)) == 1) {
		if (gate_d822_key_is(k, kl, "SHA256")) {
			if (have_sha)
				rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "given twice");
			else
				rc = release_files(r, v, vl, err);
			have_sha = true;
			continue;
		}
		gate_d822_trim(&v, &vl);
		if (gate_d822_key_is(k, kl, "Origin"))
			rc = dupn(&r->origin, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Label"))
			rc = dupn(&r->label, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Suite"))
			rc = dupn(&r->suite, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Codename"))
			rc = dupn(&r->codename, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Date") && !gate_apt_parse_date(v, vl, &r->date))
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Date", "malformed date");
		else if (gate_d822_key_is(k, kl, "Valid-Until") &&
			 !gate_apt_parse_date(v, vl, &r->valid_until))
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Valid-Until", "malformed date");
	}
	if (rc == GATE_OK && got < 0)
		rc = gate_fail(err, GATE_E_PARSE, NULL, "Release", "malformed field");
	if (rc == GATE_OK && !have_sha)
		rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "no SHA256 field");
	if (rc != GATE_OK)
		gate_apt_release_clear(r);
	return rc;
}

/* ---- Packages ---- */

void gate_apt_index_clear(struct gate_apt_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->pkgs[i].name);
		free(ix->pkgs[i].version);
		free(ix->pkgs[i].arch);
	}
	free(ix->pkgs);
	free(ix->byname);
	memset(ix, 0, sizeof(*ix));
}

static int cmp_pkg(const void *a, const void *b)
{
	return memcmp(((const struct gate_apt_pkg *)a)->sha256,
		      ((const struct gate_apt_pkg *)b)->sha256, 32);
}

static int cmp_ident(const char *name, const char *version, const char *arch,
		     const struct gate_apt_pkg *p)
{
	int c = strcmp(name, p->name);
	if (!c)
		c = strcmp(version, p->version);
	if (!c)
		c = strcmp(arch, p->arch);
	return c;
}

static int cmp_byname(const void *a, const void *b)
{
	const struct gate_apt_pkg *x = *(struct gate_apt_pkg *const *)a;
	const struct gate_apt_pkg *y = *(struct gate_apt_pkg *const *)b;
	int c = cmp_ident(x->name, x->version, x->arch, y);
	return c ? c : memcmp(x->sha256, y->sha256, 32);
}

/* ix->byname over the (sorted) entries that have a name, version and arch. */
static enum gate_err index_byname(struct gate_apt_index *ix, struct gate_error *err)
{
	if (!ix->n)
		return GATE_OK;
	if (!(ix->byname = malloc(ix->n * sizeof(*ix->byname))))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < ix->n; i++)
		if (ix->pkgs[i].name && ix->pkgs[i].version && ix->pkgs[i].arch)
			ix->byname[ix->nbyname++] = &ix->pkgs[i];
	qsort(ix->byname, ix->nbyname, sizeof(*ix->byname), cmp_byname);
	return GATE_OK;
}

enum gate_err gate_apt_parse_packages(const char *text, size_t len, struct gate_apt_index *ix,
				      struct gate_error *err)
{
	struct gate_d822 d = {text, text + len};
	size_t cap = 0;
	enum gate_err rc = GATE_OK;
	memset(ix, 0, sizeof(*ix));
	if (len > GATE_APT_MAX_INDEX)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "Packages", "over %u bytes",
				 GATE_APT_MAX_INDEX);
	for (;;) {
		struct gate_apt_pkg pk = {0};
		bool has_sha = false, has_size = false, eof = false, any = false;
		const char *k, *v;
		size_t kl, vl;
		int got;
		while (rc == GATE_OK && (got = gate_d822_field(&d, &k, &kl, &v, &vl, &eof)) == 1) {
			any = true;
			gate_d822_trim(&v, &vl);
			if (gate_d822_key_is(k, kl, "SHA256")) {
				if (vl != 64 || !gate_hex_decode(v, 64, pk.sha256, 32))
					rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256",
						       "not 64 hex digits");
				has_sha = true;
			} else if (gate_d822_key_is(k, kl, "Size")) {
				if (!parse_u64(v, vl, &pk.size))
					rc = gate_fail(err, GATE_E_PARSE, NULL, "Size",
						       "not a number");
				has_size = true;
			} else if (gate_d822_key_is(k, kl, "Package")) {
				rc = dupn(&pk.name, v, vl, err);
			} else if (gate_d822_key_is(k, kl, "Version")) {
				rc = dupn(&pk.version, v, vl, err);
			} else if (gate_d822_key_is(k, kl, "Architecture")) {
				rc = dupn(&pk.arch, v, vl, err);
			}
		}
		if (rc == GATE_OK && got < 0)
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Packages", "malformed field");
		if (rc == GATE_OK && any && has_sha && has_size) {
			if (ix->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *np = realloc(ix->pkgs, nc * sizeof(*ix->pkgs));
				if (!np)
					rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL,
						       "out of memory");
				else {
					ix->pkgs = np;
					cap = nc;
				}
			}
			if (rc == GATE_OK) {
				ix->pkgs[ix->n++] = pk;
				memset(&pk, 0, sizeof(pk));
			}
		}
		free(pk.name);
		free(pk.version);
		free(pk.arch);
		if (rc != GATE_OK) {
			gate_apt_index_clear(ix);
			return rc;
		}
		if (eof)
			break;
	}
	if (ix->n)
		qsort(ix->pkgs, ix->n, sizeof(*ix->pkgs), cmp_pkg);
	rc = index_byname(ix, err);
	if (rc != GATE_OK)
		gate_apt_index_clear(ix);
	return rc;
}

const struct gate_apt_pkg *gate_apt_index_find(const struct gate_apt_index *ix,
					       const uint8_t sha256[32])
{
	struct gate_apt_pkg key;
	memcpy(key.sha256, sha256, 32);
	return ix->n ? bsearch(&key, ix->pkgs, ix->n, sizeof(*ix->pkgs), cmp_pkg) : NULL;
}

struct gate_apt_pkg *const *gate_apt_index_find_version(const struct gate_apt_index *ix,
							const char *name, const char *version,
							const char *arch, size_t *n)
{
	size_t lo = 0, hi = ix->nbyname;
	*n = 0;
	/* the first entry not below the key */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_ident(name, version, arch, ix->byname[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + *n < ix->nbyname && cmp_ident(name, version, arch, ix->byname[lo + *n]) == 0)
		(*n)++;
	return *n ? &ix->byname[lo] : NULL;
}
