/* test_atomic.c - verify/util.c gate_atomic_*: a file is replaced whole or
 * not at all, never leaves its temporary file behind, and a failure names
 * the path and the step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh directory per test, removed after it even when it fails. */
static char dir[128];
static struct test_paths paths;

static int setup(void **state)
{
	(void)state;
	return test_mkdtemp(dir, sizeof dir, "atomic") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	test_rmtree(dir);
	return 0;
}

static const char *in_dir(const char *name)
{
	return test_path(&paths, dir, name);
}

/* The whole content of path, NUL-terminated (static buffer). */
static const char *content(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

/* Names in d other than the ones expected: a temporary file left behind. */
static void assert_only(const char *d, const char *const *names, size_t n)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	assert_non_null(dh);
	while ((de = readdir(dh))) {
		bool known = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(de->d_name, names[i]) == 0;
		if (!known)
			fail_msg("left behind in %s: %s", d, de->d_name);
	}
	closedir(dh);
}

static void expect_io_naming(enum gate_err rc, const struct gate_error *err, const char *path,
			     const char *step)
{
	if (rc != GATE_E_IO)
		print_message("rc=%d msg='%s'\n", (int)rc, err->msg);
	assert_int_equal(rc, GATE_E_IO);
	assert_int_equal(err->code, GATE_E_IO);
	assert_string_equal(err->file, path);
	assert_string_equal(err->field, path);
	if (!strstr(err->msg, step))
		fail_msg("message '%s' does not name the step '%s'", err->msg, step);
}

static void test_replaces_whole_file(void **state)
{
	(void)state;
	const char *p = in_dir("f.json");
	test_write_file(p, "old content", 11);
	struct gate_error err = {0};
	assert_int_equal(gate_atomic_write_file(p, NULL, "new", 3, 0640, 0, &err), GATE_OK);
	assert_string_equal(content(p), "new");
	assert_int_equal(mode_of(p), 0640);
	const char *const only[] = {"f.json"};
	assert_only(dir, only, 1);
	/* A new file too, and an empty one. */
	const char *q = in_dir("g");
	assert_int_equal(gate_atomic_write_file(q, NULL, "", 0, 0600, 0, &err), GATE_OK);
	assert_string_equal(content(q), "");
	assert_int_equal(mode_of(q), 0600);
	assert_int_equal(unlink(q), 0);
}

/* Exactly mode whatever the umask, unless the caller asks for the umask. */
static void test_mode(void **state)
{
	(void)state;
	const char *p = in_dir("m");
	struct gate_error err = {0};
	mode_t old = umask(077);
	enum gate_err r1 = gate_atomic_write_file(p, NULL, "x", 1, 0644, 0, &err);
	unsigned m1 = mode_of(p);
	enum gate_err r2 = gate_atomic_write_file(p, NULL, "y", 1, 0644, GATE_ATOMIC_UMASK, &err);
	unsigned m2 = mode_of(p);
	umask(old);
	assert_int_equal(r1, GATE_OK);
	assert_int_equal(m1, 0644);
	assert_int_equal(r2, GATE_OK);
	assert_int_equal(m2, 0600);
	assert_int_equal(unlink(p), 0);
}

/* Streaming through the handed-out fd; the target keeps its old content
 * until the commit. */
static void test_stream_then_commit(void **state)
{
	(void)state;
	const char *p = in_dir("s");
	test_write_file(p, "old", 3);
	struct gate_atomic a;
	struct gate_error err = {0};
	assert_int_equal(gate_atomic_open(&a, p, ".s-XXXXXX.dpkg-tmp", 0644, 0, &err), GATE_OK);
	assert_true(a.fd >= 0);
	assert_non_null(strstr(a.tmp, "/.s-"));
	assert_int_equal(strcmp(a.tmp + strlen(a.tmp) - 9, ".dpkg-tmp"), 0);
	assert_int_equal(write(a.fd, "part 1, ", 8), 8);
	assert_int_equal(gate_atomic_write(&a, "part 2", 6, &err), GATE_OK);
	assert_string_equal(content(p), "old");
	assert_int_equal(gate_atomic_sync(&a, &err), GATE_OK);
	assert_int_equal(a.fd, -1);
	assert_string_equal(content(p), "old");
	assert_int_equal(gate_atomic_commit(&a, &err), GATE_OK);
	gate_atomic_discard(&a); /* after commit: nothing to do */
	assert_string_equal(content(p), "part 1, part 2");
	const char *const only[] = {"s"};
	assert_only(dir, only, 1);
	assert_int_equal(unlink(p), 0);
}

/* Volatile state skips only the directory fsync: the content is the same. */
static void test_volatile(void **state)
{
	(void)state;
	const char *p = in_dir("status.json");
	struct gate_error err = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(gate_atomic_write_file(p, NULL, "{}\n", 3, 0644,
							GATE_ATOMIC_VOLATILE, &err),
				 GATE_OK);
	assert_string_equal(content(p), "{}\n");
	const char *const only[] = {"status.json"};
	assert_only(dir, only, 1);
	assert_int_equal(unlink(p), 0);
}

static void test_discard_leaves_target(void **state)
{
	(void)state;
	const char *p = in_dir("d");
	test_write_file(p, "old", 3);
	struct gate_atomic a;
	struct gate_error err = {0};
	assert_int_equal(gate_atomic_open(&a, p, NULL, 0644, 0, &err), GATE_OK);
	assert_int_equal(gate_atomic_write(&a, "new", 3, &err), GATE_OK);
	gate_atomic_discard(&a);
	gate_atomic_discard(&a);
	assert_string_equal(content(p), "old");
	const char *const only[] = {"d"};
	assert_only(dir, only, 1);
	/* A commit after a discard is an error, not a rename of nothing. */
	expect_io_naming(gate_atomic_commit(&a, &err), &err, p, "nothing to commit");
	assert_int_equal(unlink(p), 0);
}

/* The target is a directory: the rename fails, the directory and what it
 * holds stay, no temporary file is left. */
static void test_target_is_directory(void **state)
{
	(void)state;
	const char *p = in_dir("sub"), *inner = in_dir("sub/keep");
	assert_int_equal(mkdir(p, 0755), 0);
	test_write_file(inner, "kept", 4);
	struct gate_error err = {0};
	enum gate_err rc = gate_atomic_write_file(p, NULL, "new", 3, 0644, 0, &err);
	expect_io_naming(rc, &err, p, "cannot rename");
	assert_string_equal(content(inner), "kept");
	const char *const only[] = {"sub"};
	assert_only(dir, only, 1);
	assert_int_equal(unlink(inner), 0);
	assert_int_equal(rmdir(p), 0);
}

/* A symlink at the target is replaced by the file, its target untouched. */
static void test_symlink_replaced_not_followed(void **state)
{
	(void)state;
	const char *p = in_dir("link"), *victim = in_dir("victim");
	test_write_file(victim, "victim", 6);
	assert_int_equal(symlink(victim, p), 0);
	struct gate_error err = {0};
	assert_int_equal(gate_atomic_write_file(p, NULL, "new", 3, 0644, 0, &err), GATE_OK);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(content(p), "new");
	assert_string_equal(content(victim), "victim");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(unlink(victim), 0);
}

/* A directory we may not write in: nothing created, the old file intact.
 * Run as an unprivileged user (root writes anywhere). */
static void test_unwritable_directory(void **state)
{
	(void)state;
	const char *ro = in_dir("ro"), *p = in_dir("ro/f");
	assert_int_equal(mkdir(ro, 0755), 0);
	test_write_file(p, "old", 3);
	assert_int_equal(chmod(ro, 0555), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(10);
		struct gate_error err = {0};
		enum gate_err rc = gate_atomic_write_file(p, NULL, "new", 3, 0644, 0, &err);
		if (rc != GATE_E_IO)
			_exit(11);
		if (strcmp(err.file, p) != 0 || strcmp(err.field, p) != 0)
			_exit(12);
		if (!strstr(err.msg, "cannot create a temporary file") ||
		    !strstr(err.msg, strerror(EACCES)))
			_exit(13);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(ro, 0755), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(content(p), "old");
	const char *const only[] = {"f"};
	assert_only(ro, only, 1);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(rmdir(ro), 0);
}

static void test_missing_directory(void **state)
{
	(void)state;
	const char *p = in_dir("no-such-dir/f");
	struct gate_error err = {0};
	expect_io_naming(gate_atomic_write_file(p, NULL, "x", 1, 0644, 0, &err), &err, p,
			 "cannot create a temporary file");
	assert_non_null(strstr(err.msg, strerror(ENOENT)));
}

static void test_bad_template(void **state)
{
	(void)state;
	const char *p = in_dir("t");
	struct gate_error err = {0};
	struct gate_atomic a;
	assert_int_equal(gate_atomic_open(&a, p, ".tmp", 0644, 0, &err), GATE_E_USAGE);
	gate_atomic_discard(&a);
	assert_int_equal(gate_atomic_open(&a, p, "x/XXXXXX", 0644, 0, &err), GATE_E_USAGE);
	gate_atomic_discard(&a);
	const char *const none[] = {""};
	assert_only(dir, none, 0);
	/* A NULL err is allowed. */
	assert_int_equal(gate_atomic_write_file(in_dir("nope/f"), NULL, "x", 1, 0644, 0, NULL),
			 GATE_E_IO);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_replaces_whole_file),
		T(test_mode),
		T(test_stream_then_commit),
		T(test_volatile),
		T(test_discard_leaves_target),
		T(test_target_is_directory),
		T(test_symlink_replaced_not_followed),
		T(test_unwritable_directory),
		T(test_missing_directory),
		T(test_bad_template),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
