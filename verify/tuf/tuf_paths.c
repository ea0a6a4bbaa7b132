/* tuf_paths.c - target paths and role names (spec/TUF.md §4, T23): the
 * delegation path pattern matcher, path_hash_prefixes, succinct hash bins
 * (TAP 15) and the percent-encoding of names. Pure, no I/O. */
#include "tuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- delegations (T23) ---- */

/* T23 glob matching, as Python's fnmatch.fnmatchcase per '/'-component
 * (what the reference does): '*' any run, '?' one character, '[...]' a set
 * ('!' negates, a leading ']' is literal, a-z ranges, an unclosed '[' is
 * literal), no escapes, case-sensitive, characters are code points. Our own
 * matcher rather than fnmatch(3): glibc's recursion on '*' is exponential in
 * the number of stars, and a pattern is chosen by whoever signs the
 * delegation; this one is O(pattern x path) with no recursion. */

/* One code point of a NUL-terminated UTF-8 string; a byte that does not
 * start a valid sequence stands for itself (above the Unicode range). */
static uint32_t utf8_next(const char **sp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t c = s[0];
	int n = c < 0x80	     ? 0
		: (c & 0xe0) == 0xc0 ? 1
		: (c & 0xf0) == 0xe0 ? 2
		: (c & 0xf8) == 0xf0 ? 3
				     : -1;
	if (n < 0) {
		*sp += 1;
		return 0x110000 + c;
	}
	uint32_t v = n == 0 ? c : c & (0x3f >> n);
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*sp += 1;
			return 0x110000 + c;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	*sp += n + 1;
	return v;
}

enum glob_kind { GLOB_CHAR, GLOB_ANY, GLOB_STAR, GLOB_SET };

struct glob_tok {
	enum glob_kind kind;
	uint32_t c;	 /* GLOB_CHAR */
	const char *set; /* GLOB_SET: first byte after '[' (and '!') */
	const char *end; /* GLOB_SET: the closing ']' */
	bool negate;
};

/* Tokens of one pattern component [p, e); *n <= e - p. */
static void glob_compile(const char *p, const char *e, struct glob_tok *t, size_t *n)
{
	*n = 0;
	while (p < e) {
		struct glob_tok *k = &t[*n];
		if (*p == '*') {
			p++;
			/* Consecutive stars are one. */
			if (*n == 0 || t[*n - 1].kind != GLOB_STAR) {
				k->kind = GLOB_STAR;
				(*n)++;
			}
			continue;
		}
		if (*p == '?') {
			p++;
			k->kind = GLOB_ANY;
			(*n)++;
			continue;
		}
		if (*p == '[') {
			const char *j = p + 1;
			bool neg = j < e && *j == '!';
			if (neg)
				j++;
			const char *first = j;
			if (j < e && *j == ']')
				j++;
			while (j < e && *j != ']')
				j++;
			if (j < e) {
				k->kind = GLOB_SET;
				k->negate = neg;
				k->set = first;
				k->end = j;
				(*n)++;
				p = j + 1;
				continue;
			}
			/* No closing ']': a literal '['. */
		}
		k->kind = GLOB_CHAR;
		k->c = utf8_next(&p);
		(*n)++;
	}
}

static bool glob_set_has(const struct glob_tok *k, uint32_t c)
{
	const char *p = k->set;
	bool in = false;
	while (p < k->end) {
		uint32_t lo = utf8_next(&p), hi = lo;
		/* "a-z" is a range unless '-' is the last character. */
		if (p < k->end && *p == '-' && p + 1 < k->end) {
			p++;
			hi = utf8_next(&p);
		}
		if (lo <= c && c <= hi)
			in = true;
	}
	return in != k->negate;
}

static bool glob_tok_match(const struct glob_tok *k, uint32_t c)
{
	switch (k->kind) {
	case GLOB_CHAR:
		return k->c == c;
	case GLOB_ANY:
		return true;
	case GLOB_SET:
		return glob_set_has(k, c);
	default:
		return false;
	}
}

/* Match tokens t[0..m) against code points s[0..n): the classic
 * backtrack-to-the-last-star loop. */
static bool glob_run(const struct glob_tok *t, size_t m, const uint32_t *s, size_t n)
{
	size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
	while (i < n) {
		if (p < m && t[p].kind == GLOB_STAR) {
			star = p++;
			mark = i;
		} else if (p < m && glob_tok_match(&t[p], s[i])) {
			p++;
			i++;
		} else if (star != SIZE_MAX) {
			p = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (p < m && t[p].kind == GLOB_STAR)
		p++;
	return p == m;
}

static bool glob_component(const char *p, const char *pe, const char *s, const char *se,
			   struct glob_tok *toks, uint32_t *cps)
{
	size_t m = 0, n = 0;
	glob_compile(p, pe, toks, &m);
	while (s < se)
		cps[n++] = utf8_next(&s);
	return glob_run(toks, m, cps, n);
}

static size_t count_slashes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '/';
	return n;
}

bool gate_tuf_path_match(const char *pattern, const char *path)
{
	size_t plen = strlen(pattern), slen = strlen(path);
	/* Same number of components first (T23). */
	if (count_slashes(pattern) != count_slashes(path))
		return false;
	struct glob_tok *toks = malloc((plen + 1) * sizeof(*toks));
	uint32_t *cps = malloc((slen + 1) * sizeof(*cps));
	bool ok = toks && cps;
	const char *p = pattern, *s = path;
	while (ok) {
		const char *pe = strchr(p, '/'), *se = strchr(s, '/');
		if (!pe)
			pe = p + strlen(p);
		if (!se)
			se = s + strlen(s);
		ok = glob_component(p, pe, s, se, toks, cps);
		if (!*pe)
			break;
		p = pe + 1;
		s = se + 1;
	}
	free(toks);
	free(cps);
	return ok;
}

bool gate_tuf_delegation_matches(const struct gate_tuf_delegation *d, const char *path)
{
	if (d->has_paths) {
		for (size_t i = 0; i < d->npaths; i++)
			if (gate_tuf_path_match(d->paths[i], path))
				return true;
		return false;
	}
	uint8_t h[32];
	char hex[65];
	gate_sha256(path, strlen(path), h);
	gate_hex_encode(h, sizeof h, hex);
	for (size_t i = 0; i < d->nprefixes; i++)
		if (strncmp(hex, d->prefixes[i], strlen(d->prefixes[i])) == 0)
			return true;
	return false;
}

static unsigned bin_width(unsigned bits)
{
	return (bits + 3) / 4;
}

bool gate_tuf_succinct_role(const struct gate_tuf_succinct *s, const char *path, char *buf,
			    size_t cap)
{
	uint8_t h[32];
	if (s->bit_length < 1 || s->bit_length > 32)
		return false;
	gate_sha256(path, strlen(path), h);
	uint32_t v = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
	uint32_t bin = s->bit_length == 32 ? v : v >> (32 - s->bit_length);
	int n = snprintf(buf, cap, "%s-%0*x", s->name_prefix, (int)bin_width(s->bit_length),
			 (unsigned)bin);
	return n > 0 && (size_t)n < cap;
}

bool gate_tuf_succinct_has(const struct gate_tuf_succinct *s, const char *name)
{
	size_t plen = strlen(s->name_prefix);
	unsigned w = bin_width(s->bit_length);
	if (s->bit_length < 1 || s->bit_length > 32 || strncmp(name, s->name_prefix, plen) != 0 ||
	    name[plen] != '-' || strlen(name + plen + 1) != w)
		return false;
	uint64_t v = 0;
	for (const char *p = name + plen + 1; *p; p++) {
		int d = (*p >= '0' && *p <= '9')   ? *p - '0'
			: (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
						   : -1;
		if (d < 0)
			return false;
		v = v * 16 + (uint64_t)d;
	}
	return v < ((uint64_t)1 << s->bit_length);
}

char *gate_tuf_quote(const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(3 * n + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	*o = '\0';
	return out;
}
