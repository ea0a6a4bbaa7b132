/* test_ledger.c - gate/debian/ledger.c: record, list, show and lookup by digest
 * and by path; re-recording replaces; file and directory modes; schema
 * version and foreign databases refused untouched; a corrupt file refused
 * with its bytes unchanged; a lock held by another connection makes a
 * record fail and leaves earlier records; a record failing half-way leaves
 * nothing; re-verification finds modified, missing, linked and non-regular
 * files under a root; schema 1 upgraded on a read-write open and read
 * through views read-only; what the exec gate may trust (file state and
 * package source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "../../gate/debian/ledger.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* fixture                                                            */

struct env {
	char dir[64];
	char db[128];
	struct test_paths paths;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	if (!e || !test_mkdtemp(e->dir, sizeof e->dir, "ledger")) {
		free(e);
		return -1;
	}
	snprintf(e->db, sizeof e->db, "%s/state/sub/ledger.db", e->dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	test_rmtree(e->dir);
	free(e);
	return 0;
}

static const char *P(struct env *e, const char *name)
{
	return test_path(&e->paths, e->dir, name);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *b = NULL;
	assert_int_equal(gate_read_file(path, 64u << 20, &b, len, NULL), GATE_OK);
	return b;
}

static void hex_of(const char *s, char hex[65])
{
	uint8_t d[32];
	gate_sha256(s, strlen(s), d);
	gate_hex_encode(d, 32, hex);
}

/* A package whose files hold the given contents (digests computed). */
struct tpkg {
	struct gate_ledger_pkg p;
	struct gate_ledger_file f[8];
};

static void mkpkg(struct tpkg *t, const char *name, const char *version, const char *arch,
		  const char *const *paths, const char *const *contents, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->p.name = (char *)name;
	t->p.version = (char *)version;
	t->p.arch = (char *)arch;
	hex_of(name, t->p.deb_sha256);
	t->p.rule = (char *)"debian";
	t->p.signers = (char *)"[{\"key_id\":\"abc\"}]";
	t->p.origin = (char *)"/var/cache/apt/archives/x.deb";
	t->p.time = 1700000000;
	for (size_t i = 0; i < n; i++) {
		t->f[i].path = (char *)paths[i];
		hex_of(contents[i], t->f[i].sha256);
		t->f[i].size = strlen(contents[i]);
	}
	t->p.files = t->f;
	t->p.nfiles = n;
}

static struct gate_ledger *open_rw(struct env *e)
{
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	enum gate_err rc = gate_ledger_open(e->db, false, &l, &err);
	if (rc != GATE_OK)
		fail_msg("open %s: %s", e->db, err.msg);
	return l;
}

/* Two packages, three rows: hello (2 files), libfoo amd64 and i386. */
static void record_base(struct gate_ledger *l)
{
	static const char *const hp[] = {"/usr/bin/hello", "/usr/share/doc/hello/README"};
	static const char *const hc[] = {"hello binary", "readme"};
	static const char *const lp[] = {"/usr/lib/libfoo.so.1"};
	static const char *const la[] = {"libfoo amd64"};
	static const char *const li[] = {"libfoo i386"};
	struct tpkg t[3];
	struct gate_ledger_pkg pk[3];
	struct gate_error err = {0};
	mkpkg(&t[0], "hello", "2.10-3", "amd64", hp, hc, 2);
	mkpkg(&t[1], "libfoo", "1.0-1", "amd64", lp, la, 1);
	mkpkg(&t[2], "libfoo", "1.0-1", "i386", lp, li, 1);
	for (int i = 0; i < 3; i++) {
		pk[i] = t[i].p;
		pk[i].files = t[i].f; /* the copy must point at t's files */
	}
	assert_int_equal(gate_ledger_record(l, pk, 3, &err), GATE_OK);
}

/* Collect callbacks into text, one line per row. */
struct sink {
	char text[4096];
	size_t n;
};

static void sink_add(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sink_add(struct sink *s, const char *fmt, ...)
{
	size_t len = strlen(s->text);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->text + len, sizeof s->text - len, fmt, ap);
	va_end(ap);
	s->n++;
}

static void on_pkg(void *ctx, const struct gate_ledger_pkg *p)
{
	sink_add(ctx, "%s %s %s %zu;", p->name, p->version, p->arch, p->nfiles);
	if (!p->files) /* list: counts only */
		return;
	for (size_t i = 0; i < p->nfiles; i++)
		sink_add(ctx, " %s=%.8s/%llu;", p->files[i].path, p->files[i].sha256,
			 (unsigned long long)p->files[i].size);
	((struct sink *)ctx)->n -= p->nfiles;
}

static void on_file(void *ctx, const struct gate_ledger_pkg *p, const struct gate_ledger_file *f)
{
	sink_add(ctx, "%s:%s %s;", p->name, p->arch, f->path);
}

static void on_bad(void *ctx, const struct gate_ledger_pkg *p, const struct gate_ledger_file *f,
		   const char *status)
{
	sink_add(ctx, "%s %s %s;", p->name, f->path, status);
}

static size_t count_list(struct gate_ledger *l)
{
	struct sink s = {0};
	struct gate_error err = {0};
	assert_int_equal(gate_ledger_list(l, on_pkg, &s, &err), GATE_OK);
	return s.n;
}

/* ------------------------------------------------------------------ */
/* record and read back                                               */

static void test_record_and_query(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	struct sink s = {0};
	size_t found = 99;
	char hex[65];
	record_base(l);

	assert_int_equal(gate_ledger_list(l, on_pkg, &s, &err), GATE_OK);
	assert_string_equal(s.text,
			    "hello 2.10-3 amd64 2;libfoo 1.0-1 amd64 1;libfoo 1.0-1 i386 1;");

	memset(&s, 0, sizeof s);
	assert_int_equal(gate_ledger_show(l, "hello", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	hex_of("hello binary", hex);
	char want[512];
	snprintf(want, sizeof want, "hello 2.10-3 amd64 2; /usr/bin/hello=%.8s/12;", hex);
	assert_true(strncmp(s.text, want, strlen(want)) == 0);
	assert_non_null(strstr(s.text, "/usr/share/doc/hello/README"));

	memset(&s, 0, sizeof s);
	assert_int_equal(gate_ledger_show(l, "libfoo", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 2);
	memset(&s, 0, sizeof s);
	assert_int_equal(gate_ledger_show(l, "libfoo:i386", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	assert_non_null(strstr(s.text, "i386"));
	assert_int_equal(gate_ledger_show(l, "nope", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 0);

	/* By path: both architectures own the library. */
	memset(&s, 0, sizeof s);
	assert_int_equal(gate_ledger_lookup(l, "/usr/lib/libfoo.so.1", on_file, &s, &found, &err),
			 GATE_OK);
	assert_int_equal(found, 2);
	assert_string_equal(s.text,
			    "libfoo:amd64 /usr/lib/libfoo.so.1;libfoo:i386 /usr/lib/libfoo.so.1;");
	/* By digest, with a prefix and in upper case. */
	hex_of("libfoo i386", hex);
	char key[80] = "sha256:";
	for (int i = 0; i < 64; i++)
		key[7 + i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	key[71] = '\0';
	memset(&s, 0, sizeof s);
	assert_int_equal(gate_ledger_lookup(l, key, on_file, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	assert_string_equal(s.text, "libfoo:i386 /usr/lib/libfoo.so.1;");
	assert_int_equal(gate_ledger_lookup(l, hex, NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/none", on_file, &s, &found, &err),
			 GATE_OK);
	assert_int_equal(found, 0);
	hex_of("nothing", hex);
	assert_int_equal(gate_ledger_lookup(l, hex, on_file, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	assert_int_equal(gate_ledger_lookup(l, "relative/path", on_file, &s, &found, &err),
			 GATE_E_USAGE);
	assert_int_equal(gate_ledger_lookup(l, "sha256:abc", on_file, &s, &found, &err),
			 GATE_E_USAGE);

	/* The exec daemon's question. */
	uint8_t d[32];
	bool has = false;
	gate_sha256("hello binary", 12, d);
	assert_int_equal(gate_ledger_has_digest(l, d, &has, &err), GATE_OK);
	assert_true(has);
	gate_sha256("hello binarY", 12, d);
	assert_int_equal(gate_ledger_has_digest(l, d, &has, &err), GATE_OK);
	assert_false(has);
	assert_int_equal(gate_ledger_check(l, &err), GATE_OK);
	gate_ledger_close(l);

	/* Read-only sees the same. */
	assert_int_equal(gate_ledger_open(e->db, true, &l, &err), GATE_OK);
	assert_int_equal(count_list(l), 3);
	gate_ledger_close(l);
}

static void test_modes(void **state)
{
	struct env *e = *state;
	struct stat st;
	mode_t old = umask(0);
	struct gate_ledger *l = open_rw(e);
	umask(old);
	gate_ledger_close(l);
	assert_int_equal(stat(e->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(P(e, "state/sub"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(P(e, "state"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_rerecord_replaces(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	struct tpkg t;
	struct sink s = {0};
	size_t found;
	static const char *const p1[] = {"/usr/bin/a", "/usr/bin/b"};
	static const char *const c1[] = {"a1", "b1"};
	static const char *const p2[] = {"/usr/bin/b", "/usr/bin/c"};
	static const char *const c2[] = {"b2", "c2"};
	record_base(l);
	mkpkg(&t, "tool", "1.0", "amd64", p1, c1, 2);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_OK);
	mkpkg(&t, "tool", "2.0", "amd64", p2, c2, 2);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_OK);
	assert_int_equal(gate_ledger_show(l, "tool", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	assert_non_null(strstr(s.text, "tool 2.0 amd64 2;"));
	assert_non_null(strstr(s.text, "/usr/bin/b="));
	assert_non_null(strstr(s.text, "/usr/bin/c="));
	assert_null(strstr(s.text, "/usr/bin/a="));
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/a", NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	char hex[65];
	hex_of("b1", hex);
	assert_int_equal(gate_ledger_lookup(l, hex, NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	/* Another architecture is another package, not a replacement. */
	mkpkg(&t, "tool", "2.0", "arm64", p2, c2, 2);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_OK);
	assert_int_equal(count_list(l), 5);
	gate_ledger_close(l);
}

static void test_record_validation(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	struct tpkg t;
	static const char *const p[] = {"relative/path"};
	static const char *const c[] = {"x"};
	mkpkg(&t, "x", "1", "all", p, c, 1);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_E_USAGE);
	static const char *const p2[] = {"/ok"};
	mkpkg(&t, "x", "1", "all", p2, c, 1);
	strcpy(t.f[0].sha256, "XYZ");
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_E_USAGE);
	mkpkg(&t, "x", "1", "all", p2, c, 1);
	t.p.deb_sha256[3] = 'A'; /* upper case is not how we store digests */
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_E_USAGE);
	mkpkg(&t, "", "1", "all", p2, c, 1);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_E_USAGE);
	assert_int_equal(count_list(l), 0);
	/* Zero packages is an empty transaction, not an error. */
	assert_int_equal(gate_ledger_record(l, NULL, 0, &err), GATE_OK);
	gate_ledger_close(l);
}

/* ------------------------------------------------------------------ */
/* refusing databases                                                 */

static void make_sqlite(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void assert_refused(const char *path, enum gate_err want, const char *msg_part)
{
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	size_t before_len, after_len;
	uint8_t *before = slurp(path, &before_len);
	for (int ro = 0; ro < 2; ro++) {
		assert_int_equal(gate_ledger_open(path, ro, &l, &err), want);
		assert_null(l);
		if (!strstr(err.msg, msg_part))
			fail_msg("message '%s' lacks '%s'", err.msg, msg_part);
		assert_non_null(strstr(err.msg, path));
	}
	uint8_t *after = slurp(path, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
}

static void test_newer_schema_refused(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "newer.db");
	make_sqlite(path, "CREATE TABLE packages (x); PRAGMA user_version = 99;");
	assert_refused(path, GATE_E_UNSUPPORTED, "schema version 99");
	/* Version 2 of a future gate, no tables yet: still refused. */
	path = P(e, "newer2.db");
	make_sqlite(path, "PRAGMA user_version = 4;");
	assert_refused(path, GATE_E_UNSUPPORTED, "newer");
	/* Our current version over no tables. */
	path = P(e, "empty2.db");
	make_sqlite(path, "PRAGMA user_version = 3;");
	assert_refused(path, GATE_E_UNSUPPORTED, "unexpected ledger schema");
	/* Some other application's database (version 0, tables). */
	path = P(e, "other.db");
	make_sqlite(path, "CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2);");
	assert_refused(path, GATE_E_UNSUPPORTED, "not a gate ledger");
	/* Our version number over someone else's tables. */
	path = P(e, "fake.db");
	make_sqlite(path, "CREATE TABLE t (a); PRAGMA user_version = 1;");
	assert_refused(path, GATE_E_UNSUPPORTED, "unexpected ledger schema");
}

static void test_corrupt_refused(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	record_base(l);
	gate_ledger_close(l);
	/* Garbage over the header of a real ledger. */
	int fd = open(e->db, O_WRONLY);
	assert_true(fd >= 0);
	static const char junk[100] = "this is not an SQLite header at all, it is garbage";
	assert_int_equal(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
	close(fd);
	assert_refused(e->db, GATE_E_IO, "not an SQLite database");
	/* Plain text where the ledger should be. */
	const char *txt = P(e, "text.db");
	test_write_file(txt, "hello, world\n", 13);
	assert_refused(txt, GATE_E_IO, "not an SQLite database");
	(void)err;
}

static void test_missing_and_links(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	assert_int_equal(gate_ledger_open(P(e, "absent.db"), true, &l, &err), GATE_E_IO);
	assert_int_equal(access(P(e, "absent.db"), F_OK), -1); /* read-only never creates */
	l = open_rw(e);
	record_base(l);
	gate_ledger_close(l);
	/* A symlink in place of the database is not followed. */
	l = NULL;
	assert_int_equal(symlink(e->db, P(e, "link.db")), 0);
	assert_int_equal(gate_ledger_open(P(e, "link.db"), false, &l, &err), GATE_E_IO);
	assert_null(l);
	/* A read-only connection cannot write. */
	assert_int_equal(gate_ledger_open(e->db, true, &l, &err), GATE_OK);
	struct tpkg t;
	static const char *const p[] = {"/x"};
	static const char *const c[] = {"x"};
	mkpkg(&t, "x", "1", "all", p, c, 1);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_E_IO);
	gate_ledger_close(l);
}

/* ------------------------------------------------------------------ */
/* transactions                                                       */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_locked(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	sqlite3 *other = NULL;
	struct tpkg t;
	static const char *const p[] = {"/usr/bin/late"};
	static const char *const c[] = {"late"};
	record_base(l);
	/* Another writer holds the lock (EXCLUSIVE = IMMEDIATE in WAL). */
	assert_int_equal(sqlite3_open(e->db, &other), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(other, "BEGIN EXCLUSIVE; DELETE FROM files;", NULL, NULL, NULL),
		SQLITE_OK);
	gate_ledger_set_busy_timeout(l, 150);
	mkpkg(&t, "late", "1", "all", p, c, 1);
	double t0 = now_s();
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_E_IO);
	assert_true(now_s() - t0 >= 0.1); /* it waited before giving up */
	assert_non_null(strstr(err.msg, "locked"));
	assert_non_null(strstr(err.msg, "150 ms"));
	/* Readers are not blocked by a writer in WAL mode. */
	assert_int_equal(count_list(l), 3);
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(other), SQLITE_OK);
	/* Earlier records intact; the failed one absent, then recordable. */
	size_t found;
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/hello", NULL, NULL, &found, &err),
			 GATE_OK);
	assert_int_equal(found, 1);
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/late", NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_OK);
	assert_int_equal(count_list(l), 4);
	gate_ledger_close(l);
}

static void test_halfway_rolls_back(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	struct tpkg t[3];
	struct gate_ledger_pkg pk[3];
	size_t found;
	static const char *const hp[] = {"/usr/bin/hello-new"};
	static const char *const hc[] = {"new hello"};
	static const char *const gp[] = {"/usr/bin/good"};
	static const char *const gc[] = {"good"};
	static const char *const bp[] = {"/usr/bin/dup", "/usr/bin/dup"};
	static const char *const bc[] = {"one", "two"};
	record_base(l);
	/* Replace hello, add good, then fail on the third package. */
	mkpkg(&t[0], "hello", "3.0", "amd64", hp, hc, 1);
	mkpkg(&t[1], "good", "1", "all", gp, gc, 1);
	mkpkg(&t[2], "bad", "1", "all", bp, bc, 2);
	for (int i = 0; i < 3; i++) {
		pk[i] = t[i].p;
		pk[i].files = t[i].f;
	}
	assert_int_equal(gate_ledger_record(l, pk, 3, &err), GATE_E_PARSE);
	assert_non_null(strstr(err.msg, "UNIQUE"));
	assert_int_equal(count_list(l), 3);
	assert_int_equal(gate_ledger_show(l, "good", NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/dup", NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	/* hello's replacement was rolled back with the rest. */
	struct sink s = {0};
	assert_int_equal(gate_ledger_show(l, "hello", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	assert_non_null(strstr(s.text, "hello 2.10-3 amd64 2;"));
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/hello", NULL, NULL, &found, &err),
			 GATE_OK);
	assert_int_equal(found, 1);
	/* And the connection is usable afterwards. */
	assert_int_equal(gate_ledger_record(l, pk, 2, &err), GATE_OK);
	assert_int_equal(count_list(l), 4);
	gate_ledger_close(l);
}

/* ------------------------------------------------------------------ */
/* verify                                                             */

static void test_verify(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	struct tpkg t;
	struct sink s = {0};
	size_t checked, bad;
	static const char *const paths[] = {"/usr/bin/ok",   "/usr/bin/modified",
					    "/usr/bin/gone", "/usr/bin/linked",
					    "/usr/bin/dir",  "/etc/same-size"};
	static const char *const contents[] = {"ok\n",	   "original\n", "gone\n",
					       "linked\n", "dir\n",	 "12345\n"};
	assert_int_equal(mkdir(P(e, "root"), 0755), 0);
	assert_int_equal(mkdir(P(e, "root/usr"), 0755), 0);
	assert_int_equal(mkdir(P(e, "root/usr/bin"), 0755), 0);
	assert_int_equal(mkdir(P(e, "root/etc"), 0755), 0);
	char rel[64];
	for (size_t i = 0; i < 6; i++) {
		snprintf(rel, sizeof rel, "root%s", paths[i]);
		test_write_file(P(e, rel), contents[i], strlen(contents[i]));
	}
	mkpkg(&t, "tools", "1", "amd64", paths, contents, 6);
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_OK);

	/* Clean tree (root given with a trailing slash). */
	char root[600];
	snprintf(root, sizeof root, "%s/", P(e, "root"));
	assert_int_equal(gate_ledger_verify(l, root, NULL, 0, on_bad, &s, &checked, &bad, &err),
			 GATE_OK);
	assert_int_equal(checked, 6);
	assert_int_equal(bad, 0);

	/* Break it: longer content, deleted, a link to a file with the same
	 * content (the digest would match: the link itself is the finding),
	 * a directory, and same-size different content. */
	test_write_file(P(e, "root/usr/bin/modified"), "tampered!\n", 10);
	assert_int_equal(unlink(P(e, "root/usr/bin/gone")), 0);
	test_write_file(P(e, "copy"), "linked\n", 7);
	assert_int_equal(unlink(P(e, "root/usr/bin/linked")), 0);
	assert_int_equal(symlink(P(e, "copy"), P(e, "root/usr/bin/linked")), 0);
	assert_int_equal(unlink(P(e, "root/usr/bin/dir")), 0);
	assert_int_equal(mkdir(P(e, "root/usr/bin/dir"), 0755), 0);
	test_write_file(P(e, "root/etc/same-size"), "54321\n", 6);
	assert_int_equal(
		gate_ledger_verify(l, P(e, "root"), NULL, 0, on_bad, &s, &checked, &bad, &err),
		GATE_OK);
	assert_int_equal(checked, 6);
	assert_int_equal(bad, 5);
	assert_string_equal(s.text, "tools /etc/same-size modified;"
				    "tools /usr/bin/dir not a regular file;"
				    "tools /usr/bin/gone missing;"
				    "tools /usr/bin/linked replaced by a link;"
				    "tools /usr/bin/modified modified;");

	/* Only under given paths; overlapping ones count once. */
	memset(&s, 0, sizeof s);
	const char *sel[] = {"/usr/bin/", "/usr/bin/gone", "/usr/bin/ok"};
	assert_int_equal(
		gate_ledger_verify(l, P(e, "root"), sel, 3, on_bad, &s, &checked, &bad, &err),
		GATE_OK);
	assert_int_equal(checked, 5);
	assert_int_equal(bad, 4);
	const char *one[] = {"/usr/bin/ok"};
	assert_int_equal(
		gate_ledger_verify(l, P(e, "root"), one, 1, NULL, NULL, &checked, &bad, &err),
		GATE_OK);
	assert_int_equal(checked, 1);
	assert_int_equal(bad, 0);
	/* "/usr/b" is not a prefix of /usr/bin in the path sense. */
	const char *partial[] = {"/usr/b"};
	assert_int_equal(
		gate_ledger_verify(l, P(e, "root"), partial, 1, NULL, NULL, &checked, &bad, &err),
		GATE_OK);
	assert_int_equal(checked, 0);
	const char *all[] = {"/"};
	assert_int_equal(
		gate_ledger_verify(l, P(e, "root"), all, 1, NULL, NULL, &checked, &bad, &err),
		GATE_OK);
	assert_int_equal(checked, 6);
	assert_int_equal(bad, 5);
	const char *relp[] = {"usr/bin"};
	assert_int_equal(
		gate_ledger_verify(l, P(e, "root"), relp, 1, NULL, NULL, &checked, &bad, &err),
		GATE_E_USAGE);
	gate_ledger_close(l);
}

/* ------------------------------------------------------------------ */
/* schema 1, sources and states                                       */

/* The schema and one row exactly as gate 1 wrote them. */
static const char schema_v1_sql[] =
	"CREATE TABLE packages ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL CHECK (length(name) > 0),"
	" version TEXT NOT NULL CHECK (length(version) > 0),"
	" arch TEXT NOT NULL CHECK (length(arch) > 0),"
	" deb_sha256 TEXT NOT NULL CHECK (length(deb_sha256) = 64),"
	" rule TEXT, signers TEXT, origin TEXT,"
	" time INTEGER NOT NULL,"
	" UNIQUE (name, arch));"
	"CREATE TABLE files ("
	" pkg INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,"
	" path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),"
	" sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
	" size INTEGER NOT NULL CHECK (size >= 0),"
	" PRIMARY KEY (pkg, path)) WITHOUT ROWID;"
	"CREATE INDEX files_sha256 ON files(sha256);"
	"CREATE INDEX files_path ON files(path);"
	"PRAGMA user_version = 1;"
	"INSERT INTO packages VALUES (7, 'old', '1.0', 'amd64',"
	" '1111111111111111111111111111111111111111111111111111111111111111',"
	" 'r', NULL, NULL, 1600000000);"
	"INSERT INTO files VALUES (7, '/usr/bin/old',"
	" '2222222222222222222222222222222222222222222222222222222222222222', 3);";

static int64_t user_version(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void assert_old_row(struct gate_ledger *l)
{
	struct gate_error err = {0};
	struct sink s = {0};
	size_t found = 0;
	uint8_t d[32];
	bool has = false;
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/old", on_file, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	assert_int_equal(gate_ledger_show(l, "old", on_pkg, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 1);
	memset(d, 0x22, sizeof d);
	assert_int_equal(gate_ledger_has_digest(l, d, &has, &err), GATE_OK);
	assert_true(has); /* allowed at install time: still vouched for */
}

static void test_schema1_upgrade(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "v1.db");
	struct gate_ledger *l = NULL;
	struct gate_error err = {0};
	make_sqlite(path, schema_v1_sql);
	/* Read-only: served through views, the file untouched. */
	size_t before_len, after_len;
	uint8_t *before = slurp(path, &before_len);
	assert_int_equal(gate_ledger_open(path, true, &l, &err), GATE_OK);
	assert_old_row(l);
	gate_ledger_close(l);
	uint8_t *after = slurp(path, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
	assert_int_equal(user_version(path), 1);
	/* Read-write: upgraded in place, rows kept as installs. */
	assert_int_equal(gate_ledger_open(path, false, &l, &err), GATE_OK);
	assert_int_equal(user_version(path), 3);
	assert_old_row(l);
	/* The new columns work, and the old package still cascades. */
	struct tpkg t;
	static const char *const p[] = {"/usr/bin/old"};
	static const char *const c[] = {"new"};
	mkpkg(&t, "old", "2.0", "amd64", p, c, 1);
	t.p.source = GATE_LEDGER_DPKG;
	t.p.deb_sha256[0] = '\0';
	assert_int_equal(gate_ledger_record(l, &t.p, 1, &err), GATE_OK);
	uint8_t d[32];
	bool has = true;
	memset(d, 0x22, sizeof d);
	assert_int_equal(gate_ledger_has_digest(l, d, &has, &err), GATE_OK);
	assert_false(has);
	gate_ledger_close(l);
	/* Opening again is a no-op. */
	assert_int_equal(gate_ledger_open(path, false, &l, &err), GATE_OK);
	assert_int_equal(count_list(l), 1);
	gate_ledger_close(l);
}

static bool vouched(struct gate_ledger *l, const char *content)
{
	uint8_t d[32];
	bool has = false;
	struct gate_error err = {0};
	gate_sha256(content, strlen(content), d);
	assert_int_equal(gate_ledger_has_digest(l, d, &has, &err), GATE_OK);
	return has;
}

static void test_sources_and_states(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	struct tpkg t[3];
	static const char *const p[] = {"/usr/bin/a", "/etc/a.conf", "/usr/bin/a-changed",
					"/usr/bin/a-unverified"};
	static const char *const ca[] = {"A ok", "A conf", "A changed", "A unverified"};
	static const char *const cb[] = {"B ok", "B conf", "B changed", "B unverified"};
	static const char *const cc[] = {"C ok", "C conf", "C changed", "C unverified"};
	mkpkg(&t[0], "a", "1", "amd64", p, ca, 4);
	mkpkg(&t[1], "b", "1", "amd64", p, cb, 4);
	mkpkg(&t[2], "c", "1", "amd64", p, cc, 4);
	t[1].p.source = GATE_LEDGER_ARCHIVE;
	t[2].p.source = GATE_LEDGER_DPKG;
	t[2].p.deb_sha256[0] = '\0'; /* dpkg alone has no .deb digest */
	for (int i = 0; i < 3; i++) {
		t[i].f[1].state = GATE_FILE_CONFIG;
		t[i].f[2].state = GATE_FILE_CHANGED;
		t[i].f[3].state = GATE_FILE_UNVERIFIED;
		t[i].p.files = t[i].f;
		assert_int_equal(gate_ledger_record(l, &t[i].p, 1, &err), GATE_OK);
	}
	/* Only OK files of installed or archive-vouched packages. */
	assert_true(vouched(l, "A ok"));
	assert_true(vouched(l, "B ok"));
	assert_false(vouched(l, "C ok"));
	static const char *const not_ok[] = {"A conf", "A changed", "A unverified",
					     "B conf", "B changed", "B unverified",
					     "C conf", "C changed"};
	for (size_t i = 0; i < sizeof not_ok / sizeof not_ok[0]; i++)
		if (vouched(l, not_ok[i]))
			fail_msg("'%s' must not be vouched for", not_ok[i]);
	/* ... but every row can be looked up, with its state and source. */
	struct sink s = {0};
	size_t found = 0;
	assert_int_equal(gate_ledger_lookup(l, "/etc/a.conf", on_file, &s, &found, &err), GATE_OK);
	assert_int_equal(found, 3);
	bool has = false;
	enum gate_ledger_source src = GATE_LEDGER_INSTALL;
	assert_int_equal(gate_ledger_has_version(l, "c", "amd64", "1", &has, &src, &err), GATE_OK);
	assert_true(has);
	assert_int_equal(src, GATE_LEDGER_DPKG);
	assert_int_equal(gate_ledger_has_version(l, "b", "amd64", "1", &has, &src, &err), GATE_OK);
	assert_true(has);
	assert_int_equal(src, GATE_LEDGER_ARCHIVE);
	assert_int_equal(gate_ledger_has_version(l, "b", "amd64", "2", &has, &src, &err), GATE_OK);
	assert_false(has);
	assert_int_equal(gate_ledger_has_version(l, "b", "i386", "1", &has, &src, &err), GATE_OK);
	assert_false(has);
	/* Without a .deb digest only a dpkg-only record is valid. */
	t[1].p.deb_sha256[0] = '\0';
	assert_int_equal(gate_ledger_record(l, &t[1].p, 1, &err), GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "deb_sha256"));
	t[0].p.source = (enum gate_ledger_source)7;
	assert_int_equal(gate_ledger_record(l, &t[0].p, 1, &err), GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "source"));
	/* Forgetting: the named pairs and their files, absent ones ignored. */
	const char *names[] = {"a", "zzz", "b"}, *archs[] = {"amd64", "amd64", "i386"};
	assert_int_equal(gate_ledger_forget(l, names, archs, 3, &err), GATE_OK);
	assert_int_equal(count_list(l), 2);
	assert_false(vouched(l, "A ok"));
	assert_true(vouched(l, "B ok"));
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/a", NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 2);
	gate_ledger_close(l);
}

/* ------------------------------------------------------------------ */
/* pending packages and the root                                      */

struct pend_sink {
	size_t n, nfiles;
	char md5[33], sha[65];
};

static void on_pending(void *ctx, struct gate_ledger_pkg *p)
{
	struct pend_sink *s = ctx;
	s->n++;
	s->nfiles += p->nfiles;
	if (p->nfiles) {
		snprintf(s->md5, sizeof s->md5, "%s", p->files[0].md5);
		snprintf(s->sha, sizeof s->sha, "%s", p->files[p->nfiles - 1].sha256);
	}
}

/* What the apt hook allowed before dpkg ran vouches for nothing: no
 * list, show, lookup, has_digest or verify sees it (gated reads
 * has_digest). */
static void test_pending_never_vouches(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	static const char *const paths[] = {"/usr/bin/pend", "/usr/share/pend/b"};
	static const char *const contents[] = {"pending binary", "pending data"};
	struct tpkg t;
	size_t found = 9, checked = 9, bad = 9;
	int64_t last = 0;
	mkpkg(&t, "pend", "1.0", "amd64", paths, contents, 2);
	memset(t.f[0].sha256, 0, sizeof t.f[0].sha256); /* md5 only, as from md5sums */
	snprintf(t.f[0].md5, sizeof t.f[0].md5, "0123456789abcdef0123456789abcdef");
	assert_int_equal(gate_ledger_add_pending(l, &t.p, 1, &err), GATE_OK);
	assert_int_equal(count_list(l), 0);
	assert_false(vouched(l, "pending data"));
	assert_int_equal(gate_ledger_lookup(l, "/usr/bin/pend", NULL, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	assert_int_equal(gate_ledger_show(l, "pend", on_pkg, NULL, &found, &err), GATE_OK);
	assert_int_equal(found, 0);
	assert_int_equal(gate_ledger_verify(l, e->dir, NULL, 0, NULL, NULL, &checked, &bad, &err),
			 GATE_OK);
	assert_int_equal(checked, 0);
	/* Kept as given, and dropped by id. */
	struct pend_sink s = {0};
	assert_int_equal(gate_ledger_list_pending(l, on_pending, &s, &last, &err), GATE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.nfiles, 2);
	assert_string_equal(s.md5, "0123456789abcdef0123456789abcdef");
	assert_string_equal(s.sha, t.f[1].sha256);
	assert_true(last > 0);
	assert_int_equal(gate_ledger_drop_pending(l, last, &err), GATE_OK);
	memset(&s, 0, sizeof s);
	assert_int_equal(gate_ledger_list_pending(l, on_pending, &s, &last, &err), GATE_OK);
	assert_int_equal(s.n, 0);
	/* Refused: a file with neither digest. */
	t.f[0].md5[0] = '\0';
	assert_int_equal(gate_ledger_add_pending(l, &t.p, 1, &err), GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "/usr/bin/pend: needs an md5 (32) or sha256"));
	gate_ledger_close(l);
}

static void test_root_binding(void **state)
{
	struct env *e = *state;
	struct gate_ledger *l = open_rw(e);
	struct gate_error err = {0};
	char *root = NULL, *admin = NULL;
	assert_int_equal(gate_ledger_check_root(l, "/x", &err), GATE_OK); /* unbound */
	assert_int_equal(gate_ledger_bind_root(l, "/a", "/a/var/lib/dpkg", &err), GATE_OK);
	assert_int_equal(gate_ledger_bind_root(l, "/a", "/a/var/lib/dpkg", &err), GATE_OK);
	assert_int_equal(gate_ledger_bind_root(l, "/b", "/b/var/lib/dpkg", &err), GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "records the root /a (dpkg database /a/var/lib/dpkg), "
					"not /b (dpkg database /b/var/lib/dpkg)"));
	assert_int_equal(gate_ledger_bind_root(l, "/a", "/elsewhere", &err), GATE_E_USAGE);
	assert_int_equal(gate_ledger_check_root(l, "/b", &err), GATE_E_USAGE);
	assert_non_null(strstr(err.msg, "records the root /a"));
	gate_ledger_close(l);
	/* Read-only: still bound, and still checked. */
	assert_int_equal(gate_ledger_open(e->db, true, &l, &err), GATE_OK);
	assert_int_equal(gate_ledger_get_root(l, &root, &admin, &err), GATE_OK);
	assert_string_equal(root, "/a");
	assert_string_equal(admin, "/a/var/lib/dpkg");
	assert_int_equal(gate_ledger_check_root(l, "/a", &err), GATE_OK);
	free(root);
	free(admin);
	gate_ledger_close(l);
	/* A missing root says so. */
	char out[4096];
	assert_int_equal(gate_ledger_canon_root(P(e, "nowhere"), out, &err), GATE_E_IO);
	assert_non_null(strstr(err.msg, "nowhere: No such file or directory"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_record_and_query),     T(test_modes),
		T(test_rerecord_replaces),    T(test_record_validation),
		T(test_newer_schema_refused), T(test_corrupt_refused),
		T(test_missing_and_links),    T(test_locked),
		T(test_halfway_rolls_back),   T(test_verify),
		T(test_schema1_upgrade),      T(test_sources_and_states),
		T(test_pending_never_vouches), T(test_root_binding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
