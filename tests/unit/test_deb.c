/* test_deb.c - gate/debian/deb.c on real packages built by dpkg-deb (xz, gzip,
 * none and zstd; regular files, a hard link, a symlink, nested and odd
 * names), every digest checked against sha256sum; and on crafted packages
 * (libarchive's writer for the tars, the ar container by hand): not ar,
 * truncated at every offset, "../" and absolute paths, members in the
 * wrong order or twice, long-name tables, a missing control file, broken
 * control fields, pax headers, hard links that point nowhere, trailing
 * bytes, and the size caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "../../gate/debian/deb.h"
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* fixture                                                            */

struct env {
	char dir[64];
	struct test_paths paths;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	if (!e || !test_mkdtemp(e->dir, sizeof e->dir, "deb")) {
		free(e);
		return -1;
	}
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

/* sha256sum's answers for n files (one run: processes are slow to
 * start here), as the independent reference. */
static void sha256sum(struct env *e, const char *const *rel, size_t n, char (*hex)[65])
{
	char cmd[2048];
	int len = snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum", e->dir);
	for (size_t i = 0; i < n; i++)
		len += snprintf(cmd + len, sizeof cmd - (size_t)len, " '%s'", rel[i]);
	assert_true(len < (int)sizeof cmd);
	FILE *p = popen(cmd, "r");
	char line[1024];
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(fgets(line, sizeof line, p));
		memcpy(hex[i], line, 64);
		hex[i][64] = '\0';
	}
	assert_int_equal(pclose(p), 0);
}

static bool have_dpkg_deb(void)
{
	return system("dpkg-deb --version >/dev/null 2>&1") == 0;
}

/* ------------------------------------------------------------------ */
/* real packages from dpkg-deb                                        */

static const char control_text[] = "Package: gate-test\n"
				   "Version: 1:2.10-3+deb12u1~bpo1\n"
				   "Architecture: amd64\n"
				   "Maintainer: Gate Tests <tests@example.org>\n"
				   "Installed-Size: 12\n"
				   "Description: a package for the ledger tests\n"
				   " with a continuation line\n"
				   " .\n"
				   " and a paragraph break inside the description\n";

static void make_tree(struct env *e)
{
	assert_int_equal(system(NULL) != 0, 1);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "set -e; cd '%s'; mkdir -p pkg/DEBIAN pkg/usr/bin pkg/usr/share/gate-test/a/b/c;"
		 "printf '#!/bin/sh\\necho tool\\n' > pkg/usr/bin/gate-tool;"
		 "chmod 755 pkg/usr/bin/gate-tool pkg/DEBIAN;"
		 "head -c 70000 /dev/urandom > pkg/usr/share/gate-test/a/b/c/deep.txt;"
		 ": > pkg/usr/share/gate-test/empty;"
		 "echo spaced > 'pkg/usr/share/gate-test/with space';"
		 "ln pkg/usr/bin/gate-tool pkg/usr/bin/gate-tool-hardlink;"
		 "ln -s gate-tool pkg/usr/bin/gate-tool-symlink",
		 e->dir);
	assert_int_equal(system(cmd), 0);
	test_write_file(P(e, "pkg/DEBIAN/control"), control_text, sizeof control_text - 1);
}

/* Build pkg/ with compression z into NAME; false when dpkg-deb lacks z. */
static bool build_deb(struct env *e, const char *z, const char *name)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && dpkg-deb --root-owner-group -Z%s --build pkg '%s' >/dev/null 2>&1",
		 e->dir, z, name);
	return system(cmd) == 0;
}

/* The regular files in ledger order (the hard link after its target; no
 * symlink, no directories) and where their content came from. */
static const char *const want_paths[] = {
	"/usr/bin/gate-tool",
	"/usr/bin/gate-tool-hardlink",
	"/usr/share/gate-test/a/b/c/deep.txt",
	"/usr/share/gate-test/empty",
	"/usr/share/gate-test/with space",
};
static const char *const want_src[] = {
	"pkg/usr/bin/gate-tool",
	"pkg/usr/bin/gate-tool",
	"pkg/usr/share/gate-test/a/b/c/deep.txt",
	"pkg/usr/share/gate-test/empty",
	"pkg/usr/share/gate-test/with space",
};

static void check_real(struct env *e, const char *deb_hex, char (*ref)[65],
		       const struct gate_ledger_pkg *p)
{
	assert_string_equal(p->name, "gate-test");
	assert_string_equal(p->version, "1:2.10-3+deb12u1~bpo1");
	assert_string_equal(p->arch, "amd64");
	assert_string_equal(p->deb_sha256, deb_hex);
	assert_int_equal(p->nfiles, 5);
	for (size_t i = 0; i < 5; i++) {
		struct stat st;
		assert_string_equal(p->files[i].path, want_paths[i]);
		assert_string_equal(p->files[i].sha256, ref[i]);
		assert_int_equal(stat(P(e, want_src[i]), &st), 0);
		assert_int_equal(p->files[i].size, (uint64_t)st.st_size);
	}
}

static void test_real_debs(void **state)
{
	struct env *e = *state;
	static const char *const comp[] = {"xz", "gzip", "none", "zstd"};
	static const char *const debs[] = {"t-xz.deb", "t-gzip.deb", "t-none.deb", "t-zstd.deb"};
	char ref[5][65], deb_hex[4][65];
	bool built[4];
	size_t nbuilt = 0;
	if (!have_dpkg_deb())
		skip();
	make_tree(e);
	sha256sum(e, want_src, 5, ref);
	for (size_t i = 0; i < 4; i++) {
		built[i] = build_deb(e, comp[i], debs[i]);
		/* Only zstd may be missing from an older dpkg-deb. */
		if (!built[i]) {
			assert_string_equal(comp[i], "zstd");
			print_message("dpkg-deb cannot build -Zzstd here; skipped\n");
		}
		nbuilt += built[i];
	}
	sha256sum(e, debs, nbuilt, deb_hex);
	for (size_t i = 0; i < nbuilt; i++) {
		struct gate_ledger_pkg p = {0};
		struct gate_error err = {0};
		enum gate_err rc = gate_deb_read(P(e, debs[i]), -1, &p, &err);
		if (rc != GATE_OK)
			fail_msg("%s: %s", debs[i], err.msg);
		check_real(e, deb_hex[i], ref, &p);
		gate_ledger_pkg_clear(&p);

		/* Through a descriptor whose offset is elsewhere: read from 0,
		 * offset and descriptor left alone. */
		int fd = open(P(e, debs[i]), O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(lseek(fd, 17, SEEK_SET), 17);
		assert_int_equal(gate_deb_read(NULL, fd, &p, &err), GATE_OK);
		check_real(e, deb_hex[i], ref, &p);
		assert_int_equal(lseek(fd, 0, SEEK_CUR), 17);
		assert_int_equal(close(fd), 0);
		gate_ledger_pkg_clear(&p);
	}
}

/* Every prefix of a real package is refused, without a crash. */
static void test_truncated(void **state)
{
	struct env *e = *state;
	if (!have_dpkg_deb())
		skip();
	make_tree(e);
	assert_true(build_deb(e, "gzip", "t.deb"));
	size_t len;
	uint8_t *full = slurp(P(e, "t.deb"), &len);
	/* In memory, read through the descriptor. */
	int fd = memfd_create("cut.deb", MFD_CLOEXEC);
	assert_true(fd >= 0);
	/* Every offset up to 4 KiB, then a stride (deep.txt makes it big). */
	for (size_t n = 0; n < len; n += n < 4096 ? 1 : 97) {
		struct gate_ledger_pkg p = {0};
		struct gate_error err = {0};
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, full, n, 0), (ssize_t)n);
		enum gate_err rc = gate_deb_read("cut.deb", fd, &p, &err);
		if (rc != GATE_E_PARSE && rc != GATE_E_IO)
			fail_msg("cut at %zu of %zu: rc %d (%s)", n, len, rc, err.msg);
		assert_null(p.name);
		assert_int_equal(p.nfiles, 0);
	}
	close(fd);
	free(full);
}

/* ------------------------------------------------------------------ */
/* crafting packages                                                  */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->n + len > b->cap) {
		b->cap = (b->n + len) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
}

static la_ssize_t buf_write(struct archive *a, void *cd, const void *data, size_t len)
{
	(void)a;
	buf_add(cd, data, len);
	return (la_ssize_t)len;
}

/* A tar entry: 'f' file (data), 'd' dir, 's' symlink (data = target),
 * 'h' hard link (data = target). */
struct tent {
	char type;
	const char *name;
	const char *data;
};

static struct buf make_tar(const struct tent *t, size_t n, bool gzip, int format)
{
	struct buf b = {0};
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
	assert_int_equal(gzip ? archive_write_add_filter_gzip(a) : archive_write_add_filter_none(a),
			 ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, &b, NULL, buf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, t[i].name);
		archive_entry_set_mtime(e, 1700000000, 0);
		switch (t[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)strlen(t[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		case 's':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, t[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, t[i].data);
			archive_entry_set_size(e, 0);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (t[i].type == 'f' && *t[i].data)
			assert_int_equal(archive_write_data(a, t[i].data, strlen(t[i].data)),
					 (la_ssize_t)strlen(t[i].data));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return b;
}

#define GNU ARCHIVE_FORMAT_TAR_GNUTAR

/* One ar member: the raw 16-byte name field as written, and its bytes. */
struct member {
	const char *name;
	const uint8_t *data;
	size_t len;
};

static void write_ar(const char *path, const struct member *m, size_t n, const char *trailer)
{
	struct buf b = {0};
	buf_add(&b, "!<arch>\n", 8);
	for (size_t i = 0; i < n; i++) {
		char h[61];
		snprintf(h, sizeof h, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", m[i].name, "1700000000",
			 "0", "0", "100644", m[i].len);
		buf_add(&b, h, 60);
		buf_add(&b, m[i].data, m[i].len);
		if (m[i].len & 1)
			buf_add(&b, "\n", 1);
	}
	if (trailer)
		buf_add(&b, trailer, strlen(trailer));
	test_write_file(path, b.p, b.n);
	free(b.p);
}

static const char good_control[] = "Package: crafted\nVersion: 1.0-1\nArchitecture: all\n"
				   "Description: crafted\n more\n";

static struct buf control_tar(const char *control)
{
	const struct tent t[] = {{'d', "./", NULL},
				 {'f', "./control", control},
				 {'f', "./md5sums", "0123  usr/bin/x\n"}};
	return make_tar(t, 3, true, GNU);
}

static const struct tent good_data[] = {
	{'d', "./", NULL},
	{'d', "./usr/", NULL},
	{'d', "./usr/bin/", NULL},
	{'f', "./usr/bin/x", "x content\n"},
	{'h', "./usr/bin/x-link", "./usr/bin/x"},
	{'s', "./usr/bin/x-sym", "x"},
	{'f', "usr/bin/no-dot-slash", "y\n"},
};

static const uint8_t version[] = "2.0\n";

/* A package from a control text and data entries; which members, in
 * which order, is up to order ("vcd" = debian-binary, control, data). */
static void craft(const char *path, const char *control, const struct tent *data, size_t n,
		  const char *order, const char *trailer)
{
	struct buf c = control_tar(control), d = make_tar(data, n, true, GNU);
	struct member m[8];
	size_t k = 0;
	for (const char *o = order; *o; o++) {
		switch (*o) {
		case 'v':
			m[k++] = (struct member){"debian-binary", version, 4};
			break;
		case 'c':
			m[k++] = (struct member){"control.tar.gz", c.p, c.n};
			break;
		case 'd':
			m[k++] = (struct member){"data.tar.gz", d.p, d.n};
			break;
		case '_':
			m[k++] = (struct member){"_gpgorigin", (const uint8_t *)"sig", 3};
			break;
		}
	}
	write_ar(path, m, k, trailer);
	free(c.p);
	free(d.p);
}

static enum gate_err read_crafted(const char *path, struct gate_error *err)
{
	struct gate_ledger_pkg p = {0};
	memset(err, 0, sizeof(*err));
	enum gate_err rc = gate_deb_read(path, -1, &p, err);
	if (rc != GATE_OK) {
		assert_null(p.name);
		assert_null(p.files);
	}
	gate_ledger_pkg_clear(&p);
	return rc;
}

static void expect(const char *path, enum gate_err want, const char *msg_part)
{
	struct gate_error err;
	enum gate_err rc = read_crafted(path, &err);
	if (rc != want || (msg_part && !strstr(err.msg, msg_part)))
		fail_msg("%s: rc %d (want %d), message '%s' (want '%s')", path, rc, want, err.msg,
			 msg_part ? msg_part : "");
}

#define NDATA (sizeof(good_data) / sizeof(good_data[0]))

static void test_crafted_good(void **state)
{
	struct env *e = *state;
	struct gate_ledger_pkg p = {0};
	struct gate_error err = {0};
	const char *path = P(e, "good.deb");
	craft(path, good_control, good_data, NDATA, "vcd", NULL);
	assert_int_equal(gate_deb_read(path, -1, &p, &err), GATE_OK);
	assert_string_equal(p.name, "crafted");
	assert_string_equal(p.version, "1.0-1");
	assert_string_equal(p.arch, "all");
	assert_int_equal(p.nfiles, 3);
	assert_string_equal(p.files[0].path, "/usr/bin/no-dot-slash");
	assert_string_equal(p.files[1].path, "/usr/bin/x");
	assert_string_equal(p.files[2].path, "/usr/bin/x-link");
	assert_string_equal(p.files[1].sha256, p.files[2].sha256);
	assert_int_equal(p.files[2].size, 10);
	char hex[65];
	uint8_t d[32];
	gate_sha256("x content\n", 10, d);
	gate_hex_encode(d, 32, hex);
	assert_string_equal(p.files[1].sha256, hex);
	gate_ledger_pkg_clear(&p);
	/* "_" members are allowed between and after (debsigs appends one). */
	craft(path, good_control, good_data, NDATA, "v_c_d_", NULL);
	expect(path, GATE_OK, NULL);
}

/* A package whose control.tar holds the given entries. */
static void craft_control(const char *path, const struct tent *ctl, size_t nctl)
{
	struct buf c = make_tar(ctl, nctl, true, GNU), d = make_tar(good_data, NDATA, true, GNU);
	const struct member m[] = {{"debian-binary", version, 4},
				   {"control.tar.gz", c.p, c.n},
				   {"data.tar.gz", d.p, d.n}};
	write_ar(path, m, 3, NULL);
	free(c.p);
	free(d.p);
}

/* The md5sums member instead of data.tar's content, and nothing after
 * control.tar read (no digest of the whole); without md5sums, data.tar as
 * gate_deb_read reads it. */
static void test_read_sums(void **state)
{
	struct env *e = *state;
	struct gate_ledger_pkg p = {0}, full = {0};
	struct gate_error err = {0};
	char *sums = NULL;
	size_t len = 0;
	const char *path = P(e, "sums.deb");
	craft(path, good_control, good_data, NDATA, "vcd", NULL);
	struct gate_deb_sizes sz = {1, 1};
	assert_int_equal(gate_deb_read_sums(path, -1, &p, &sums, &len, &sz, &err), GATE_OK);
	assert_int_equal(sz.installed_kib, 0); /* no Installed-Size */
	assert_true(sz.data_bytes > 0);
	assert_int_equal(gate_deb_read(path, -1, &full, &err), GATE_OK);
	assert_string_equal(p.name, "crafted");
	assert_string_equal(p.deb_sha256, "");
	assert_int_equal(p.nfiles, 0);
	assert_non_null(sums);
	assert_int_equal(len, strlen("0123  usr/bin/x\n"));
	assert_string_equal(sums, "0123  usr/bin/x\n");
	free(sums);
	sums = NULL;
	gate_ledger_pkg_clear(&p);
	const struct tent none[] = {{'f', "./control", good_control}};
	craft_control(path, none, 1);
	assert_int_equal(gate_deb_read_sums(path, -1, &p, &sums, &len, NULL, &err), GATE_OK);
	assert_null(sums);
	assert_int_equal(strlen(p.deb_sha256), 64); /* every byte read */
	assert_int_equal(p.nfiles, full.nfiles);
	assert_string_equal(p.files[1].sha256, full.files[1].sha256);
	gate_ledger_pkg_clear(&p);
	gate_ledger_pkg_clear(&full);
	/* Installed-Size: the estimate of how well data.tar compresses */
	static const char sized[] = "Package: crafted\nVersion: 1.0-1\nArchitecture: all\n"
				    "Installed-Size: 1234\nDescription: crafted\n";
	const struct tent with_size[] = {{'f', "./control", sized}, {'f', "./md5sums", "a  b\n"}};
	craft_control(path, with_size, 2);
	assert_int_equal(gate_deb_read_sums(path, -1, &p, &sums, &len, &sz, &err), GATE_OK);
	assert_int_equal(sz.installed_kib, 1234);
	free(sums);
	sums = NULL;
	gate_ledger_pkg_clear(&p);
	static const char bad_size[] = "Package: crafted\nVersion: 1.0-1\nArchitecture: all\n"
				       "Installed-Size: 12k\nDescription: crafted\n";
	const struct tent with_bad[] = {{'f', "./control", bad_size}, {'f', "./md5sums", "a  b\n"}};
	craft_control(path, with_bad, 2);
	assert_int_equal(gate_deb_read_sums(path, -1, &p, &sums, &len, &sz, &err), GATE_OK);
	assert_int_equal(sz.installed_kib, 0); /* not digits: no estimate */
	free(sums);
	sums = NULL;
	gate_ledger_pkg_clear(&p);
	const struct tent twice[] = {{'f', "./control", good_control},
				     {'f', "./md5sums", "a  b\n"},
				     {'f', "md5sums", "c  d\n"}};
	craft_control(path, twice, 3);
	assert_int_equal(gate_deb_read_sums(path, -1, &p, &sums, &len, NULL, &err), GATE_E_PARSE);
	assert_non_null(strstr(err.msg, "control.tar: 'md5sums' is there twice"));
	assert_null(p.name);
	const struct tent link[] = {{'f', "./control", good_control}, {'s', "./md5sums", "x"}};
	craft_control(path, link, 2);
	assert_int_equal(gate_deb_read_sums(path, -1, &p, &sums, &len, NULL, &err), GATE_E_PARSE);
	assert_non_null(strstr(err.msg, "'md5sums' is not a regular file"));
}

static void test_not_a_deb(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "x.deb");
	test_write_file(path, "hello, world\n", 13);
	expect(path, GATE_E_PARSE, NULL);
	test_write_file(path, "", 0);
	expect(path, GATE_E_PARSE, NULL);
	test_write_file(path, "!<arch>\n", 8);
	expect(path, GATE_E_PARSE, "empty");
	/* A tar is not a .deb either. */
	struct buf t = make_tar(good_data, NDATA, false, GNU);
	test_write_file(path, t.p, t.n);
	free(t.p);
	expect(path, GATE_E_PARSE, NULL);
	/* Missing, a directory, a FIFO. */
	expect(P(e, "absent.deb"), GATE_E_IO, NULL);
	expect(e->dir, GATE_E_IO, "not a regular file");
	assert_int_equal(mkfifo(P(e, "fifo.deb"), 0600), 0);
	expect(P(e, "fifo.deb"), GATE_E_IO, "not a regular file");
}

static void test_evil_paths(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "evil.deb");
	static const struct {
		const char *name;
		const char *msg;
	} bad[] = {
		{"../evil", "'..'"},	     {"./usr/../../evil", "'..'"},
		{"./usr/bin/..", "'..'"},    {"/etc/evil", "absolute"},
		{".//etc/evil", "absolute"}, {"./usr//bin/x", "empty"},
		{"./usr/./bin/x", "'.'"},    {"./usr/bin/new\nline", "control character"},
		{"./usr/bin/x/", NULL}, /* libarchive: "Damaged tar archive" */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct tent t[] = {{'d', "./", NULL}, {'f', bad[i].name, "evil\n"}};
		craft(path, good_control, t, 2, "vcd", NULL);
		expect(path, GATE_E_PARSE, bad[i].msg);
	}
	/* A symlink or hard link named with "..": the name is what counts. */
	const struct tent s[] = {{'s', "../evil-link", "/etc/passwd"}};
	craft(path, good_control, s, 1, "vcd", NULL);
	expect(path, GATE_E_PARSE, "'..'");
	const struct tent h[] = {{'f', "./a", "a\n"}, {'h', "./b", "../a"}};
	craft(path, good_control, h, 2, "vcd", NULL);
	expect(path, GATE_E_PARSE, "'..'");
}

static void test_member_order(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "order.deb");
	static const struct {
		const char *order;
		const char *msg;
	} cases[] = {
		{"vdc", "expected control.tar"},
		{"cvd", "first member is not debian-binary"},
		{"_vcd", "first member is not debian-binary"},
		{"vd", "expected control.tar"},
		{"vc", "no data.tar"},
		{"v", "no control.tar"},
		{"vccd", "expected data.tar"},
		{"vcdd", "may follow data.tar"},
		{"vcdc", "may follow data.tar"},
		{"vvcd", "expected control.tar"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		craft(path, good_control, good_data, NDATA, cases[i].order, NULL);
		expect(path, GATE_E_PARSE, cases[i].msg);
	}
	/* Trailing bytes after the last member. */
	craft(path, good_control, good_data, NDATA, "vcd", "garbage!");
	expect(path, GATE_E_PARSE, NULL);
	craft(path, good_control, good_data, NDATA, "vcd", "\n");
	expect(path, GATE_E_PARSE, NULL);
}

static void test_member_names(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "names.deb");
	struct buf c = control_tar(good_control), d = make_tar(good_data, NDATA, true, GNU);
	struct buf plain = make_tar(good_data, NDATA, false, GNU);
	/* dpkg's own spelling and the GNU '/' terminator are both fine. */
	struct member ok[] = {{"debian-binary/", version, 4},
			      {"control.tar.gz/", c.p, c.n},
			      {"data.tar.gz", d.p, d.n}};
	write_ar(path, ok, 3, NULL);
	expect(path, GATE_OK, NULL);
	/* A GNU long-name table that libarchive would resolve but dpkg
	 * would not. */
	static const uint8_t table[] = "debian-binary/\n";
	struct member gnu[] = {{"//", table, sizeof table - 1},
			       {"/0", version, 4},
			       {"control.tar.gz", c.p, c.n},
			       {"data.tar.gz", d.p, d.n}};
	write_ar(path, gnu, 4, NULL);
	expect(path, GATE_E_PARSE, NULL);
	/* Unknown compression suffixes and look-alike names. */
	struct member lzma[] = {{"debian-binary", version, 4},
				{"control.tar.gz", c.p, c.n},
				{"data.tar.lz4", d.p, d.n}};
	write_ar(path, lzma, 3, NULL);
	expect(path, GATE_E_PARSE, "unexpected member");
	struct member look[] = {{"debian-binary", version, 4},
				{"control.tar.gzx", c.p, c.n},
				{"data.tar.gz", d.p, d.n}};
	write_ar(path, look, 3, NULL);
	expect(path, GATE_E_PARSE, "unexpected member");
	/* A name that says gzip over an uncompressed tar. */
	struct member liar[] = {{"debian-binary", version, 4},
				{"control.tar.gz", c.p, c.n},
				{"data.tar.gz", plain.p, plain.n}};
	write_ar(path, liar, 3, NULL);
	expect(path, GATE_E_PARSE, "compressed");
	/* And the honest uncompressed name is fine. */
	struct member none[] = {{"debian-binary", version, 4},
				{"control.tar.gz", c.p, c.n},
				{"data.tar", plain.p, plain.n}};
	write_ar(path, none, 3, NULL);
	expect(path, GATE_OK, NULL);
	/* debian-binary: other versions and shapes. */
	static const uint8_t v3[] = "3.0\n", v2long[] = "2.0\nextra\n";
	struct member bad_v[] = {
		{"debian-binary", v3, 4}, {"control.tar.gz", c.p, c.n}, {"data.tar.gz", d.p, d.n}};
	write_ar(path, bad_v, 3, NULL);
	expect(path, GATE_E_UNSUPPORTED, "debian-binary");
	bad_v[0].data = v2long;
	bad_v[0].len = sizeof v2long - 1;
	write_ar(path, bad_v, 3, NULL);
	expect(path, GATE_E_PARSE, "debian-binary");
	free(c.p);
	free(d.p);
	free(plain.p);
}

static void test_control(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "control.deb");
	static const struct {
		const char *text;
		enum gate_err rc;
		const char *msg;
	} cases[] = {
		{"Version: 1\nArchitecture: all\n", GATE_E_PARSE, "required"},
		{"Package: a-b\nVersion: 1\n", GATE_E_PARSE, "required"},
		{"Package: ok\nVersion: 1\nArchitecture: all\n\nPackage: two\n", GATE_E_PARSE,
		 "more than one paragraph"},
		{"Package: ok\n more\nVersion: 1\nArchitecture: all\n", GATE_E_PARSE,
		 "continuation"},
		{" lead\nPackage: ok\nVersion: 1\nArchitecture: all\n", GATE_E_PARSE,
		 "continuation"},
		{"Package: ok\nVersion: 1\npackage: ok\nArchitecture: all\n", GATE_E_PARSE,
		 "duplicate"},
		{"Package: Upper\nVersion: 1\nArchitecture: all\n", GATE_E_PARSE,
		 "invalid Package"},
		{"Package: ok\nVersion: abc\nArchitecture: all\n", GATE_E_PARSE, "invalid Version"},
		{"Package: ok\nVersion: x:1\nArchitecture: all\n", GATE_E_PARSE, "invalid Version"},
		{"Package: ok\nVersion: 1 2\nArchitecture: all\n", GATE_E_PARSE, "invalid Version"},
		{"Package: ok\nVersion: 1\nArchitecture: AMD64\n", GATE_E_PARSE,
		 "invalid Architecture"},
		{"Package: ok\nVersion: 1\nArchitecture: all\nno colon here\n", GATE_E_PARSE,
		 "Field: value"},
		{"Package: ok\nVersion: 1\nArchitecture: all\n: empty name\n", GATE_E_PARSE,
		 "Field: value"},
		/* Accepted: blank lines around, CRLF-free, case-insensitive
		 * names, no final newline, spaces around values. */
		{"\n\npackage:   ok-2+x.y  \nVERSION: 0:1.0~rc1-2\narchitecture:all\nX: y\n \n\n",
		 GATE_OK, NULL},
		{"Package: ok\nVersion: 1\nArchitecture: all", GATE_OK, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		craft(path, cases[i].text, good_data, NDATA, "vcd", NULL);
		expect(path, cases[i].rc, cases[i].msg);
	}
	/* NUL inside the control file. */
	static const char nul[] = "Package: ok\nVersion: 1\nArchitecture: all\nX: a\0b\n";
	struct buf cbuf = {0};
	{
		struct archive *a = archive_write_new();
		archive_write_set_format(a, GNU);
		archive_write_add_filter_gzip(a);
		archive_write_open(a, &cbuf, NULL, buf_write, NULL);
		struct archive_entry *en = archive_entry_new();
		archive_entry_set_pathname(en, "./control");
		archive_entry_set_filetype(en, AE_IFREG);
		archive_entry_set_perm(en, 0644);
		archive_entry_set_size(en, sizeof nul - 1);
		assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
		archive_write_data(a, nul, sizeof nul - 1);
		archive_entry_free(en);
		archive_write_close(a);
		archive_write_free(a);
	}
	struct buf d = make_tar(good_data, NDATA, true, GNU);
	struct member m[] = {{"debian-binary", version, 4},
			     {"control.tar.gz", cbuf.p, cbuf.n},
			     {"data.tar.gz", d.p, d.n}};
	write_ar(path, m, 3, NULL);
	expect(path, GATE_E_PARSE, "NUL");
	free(cbuf.p);

	/* control.tar without a control file, with two, with a directory. */
	const struct tent none[] = {{'d', "./", NULL}, {'f', "./md5sums", "x\n"}};
	const struct tent two[] = {{'f', "./control", good_control},
				   {'f', "control", good_control}};
	const struct tent dir[] = {{'d', "./control", NULL}};
	const struct tent *sets[] = {none, two, dir};
	const size_t lens[] = {2, 2, 1};
	/* libarchive names the directory "./control/": not the control file. */
	const char *msgs[] = {"no control file", "twice", "no control file"};
	for (size_t i = 0; i < 3; i++) {
		struct buf c = make_tar(sets[i], lens[i], true, GNU);
		struct member mm[] = {{"debian-binary", version, 4},
				      {"control.tar.gz", c.p, c.n},
				      {"data.tar.gz", d.p, d.n}};
		write_ar(path, mm, 3, NULL);
		expect(path, GATE_E_PARSE, msgs[i]);
		free(c.p);
	}
	free(d.p);
}

static void test_data_entries(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "data.deb");
	/* The same path twice (dpkg would keep the last; we refuse). */
	const struct tent dup[] = {{'f', "./usr/x", "one\n"}, {'f', "usr/x", "two\n"}};
	craft(path, good_control, dup, 2, "vcd", NULL);
	expect(path, GATE_E_PARSE, "twice");
	const struct tent dup2[] = {{'f', "./usr/x", "one\n"}, {'s', "./usr/x", "y"}};
	craft(path, good_control, dup2, 2, "vcd", NULL);
	expect(path, GATE_E_PARSE, "twice");
	/* Hard links: to nothing, to a later file, to a symlink, to a link. */
	const struct tent h1[] = {{'h', "./a", "./missing"}};
	craft(path, good_control, h1, 1, "vcd", NULL);
	expect(path, GATE_E_PARSE, "hard link");
	const struct tent h2[] = {{'h', "./a", "./b"}, {'f', "./b", "b\n"}};
	craft(path, good_control, h2, 2, "vcd", NULL);
	expect(path, GATE_E_PARSE, "hard link");
	const struct tent h3[] = {{'s', "./s", "target"}, {'h', "./a", "./s"}};
	craft(path, good_control, h3, 2, "vcd", NULL);
	expect(path, GATE_E_PARSE, "hard link");
	const struct tent h4[] = {{'f', "./f", "f\n"}, {'h', "./a", "./f"}, {'h', "./b", "./a"}};
	craft(path, good_control, h4, 3, "vcd", NULL);
	expect(path, GATE_E_PARSE, "hard link");
	/* An empty data.tar is a package with no files (metapackages). */
	craft(path, good_control, NULL, 0, "vcd", NULL);
	struct gate_ledger_pkg p = {0};
	struct gate_error err = {0};
	assert_int_equal(gate_deb_read(path, -1, &p, &err), GATE_OK);
	assert_int_equal(p.nfiles, 0);
	gate_ledger_pkg_clear(&p);
	/* pax headers: dpkg refuses them, so must we (they could rename an
	 * entry for libarchive and not for dpkg). */
	struct buf c = control_tar(good_control);
	struct buf d = make_tar(good_data, NDATA, true, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	memcpy(longname, "./", 2);
	longname[sizeof longname - 1] = '\0';
	const struct tent lt[] = {{'f', longname, "long\n"}};
	struct buf pax = make_tar(lt, 1, true, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	struct buf gnulong = make_tar(lt, 1, true, GNU);
	struct member m[] = {{"debian-binary", version, 4},
			     {"control.tar.gz", c.p, c.n},
			     {"data.tar.gz", pax.p, pax.n}};
	write_ar(path, m, 3, NULL);
	expect(path, GATE_E_UNSUPPORTED, "pax");
	/* The same long name as GNU tar writes it (dpkg's format): fine. */
	m[2] = (struct member){"data.tar.gz", gnulong.p, gnulong.n};
	write_ar(path, m, 3, NULL);
	expect(path, GATE_OK, NULL);
	/* pax_restricted without long names is plain ustar: fine. */
	m[2] = (struct member){"data.tar.gz", d.p, d.n};
	write_ar(path, m, 3, NULL);
	expect(path, GATE_OK, NULL);
	free(c.p);
	free(d.p);
	free(pax.p);
	free(gnulong.p);
}

static void test_caps(void **state)
{
	struct env *e = *state;
	const char *path = P(e, "big.deb");
	/* A control file one byte over the cap. */
	size_t n = GATE_DEB_MAX_CONTROL + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "Package: ok\nVersion: 1\nArchitecture: all\nX: ", 44);
	big[n - 1] = '\n';
	big[n] = '\0';
	craft(path, big, good_data, NDATA, "vcd", NULL);
	expect(path, GATE_E_TOO_LARGE, "control");
	free(big);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_real_debs),    T(test_truncated),    T(test_crafted_good), T(test_not_a_deb),
		T(test_evil_paths),   T(test_member_order), T(test_member_names), T(test_control),
		T(test_data_entries), T(test_caps),         T(test_read_sums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
