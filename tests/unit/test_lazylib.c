/* test_lazylib.c - verify/lazylib.c, the libraries loaded on first use:
 * every table of the system's libraries loads and passes its version
 * check, repeatedly and from several threads at once; and, run again with
 * GATE_TEST_FAKE=magic or =yaml and LD_LIBRARY_PATH on a stand-in library
 * (tests/unit/fakes/), a libmagic missing a function or a libyaml of
 * another series is refused as a whole, with a message that names it, and
 * the entry points fail cleanly: a policy that matches on type gives an
 * ERROR verdict (never a silent octet-stream), a policy cannot be read;
 * with GATE_TEST_FAKE=sqlite (registered once gate no longer links SQLite,
 * GATE_LINK_SQLITE in CMakeLists.txt) an SQLite older than 3.31 is refused
 * and no ledger is opened, or created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../gate/gate.h"
#include "gate_int.h"
#include "lazylib.h"
#include "ledger.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char type_policy[] = "version: 1\n"
				  "mode: enforce\n"
				  "rules:\n"
				  "  - name: text\n"
				  "    match: { type: [\"text/plain\"] }\n"
				  "    decision: allow\n"
				  "  - name: everything else\n"
				  "    decision: deny\n";

static void *load_all(void *arg)
{
	(void)arg;
	bool ok = gate_lazy_curl() && gate_lazy_archive() && gate_lazy_magic() &&
		  gate_lazy_yaml() && gate_lazy_sqlite();
	return ok ? arg : NULL;
}

static void test_system_libraries(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, load_all, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	const struct gate_lazy_magic *m = gate_lazy_magic();
	const struct gate_lazy_yaml *y = gate_lazy_yaml();
	const struct gate_lazy_sqlite *s = gate_lazy_sqlite();
	assert_non_null(gate_lazy_curl());
	assert_non_null(gate_lazy_archive());
	assert_non_null(m);
	assert_non_null(y);
	assert_non_null(s);
	/* The published table is the returned one, and stays the same. */
	assert_ptr_equal(m, gate_lazy_magic_tab);
	assert_ptr_equal(y, gate_lazy_yaml());
	assert_null(gate_lazy_curl_error());
	assert_null(gate_lazy_archive_error());
	assert_null(gate_lazy_magic_error());
	assert_null(gate_lazy_yaml_error());
	assert_null(gate_lazy_sqlite_error());
	assert_null(gate_mime_unavailable());
	/* The calls reach the real libraries. */
	assert_true(m->magic_version() >= 521);
	assert_true(s->sqlite3_libversion_number() >= 3031000);
	int major = -1, minor = -1, patch = -1;
	y->yaml_get_version(&major, &minor, &patch);
	assert_int_equal(major, 0);
	assert_int_equal(minor, 2);
}

/* A type-matching policy decides a text file through the loaded libmagic. */
static void decide_text(struct gate_verdict *v)
{
	struct gate_policy *p = NULL;
	struct gate_ctx *c = NULL;
	struct gate_ctx_opts o = {.no_audit = true};
	assert_int_equal(gate_policy_parse("type.yaml", (const uint8_t *)type_policy,
					   strlen(type_policy), &p, NULL),
			 GATE_OK);
	assert_int_equal(gate_ctx_new(p, &o, &c, NULL), GATE_OK);
	int fd = memfd_create("lazylib-text", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "just some text\n", 15), 15);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0); /* libmagic reads from the offset */
	assert_int_equal(gate_decide_fd(c, fd, "/tmp/plain.txt", GATE_CALLER_ANY, v), GATE_OK);
	close(fd);
	gate_ctx_free(c);
}

static void test_magic_in_use(void **state)
{
	(void)state;
	struct gate_verdict v;
	decide_text(&v);
	assert_int_equal(v.kind, GATE_VERDICT_ALLOW);
	assert_string_equal(v.mime, "text/plain");
	gate_verdict_clear(&v);
}

static void test_fake_magic(void **state)
{
	(void)state;
	assert_null(gate_lazy_magic());
	assert_null(gate_lazy_magic_tab);
	const char *e = gate_lazy_magic_error();
	assert_non_null(e);
	assert_non_null(strstr(e, "libmagic.so.1 has no magic_setparam"));
	assert_ptr_equal(gate_mime_unavailable(), e);
	/* Asked again: the same answer, no second attempt. */
	assert_null(gate_lazy_magic());
	struct gate_verdict v;
	decide_text(&v);
	assert_int_equal(v.kind, GATE_VERDICT_ERROR);
	assert_false(v.allowed);
	assert_null(v.mime);
	assert_non_null(strstr(v.reason, "cannot tell the file type of /tmp/plain.txt"));
	assert_non_null(strstr(v.reason, "magic_setparam"));
	gate_verdict_clear(&v);
	/* The others are unaffected. */
	assert_non_null(gate_lazy_yaml());
	assert_non_null(gate_lazy_sqlite());
}

static void test_fake_yaml(void **state)
{
	(void)state;
	struct gate_policy *p = NULL;
	struct gate_error err = {0};
	assert_null(gate_lazy_yaml());
	const char *e = gate_lazy_yaml_error();
	assert_non_null(e);
	assert_non_null(strstr(e, "libyaml-0.so.2 is libyaml 0.1.7; gate needs 0.2.x"));
	assert_int_equal(gate_policy_parse("type.yaml", (const uint8_t *)type_policy,
					   strlen(type_policy), &p, &err),
			 GATE_E_UNSUPPORTED);
	assert_null(p);
	assert_non_null(strstr(err.msg, "cannot read policy type.yaml"));
	assert_non_null(strstr(err.msg, "gate needs 0.2.x"));
	assert_non_null(gate_lazy_magic());
}

static void test_fake_sqlite(void **state)
{
	(void)state;
	char dir[] = "/tmp/gate-test-lazylib.XXXXXX", path[64];
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	struct stat st;
	assert_null(gate_lazy_sqlite());
	const char *e = gate_lazy_sqlite_error();
	assert_non_null(e);
	assert_non_null(strstr(e, "libsqlite3.so.0 is SQLite 3.22.0; gate needs 3.31.0"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/ledger.db", dir);
	assert_int_equal(gate_ledger_open(path, false, &l, &err), GATE_E_UNSUPPORTED);
	assert_null(l);
	assert_non_null(strstr(err.msg, "gate needs 3.31.0"));
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const char *fake = getenv("GATE_TEST_FAKE");
	if (fake && strcmp(fake, "magic") == 0) {
		const struct CMUnitTest tests[] = {cmocka_unit_test(test_fake_magic)};
		return cmocka_run_group_tests(tests, NULL, NULL);
	}
	if (fake && strcmp(fake, "sqlite") == 0) {
		const struct CMUnitTest tests[] = {cmocka_unit_test(test_fake_sqlite)};
		return cmocka_run_group_tests(tests, NULL, NULL);
	}
	if (fake && strcmp(fake, "yaml") == 0) {
		const struct CMUnitTest tests[] = {cmocka_unit_test(test_fake_yaml)};
		return cmocka_run_group_tests(tests, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_libraries),
		cmocka_unit_test(test_magic_in_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
