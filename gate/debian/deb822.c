/* deb822.c - deb822 stanzas (deb822.h). */
#include "deb822.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Next line (without its newline or a trailing CR) or false at the end;
 * *bad on an over-long line. */
static bool next_line(struct gate_d822 *d, const char **l, size_t *ll, bool *bad)
{
	if (d->p >= d->end)
		return false;
	const char *nl = memchr(d->p, '\n', (size_t)(d->end - d->p));
	const char *e = nl ? nl : d->end;
	*l = d->p;
	*ll = (size_t)(e - d->p);
	if (*ll && (*l)[*ll - 1] == '\r')
		(*ll)--;
	if (*ll > GATE_D822_MAX_LINE)
		*bad = true;
	d->p = nl ? nl + 1 : d->end;
	return true;
}

int gate_d822_field(struct gate_d822 *d, const char **k, size_t *kl, const char **v, size_t *vl,
		    bool *eof)
{
	const char *l;
	size_t ll;
	bool bad = false;
	*eof = false;
	for (;;) {
		if (!next_line(d, &l, &ll, &bad)) {
			*eof = true;
			return 0;
		}
		if (bad)
			return -1;
		if (ll == 0)
			return 0;
		if (l[0] == '#')
			continue;
		break;
	}
	if (l[0] == ' ' || l[0] == '\t')
		return -1; /* continuation without a field */
	const char *colon = memchr(l, ':', ll);
	if (!colon || colon == l)
		return -1;
	*k = l;
	*kl = (size_t)(colon - l);
	*v = colon + 1;
	const char *vend = l + ll;
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t')) {
		if (!next_line(d, &l, &ll, &bad) || bad)
			return -1;
		vend = l + ll;
	}
	*vl = (size_t)(vend - *v);
	return 1;
}

bool gate_d822_value_line(const char **v, const char *end, const char **l, size_t *ll)
{
	if (*v >= end)
		return false;
	const char *nl = memchr(*v, '\n', (size_t)(end - *v));
	const char *e = nl ? nl : end;
	*l = *v;
	*ll = (size_t)(e - *v);
	if (*ll && (*l)[*ll - 1] == '\r')
		(*ll)--;
	*v = nl ? nl + 1 : end;
	return true;
}

bool gate_d822_key_is(const char *k, size_t kl, const char *want)
{
	return strlen(want) == kl && strncasecmp(k, want, kl) == 0;
}

void gate_d822_trim(const char **v, size_t *vl)
{
	while (*vl && isspace((unsigned char)**v)) {
		(*v)++;
		(*vl)--;
	}
	while (*vl && isspace((unsigned char)(*v)[*vl - 1]))
		(*vl)--;
}
