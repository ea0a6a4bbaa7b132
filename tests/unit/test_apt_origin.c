/* test_apt_origin.c - gate/debian/apt_origin.c: the deb822 parsers (Release,
 * Packages, dates) on good and bad input with their error codes and
 * fields; the gpgv runner (gate_apt_run_verifier) with scripts in place of
 * gpgv: a deadline that kills the child and its group and reaps it, output
 * caps, status lines that must say GOODSIG and VALIDSIG and nothing bad,
 * the fixed argument lists of both modes; and, with gpg and gpgv, a lists
 * dir signed here with a throwaway key (an InRelease with Valid-Until, a
 * flat repository with Release + Release.gpg, paths a Release lists that
 * are not Packages indexes): lookups by name/version/arch and by digest,
 * component constraints, a Release past Valid-Until, a keyring that does
 * not hold the signing key, and many lookups in a row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "../../gate/debian/apt_origin.h"
#include "internal.h"
#include "policy_model.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FPR "0123456789ABCDEF0123456789ABCDEF01234567"
#define GOOD_STATUS                                                                                \
	"echo '[GNUPG:] NEWSIG' >&3\n"                                                             \
	"echo '[GNUPG:] GOODSIG 89ABCDEF01234567 Test <t@example.com>' >&3\n"                      \
	"echo '[GNUPG:] VALIDSIG " FPR " 2026-01-01 1767225600 0 4 0 22 8 01 " FPR "' >&3\n"

static char g_dir[64];	  /* scratch dir of this run */
static bool g_have_gpg;	  /* gpg and gpgv: the signed fixture exists */
static char g_lists[128]; /* the signed lists dir */
static char g_keyring[128], g_rogue[128];
static char g_fpr[65]; /* of the archive key, lowercase */

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s), 0644);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *b = malloc(1 << 20);
	size_t n = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (b)
		b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A script standing in for gpgv; returns its path (static buffer). */
static const char *script(const char *name, const char *body)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	char text[4096];
	snprintf(p, sizeof path[0], "%s/%s", g_dir, name);
	snprintf(text, sizeof text, "#!/bin/sh\n%s", body);
	write_file(p, text, strlen(text), 0755);
	return p;
}

/* No child left to reap: nothing zombie, nothing running. */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* The process is gone or a zombie (of init, which may not reap it). */
static bool dead(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

struct run {
	enum gate_err rc;
	struct gate_error err;
	char *text;
	size_t textlen;
	char fpr[65];
	int64_t ms;
};

static void run_prog(const char *prog, unsigned timeout_ms, bool detached, struct run *r)
{
	char data[256], sig[256];
	snprintf(data, sizeof data, "%s/data", g_dir);
	snprintf(sig, sizeof sig, "%s/sig", g_dir);
	write_str(data, "DATABYTES\n");
	write_str(sig, "SIGBYTES\n");
	int dfd = open(data, O_RDONLY | O_CLOEXEC);
	int sfd = detached ? open(sig, O_RDONLY | O_CLOEXEC) : -1;
	assert_true(dfd >= 0);
	memset(r, 0, sizeof(*r));
	int64_t t0 = mono_ms();
	r->rc = gate_apt_run_verifier(prog, timeout_ms, "/k.gpg", dfd, sfd, "LABEL",
				      detached ? NULL : &r->text, detached ? NULL : &r->textlen,
				      r->fpr, &r->err);
	r->ms = mono_ms() - t0;
	close(dfd);
	if (sfd >= 0)
		close(sfd);
}

static void expect_err(const struct run *r, enum gate_err code, const char *want)
{
	if (r->rc != code || !strstr(r->err.msg, want))
		print_message("rc=%d msg='%s'\n", (int)r->rc, r->err.msg);
	assert_int_equal(r->rc, code);
	assert_int_equal(r->err.code, code);
	assert_non_null(strstr(r->err.msg, want));
	assert_null(r->text);
	assert_string_equal(r->fpr, "");
}

/* ------------------------------------------------------------------ */
/* the runner                                                          */

static void test_verifier_good(void **state)
{
	(void)state;
	struct run r;
	/* clearsigned: fixed argv, stdin is the InRelease, stdout the text */
	const char *p = script("good.sh", "[ \"$1 $2 $3 $4 $5 $6 $7\" = \"--quiet --keyring /k.gpg "
					  "--status-fd 3 --output -\" ] && [ $# = 7 ] || exit 9\n"
					  "[ \"$(cat)\" = DATABYTES ] || exit 8\n"
					  "printf 'Origin: X\\n'\n" GOOD_STATUS);
	run_prog(p, 5000, false, &r);
	if (r.rc != GATE_OK)
		print_message("%s\n", r.err.msg);
	assert_int_equal(r.rc, GATE_OK);
	assert_string_equal(r.text, "Origin: X\n");
	assert_int_equal(r.textlen, 10);
	assert_string_equal(r.fpr, "0123456789abcdef0123456789abcdef01234567");
	free(r.text);
	assert_no_children();
}

static void test_verifier_detached_args(void **state)
{
	(void)state;
	struct run r;
	/* detached: the signature as /dev/fd/4, the data on stdin as "-" */
	const char *p = script("det.sh", "[ \"$1 $2 $3 $4 $5 $6 $7 $8\" = \"--quiet --keyring "
					 "/k.gpg --status-fd 3 -- /dev/fd/4 -\" ] && [ $# = 8 ] "
					 "|| exit 9\n"
					 "[ \"$(cat /dev/fd/4)\" = SIGBYTES ] || exit 7\n"
					 "[ \"$(cat)\" = DATABYTES ] || exit 8\n" GOOD_STATUS);
	run_prog(p, 5000, true, &r);
	if (r.rc != GATE_OK)
		print_message("%s\n", r.err.msg);
	assert_int_equal(r.rc, GATE_OK);
	assert_string_equal(r.fpr, "0123456789abcdef0123456789abcdef01234567");
	/* the same script in clearsigned mode gets other arguments */
	run_prog(p, 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "exit status 9");
	assert_no_children();
}

static void test_verifier_timeout(void **state)
{
	(void)state;
	struct run r;
	char pidfile[128], body[512];
	snprintf(pidfile, sizeof pidfile, "%s/grandchild", g_dir);
	/* the script starts a grandchild in its group and waits */
	snprintf(body, sizeof body, "sleep 30 &\necho $! >%s\nwait\n", pidfile);
	const char *p = script("slow.sh", body);
	run_prog(p, 300, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "timed out after 300 ms");
	assert_non_null(strstr(r.err.msg, "LABEL"));
	/* not before the 300 ms deadline; well before the script's 30 s (a
	 * wide margin: the CPUs may be busy) */
	if (r.ms < 290 || r.ms > 15000)
		print_message("took %lld ms\n", (long long)r.ms);
	assert_true(r.ms >= 290 && r.ms <= 15000);
	assert_no_children();
	/* the grandchild was killed with the group */
	char *s = read_all(pidfile, NULL);
	assert_non_null(s);
	pid_t gc = (pid_t)atoi(s);
	free(s);
	assert_true(gc > 1);
	for (int i = 0; i < 100 && !dead(gc); i++)
		usleep(10000);
	assert_true(dead(gc));

	/* a child that closes its outputs but does not exit is killed too */
	p = script("lingers.sh", "exec >/dev/null 3>&-\nexec sleep 30\n");
	run_prog(p, 300, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "timed out");
	assert_true(r.ms <= 15000);
	assert_no_children();
}

static void test_verifier_too_large(void **state)
{
	(void)state;
	struct run r;
	const char *p = script("big.sh", "head -c 40000000 /dev/zero\n" GOOD_STATUS);
	run_prog(p, 20000, false, &r);
	expect_err(&r, GATE_E_TOO_LARGE, "over 33554432 bytes of text");
	assert_no_children();
	p = script("bigstatus.sh", "head -c 2000000 /dev/zero >&3\n");
	run_prog(p, 20000, true, &r);
	expect_err(&r, GATE_E_TOO_LARGE, "bytes of status lines");
	assert_no_children();
}

static void test_verifier_status(void **state)
{
	(void)state;
	struct run r;
	/* exit 0, no status lines */
	run_prog(script("quiet.sh", "printf 'Origin: X\\n'\nexit 0\n"), 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "signature does not verify with keyring /k.gpg");
	assert_non_null(strstr(r.err.msg, "no good signature"));
	assert_true(strncmp(r.err.msg, "LABEL: ", 7) == 0);
	/* GOODSIG without VALIDSIG */
	run_prog(script("novalid.sh", "echo '[GNUPG:] GOODSIG 89ABCDEF01234567 T' >&3\n"), 5000,
		 false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "no good signature");
	/* GOODSIG + VALIDSIG, but also a BADSIG */
	run_prog(script("mixed.sh", GOOD_STATUS "echo '[GNUPG:] BADSIG 1111222233334444 E' >&3\n"),
		 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "(BADSIG)");
	/* an expired key's signature next to a good one does not spoil it
	 * (as apt: archives roll keys by signing with old and new) */
	run_prog(script("mixed2.sh",
			"echo '[GNUPG:] NEWSIG' >&3\n"
			"echo '[GNUPG:] EXPKEYSIG 1111222233334444 E' >&3\n" GOOD_STATUS),
		 5000, true, &r);
	assert_int_equal(r.rc, GATE_OK);
	assert_string_equal(r.fpr, "0123456789abcdef0123456789abcdef01234567");
	/* Several signatures: one good is enough when the others only
	 * cannot be checked (a keyring with some of the archive's keys;
	 * gpgv exits 2), with the good one's fingerprint ... */
	run_prog(script("multi.sh",
			"echo '[GNUPG:] NEWSIG' >&3\n"
			"echo '[GNUPG:] ERRSIG 74A89A0CCC775DF3 22 8 01 1 9 X' >&3\n"
			"echo '[GNUPG:] NO_PUBKEY 74A89A0CCC775DF3' >&3\n" GOOD_STATUS "exit 2\n"),
		 5000, false, &r);
	if (r.rc != GATE_OK)
		print_message("%s\n", r.err.msg);
	assert_int_equal(r.rc, GATE_OK);
	assert_string_equal(r.fpr, "0123456789abcdef0123456789abcdef01234567");
	free(r.text);
	/* ... but never with a bad one among them, */
	run_prog(script("multibad.sh",
			GOOD_STATUS "echo '[GNUPG:] NEWSIG' >&3\n"
				    "echo '[GNUPG:] BADSIG 1111222233334444 E' >&3\n"),
		 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "(BADSIG)");
	/* nor from an expired key's VALIDSIG paired with another's GOODSIG, */
	run_prog(script("split.sh", "echo '[GNUPG:] NEWSIG' >&3\n"
				    "echo '[GNUPG:] GOODSIG 89ABCDEF01234567 T' >&3\n"
				    "echo '[GNUPG:] NEWSIG' >&3\n"
				    "echo '[GNUPG:] EXPKEYSIG 1111222233334444 E' >&3\n"
				    "echo '[GNUPG:] VALIDSIG " FPR
				    " 2026-01-01 1 0 4 0 22 8 01 " FPR "' >&3\n"),
		 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "(EXPKEYSIG)");
	/* nor with exit 2 and no good signature. */
	run_prog(script("exit2.sh", "echo '[GNUPG:] NEWSIG' >&3\n"
				    "echo '[GNUPG:] NO_PUBKEY 74A89A0CCC775DF3' >&3\nexit 2\n"),
		 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "(NO_PUBKEY)");
	/* good status, bad exit */
	run_prog(script("exit1.sh", GOOD_STATUS "exit 1\n"), 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "exit status 1");
	/* killed by a signal */
	run_prog(script("signal.sh", GOOD_STATUS "kill -9 $$\n"), 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "killed by a signal");
	/* a status line that only looks like one */
	run_prog(script("fake.sh", "echo '[GNUPG:] GOODSIG 1' >&2\necho 'x[GNUPG:] GOODSIG 1' >&3\n"
				   "echo '[GNUPG:] VALIDSIG nothex' >&3\n"),
		 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "no good signature");
	/* no such program */
	char missing[128];
	snprintf(missing, sizeof missing, "%s/missing", g_dir);
	run_prog(missing, 5000, false, &r);
	expect_err(&r, GATE_E_SIGNATURE, "cannot run");
	assert_no_children();
}

/* ------------------------------------------------------------------ */
/* parsers                                                             */

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define HEX_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static void expect_release_err(const char *text, enum gate_err code, const char *field,
			       const char *msg)
{
	struct gate_apt_release r;
	struct gate_error err = {0};
	enum gate_err rc = gate_apt_parse_release(text, strlen(text), &r, &err);
	if (rc != code || strcmp(err.field, field) != 0 || !strstr(err.msg, msg))
		print_message("rc=%d field='%s' msg='%s'\n", (int)rc, err.field, err.msg);
	assert_int_equal(rc, code);
	assert_string_equal(err.field, field);
	assert_non_null(strstr(err.msg, msg));
	assert_null(r.files);
	assert_int_equal(r.nfiles, 0);
}

static void test_parse_release(void **state)
{
	(void)state;
	const char *good = "Origin: Debian\n"
			   "Label: Debian\r\n"
			   "Suite: stable\n"
			   "Codename: bookworm\n"
			   "# a comment\n"
			   "Date: Sat, 01 Jan 2000 00:00:00 UTC\n"
			   "Valid-Until: Sat, 08 Jan 2000 00:00:00 +0100\n"
			   "MD5Sum:\n"
			   " 0123 12 main/binary-all/Packages\n"
			   "SHA256:\n"
			   " " HEX_A " 1234 main/binary-all/Packages\n"
			   "  " HEX_B "   0 Packages.xz  \n"
			   "Unknown-Field: ignored\n";
	struct gate_apt_release r;
	struct gate_error err = {0};
	assert_int_equal(gate_apt_parse_release(good, strlen(good), &r, &err), GATE_OK);
	assert_string_equal(r.origin, "Debian");
	assert_string_equal(r.label, "Debian");
	assert_string_equal(r.suite, "stable");
	assert_string_equal(r.codename, "bookworm");
	assert_int_equal(r.date, 946684800);
	assert_int_equal(r.valid_until, 946684800 + 7 * 86400 - 3600);
	assert_int_equal(r.nfiles, 2);
	assert_string_equal(r.files[0].path, "main/binary-all/Packages");
	assert_int_equal(r.files[0].size, 1234);
	assert_int_equal(r.files[0].sha256[0], 0xaa);
	assert_string_equal(r.files[1].path, "Packages.xz");
	assert_int_equal(r.files[1].size, 0);
	gate_apt_release_clear(&r);
	assert_null(r.files);

	expect_release_err("Origin: X\n", GATE_E_PARSE, "SHA256", "no SHA256 field");
	expect_release_err("SHA256:\n " HEX_A " 1 a\nSHA256:\n " HEX_A " 1 b\n", GATE_E_PARSE,
			   "SHA256", "given twice");
	expect_release_err("SHA256:\n " HEX_A " 1\n", GATE_E_PARSE, "SHA256", "malformed line");
	expect_release_err("SHA256:\n abcd 1 x\n", GATE_E_PARSE, "SHA256", "malformed line");
	expect_release_err("SHA256:\n " HEX_A " -1 x\n", GATE_E_PARSE, "SHA256", "malformed line");
	expect_release_err("SHA256:\n " HEX_A " 99999999999999999999 x\n", GATE_E_PARSE, "SHA256",
			   "malformed line");
	expect_release_err("SHA256:\n zz" HEX_A " 1 x\n", GATE_E_PARSE, "SHA256", "malformed line");
	expect_release_err(" continuation first\nSHA256:\n", GATE_E_PARSE, "Release",
			   "malformed field");
	expect_release_err("NoColon\nSHA256:\n", GATE_E_PARSE, "Release", "malformed field");
	expect_release_err("Date: yesterday\nSHA256:\n", GATE_E_PARSE, "Date", "malformed date");
	expect_release_err("Valid-Until: Sat, 01 Foo 2000 00:00:00 UTC\nSHA256:\n", GATE_E_PARSE,
			   "Valid-Until", "malformed date");

	/* a line over GATE_APT_INDEX_MAX_LINE */
	size_t n = GATE_APT_INDEX_MAX_LINE + 64;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memcpy(big, "Origin: ", 8);
	memset(big + 8, 'x', n - 8);
	big[n] = '\0';
	expect_release_err(big, GATE_E_PARSE, "Release", "malformed field");
	free(big);

	/* over GATE_APT_MAX_RELEASE: refused before it is read */
	size_t huge = (size_t)GATE_APT_MAX_RELEASE + 1;
	char *h = calloc(1, huge);
	assert_non_null(h);
	err = (struct gate_error){0};
	assert_int_equal(gate_apt_parse_release(h, huge, &r, &err), GATE_E_TOO_LARGE);
	assert_non_null(strstr(err.msg, "over 33554432 bytes"));
	free(h);
}

static void expect_packages_err(const char *text, enum gate_err code, const char *field,
				const char *msg)
{
	struct gate_apt_index ix;
	struct gate_error err = {0};
	enum gate_err rc = gate_apt_parse_packages(text, strlen(text), &ix, &err);
	if (rc != code || strcmp(err.field, field) != 0 || !strstr(err.msg, msg))
		print_message("rc=%d field='%s' msg='%s'\n", (int)rc, err.field, err.msg);
	assert_int_equal(rc, code);
	assert_string_equal(err.field, field);
	assert_non_null(strstr(err.msg, msg));
	assert_null(ix.pkgs);
	assert_null(ix.byname);
	assert_int_equal(ix.n, 0);
}

#define STANZA(name, version, arch, hex, size)                                                     \
	"Package: " name "\nVersion: " version "\nArchitecture: " arch "\nSize: " size "\n"        \
	"SHA256: " hex "\nDescription: d\n long\n .\n more\n\n"

static void test_parse_packages(void **state)
{
	(void)state;
	const char *good = STANZA("zed", "1.0", "amd64", HEX_C, "3") STANZA(
		"hello", "2.0", "amd64", HEX_B, "2") STANZA("hello", "1:1.0-1", "amd64", HEX_A, "1")
		STANZA("hello", "2.0", "all", HEX_D,
		       "4") "Package: nohash\nVersion: 1\nArchitecture: all\nSize: 5\n\n"
			    "Package: noarch\nVersion: 1\nSize: 5\nSHA256: " HEX_E
			    "\n\n" STANZA("dup", "1", "amd64", HEX_B, "9") "\n\n";
	struct gate_apt_index ix;
	struct gate_error err = {0};
	assert_int_equal(gate_apt_parse_packages(good, strlen(good), &ix, &err), GATE_OK);
	/* entries without SHA256 or Size are skipped; by sha256 */
	assert_int_equal(ix.n, 6);
	for (size_t i = 1; i < ix.n; i++)
		assert_true(memcmp(ix.pkgs[i - 1].sha256, ix.pkgs[i].sha256, 32) <= 0);
	uint8_t d[32];
	memset(d, 0xdd, 32);
	const struct gate_apt_pkg *p = gate_apt_index_find(&ix, d);
	assert_non_null(p);
	assert_string_equal(p->name, "hello");
	assert_string_equal(p->arch, "all");
	memset(d, 0x11, 32);
	assert_null(gate_apt_index_find(&ix, d));
	/* by identity: the one without Architecture is not there */
	assert_int_equal(ix.nbyname, 5);
	size_t n;
	struct gate_apt_pkg *const *m =
		gate_apt_index_find_version(&ix, "hello", "1:1.0-1", "amd64", &n);
	assert_non_null(m);
	assert_int_equal(n, 1);
	assert_int_equal(m[0]->size, 1);
	m = gate_apt_index_find_version(&ix, "hello", "2.0", "all", &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0]->size, 4);
	m = gate_apt_index_find_version(&ix, "hello", "2.0", "amd64", &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0]->size, 2);
	assert_null(gate_apt_index_find_version(&ix, "hello", "1.0-1", "amd64", &n));
	assert_int_equal(n, 0);
	assert_null(gate_apt_index_find_version(&ix, "hello", "2.0", "i386", &n));
	assert_null(gate_apt_index_find_version(&ix, "noarch", "1", "all", &n));
	assert_null(gate_apt_index_find_version(&ix, "a", "1", "all", &n));
	assert_null(gate_apt_index_find_version(&ix, "zzz", "1", "all", &n));
	m = gate_apt_index_find_version(&ix, "zed", "1.0", "amd64", &n);
	assert_int_equal(n, 1);
	gate_apt_index_clear(&ix);
	assert_null(ix.byname);

	const char *twice = STANZA("x", "1", "all", HEX_C, "1") STANZA("x", "1", "all", HEX_A, "2")
		STANZA("x", "1", "all", HEX_B, "3");
	assert_int_equal(gate_apt_parse_packages(twice, strlen(twice), &ix, &err), GATE_OK);
	m = gate_apt_index_find_version(&ix, "x", "1", "all", &n);
	assert_int_equal(n, 3);
	assert_int_equal(m[0]->size, 2);
	assert_int_equal(m[1]->size, 3);
	assert_int_equal(m[2]->size, 1);
	gate_apt_index_clear(&ix);

	/* empty input: an empty index */
	assert_int_equal(gate_apt_parse_packages("", 0, &ix, &err), GATE_OK);
	assert_int_equal(ix.n, 0);
	assert_null(gate_apt_index_find_version(&ix, "x", "1", "all", &n));
	gate_apt_index_clear(&ix);

	expect_packages_err("Package: x\nSHA256: abc\nSize: 1\n", GATE_E_PARSE, "SHA256",
			    "not 64 hex digits");
	expect_packages_err(STANZA("ok", "1", "all", HEX_A, "1") "Package: x\nSHA256: " HEX_B
								 "\nSize: 1k\n",
			    GATE_E_PARSE, "Size", "not a number");
	expect_packages_err("Package: x\n continuation\n\n continuation without field\n",
			    GATE_E_PARSE, "Packages", "malformed field");
	expect_packages_err("Package x\n", GATE_E_PARSE, "Packages", "malformed field");
	expect_packages_err(": empty key\n", GATE_E_PARSE, "Packages", "malformed field");
}

static void test_parse_date(void **state)
{
	(void)state;
	int64_t t = -1;
#define DATE_OK(s, want)                                                                           \
	do {                                                                                       \
		assert_true(gate_apt_parse_date(s, strlen(s), &t));                                \
		assert_int_equal(t, (int64_t)(want));                                              \
	} while (0)
#define DATE_BAD(s) assert_false(gate_apt_parse_date(s, strlen(s), &t))
	DATE_OK("Sat, 01 Jan 2000 00:00:00 UTC", 946684800);
	DATE_OK("Sat, 01 Jan 2000 00:00:00 GMT", 946684800);
	DATE_OK("Sat, 01 Jan 2000 00:00:00 Z", 946684800);
	DATE_OK("01 Jan 2000 00:00:00 UTC", 946684800);
	DATE_OK("Sat, 01 Jan 2000 01:00:00 +0100", 946684800);
	DATE_OK("Fri, 31 Dec 1999 23:30:00 -0030", 946684800);
	DATE_OK("Thu, 29 Feb 2024 12:34:56 UTC", 1709210096);
	DATE_OK("Sat, 1 Jan 2000 00:00:00 UTC", 946684800);
	DATE_BAD("");
	DATE_BAD("Sat, 01 Jan 2000");
	DATE_BAD("Sat, 01 Foo 2000 00:00:00 UTC");
	DATE_BAD("Sat, 32 Jan 2000 00:00:00 UTC");
	DATE_BAD("Sat, 00 Jan 2000 00:00:00 UTC");
	DATE_BAD("Sat, 01 Jan 1969 00:00:00 UTC");
	DATE_BAD("Sat, 01 Jan 2000 24:00:00 UTC");
	DATE_BAD("Sat, 01 Jan 2000 00:60:00 UTC");
	DATE_BAD("Sat, 01 Jan 2000 00:00:61 UTC");
	DATE_BAD("Sat, 01 Jan 2000 00:00:00 CEST");
	DATE_BAD("Sat, 01 Jan 2000 00:00:00 +01");
	DATE_BAD("Sat, 01 Jan 2000 00:00:00 +01:00");
	DATE_BAD("Sat, 01 Jan 2000 00:00:00 +01x0");
	DATE_BAD("Sat, 01 Jan 2000 00:00:00");
	/* 64 bytes or more are refused unread */
	char longs[80];
	memset(longs, ' ', sizeof longs);
	memcpy(longs, "Sat, 01 Jan 2000 00:00:00 UTC", 29);
	assert_false(gate_apt_parse_date(longs, sizeof longs, &t));
	/* not NUL-terminated: only len bytes count */
	assert_true(gate_apt_parse_date("Sat, 01 Jan 2000 00:00:00 UTCjunk", 29, &t));
	assert_int_equal(t, 946684800);
#undef DATE_OK
#undef DATE_BAD
}

/* ------------------------------------------------------------------ */
/* a signed lists dir                                                  */

#define PFX_MAIN "host_debian_dists_stable_"
#define PFX_FLAT "_srv_flat_._"
#define VALID_UNTIL 1893456000 /* Tue, 01 Jan 2030 00:00:00 UTC */
#define NOW 1800000000	       /* 2027-01-15 */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* " HEX SIZE relpath" of the local file name in the lists dir. */
static void release_line(char *buf, size_t cap, const char *local, const char *relpath)
{
	char path[256], hex[65];
	uint8_t d[32];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/%s", g_lists, local);
	char *b = read_all(path, &len);
	assert_non_null(b);
	gate_sha256(b, len, d);
	free(b);
	gate_hex_encode(d, 32, hex);
	size_t used = strlen(buf);
	snprintf(buf + used, cap - used, " %s %zu %s\n", hex, len, relpath);
}

static void put_list(const char *local, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", g_lists, local);
	write_str(path, text);
}

static bool build_archive(void)
{
	char gnupg[128], rel[4096];
	snprintf(gnupg, sizeof gnupg, "%s/gnupg", g_dir);
	snprintf(g_lists, sizeof g_lists, "%s/lists", g_dir);
	snprintf(g_keyring, sizeof g_keyring, "%s/archive.gpg", g_dir);
	snprintf(g_rogue, sizeof g_rogue, "%s/rogue.gpg", g_dir);
	if (mkdir(gnupg, 0700) != 0 || mkdir(g_lists, 0755) != 0)
		return false;
	setenv("GNUPGHOME", gnupg, 1);
	if (sh("gpg --batch --quiet --passphrase '' "
	       "--quick-gen-key 'Archive <archive@example.com>' ed25519 sign never "
	       ">/dev/null 2>&1") != 0 ||
	    sh("gpg --batch --quiet --passphrase '' --quick-gen-key 'Rogue <rogue@example.com>' "
	       "ed25519 sign never >/dev/null 2>&1") != 0 ||
	    sh("gpg --batch --export archive@example.com >%s 2>/dev/null", g_keyring) != 0 ||
	    sh("gpg --batch --export rogue@example.com >%s 2>/dev/null", g_rogue) != 0 ||
	    sh("gpg --batch --with-colons --list-keys archive@example.com 2>/dev/null | "
	       "awk -F: '/^fpr:/ {print tolower($10); exit}' >%s/fpr",
	       g_dir) != 0)
		return false;
	char fprpath[128];
	snprintf(fprpath, sizeof fprpath, "%s/fpr", g_dir);
	char *f = read_all(fprpath, NULL);
	if (!f)
		return false;
	snprintf(g_fpr, sizeof g_fpr, "%.*s", (int)strcspn(f, "\n"), f);
	free(f);

	/* dists/stable: an InRelease with Valid-Until */
	put_list(PFX_MAIN "main_binary-amd64_Packages",
		 STANZA("hello", "1.0", "amd64", HEX_A, "100") STANZA("hello", "1:2.0-1", "amd64",
								      HEX_B, "200")
			 STANZA("libx", "1.0", "all", HEX_C, "300") STANZA("dup", "1.0", "amd64",
									   HEX_D, "1")
				 STANZA("dup", "1.0", "amd64", HEX_E, "1")
					 STANZA("same", "1.0", "amd64", HEX_E, "7")
						 STANZA("same", "1.0", "amd64", HEX_E, "7"));
	/* listed by the Release, but not as COMPONENT/binary-ARCH/Packages */
	put_list(PFX_MAIN "contrib_Packages", STANZA("ghost", "1.0", "amd64", HEX_A, "100"));
	put_list(PFX_MAIN "main_binary-amd64_Packages.bz2",
		 STANZA("ghost", "1.0", "amd64", HEX_A, "100"));
	snprintf(rel, sizeof rel,
		 "Origin: Debian\nSuite: stable\nCodename: bookworm\n"
		 "Date: Mon, 01 Jan 2024 00:00:00 UTC\n"
		 "Valid-Until: Tue, 01 Jan 2030 00:00:00 UTC\nSHA256:\n");
	release_line(rel, sizeof rel, PFX_MAIN "main_binary-amd64_Packages",
		     "main/binary-amd64/Packages");
	release_line(rel, sizeof rel, PFX_MAIN "contrib_Packages", "contrib/Packages");
	release_line(rel, sizeof rel, PFX_MAIN "main_binary-amd64_Packages.bz2",
		     "main/binary-amd64/Packages.bz2");
	/* listed but not downloaded: skipped */
	strcat(rel, " " HEX_A " 5 main/binary-i386/Packages\n");
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s/Release.main", g_dir);
	write_str(tmp, rel);
	if (sh("gpg --batch --yes --quiet --local-user archive@example.com --clearsign "
	       "-o %s/" PFX_MAIN "InRelease %s 2>/dev/null",
	       g_lists, tmp) != 0)
		return false;

	/* a flat repository: Release + Release.gpg, Packages at the top */
	put_list(PFX_FLAT "Packages", STANZA("flatpkg", "3.0", "all", HEX_D, "400"));
	snprintf(rel, sizeof rel, "Origin: Flat\nSuite: flat\nSHA256:\n");
	release_line(rel, sizeof rel, PFX_FLAT "Packages", "Packages");
	put_list(PFX_FLAT "Release", rel);
	if (sh("gpg --batch --yes --quiet --local-user archive@example.com --armor --detach-sign "
	       "-o %s/" PFX_FLAT "Release.gpg %s/" PFX_FLAT "Release 2>/dev/null",
	       g_lists, g_lists) != 0)
		return false;
	return true;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/gate-test-apt-origin.XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	g_have_gpg = access("/usr/bin/gpgv", X_OK) == 0 && sh("command -v gpg >/dev/null") == 0 &&
		     build_archive();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (g_have_gpg)
		sh("gpgconf --homedir %s/gnupg --kill all >/dev/null 2>&1", g_dir);
	test_rmtree(g_dir);
	return 0;
}

static const char *ext(const struct gate_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n_exts; i++)
		if (strcmp(f->exts[i].name, name) == 0)
			return f->exts[i].value;
	return NULL;
}

struct find {
	enum gate_err rc;
	struct gate_error err;
	struct gate_facts *f;
	uint64_t size;
};

static void find(struct gate_policy_apt *a, const char *name, const char *version, const char *arch,
		 int64_t now, struct find *r)
{
	struct gate_policy p = {.apts = a, .napts = 1};
	memset(r, 0, sizeof(*r));
	r->rc = gate_apt_origin_find_version(&p, 0, name, version, arch, now, &r->f, &r->size,
					     &r->err);
}

static void expect_find_err(struct find *r, enum gate_err code, const char *want)
{
	if (r->rc != code || !strstr(r->err.msg, want))
		print_message("rc=%d msg='%s'\n", (int)r->rc, r->err.msg);
	assert_int_equal(r->rc, code);
	assert_non_null(strstr(r->err.msg, want));
	assert_null(r->f);
	assert_int_equal(r->size, 0);
}

static void test_find_version(void **state)
{
	(void)state;
	if (!g_have_gpg)
		skip();
	struct gate_policy_apt a = {.name = "deb", .keyring = g_keyring, .lists = g_lists};
	struct find r;

	find(&a, "hello", "1:2.0-1", "amd64", NOW, &r);
	if (r.rc != GATE_OK)
		print_message("%s\n", r.err.msg);
	assert_int_equal(r.rc, GATE_OK);
	assert_int_equal(r.size, 200);
	assert_string_equal(r.f->digest, HEX_B);
	assert_int_equal(r.f->kind, GATE_SIGNER_APT);
	assert_string_equal(r.f->fingerprint, g_fpr);
	assert_string_equal(r.f->anchor_name, "deb");
	assert_string_equal(ext(r.f, "apt_origin"), "Debian");
	assert_string_equal(ext(r.f, "apt_suite"), "stable");
	assert_string_equal(ext(r.f, "apt_component"), "main");
	assert_string_equal(ext(r.f, "apt_package"), "hello");
	assert_string_equal(ext(r.f, "apt_version"), "1:2.0-1");
	assert_string_equal(ext(r.f, "apt_architecture"), "amd64");
	gate_facts_free(r.f);

	/* Architecture: all */
	find(&a, "libx", "1.0", "all", NOW, &r);
	assert_int_equal(r.rc, GATE_OK);
	assert_int_equal(r.size, 300);
	gate_facts_free(r.f);
	find(&a, "libx", "1.0", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "libx 1.0 amd64 is not listed in a verified Packages");

	/* the same entry twice is one; two different digests are none */
	find(&a, "same", "1.0", "amd64", NOW, &r);
	assert_int_equal(r.rc, GATE_OK);
	assert_int_equal(r.size, 7);
	gate_facts_free(r.f);
	find(&a, "dup", "1.0", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "more than once with different SHA-256s");

	/* versions are exact */
	find(&a, "hello", "2.0-1", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "is not listed");
	find(&a, "nosuch", "1", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "archive 'deb': nosuch 1 amd64 is not listed");

	/* paths that are not COMPONENT/binary-ARCH/Packages[.gz|.xz] */
	find(&a, "ghost", "1.0", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "is not listed");

	/* a flat repository (Release + Release.gpg): no component */
	find(&a, "flatpkg", "3.0", "all", NOW, &r);
	if (r.rc != GATE_OK)
		print_message("%s\n", r.err.msg);
	assert_int_equal(r.rc, GATE_OK);
	assert_int_equal(r.size, 400);
	assert_string_equal(r.f->digest, HEX_D);
	assert_string_equal(r.f->fingerprint, g_fpr);
	assert_string_equal(ext(r.f, "apt_origin"), "Flat");
	assert_null(ext(r.f, "apt_component"));
	gate_facts_free(r.f);

	/* a component constraint: only dists/ indexes of that component */
	a.component = "main";
	find(&a, "flatpkg", "3.0", "all", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "is not listed");
	find(&a, "hello", "1.0", "amd64", NOW, &r);
	assert_int_equal(r.rc, GATE_OK);
	gate_facts_free(r.f);
	a.component = "contrib";
	find(&a, "hello", "1.0", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_DIGEST, "is not listed");
	a.component = NULL;

	/* origin and suite constraints */
	a.origin = "Flat";
	find(&a, "flatpkg", "3.0", "all", NOW, &r);
	assert_int_equal(r.rc, GATE_OK);
	gate_facts_free(r.f);
	find(&a, "hello", "1.0", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_IDENTITY, "origin 'Debian', the policy wants 'Flat'");
	a.origin = NULL;
	a.suite = "bookworm";
	find(&a, "hello", "1.0", "amd64", NOW, &r);
	assert_int_equal(r.rc, GATE_OK);
	gate_facts_free(r.f);
	a.suite = NULL;

	/* past the InRelease's Valid-Until; the flat Release has none */
	find(&a, "hello", "1.0", "amd64", VALID_UNTIL + 1, &r);
	expect_find_err(&r, GATE_E_EXPIRED, "stale since 2030-01-01T00:00:00Z");
	assert_non_null(strstr(r.err.msg, PFX_MAIN "InRelease"));
	find(&a, "flatpkg", "3.0", "all", VALID_UNTIL + 1, &r);
	assert_int_equal(r.rc, GATE_OK);
	gate_facts_free(r.f);

	/* a keyring without the archive key */
	a.keyring = g_rogue;
	find(&a, "hello", "1.0", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_SIGNATURE, "signature does not verify with keyring");
	assert_non_null(strstr(r.err.msg, g_rogue));

	/* bad arguments */
	a.keyring = g_keyring;
	find(&a, "hello", "", "amd64", NOW, &r);
	expect_find_err(&r, GATE_E_USAGE, "name, version and architecture");
	struct gate_policy p = {.apts = &a, .napts = 1};
	r.size = 5;
	assert_int_equal(gate_apt_origin_find_version(&p, 1, "hello", "1.0", "amd64", NOW, &r.f,
						      &r.size, &r.err),
			 GATE_E_INTERNAL);
	assert_null(r.f);
	assert_int_equal(r.size, 0);
}

static void test_verify_digest(void **state)
{
	(void)state;
	if (!g_have_gpg)
		skip();
	struct gate_policy_apt a = {.name = "deb", .keyring = g_keyring, .lists = g_lists};
	struct gate_policy p = {.apts = &a, .napts = 1};
	struct gate_facts *f = NULL;
	struct gate_error err = {0};
	uint8_t d[32];
	memset(d, 0xdd, 32);
	/* HEX_D: dup (main, size 1) and flatpkg (flat, size 400) */
	assert_int_equal(gate_apt_origin_verify(&p, 0, d, 400, NOW, &f, &err), GATE_OK);
	assert_string_equal(ext(f, "apt_package"), "flatpkg");
	assert_null(ext(f, "apt_component"));
	gate_facts_free(f);
	memset(d, 0xcc, 32);
	assert_int_equal(gate_apt_origin_verify(&p, 0, d, 300, NOW, &f, &err), GATE_OK);
	assert_string_equal(ext(f, "apt_package"), "libx");
	assert_string_equal(ext(f, "apt_component"), "main");
	gate_facts_free(f);
	assert_int_equal(gate_apt_origin_verify(&p, 0, d, 301, NOW, &f, &err), GATE_E_DIGEST);
	assert_non_null(strstr(err.msg, "with size 300, the file has 301"));
	assert_null(f);
	memset(d, 0x12, 32);
	assert_int_equal(gate_apt_origin_verify(&p, 0, d, 1, NOW, &f, &err), GATE_E_DIGEST);
	assert_non_null(strstr(err.msg, "is not listed in a verified Packages index"));
}

/* Lookups by identity are many when dpkg's database is imported: each is
 * a directory walk with cached, binary-searched indexes. */
static void test_find_version_many(void **state)
{
	(void)state;
	if (!g_have_gpg)
		skip();
	struct gate_policy_apt a = {.name = "deb", .keyring = g_keyring, .lists = g_lists};
	struct find r;
	for (int i = 0; i < 5000; i++) {
		bool h = i % 2;
		find(&a, h ? "hello" : "flatpkg", h ? "1.0" : "3.0", h ? "amd64" : "all", NOW, &r);
		assert_int_equal(r.rc, GATE_OK);
		gate_facts_free(r.f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_release),
		cmocka_unit_test(test_parse_packages),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_verifier_good),
		cmocka_unit_test(test_verifier_detached_args),
		cmocka_unit_test(test_verifier_timeout),
		cmocka_unit_test(test_verifier_too_large),
		cmocka_unit_test(test_verifier_status),
		cmocka_unit_test(test_find_version),
		cmocka_unit_test(test_verify_digest),
		cmocka_unit_test(test_find_version_many),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
