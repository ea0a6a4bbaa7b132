/* tuf_canon.c - OLPC canonical JSON (spec/TUF.md §2), the bytes every TUF
 * signature covers, and keyids: the SHA-256 of a key's canonical form
 * (§3). */
#include "tuf_meta_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- canonical JSON (spec §2) ---- */

/* Output buffer that refuses to grow past cap. */
struct cbuf {
	uint8_t *p;
	size_t n, alloc, cap;
	bool too_large, nomem;
};

static bool cb_put(struct cbuf *b, const void *s, size_t n)
{
	if (b->too_large || b->nomem)
		return false;
	if (n > b->cap - b->n) {
		b->too_large = true;
		return false;
	}
	if (n > b->alloc - b->n) {
		size_t na = b->alloc ? b->alloc : 256;
		while (na - b->n < n)
			na = na > b->cap / 2 ? b->cap : na * 2;
		uint8_t *np = realloc(b->p, na);
		if (!np) {
			b->nomem = true;
			return false;
		}
		b->p = np;
		b->alloc = na;
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	return true;
}

enum canon_rc { CANON_OK, CANON_FLOAT, CANON_DEPTH, CANON_TYPE, CANON_BUF };

/* Only '"' and '\' are escaped; everything else, control characters and
 * UTF-8 included, is written raw. */
static bool canon_string(struct cbuf *b, const char *s, size_t n)
{
	size_t start = 0;
	if (!cb_put(b, "\"", 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if (!cb_put(b, s + start, i - start) || !cb_put(b, "\\", 1))
			return false;
		start = i;
	}
	return cb_put(b, s + start, n - start) && cb_put(b, "\"", 1);
}

int gate_tuf_cmp_cstr(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: UTF-8 byte order = code point
	 * order (spec §2). */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum canon_rc canon_value(struct cbuf *b, const json_t *v, unsigned depth);

static enum canon_rc canon_object(struct cbuf *b, const json_t *v, unsigned depth)
{
	size_t n = json_object_size(v), i = 0;
	const char *key;
	json_t *val;
	enum canon_rc rc = CANON_OK;
	const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
	if (n && !keys) {
		b->nomem = true;
		return CANON_BUF;
	}
	json_object_foreach((json_t *)v, key, val)
	{
		if (i < n)
			keys[i++] = key;
	}
	n = i;
	if (n > 1) /* keys is NULL for {}: qsort's pointer must not be */
		qsort(keys, n, sizeof(*keys), gate_tuf_cmp_cstr);
	if (!cb_put(b, "{", 1))
		rc = CANON_BUF;
	for (i = 0; rc == CANON_OK && i < n; i++) {
		if ((i && !cb_put(b, ",", 1)) || !canon_string(b, keys[i], strlen(keys[i])) ||
		    !cb_put(b, ":", 1)) {
			rc = CANON_BUF;
			break;
		}
		rc = canon_value(b, json_object_get(v, keys[i]), depth + 1);
	}
	if (rc == CANON_OK && !cb_put(b, "}", 1))
		rc = CANON_BUF;
	free(keys);
	return rc;
}

static enum canon_rc canon_value(struct cbuf *b, const json_t *v, unsigned depth)
{
	char num[32];
	enum canon_rc rc = CANON_OK;
	if (depth > 2 * GATE_TUF_MAX_JSON_DEPTH)
		return CANON_DEPTH;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return canon_object(b, v, depth);
	case JSON_ARRAY:
		if (!cb_put(b, "[", 1))
			return CANON_BUF;
		for (size_t i = 0; rc == CANON_OK && i < json_array_size(v); i++) {
			if (i && !cb_put(b, ",", 1))
				return CANON_BUF;
			rc = canon_value(b, json_array_get(v, i), depth + 1);
		}
		if (rc == CANON_OK && !cb_put(b, "]", 1))
			return CANON_BUF;
		return rc;
	case JSON_STRING:
		return canon_string(b, json_string_value(v), json_string_length(v)) ? CANON_OK
										    : CANON_BUF;
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return cb_put(b, num, strlen(num)) ? CANON_OK : CANON_BUF;
	case JSON_REAL:
		return CANON_FLOAT;
	case JSON_TRUE:
		return cb_put(b, "true", 4) ? CANON_OK : CANON_BUF;
	case JSON_FALSE:
		return cb_put(b, "false", 5) ? CANON_OK : CANON_BUF;
	case JSON_NULL:
		return cb_put(b, "null", 4) ? CANON_OK : CANON_BUF;
	default:
		return CANON_TYPE;
	}
}

enum gate_err gate_tuf_canonical(const json_t *v, size_t cap, uint8_t **out, size_t *len,
				 struct gate_error *err)
{
	struct cbuf b = {.cap = cap};
	enum canon_rc rc = v ? canon_value(&b, v, 0) : CANON_TYPE;
	enum gate_err e = GATE_OK;
	if (rc == CANON_FLOAT)
		e = gate_fail(err, GATE_E_PARSE, "TUF-2", "signed",
			      "floating-point number: not allowed in canonical JSON");
	else if (rc == CANON_DEPTH)
		e = gate_fail(err, GATE_E_PARSE, "TUF-2", "signed", "JSON nested too deeply");
	else if (rc == CANON_TYPE)
		e = gate_fail(err, GATE_E_PARSE, "TUF-2", "signed", "not a JSON value");
	else if (b.nomem)
		e = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	else if (b.too_large)
		e = gate_fail(err, GATE_E_TOO_LARGE, "TUF-2", "signed",
			      "canonical form over the %zu-byte limit", cap);
	if (e != GATE_OK) {
		free(b.p);
		return e;
	}
	*out = b.p;
	*len = b.n;
	return GATE_OK;
}

enum gate_err gate_tuf_keyid(const json_t *key, char hex[65], struct gate_error *err)
{
	uint8_t *c = NULL, d[32];
	size_t n = 0;
	enum gate_err rc = gate_tuf_canonical(key, GATE_MAX_SMALL_FILE, &c, &n, err);
	if (rc != GATE_OK)
		return rc;
	gate_sha256(c, n, d);
	gate_hex_encode(d, sizeof d, hex);
	free(c);
	return GATE_OK;
}
