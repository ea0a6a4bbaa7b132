/* test_apt_proto.c - the parser of APT's Pre-Install-Pkgs protocol
 * (hooks/apt/apt_proto.c, compiled in here: it belongs to the gate
 * executable, not to libgate). Samples follow what apt 2.6 writes (captured
 * from a real apt-get run in a throwaway root); every error path names its
 * line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../hooks/apt/apt_proto.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum gate_err parse_str(const char *s, struct gate_apt_req **out, struct gate_error *err)
{
	memset(err, 0, sizeof(*err));
	*out = NULL;
	return gate_apt_parse((const uint8_t *)s, strlen(s), out, err);
}

/* A failure: the code, the line, a message containing want, no output. */
static void expect_fail(const char *in, size_t len, enum gate_err code, unsigned line,
			const char *want)
{
	struct gate_apt_req *r = NULL;
	struct gate_error err = {0};
	enum gate_err rc = gate_apt_parse((const uint8_t *)in, len, &r, &err);
	if (rc != code || err.line != line || (want && !strstr(err.msg, want)))
		print_message("got rc=%d line=%u msg='%s'\n", (int)rc, err.line, err.msg);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_int_equal(err.line, line);
	assert_null(r);
	assert_true(err.msg[0] != '\0');
	if (want)
		assert_non_null(strstr(err.msg, want));
}

static void expect_fail_str(const char *in, enum gate_err code, unsigned line, const char *want)
{
	expect_fail(in, strlen(in), code, line, want);
}

/* The configuration part as apt writes it, including the hook's own
 * command line and the user's: nothing in it is a package. */
#define CONFIG_V3                                                                                  \
	"APT::Architecture=amd64\n"                                                                \
	"APT::Build-Essential::=build-essential\n"                                                 \
	"DPkg::Pre-Install-Pkgs::=/usr/bin/gate%20hook%20apt%20--policy%20/p.yaml\n"               \
	"DPkg::Tools::Options::/usr/bin/gate::Version=3\n"                                         \
	"CommandLine::AsString=apt-get%20-y%20install%20alpha%20evil\n"                            \
	"Evil::Looks-Like-An-Action=evil - - none < 1.0 all none /tmp/evil.deb\n"                  \
	"Weird::Value=spaces and\ttabs and = signs\n"

static void test_v1_paths(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	assert_int_equal(parse_str("/var/cache/apt/archives/alpha_1.0_all.deb\n"
				   "/tmp/repo/./beta_1.0_all.deb\n",
				   &r, &err),
			 GATE_OK);
	assert_int_equal(r->version, 1);
	assert_int_equal(r->nactions, 2);
	assert_int_equal(r->actions[0].op, GATE_APT_UNPACK);
	assert_string_equal(r->actions[0].deb, "/var/cache/apt/archives/alpha_1.0_all.deb");
	assert_null(r->actions[0].name);
	assert_int_equal(r->actions[0].cmp, 0);
	assert_string_equal(r->actions[1].deb, "/tmp/repo/./beta_1.0_all.deb");
	assert_int_equal(r->actions[1].line, 2);
	gate_apt_req_free(r);
}

/* A removal-only transaction: apt runs the hook with nothing on stdin. */
static void test_v1_empty(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	assert_int_equal(parse_str("", &r, &err), GATE_OK);
	assert_int_equal(r->version, 1);
	assert_int_equal(r->nactions, 0);
	gate_apt_req_free(r);
}

static void test_v1_errors(void **state)
{
	(void)state;
	expect_fail_str("relative/a.deb\n", GATE_E_PARSE, 1, "neither 'VERSION N' nor");
	expect_fail_str("/a.deb\n\n", GATE_E_PARSE, 2, "empty line");
	expect_fail_str("/a.deb\n/b.deb", GATE_E_PARSE, 2, "without a newline");
	expect_fail_str("/a.deb\r\n", GATE_E_PARSE, 1, "control byte");
	expect_fail_str("/a\033[2J.deb\n", GATE_E_PARSE, 1, "control byte");
	expect_fail_str("**CONFIGURE**\n", GATE_E_PARSE, 1, "neither");
}

static void test_v2(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	assert_int_equal(parse_str("VERSION 2\n" CONFIG_V3 "\n"
				   "alpha - < 1.0 /tmp/repo/./alpha_1.0_all.deb\n"
				   "beta 0.9 < 1.0 /var/cache/apt/archives/beta_1.0_all.deb\n"
				   "alpha - < 1.0 **CONFIGURE**\n"
				   "gamma 2:1.0-1~bpo1 > - **REMOVE**\n",
				   &r, &err),
			 GATE_OK);
	assert_int_equal(r->version, 2);
	assert_int_equal(r->nconfig, 7);
	assert_int_equal(r->nactions, 4);
	const struct gate_apt_action *a = r->actions;
	assert_int_equal(a[0].op, GATE_APT_UNPACK);
	assert_string_equal(a[0].name, "alpha");
	assert_null(a[0].old_version);
	assert_int_equal(a[0].cmp, '<');
	assert_string_equal(a[0].new_version, "1.0");
	assert_null(a[0].new_arch);
	assert_string_equal(a[0].deb, "/tmp/repo/./alpha_1.0_all.deb");
	assert_int_equal(a[0].line, 10);
	assert_string_equal(a[1].old_version, "0.9");
	assert_int_equal(a[2].op, GATE_APT_CONFIGURE);
	assert_null(a[2].deb);
	assert_int_equal(a[3].op, GATE_APT_REMOVE);
	assert_string_equal(a[3].old_version, "2:1.0-1~bpo1");
	assert_null(a[3].new_version);
	gate_apt_req_free(r);
}

/* Where apt keeps its lists: from Dir, Dir::State, Dir::State::lists,
 * each relative to the one before unless absolute; values %XX-quoted. */
static void test_lists_dir(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	static const struct {
		const char *d, *s, *l, *want;
	} cases[] = {
		{NULL, NULL, NULL, "/var/lib/apt/lists"},
		{"/srv/root/", NULL, NULL, "/srv/root/var/lib/apt/lists"},
		{"/srv/root", "var/lib/apt", "lists", "/srv/root/var/lib/apt/lists"},
		{"/x", "/state/", NULL, "/state/lists"},
		{"/x", "y", "/abs/lists/", "/abs/lists"},
		{"/", "/", "/", "/"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = gate_apt_lists_dir(cases[i].d, cases[i].s, cases[i].l);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, got, cases[i].want);
		free(got);
	}
	/* From the protocol; keys case-insensitive, values unquoted. */
	assert_int_equal(parse_str("VERSION 3\n" CONFIG_V3 "Dir=/srv/my%20root/\n"
				   "dir::state::Lists=lists%3d2/\n\n",
				   &r, &err),
			 GATE_OK);
	assert_string_equal(r->lists_dir, "/srv/my root/var/lib/apt/lists=2");
	assert_null(r->status_file); /* apt did not say */
	gate_apt_req_free(r);
	/* dpkg's status file: absolute as apt's default, or under Dir::State */
	assert_int_equal(parse_str("VERSION 3\n" CONFIG_V3
				   "Dir::State::status=/var/lib/dpkg/status\n\n",
				   &r, &err),
			 GATE_OK);
	assert_string_equal(r->status_file, "/var/lib/dpkg/status");
	assert_null(r->lists_dir);
	gate_apt_req_free(r);
	assert_int_equal(
		parse_str("VERSION 3\n" CONFIG_V3 "Dir=/r/\nDir::State::status=st\n\n", &r, &err),
		GATE_OK);
	assert_string_equal(r->status_file, "/r/var/lib/apt/st");
	gate_apt_req_free(r);
	/* A key that only starts like one does not count; nothing: NULL. */
	assert_int_equal(parse_str("VERSION 3\n" CONFIG_V3 "Dir::State::lists::x=/evil\n"
				   "Dirx=/evil\n\n",
				   &r, &err),
			 GATE_OK);
	assert_null(r->lists_dir);
	gate_apt_req_free(r);
}

static void test_v3(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	assert_int_equal(parse_str("VERSION 3\n" CONFIG_V3 "\n"
				   "alpha - - none < 1.0 all none /tmp/repo/./alpha_1.0_all.deb\n"
				   "libfoo1 1.0 amd64 same < 1.1 amd64 same /tmp/a b/libfoo1.deb\n"
				   "alpha - - none < 1.0 all none **CONFIGURE**\n"
				   "beta 1.0 all none > - - none **REMOVE**\n",
				   &r, &err),
			 GATE_OK);
	assert_int_equal(r->version, 3);
	assert_int_equal(r->nactions, 4);
	const struct gate_apt_action *a = r->actions;
	assert_string_equal(a[0].name, "alpha");
	assert_null(a[0].old_version);
	assert_null(a[0].old_arch);
	assert_string_equal(a[0].old_ma, "none");
	assert_string_equal(a[0].new_version, "1.0");
	assert_string_equal(a[0].new_arch, "all");
	assert_string_equal(a[0].new_ma, "none");
	/* The path is the rest of the line: spaces are kept. */
	assert_string_equal(a[1].deb, "/tmp/a b/libfoo1.deb");
	assert_string_equal(a[1].old_arch, "amd64");
	assert_string_equal(a[1].new_ma, "same");
	assert_int_equal(a[2].op, GATE_APT_CONFIGURE);
	assert_int_equal(a[3].op, GATE_APT_REMOVE);
	assert_string_equal(a[3].old_version, "1.0");
	assert_int_equal(a[3].cmp, '>');
	/* The configuration's look-alike line is not an action. */
	for (size_t i = 0; i < r->nactions; i++)
		assert_true(!r->actions[i].deb || strcmp(r->actions[i].deb, "/tmp/evil.deb") != 0);
	gate_apt_req_free(r);
}

/* Configuration only: nothing to unpack (apt-get remove). */
static void test_v3_no_actions(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	assert_int_equal(parse_str("VERSION 3\nA=b\n\n", &r, &err), GATE_OK);
	assert_int_equal(r->nactions, 0);
	assert_int_equal(r->nconfig, 1);
	gate_apt_req_free(r);
}

static void test_error_action(void **state)
{
	(void)state;
	struct gate_apt_req *r;
	struct gate_error err;
	assert_int_equal(
		parse_str("VERSION 3\nA=b\n\nx - - none < 1 all none **ERROR**\n", &r, &err),
		GATE_OK);
	assert_int_equal(r->actions[0].op, GATE_APT_OP_ERROR);
	assert_null(r->actions[0].deb);
	assert_string_equal(gate_apt_op_name(r->actions[0].op), "error");
	gate_apt_req_free(r);
}

static void test_versions(void **state)
{
	(void)state;
	expect_fail_str("VERSION 4\nA=b\n\n", GATE_E_UNSUPPORTED, 1, "version 4 is not supported");
	expect_fail_str("VERSION 0\n", GATE_E_UNSUPPORTED, 1, "version 0");
	expect_fail_str("VERSION 1\n/a.deb\n", GATE_E_UNSUPPORTED, 1, "bare list");
	expect_fail_str("VERSION 99999999999999999999\n", GATE_E_PARSE, 1, "malformed version");
	expect_fail_str("VERSION x\n", GATE_E_PARSE, 1, "malformed version");
	expect_fail_str("VERSION\n", GATE_E_PARSE, 1, "malformed version");
	expect_fail_str("VERSION 3 \n", GATE_E_PARSE, 1, "malformed version");
	expect_fail_str("VERSION3\n", GATE_E_PARSE, 1, "malformed version");
	expect_fail_str("VERSION 3\r\nA=b\r\n\r\n", GATE_E_PARSE, 1, "malformed version");
}

static void test_missing_blank_line(void **state)
{
	(void)state;
	expect_fail_str("VERSION 3\nA=b\nC=d\n", GATE_E_PARSE, 3, "ends before the empty line");
	expect_fail_str("VERSION 3\n", GATE_E_PARSE, 1, "ends before the empty line");
	/* The action line is taken as configuration and is not Key=Value. */
	expect_fail_str("VERSION 3\nA=b\nalpha - - none < 1.0 all none /a.deb\n", GATE_E_PARSE, 3,
			"not a Key=Value");
	expect_fail_str("VERSION 3\n=b\n\n", GATE_E_PARSE, 2, "not a Key=Value");
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char in1[] = "VERSION 3\nA=b\0c\n\n";
	expect_fail(in1, sizeof in1 - 1, GATE_E_PARSE, 2, "NUL");
	static const char in2[] = "/a.deb\n/b\0.deb\n";
	expect_fail(in2, sizeof in2 - 1, GATE_E_PARSE, 2, "NUL");
	static const char in3[] = "VERSION 3\nA=b\n\nalpha - - none < 1.0 all none /a\0.deb\n";
	expect_fail(in3, sizeof in3 - 1, GATE_E_PARSE, 4, "NUL");
}

static void test_action_errors(void **state)
{
	(void)state;
	const char *h3 = "VERSION 3\nA=b\n\n", *h2 = "VERSION 2\nA=b\n\n";
	char buf[512];
	static const struct {
		bool v2;
		const char *line;
		const char *want;
	} cases[] = {
		{false, "alpha - < 1.0 /a.deb", "5 fields, a version 3 action line has 9"},
		{true, "alpha - - none < 1.0 all none /a.deb", "comparison"},
		{false, "alpha - - none ? 1.0 all none /a.deb", "comparison"},
		{false, "alpha - - none << 1.0 all none /a.deb", "comparison"},
		{false, "alpha  - none < 1.0 all none /a.deb", "empty version"},
		{false, "al$pha - - none < 1.0 all none /a.deb", "malformed package name"},
		{false, "-alpha - - none < 1.0 all none /a.deb", "malformed package name"},
		{false, "- - - none < 1.0 all none /a.deb", "malformed package name"},
		{false, "alpha - - none < 1.0 AMD64 none /a.deb", "malformed architecture"},
		{false, "alpha - - none < 1.0 all None /a.deb", "malformed Multi-Arch"},
		{false, "alpha - - none < 1 0 all none /a.deb", "action 'none /a.deb'"},
		{false, "alpha - - none < 1.0 all none a.deb", "neither an absolute .deb path"},
		{false, "alpha - - none < 1.0 all none **INSTALL**", "neither an absolute"},
		{false, "alpha - - none < 1.0 all none ", "neither an absolute"},
		{false, "alpha - - none < 1.0 all none /a\t.deb", "control byte"},
		{false, "alpha - - none < 1.0 all none /a\x7f.deb", "control byte"},
		{false, "alpha\x01 - - none < 1.0 all none /a.deb", "malformed package name"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s\n", cases[i].v2 ? h2 : h3, cases[i].line);
		expect_fail_str(buf, GATE_E_PARSE, 4, cases[i].want);
	}
	snprintf(buf, sizeof buf, "%s/a.deb\n", h3);
	expect_fail_str(buf, GATE_E_PARSE, 4, "1 fields, a version 3 action line has 9");
	snprintf(buf, sizeof buf, "%salpha - - none < 1.0 all none /a.deb\n\n", h3);
	expect_fail_str(buf, GATE_E_PARSE, 5, "empty line among");
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	assert_non_null(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	*len = hl + ul * n + tl;
	return s;
}

static void test_overlong(void **state)
{
	(void)state;
	size_t len;
	/* a line over the cap, in the configuration and as a path */
	char *s = repeat("VERSION 3\nA=", "x", GATE_APT_MAX_LINE, "\n\n", &len);
	expect_fail(s, len, GATE_E_TOO_LARGE, 2, "longer than");
	free(s);
	s = repeat("/", "x", GATE_APT_MAX_LINE + 5, "", &len);
	expect_fail(s, len, GATE_E_TOO_LARGE, 1, "longer than");
	free(s);
	/* a long line under the cap is fine in the configuration... */
	struct gate_apt_req *r = NULL;
	struct gate_error err = {0};
	s = repeat("VERSION 3\nCommandLine::AsString=", "x", GATE_APT_MAX_LINE - 40, "\n\n", &len);
	assert_int_equal(gate_apt_parse((const uint8_t *)s, len, &r, &err), GATE_OK);
	gate_apt_req_free(r);
	free(s);
	/* ...but not as a path or a field */
	s = repeat("/", "x", GATE_APT_MAX_PATH, "\n", &len);
	expect_fail(s, len, GATE_E_TOO_LARGE, 1, ".deb path longer");
	free(s);
	s = repeat("VERSION 3\nA=b\n\nalpha - - none < ", "1", GATE_APT_MAX_FIELD + 1,
		   " all none /a.deb\n", &len);
	expect_fail(s, len, GATE_E_TOO_LARGE, 4, "version longer");
	free(s);
}

static void test_caps(void **state)
{
	(void)state;
	size_t len;
	char *s = repeat("", "/a.deb\n", GATE_APT_MAX_ACTIONS + 1, "", &len);
	expect_fail(s, len, GATE_E_TOO_LARGE, GATE_APT_MAX_ACTIONS + 1, "package actions");
	free(s);
	s = repeat("VERSION 3\n", "a=b\n", GATE_APT_MAX_CONFIG + 1, "\n", &len);
	expect_fail(s, len, GATE_E_TOO_LARGE, GATE_APT_MAX_CONFIG + 2, "configuration lines");
	free(s);
	/* the whole input: checked before anything is read */
	s = calloc(1, (size_t)GATE_APT_MAX_INPUT + 1);
	assert_non_null(s);
	expect_fail(s, (size_t)GATE_APT_MAX_INPUT + 1, GATE_E_TOO_LARGE, 0, "bytes on stdin");
	free(s);
	/* hundreds of packages: fine */
	struct gate_apt_req *r = NULL;
	struct gate_error err = {0};
	s = repeat("VERSION 3\nA=b\n\n", "pkg - - none < 1.0 all none /var/cache/p.deb\n", 800, "",
		   &len);
	assert_int_equal(gate_apt_parse((const uint8_t *)s, len, &r, &err), GATE_OK);
	assert_int_equal(r->nactions, 800);
	gate_apt_req_free(r);
	free(s);
}

static void test_garbage(void **state)
{
	(void)state;
	expect_fail_str("hello world\n", GATE_E_PARSE, 1, "neither 'VERSION N' nor");
	expect_fail_str("\n", GATE_E_PARSE, 1, "empty line");
	static const uint8_t bin[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, '\n'};
	expect_fail((const char *)bin, sizeof bin, GATE_E_PARSE, 1, "NUL");
	expect_fail_str("{\"json\": true}", GATE_E_PARSE, 1, "without a newline");
	/* Escaped in the message: no terminal control sequence gets through. */
	struct gate_apt_req *r = NULL;
	struct gate_error err = {0};
	assert_int_equal(parse_str("\033]0;pwned\a\n", &r, &err), GATE_E_PARSE);
	assert_null(strchr(err.msg, '\033'));
	assert_null(strchr(err.msg, '\a'));
	/* Deterministic pseudo-random bytes: never a crash, always an answer. */
	uint32_t x = 2463534242u;
	uint8_t buf[4096];
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(round * 19) % sizeof buf;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = round % 2 ? (uint8_t)x : (uint8_t) "VERSION 3\n=/a b-<>\n"[x % 20];
		}
		r = NULL;
		memset(&err, 0, sizeof err);
		enum gate_err rc = gate_apt_parse(buf, n, &r, &err);
		assert_true(rc == GATE_OK || (r == NULL && err.msg[0]));
		gate_apt_req_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_paths),  cmocka_unit_test(test_v1_empty),
		cmocka_unit_test(test_v1_errors), cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v3),	  cmocka_unit_test(test_v3_no_actions),
		cmocka_unit_test(test_lists_dir), cmocka_unit_test(test_error_action),
		cmocka_unit_test(test_versions),  cmocka_unit_test(test_missing_blank_line),
		cmocka_unit_test(test_nul_byte),  cmocka_unit_test(test_action_errors),
		cmocka_unit_test(test_overlong),  cmocka_unit_test(test_caps),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
