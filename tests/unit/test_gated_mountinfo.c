/* test_gated_mountinfo.c - gated's parsers of the kernel's text
 * (gate/daemon/mountinfo.c): mountinfo lines with optional fields and
 * octal escapes, every malformed or overlong field refused (with the line
 * number), the mount cap, and sysctl integers. The daemon's sources are
 * compiled in directly: they are not part of libgate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../gate/daemon/mountinfo.c"

#include <stdio.h>

static bool line(const char *s, struct gated_mount *m)
{
	return gated_mountinfo_line(s, strlen(s), m);
}

static void test_line(void **state)
{
	(void)state;
	struct gated_mount m;
	assert_true(line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root "
			 "rw,errors=continue",
			 &m));
	assert_int_equal(m.id, 36);
	assert_int_equal(m.parent, 35);
	assert_int_equal(m.major, 98);
	assert_int_equal(m.minor, 0);
	assert_string_equal(m.point, "/mnt2");
	assert_string_equal(m.fstype, "ext3");
	assert_false(m.noexec);
	assert_true(line("24 22 0:22 / /dev/shm rw,nosuid,nodev,noexec - tmpfs tmpfs rw", &m));
	assert_true(m.noexec);
	/* noexec only as the mount's own option, whole words only */
	assert_true(line("24 22 0:22 / /x rw,noexecx - tmpfs tmpfs rw,noexec", &m));
	assert_false(m.noexec);
	/* no optional fields, escapes in the mount point */
	assert_true(line("25 22 0:23 / /mnt/a\\040b\\011c\\134d rw - tmpfs t rw", &m));
	assert_string_equal(m.point, "/mnt/a b\tc\\d");
}

static void test_line_refused(void **state)
{
	(void)state;
	struct gated_mount m;
	static const char *const bad[] = {
		"",
		"x 1 0:1 / / rw - t s rw",	     /* id not a number */
		"1 1 01 / / rw - t s rw",	     /* no ':' */
		"1 1 0:1 / / rw t s rw",	     /* no '-' */
		"1 1 0:1 / / rw -",		     /* no fstype */
		"1 1 0:1 / rel rw - t s rw",	     /* relative mount point */
		"1 1 0:1 / /a\\04 rw - t s rw",	     /* short escape */
		"1 1 0:1 / /a\\09x rw - t s rw",     /* not octal */
		"1 1 0:1 / /a\\000 rw - t s rw",     /* NUL */
		"99999999999 1 0:1 / / rw - t s rw", /* over 32 bits */
		"1 1 0:1048576 / / rw - t s rw",     /* minor over 20 bits */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(line(bad[i], &m));
	/* a mount point longer than PATH_MAX, and an fstype over its cap */
	char *big = malloc(PATH_MAX + 64);
	assert_non_null(big);
	int n = snprintf(big, PATH_MAX + 64, "1 1 0:1 / /");
	memset(big + n, 'a', PATH_MAX);
	strcpy(big + n + PATH_MAX, " rw - t s rw");
	assert_false(line(big, &m));
	n = snprintf(big, PATH_MAX + 64, "1 1 0:1 / / rw - ");
	memset(big + n, 't', GATED_FSTYPE_MAX);
	strcpy(big + n + GATED_FSTYPE_MAX, " s rw");
	assert_false(line(big, &m));
	free(big);
}

static void test_file(void **state)
{
	(void)state;
	static const char text[] = "1 0 0:1 / / rw - rootfs r rw\n"
				   "\n"
				   "2 1 0:2 / /proc rw,noexec - proc proc rw\n"
				   "3 1 0:3 / /t rw - tmpfs t rw"; /* no final newline */
	struct gated_mount *v = NULL;
	size_t n = 0;
	assert_int_equal(gated_mountinfo_parse(text, sizeof text - 1, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].point, "/t");
	assert_true(v[1].noexec);
	free(v);
	static const char badtext[] = "1 0 0:1 / / rw - rootfs r rw\n2 1 0:2 / proc rw\n";
	assert_int_equal(gated_mountinfo_parse(badtext, sizeof badtext - 1, &v, &n), 2);
	assert_null(v);
	assert_int_equal(n, 0);
}

static void test_mount_cap(void **state)
{
	(void)state;
	static const char one[] = "1 0 0:1 / / rw - t s rw\n";
	size_t cnt = GATED_MOUNTINFO_MAX_MOUNTS + 1, len = cnt * (sizeof one - 1);
	char *text = malloc(len);
	struct gated_mount *v = NULL;
	size_t n = 0;
	assert_non_null(text);
	for (size_t i = 0; i < cnt; i++)
		memcpy(text + i * (sizeof one - 1), one, sizeof one - 1);
	assert_int_equal(gated_mountinfo_parse(text, len, &v, &n), -1);
	assert_null(v);
	assert_int_equal(gated_mountinfo_parse(text, len - (sizeof one - 1), &v, &n), 0);
	assert_int_equal(n, GATED_MOUNTINFO_MAX_MOUNTS);
	free(v);
	free(text);
}

static void test_read_self(void **state)
{
	(void)state;
	struct gated_mount *v = NULL;
	size_t n = 0;
	assert_int_equal(gated_mountinfo_read("/proc/self/mountinfo", &v, &n), 0);
	assert_true(n > 0);
	free(v);
	assert_int_equal(gated_mountinfo_read("/nonexistent/mountinfo", &v, &n), -1);
}

static void test_sysctl_int(void **state)
{
	(void)state;
	long v = -7;
	assert_true(gated_sysctl_int("2\n", 2, &v));
	assert_int_equal(v, 2);
	assert_true(gated_sysctl_int(" -1\t\n", 5, &v));
	assert_int_equal(v, -1);
	assert_true(gated_sysctl_int("123456789012345678", 18, &v));
	static const char *const bad[] = {
		"", "\n", "-", "2x", "2 3", "0x10", "1234567890123456789"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(gated_sysctl_int(bad[i], strlen(bad[i]), &v));
	/* length, not the terminator, bounds the parse */
	assert_true(gated_sysctl_int("12junk", 2, &v));
	assert_int_equal(v, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),	  cmocka_unit_test(test_line_refused),
		cmocka_unit_test(test_file),	  cmocka_unit_test(test_mount_cap),
		cmocka_unit_test(test_read_self), cmocka_unit_test(test_sysctl_int),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
