/* test_decide_fd.c - gate_decide_fd and gate_decide_artifact (gate/decide.c),
 * the exec daemon's entry points: the file is hashed and typed through
 * the descriptor, never by re-opening the path (a file renamed over the
 * path after the open is not what gets decided); the path still drives
 * rule matching; a descriptor that is not a regular file, or a path
 * deeper than the globs can match, is an ERROR verdict that denies in
 * enforce mode; gate_decide_artifact decides an artifact hashed once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "verdict.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char policy_yaml[] = "version: 1\n"
				  "mode: enforce\n"
				  "rules:\n"
				  "  - name: programs under ok\n"
				  "    match: { path: [\"/**/ok/*\"] }\n"
				  "    decision: allow\n"
				  "  - name: everything else\n"
				  "    decision: deny\n";

static struct gate_ctx *ctx_new(void)
{
	struct gate_policy *p = NULL;
	struct gate_ctx *c = NULL;
	struct gate_ctx_opts o = {.no_audit = true};
	assert_int_equal(gate_policy_parse("test.yaml", (const uint8_t *)policy_yaml,
					   strlen(policy_yaml), &p, NULL),
			 GATE_OK);
	assert_int_equal(gate_ctx_new(p, &o, &c, NULL), GATE_OK);
	return c;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/gate-test-decide-fd.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char ok[128];
	snprintf(ok, sizeof ok, "%s/ok", dir);
	return mkdir(ok, 0700);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_hashes_the_descriptor_not_the_path(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	struct gate_verdict v, w;
	char path[128], other[128];
	snprintf(path, sizeof path, "%s/ok/prog", dir);
	snprintf(other, sizeof other, "%s/ok/other", dir);
	write_file(path, "first version\n");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(gate_decide(c, path, GATE_CALLER_EXEC, &w), GATE_OK);
	/* Swap the file under the path after the open. */
	write_file(other, "second version\n");
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(gate_decide_fd(c, fd, path, GATE_CALLER_EXEC, &v), GATE_OK);
	assert_string_equal(v.digest, w.digest); /* the opened file, not the new one */
	assert_int_equal(v.size, strlen("first version\n"));
	assert_int_equal(v.kind, GATE_VERDICT_ALLOW);
	assert_string_equal(v.rule, "programs under ok");
	assert_string_equal(v.path, path);
	assert_true(v.allowed);
	gate_verdict_clear(&w);
	assert_int_equal(gate_decide(c, path, GATE_CALLER_EXEC, &w), GATE_OK);
	assert_string_not_equal(v.digest, w.digest); /* by path: the new file */
	/* The descriptor's offset is not used or moved. */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	gate_verdict_clear(&v);
	gate_verdict_clear(&w);
	close(fd);
	gate_ctx_free(c);
}

static void test_path_drives_rules(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	struct gate_verdict v;
	char path[128];
	snprintf(path, sizeof path, "%s/elsewhere", dir);
	write_file(path, "x\n");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(gate_decide_fd(c, fd, path, GATE_CALLER_EXEC, &v), GATE_OK);
	assert_int_equal(v.kind, GATE_VERDICT_DENY);
	assert_false(v.allowed);
	assert_string_equal(v.rule, "everything else");
	assert_int_equal(v.caller, GATE_CALLER_EXEC);
	gate_verdict_clear(&v);
	close(fd);
	gate_ctx_free(c);
}

static void test_not_a_regular_file_is_an_error(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	struct gate_verdict v;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(gate_decide_fd(c, p[0], "/x/ok/pipe", GATE_CALLER_EXEC, &v), GATE_OK);
	assert_int_equal(v.kind, GATE_VERDICT_ERROR);
	assert_false(v.allowed); /* enforce mode: errors deny */
	assert_non_null(strstr(v.reason, "not a regular file"));
	gate_verdict_clear(&v);
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d >= 0);
	assert_int_equal(gate_decide_fd(c, d, dir, GATE_CALLER_EXEC, &v), GATE_OK);
	assert_int_equal(v.kind, GATE_VERDICT_ERROR);
	gate_verdict_clear(&v);
	assert_int_equal(gate_decide_fd(c, -1, NULL, GATE_CALLER_EXEC, &v), GATE_OK);
	assert_int_equal(v.kind, GATE_VERDICT_ERROR);
	assert_string_equal(v.path, "(descriptor)");
	gate_verdict_clear(&v);
	close(d);
	close(p[0]);
	close(p[1]);
	gate_ctx_free(c);
}

static void test_too_deep_is_an_error(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	struct gate_verdict v;
	char path[128], deep[GATE_GLOB_MAX_SEGS * 2 + 8];
	snprintf(path, sizeof path, "%s/ok/prog2", dir);
	write_file(path, "y\n");
	size_t n = 0;
	for (int i = 0; i <= GATE_GLOB_MAX_SEGS; i++) {
		deep[n++] = '/';
		deep[n++] = 'a';
	}
	deep[n] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(gate_decide_fd(c, fd, deep, GATE_CALLER_EXEC, &v), GATE_OK);
	assert_int_equal(v.kind, GATE_VERDICT_ERROR);
	assert_non_null(strstr(v.reason, "path components"));
	gate_verdict_clear(&v);
	close(fd);
	gate_ctx_free(c);
}

static void test_decide_artifact_hashed_once(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	struct gate_verdict v;
	struct gate_artifact *a = NULL;
	char path[128], hex[65];
	snprintf(path, sizeof path, "%s/ok/prog3", dir);
	write_file(path, "z\n");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(gate_artifact_from_fd(fd, path, &a, NULL), GATE_OK);
	gate_artifact_sha256_hex(a, hex);
	assert_int_equal(gate_decide_artifact(c, a, path, GATE_CALLER_EXEC, &v), GATE_OK);
	assert_string_equal(v.digest, hex);
	assert_int_equal(v.kind, GATE_VERDICT_ALLOW);
	/* No rule of this policy matches on type, so libmagic is not asked. */
	assert_null(v.mime);
	gate_verdict_clear(&v);
	gate_artifact_free(a);
	close(fd);
	gate_ctx_free(c);
}

/* What a caller of the installed gate.h sees: a verdict it cannot look
 * inside, read through functions, with every detail in its JSON. */
static void test_opaque_verdict(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	struct gate_verdict *v = gate_verdict_new();
	char path[128];
	assert_non_null(v);
	snprintf(path, sizeof path, "%s/ok/prog4", dir);
	write_file(path, "w\n");
	assert_int_equal(gate_decide(c, path, GATE_CALLER_EXEC, v), GATE_OK);
	assert_int_equal(gate_verdict_kind(v), GATE_VERDICT_ALLOW);
	assert_true(gate_verdict_allowed(v));
	assert_string_equal(gate_verdict_rule(v), "programs under ok");
	assert_non_null(strstr(gate_verdict_reason(v), "programs under ok"));
	assert_int_equal(strlen(gate_verdict_digest(v)), 64);
	char *j = gate_verdict_to_json(v);
	assert_non_null(j);
	assert_non_null(strstr(j, "\"verdict\":\"allow\""));
	assert_non_null(strstr(j, gate_verdict_digest(v)));
	free(j);
	gate_verdict_clear(v);
	snprintf(path, sizeof path, "%s/elsewhere2", dir);
	write_file(path, "w\n");
	assert_int_equal(gate_decide(c, path, GATE_CALLER_EXEC, v), GATE_OK);
	assert_int_equal(gate_verdict_kind(v), GATE_VERDICT_DENY);
	assert_false(gate_verdict_allowed(v));
	gate_verdict_free(v);
	gate_ctx_free(c);
}

/* A file changed after its first read is not answered for, whichever
 * reader would have seen the new bytes: grown, or the same size with one
 * byte flipped. */
static void test_changed_while_decided(void **state)
{
	(void)state;
	struct gate_ctx *c = ctx_new();
	char path[128];
	snprintf(path, sizeof path, "%s/ok/changing", dir);
	for (int same_size = 0; same_size < 2; same_size++) {
		struct gate_artifact *a = NULL;
		struct gate_verdict v;
		write_file(path, "first version\n");
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(gate_artifact_from_fd(fd, path, &a, NULL), GATE_OK);
		assert_int_equal(gate_decide_artifact(c, a, path, GATE_CALLER_EXEC, &v), GATE_OK);
		assert_int_equal(v.kind, GATE_VERDICT_ALLOW); /* unchanged: decided */
		gate_verdict_clear(&v);
		int w = open(path, O_WRONLY | O_CLOEXEC | (same_size ? 0 : O_APPEND));
		assert_true(w >= 0);
		if (same_size) {
			usleep(20000); /* a new clock tick, on kernels without fine ctime */
			assert_int_equal(pwrite(w, "F", 1, 0), 1);
		} else {
			assert_int_equal(write(w, "more\n", 5), 5);
		}
		close(w);
		assert_int_equal(gate_decide_artifact(c, a, path, GATE_CALLER_EXEC, &v), GATE_OK);
		assert_int_equal(v.kind, GATE_VERDICT_ERROR);
		assert_false(v.allowed);
		assert_non_null(strstr(v.reason, "changed while it was being decided"));
		gate_verdict_clear(&v);
		gate_artifact_free(a);
		close(fd);
	}
	gate_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes_the_descriptor_not_the_path),
		cmocka_unit_test(test_path_drives_rules),
		cmocka_unit_test(test_not_a_regular_file_is_an_error),
		cmocka_unit_test(test_too_deep_is_an_error),
		cmocka_unit_test(test_decide_artifact_hashed_once),
		cmocka_unit_test(test_opaque_verdict),
		cmocka_unit_test(test_changed_while_decided),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
