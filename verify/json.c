/* json.c - strict JSON access over jansson for untrusted documents. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* jansson's own nesting limit is a compile-time constant in the thousands;
 * ours is much lower, so nesting is measured before parsing. Strings are
 * skipped with their escapes so brackets inside them do not count. */
static bool depth_ok(const uint8_t *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return true;
}

enum gate_err gate_json_parse(const uint8_t *buf, size_t len, json_t **out, const char *what,
			      struct gate_error *err)
{
	if (!depth_ok(buf, len, GATE_MAX_JSON_DEPTH))
		return gate_fail(err, GATE_E_PARSE, "S1", what, "JSON nested deeper than %u",
				 GATE_MAX_JSON_DEPTH);
	json_error_t je;
	json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return gate_fail(err, GATE_E_PARSE, "S1", what,
				 "invalid JSON at line %d column %d: %s", je.line, je.column,
				 je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return gate_fail(err, GATE_E_PARSE, "S1", what, "top level is not an object");
	}
	*out = j;
	return GATE_OK;
}

json_t *gate_json_get(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

/* field + "." + key, for error messages. */
static const char *member_name(char *buf, size_t cap, const char *field, const char *key)
{
	snprintf(buf, cap, "%s%s%s", field ? field : "", field && *field ? "." : "", key);
	return buf;
}

/* Member key of obj, of the type is_type tells (named by article and
 * what): *out is NULL when it is absent and not required. */
static enum gate_err typed_member(json_t *obj, const char *key, bool required,
				  int (*is_type)(const json_t *), const char *article,
				  const char *what, json_t **out, const char *field,
				  struct gate_error *err)
{
	char name[128];
	json_t *v = gate_json_get(obj, key);
	*out = NULL;
	if (!v && !required)
		return GATE_OK;
	member_name(name, sizeof name, field, key);
	if (!v)
		return gate_fail(err, GATE_E_PARSE, "S1", name, "missing required %s", what);
	if (!is_type(v))
		return gate_fail(err, GATE_E_PARSE, "S1", name, "not %s %s", article, what);
	*out = v;
	return GATE_OK;
}

static int is_string(const json_t *v)
{
	return json_is_string(v);
}

static int is_object(const json_t *v)
{
	return json_is_object(v);
}

enum gate_err gate_json_str(json_t *obj, const char *key, bool required, const char **out,
			    const char *field, struct gate_error *err)
{
	char name[128];
	json_t *v;
	enum gate_err rc =
		typed_member(obj, key, required, is_string, "a", "string", &v, field, err);
	*out = NULL;
	if (rc != GATE_OK || !v)
		return rc;
	/* Embedded NULs would make C strings lie about the value. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return gate_fail(err, GATE_E_PARSE, "S1",
				 member_name(name, sizeof name, field, key),
				 "string contains a NUL character");
	*out = json_string_value(v);
	return GATE_OK;
}

enum gate_err gate_json_b64(json_t *obj, const char *key, bool required, uint8_t **out,
			    size_t *outlen, const char *field, struct gate_error *err)
{
	char name[128];
	const char *s;
	enum gate_err rc = gate_json_str(obj, key, required, &s, field, err);
	*out = NULL;
	*outlen = 0;
	if (rc != GATE_OK || !s)
		return rc;
	return gate_b64_decode(s, strlen(s), out, outlen,
			       member_name(name, sizeof name, field, key), err);
}

enum gate_err gate_json_i64(json_t *obj, const char *key, bool required, bool *present,
			    int64_t *out, const char *field, struct gate_error *err)
{
	char name[128];
	json_t *v = gate_json_get(obj, key);
	if (present)
		*present = v != NULL;
	*out = 0;
	member_name(name, sizeof name, field, key);
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "S3", name, "missing required integer");
		return GATE_OK;
	}
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return gate_fail(err, GATE_E_PARSE, "S3", name, "negative integer %lld",
					 (long long)i);
		*out = (int64_t)i;
		return GATE_OK;
	}
	if (!json_is_string(v))
		return gate_fail(err, GATE_E_PARSE, "S3", name, "not an integer");
	/* protobuf JSON writes int64 as a decimal string. */
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 || n > 19)
		return gate_fail(err, GATE_E_PARSE, "S3", name, "not a non-negative int64");
	int64_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return gate_fail(err, GATE_E_PARSE, "S3", name,
					 "not a non-negative decimal integer");
		int d = s[i] - '0';
		if (acc > (INT64_MAX - d) / 10)
			return gate_fail(err, GATE_E_PARSE, "S3", name, "integer overflows int64");
		acc = acc * 10 + d;
	}
	*out = acc;
	return GATE_OK;
}

enum gate_err gate_json_obj(json_t *obj, const char *key, bool required, json_t **out,
			    const char *field, struct gate_error *err)
{
	return typed_member(obj, key, required, is_object, "an", "object", out, field, err);
}
