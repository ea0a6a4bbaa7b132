/* test_json.c - verify/json.c: strict parsing (duplicate keys, depth cap,
 * top-level type, truncation) and the typed member accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum gate_err parse_str(const char *s, json_t **out, struct gate_error *err)
{
	return gate_json_parse((const uint8_t *)s, strlen(s), out, "doc", err);
}

static void parse_bad(const char *s, const char *msg_part)
{
	struct gate_error err = {0};
	json_t *j = NULL;
	enum gate_err rc = parse_str(s, &j, &err);
	if (rc != GATE_E_PARSE)
		print_message("'%.60s' gave rc=%d\n", s, (int)rc);
	assert_int_equal(rc, GATE_E_PARSE);
	assert_null(j);
	assert_int_equal(err.code, GATE_E_PARSE);
	assert_string_equal(err.rule, "S1");
	assert_string_equal(err.field, "doc");
	if (msg_part && !strstr(err.msg, msg_part))
		print_message("message '%s' lacks '%s'\n", err.msg, msg_part);
	if (msg_part)
		assert_non_null(strstr(err.msg, msg_part));
}

static void parse_ok(const char *s)
{
	struct gate_error err = {0};
	json_t *j = NULL;
	enum gate_err rc = parse_str(s, &j, &err);
	if (rc != GATE_OK)
		print_message("'%.60s' rejected: %s\n", s, err.msg);
	assert_int_equal(rc, GATE_OK);
	assert_true(json_is_object(j));
	json_decref(j);
}

/* {"a": [[[...]]]} nested to exactly depth levels of brackets in total. */
static char *nested(unsigned depth)
{
	size_t n = 2 * depth + 16;
	char *s = malloc(n), *p = s;
	assert_non_null(s);
	p += sprintf(p, "{\"a\":");
	for (unsigned i = 1; i < depth; i++)
		*p++ = '[';
	for (unsigned i = 1; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	return s;
}

static void test_parse_duplicates(void **state)
{
	(void)state;
	parse_bad("{\"a\":1,\"a\":2}", NULL);
	parse_bad("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", NULL); /* nested, same value */
	parse_bad("{\"mediaType\":\"x\",\"mediaType\":\"x\"}", NULL);
	parse_ok("{\"a\":1,\"b\":{\"a\":1}}"); /* same key in another object is fine */
}

static void test_parse_depth(void **state)
{
	(void)state;
	char *s = nested(GATE_MAX_JSON_DEPTH);
	parse_ok(s); /* exactly the cap */
	free(s);
	s = nested(GATE_MAX_JSON_DEPTH + 1);
	parse_bad(s, "deeper");
	free(s);
	s = nested(5000);
	parse_bad(s, "deeper");
	free(s);
	/* brackets inside strings do not count */
	char buf[300];
	snprintf(buf, sizeof buf,
		 "{\"a\":\"%s\",\"b\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}",
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{");
	parse_ok(buf);
}

static void test_parse_shape(void **state)
{
	(void)state;
	parse_bad("[1,2]", "not an object");
	parse_bad("\"s\"", NULL);
	parse_bad("1", NULL);
	parse_bad("null", NULL);
	parse_bad("", "line");
	parse_bad("{\"a\":", "line");	 /* truncated */
	parse_bad("{\"a\":\"b", "line"); /* truncated in a string */
	parse_bad("{\"a\":1", "column"); /* missing brace */
	parse_bad("{\"a\":1} x", NULL);	 /* trailing junk */
	parse_bad("{\"a\":1}{}", NULL);
	parse_bad("{'a':1}", NULL);
	parse_bad("{\"a\":\"a\\u0000b\"}", NULL); /* NUL in a string */
	parse_bad("{\"a\":01}", NULL);
	parse_bad("{\"a\":9223372036854775808}", NULL); /* jansson rejects overflow */
	parse_ok("{}");
	parse_ok(" \n{\"a\":[1,{\"b\":null}]}\n");
}

/* ------------------------------------------------------------------ */

static json_t *obj1(const char *key, json_t *v)
{
	json_t *o = json_object();
	assert_non_null(o);
	assert_int_equal(json_object_set_new(o, key, v), 0);
	return o;
}

static void i64_ok(json_t *v, int64_t want)
{
	struct gate_error err = {0};
	json_t *o = obj1("logIndex", v);
	bool present = false;
	int64_t got = -7;
	enum gate_err rc =
		gate_json_i64(o, "logIndex", true, &present, &got, "tlogEntries[0]", &err);
	if (rc != GATE_OK)
		print_message("rejected: %s\n", err.msg);
	assert_int_equal(rc, GATE_OK);
	assert_true(present);
	assert_int_equal(got, want);
	json_decref(o);
}

static void i64_bad(json_t *v)
{
	struct gate_error err = {0};
	json_t *o = obj1("logIndex", v);
	int64_t got = -7;
	enum gate_err rc = gate_json_i64(o, "logIndex", false, NULL, &got, "tlogEntries[0]", &err);
	if (rc != GATE_E_PARSE) {
		char *d = json_dumps(o, JSON_ENCODE_ANY);
		print_message("%s accepted as %lld\n", d, (long long)got);
		free(d);
	}
	assert_int_equal(rc, GATE_E_PARSE);
	assert_int_equal(err.code, GATE_E_PARSE);
	assert_string_equal(err.rule, "S3");
	assert_string_equal(err.field, "tlogEntries[0].logIndex");
	json_decref(o);
}

static void test_i64(void **state)
{
	(void)state;
	i64_ok(json_string("123"), 123);
	i64_ok(json_integer(123), 123);
	i64_ok(json_string("0"), 0);
	i64_ok(json_integer(0), 0);
	i64_ok(json_string("9223372036854775807"), INT64_MAX);
	i64_ok(json_integer(INT64_MAX), INT64_MAX);
	/* Current behaviour, kept on purpose: leading zeros are accepted (Go's
	 * protojson accepts them for int64 strings too) and read as decimal. */
	i64_ok(json_string("01"), 1);
	i64_ok(json_string("0000000000000000079"), 79);

	i64_bad(json_string("-1"));
	i64_bad(json_integer(-1));
	i64_bad(json_integer(INT64_MIN));
	i64_bad(json_string("1e3"));
	i64_bad(json_string(""));
	i64_bad(json_string("+1"));
	i64_bad(json_string(" 1"));
	i64_bad(json_string("1 "));
	i64_bad(json_string("0x10"));
	i64_bad(json_string("1.0"));
	i64_bad(json_string("9223372036854775808")); /* INT64_MAX + 1 */
	i64_bad(json_string("18446744073709551616"));
	i64_bad(json_string("99999999999999999999"));
	i64_bad(json_stringn("1\0"
			     "2",
			     3));
	i64_bad(json_real(1.0));
	i64_bad(json_real(1e3));
	i64_bad(json_true());
	i64_bad(json_array());
	i64_bad(json_object());
}

static void test_i64_absent_and_null(void **state)
{
	(void)state;
	struct gate_error err = {0};
	bool present = true;
	int64_t got = 5;
	json_t *o = obj1("logIndex", json_null());
	/* null is the protobuf JSON spelling of "unset": absent */
	assert_int_equal(gate_json_i64(o, "logIndex", false, &present, &got, "e", &err), GATE_OK);
	assert_false(present);
	assert_int_equal(got, 0);
	assert_int_equal(gate_json_i64(o, "logIndex", true, &present, &got, "e", &err),
			 GATE_E_PARSE);
	assert_string_equal(err.field, "e.logIndex");
	assert_string_equal(err.rule, "S3");
	json_decref(o);
	o = json_object();
	present = true;
	assert_int_equal(gate_json_i64(o, "other", false, &present, &got, "", &err), GATE_OK);
	assert_false(present);
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_json_i64(o, "other", true, NULL, &got, "", &err), GATE_E_PARSE);
	assert_string_equal(err.field, "other"); /* no leading dot for an empty parent */
	json_decref(o);
}

static void test_str(void **state)
{
	(void)state;
	struct gate_error err = {0};
	const char *s = "sentinel";

	json_t *o = obj1("k", json_stringn("a\0b", 3));
	assert_int_equal(gate_json_str(o, "k", true, &s, "p", &err), GATE_E_PARSE);
	assert_string_equal(err.field, "p.k");
	assert_non_null(strstr(err.msg, "NUL"));
	json_decref(o);

	o = obj1("k", json_string("value"));
	assert_int_equal(gate_json_str(o, "k", true, &s, "p", &err), GATE_OK);
	assert_string_equal(s, "value");
	assert_int_equal(gate_json_str(o, "missing", false, &s, "p", &err), GATE_OK);
	assert_null(s);
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_json_str(o, "missing", true, &s, "p", &err), GATE_E_PARSE);
	assert_string_equal(err.field, "p.missing");
	json_decref(o);

	o = obj1("k", json_null());
	s = "sentinel";
	assert_int_equal(gate_json_str(o, "k", false, &s, "p", &err), GATE_OK);
	assert_null(s);
	assert_int_equal(gate_json_str(o, "k", true, &s, "p", &err), GATE_E_PARSE);
	json_decref(o);

	o = obj1("k", json_integer(1));
	memset(&err, 0, sizeof err);
	assert_int_equal(gate_json_str(o, "k", false, &s, "p", &err), GATE_E_PARSE);
	assert_string_equal(err.field, "p.k");
	json_decref(o);

	/* not an object at all: nothing there */
	json_t *arr = json_array();
	assert_int_equal(gate_json_str(arr, "k", false, &s, "p", &err), GATE_OK);
	assert_null(s);
	json_decref(arr);
}

static void test_b64_member(void **state)
{
	(void)state;
	struct gate_error err = {0};
	uint8_t *out = NULL;
	size_t len = 0;
	json_t *o = obj1("sig", json_string("Zm9v"));
	assert_int_equal(gate_json_b64(o, "sig", true, &out, &len, "messageSignature", &err),
			 GATE_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "foo", 3);
	free(out);
	json_decref(o);

	o = obj1("sig", json_string("Zm9"));
	assert_int_equal(gate_json_b64(o, "sig", true, &out, &len, "messageSignature", &err),
			 GATE_E_PARSE);
	assert_null(out);
	assert_string_equal(err.field, "messageSignature.sig");
	json_decref(o);

	o = json_object();
	assert_int_equal(gate_json_b64(o, "sig", false, &out, &len, "m", &err), GATE_OK);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(gate_json_b64(o, "sig", true, &out, &len, "m", &err), GATE_E_PARSE);
	json_decref(o);
}

static void test_obj_member(void **state)
{
	(void)state;
	struct gate_error err = {0};
	json_t *v = NULL;
	json_t *o = obj1("vm", json_array());
	assert_int_equal(gate_json_obj(o, "vm", false, &v, "", &err), GATE_E_PARSE);
	assert_string_equal(err.field, "vm");
	json_decref(o);
	o = obj1("vm", json_null());
	assert_int_equal(gate_json_obj(o, "vm", false, &v, "", &err), GATE_OK);
	assert_null(v);
	assert_int_equal(gate_json_obj(o, "vm", true, &v, "", &err), GATE_E_PARSE);
	json_decref(o);
	o = obj1("vm", json_object());
	assert_int_equal(gate_json_obj(o, "vm", true, &v, "", &err), GATE_OK);
	assert_true(json_is_object(v));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duplicates),    cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_parse_shape),	    cmocka_unit_test(test_i64),
		cmocka_unit_test(test_i64_absent_and_null), cmocka_unit_test(test_str),
		cmocka_unit_test(test_b64_member),	    cmocka_unit_test(test_obj_member),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
