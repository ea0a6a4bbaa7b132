/* deb.c - a Debian binary package read the way dpkg reads it (deb(5)):
 * an ar archive whose members are, in order, debian-binary ("2.0\n"),
 * control.tar[.gz|.xz|.zst] and data.tar[.gz|.xz|.zst|.bz2], with optional
 * "_"-prefixed members in between and after. Everything is streamed: the
 * outer archive is read through a callback that hashes every byte, and the
 * nested tars are read through the outer archive's data blocks, so nothing
 * touches the disk.
 *
 * Where libarchive is more lenient than dpkg (GNU/BSD long member names,
 * pax headers, sparse files, trailing bytes) we refuse: a difference between
 * what we hash and what dpkg installs would be a hole in the ledger. */
#include "deb.h"
#include "deb_int.h"
#include "gate_util.h"

#include "lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64u * 1024)
#define AR_MAGIC "!<arch>\n"
#define AR_MAGIC_LEN 8
#define AR_HDR_LEN 60
#define DEB_MAX_MEMBERS 16 /* ar members, "_" ones included */

/* ---- errors ---- */

enum gate_err gate_deb_fail_archive(struct deb *d, struct archive *a, const char *what,
				    struct gate_error *err)
{
	if (d->src.read_errno)
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: read: %s", d->path,
				 strerror(d->src.read_errno));
	const char *m = a ? archive_error_string(a) : NULL;
	return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: %s: %s", d->path, what,
			 m ? m : "malformed archive");
}

/* ---- outer stream ---- */

static la_ssize_t src_read(struct archive *a, void *cd, const void **out)
{
	struct src *s = cd;
	ssize_t n;
	do
		n = pread(s->fd, s->buf, READ_CHUNK, (off_t)s->off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->read_errno = errno;
		archive_set_error(a, errno, "read failed");
		return -1;
	}
	if (n > 0 && EVP_DigestUpdate(s->md, s->buf, (size_t)n) != 1) {
		archive_set_error(a, EINVAL, "digest failed");
		return -1;
	}
	s->off += (uint64_t)n;
	*out = s->buf;
	return n;
}

/* Hash whatever libarchive did not need to read, up to the end of file. */
static enum gate_err src_drain(struct deb *d, struct gate_error *err)
{
	const void *b;
	while (src_read(d->outer, &d->src, &b) > 0)
		;
	if (d->src.read_errno)
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: read: %s", d->path,
				 strerror(d->src.read_errno));
	return GATE_OK;
}

static la_ssize_t nest_read(struct archive *a, void *cd, const void **out)
{
	struct nest *n = cd;
	const void *b;
	size_t len;
	la_int64_t off;
	for (;;) {
		int r = archive_read_data_block(n->outer, &b, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK) {
			const char *m = archive_error_string(n->outer);
			archive_set_error(a, EINVAL, "%s", m ? m : "read failed");
			return -1;
		}
		if (off != n->next) {
			archive_set_error(a, EINVAL, "hole in an ar member");
			return -1;
		}
		n->next += (int64_t)len;
		if (len == 0)
			continue; /* 0 would mean end of data to libarchive */
		*out = b;
		return (la_ssize_t)len;
	}
}

/* ---- the ar layer ---- */

/* dpkg reads the raw 16-byte name field and strips trailing spaces and one
 * '/' (dpkg_ar_normalize_name). libarchive also resolves GNU "//" tables
 * and BSD "#1/" names, which dpkg does not: so every member's raw header
 * is read back at the offset it must have, and must carry exactly the name
 * libarchive reported and the same size. */
static enum gate_err check_raw_header(struct deb *d, const char *name, int64_t size,
				      struct gate_error *err)
{
	uint8_t h[AR_HDR_LEN];
	ssize_t n;
	do
		n = pread(d->src.fd, h, sizeof h, (off_t)d->next_hdr);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: read: %s", d->path,
				 strerror(errno));
	if (n != AR_HDR_LEN || h[58] != '`' || h[59] != '\n')
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: ar member header at offset %llu is malformed", d->path,
				 (unsigned long long)d->next_hdr);
	size_t len = 16;
	while (len > 0 && h[len - 1] == ' ')
		len--;
	if (len > 0 && h[len - 1] == '/')
		len--;
	if (len != strlen(name) || memcmp(h, name, len) != 0)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: ar member name at offset %llu is not written as dpkg "
				 "expects (long-name tables are not allowed)",
				 d->path, (unsigned long long)d->next_hdr);
	/* Size: decimal digits, then spaces. */
	uint64_t v = 0;
	size_t i = 48, digits = 0;
	for (; i < 58 && h[i] >= '0' && h[i] <= '9'; i++, digits++)
		v = v * 10 + (uint64_t)(h[i] - '0');
	for (; i < 58 && h[i] == ' '; i++)
		;
	if (digits == 0 || i != 58 || size < 0 || v != (uint64_t)size)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: ar member '%s' has a malformed size", d->path, name);
	d->next_hdr += AR_HDR_LEN + v + (v & 1);
	return GATE_OK;
}

/* "control.tar" or "data.tar" + one of exts (ext "" = uncompressed). */
static bool member_ext(const char *name, const char *base, const char *const *exts,
		       const char **ext)
{
	size_t bl = strlen(base);
	if (strncmp(name, base, bl) != 0)
		return false;
	for (size_t i = 0; exts[i]; i++)
		if (strcmp(name + bl, exts[i]) == 0) {
			*ext = exts[i];
			return true;
		}
	return false;
}

static const char *const control_exts[] = {"", ".gz", ".xz", ".zst", NULL};
static const char *const data_exts[] = {"", ".gz", ".xz", ".zst", ".bz2", NULL};

/* ---- nested tar ---- */

enum gate_err gate_deb_open_nested(struct deb *d, const char *ext, struct nest *n,
				   struct archive **out, int *filter, struct gate_error *err)
{
	struct archive *a = archive_read_new();
	int r = ARCHIVE_OK;
	if (!a)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	/* Only the decompressor the member's name announces. */
	*filter = ARCHIVE_FILTER_NONE;
	if (strcmp(ext, ".gz") == 0) {
		r = archive_read_support_filter_gzip(a);
		*filter = ARCHIVE_FILTER_GZIP;
	} else if (strcmp(ext, ".xz") == 0) {
		r = archive_read_support_filter_xz(a);
		*filter = ARCHIVE_FILTER_XZ;
	} else if (strcmp(ext, ".zst") == 0) {
		r = archive_read_support_filter_zstd(a);
		*filter = ARCHIVE_FILTER_ZSTD;
	} else if (strcmp(ext, ".bz2") == 0) {
		r = archive_read_support_filter_bzip2(a);
		*filter = ARCHIVE_FILTER_BZIP2;
	}
	if (r != ARCHIVE_OK || archive_read_support_format_tar(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
				 "%s: libarchive cannot read tar%s", d->path, ext);
	}
	n->outer = d->outer;
	n->next = 0;
	if (archive_read_open(a, n, NULL, nest_read, NULL) != ARCHIVE_OK) {
		enum gate_err e = gate_deb_fail_archive(d, a, "nested archive", err);
		archive_read_free(a);
		return e;
	}
	*out = a;
	return GATE_OK;
}

/* Next header of a nested tar, refusing what dpkg's tar reader refuses.
 * *e is NULL at the end. */
enum gate_err gate_deb_next_tar_entry(struct deb *d, struct archive *a, int filter,
				      const char *member, struct archive_entry **e,
				      struct gate_error *err)
{
	int r = archive_read_next_header(a, e);
	if (r == ARCHIVE_EOF) {
		*e = NULL;
		return GATE_OK;
	}
	/* WARN and RETRY (a bad checksum libarchive would skip past) are
	 * errors here: dpkg stops at them too. */
	if (r != ARCHIVE_OK)
		return gate_deb_fail_archive(d, a, member, err);
	if (archive_filter_code(a, 0) != filter)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: %s is not compressed as its name says", d->path, member);
	int fmt = archive_format(a);
	if (fmt == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE || fmt == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
				 "%s: %s uses pax headers, which dpkg does not accept", d->path,
				 member);
	if (archive_entry_sparse_count(*e) > 0)
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
				 "%s: %s has a sparse file, which dpkg does not accept", d->path,
				 member);
	if (!archive_entry_pathname(*e))
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: %s: entry without a name",
				 d->path, member);
	return GATE_OK;
}

/* ---- debian-binary ---- */

static enum gate_err read_version(struct deb *d, int64_t size, struct gate_error *err)
{
	char buf[8];
	if (size != 4)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: debian-binary must be \"2.0\\n\"", d->path);
	la_ssize_t n = archive_read_data(d->outer, buf, sizeof buf);
	if (n < 0)
		return gate_deb_fail_archive(d, d->outer, "debian-binary", err);
	if (n != 4)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: debian-binary is truncated",
				 d->path);
	if (memcmp(buf, "2.0\n", 4) != 0)
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
				 "%s: unsupported package format (debian-binary is not "
				 "\"2.0\\n\")",
				 d->path);
	return GATE_OK;
}

/* ---- the whole package ---- */

enum member_state { ST_VERSION, ST_CONTROL, ST_DATA, ST_AFTER };

static enum gate_err on_member(struct deb *d, struct archive_entry *e, enum member_state *st,
			       struct gate_error *err)
{
	const char *name = archive_entry_pathname(e), *ext = NULL;
	int64_t size = archive_entry_size(e);
	enum gate_err rc;
	if (!name)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: ar member without a name",
				 d->path);
	if ((rc = check_raw_header(d, name, size, err)) != GATE_OK)
		return rc;
	if (*st == ST_VERSION) {
		if (strcmp(name, "debian-binary") != 0)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: not a Debian package (first member is not "
					 "debian-binary)",
					 d->path);
		*st = ST_CONTROL;
		return read_version(d, size, err);
	}
	if (name[0] == '_')
		return GATE_OK; /* deb(5): optional, e.g. debsigs' _gpgorigin */
	if (*st == ST_CONTROL && member_ext(name, "control.tar", control_exts, &ext)) {
		*st = ST_DATA;
		return gate_deb_read_control_tar(d, ext, err);
	}
	if (*st == ST_DATA && member_ext(name, "data.tar", data_exts, &ext)) {
		*st = ST_AFTER;
		d->data_bytes = size > 0 ? (uint64_t)size : 0;
		if (d->want_sums && d->md5sums) {
			d->stopped = true; /* what the hook keeps needs no more */
			return GATE_OK;
		}
		return gate_deb_read_data_tar(d, ext, err);
	}
	return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: unexpected member '%s' (%s)", d->path,
			 name,
			 *st == ST_CONTROL ? "expected control.tar"
			 : *st == ST_DATA  ? "expected data.tar"
					   : "nothing but '_' members may follow data.tar");
}

static enum gate_err read_members(struct deb *d, struct gate_error *err)
{
	enum member_state st = ST_VERSION;
	struct archive_entry *e;
	enum gate_err rc;
	size_t count = 0;
	d->next_hdr = AR_MAGIC_LEN;
	for (;;) {
		int r = archive_read_next_header(d->outer, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return gate_deb_fail_archive(
				d, d->outer,
				st == ST_VERSION ? "not a Debian package" : "ar archive", err);
		if (++count > DEB_MAX_MEMBERS)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: more than %d ar members", d->path, DEB_MAX_MEMBERS);
		if ((rc = on_member(d, e, &st, err)) != GATE_OK)
			return rc;
		if (d->stopped)
			return GATE_OK;
	}
	if (st != ST_AFTER)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: %s", d->path,
				 st == ST_VERSION   ? "not a Debian package (empty ar archive)"
				 : st == ST_CONTROL ? "no control.tar member"
						    : "no data.tar member");
	if ((rc = src_drain(d, err)) != GATE_OK)
		return rc;
	/* dpkg stops after data.tar; trailing bytes are something else. */
	if (d->src.off != d->next_hdr)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: %llu bytes where the archive should end at %llu", d->path,
				 (unsigned long long)d->src.off, (unsigned long long)d->next_hdr);
	return GATE_OK;
}

static enum gate_err open_input(const char *path, int fd, int *owned, struct gate_error *err)
{
	struct stat st;
	*owned = -1;
	if (fd < 0) {
		if (!path)
			return gate_fail(err, GATE_E_USAGE, NULL, FIELD,
					 "no path and no descriptor");
		/* O_NONBLOCK: a FIFO must not block us until a writer shows up. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return gate_fail(err, GATE_E_IO, NULL, FIELD, "cannot open %s: %s", path,
					 strerror(errno));
		*owned = fd;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s is not a regular file",
				 path ? path : "descriptor");
	return GATE_OK;
}

static void deb_clear(struct deb *d)
{
	for (size_t i = 0; i < d->nents; i++) {
		free(d->ents[i].path);
		free(d->ents[i].target);
	}
	free(d->ents);
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i].path);
	free(d->files);
	free(d->name);
	free(d->version);
	free(d->arch);
	free(d->md5sums);
	archive_read_free(d->outer);
	EVP_MD_CTX_free(d->src.md);
	free(d->src.buf);
}

static enum gate_err deb_run(struct deb *d, const char *path, int fd, struct gate_ledger_pkg *pkg,
			     struct gate_error *err)
{
	int owned = -1;
	uint8_t dig[32];
	enum gate_err rc = open_input(path, fd, &owned, err);
	if (rc != GATE_OK)
		goto out;
	d->src.fd = owned >= 0 ? owned : fd;
	if (!(d->src.md = EVP_MD_CTX_new()) || !(d->src.buf = malloc(READ_CHUNK)) ||
	    !(d->outer = archive_read_new())) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(d->src.md, EVP_sha256(), NULL) != 1) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest init failed");
		goto out;
	}
	/* No skip or seek callback: every byte passes through src_read, so
	 * the digest covers the whole file in order. */
	if (archive_read_support_format_ar(d->outer) != ARCHIVE_OK ||
	    archive_read_open(d->outer, &d->src, NULL, src_read, NULL) != ARCHIVE_OK) {
		rc = gate_deb_fail_archive(d, d->outer, "not a Debian package", err);
		goto out;
	}
	if ((rc = read_members(d, err)) != GATE_OK ||
	    (rc = gate_deb_build_files(d, err)) != GATE_OK)
		goto out;
	if (d->stopped) {
		pkg->deb_sha256[0] = '\0'; /* not every byte was read */
	} else if (EVP_DigestFinal_ex(d->src.md, dig, NULL) != 1) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest failed");
		goto out;
	} else {
		gate_hex_encode(dig, 32, pkg->deb_sha256);
	}
	pkg->name = d->name;
	pkg->version = d->version;
	pkg->arch = d->arch;
	pkg->files = d->files;
	pkg->nfiles = d->nfiles;
	d->name = d->version = d->arch = NULL;
	d->files = NULL;
	d->nfiles = 0;
out:
	if (owned >= 0)
		close(owned);
	return rc;
}

enum gate_err gate_deb_read(const char *path, int fd, struct gate_ledger_pkg *pkg,
			    struct gate_error *err)
{
	struct deb d = {.path = path ? path : "(descriptor)"};
	enum gate_err rc = deb_run(&d, path, fd, pkg, err);
	deb_clear(&d);
	return rc;
}

enum gate_err gate_deb_read_sums(const char *path, int fd, struct gate_ledger_pkg *pkg,
				 char **md5sums, size_t *md5sums_len, struct gate_deb_sizes *sizes,
				 struct gate_error *err)
{
	struct deb d = {.path = path ? path : "(descriptor)", .want_sums = true};
	enum gate_err rc = deb_run(&d, path, fd, pkg, err);
	if (rc == GATE_OK) {
		*md5sums = d.md5sums;
		*md5sums_len = d.md5sums_len;
		d.md5sums = NULL;
		if (sizes)
			*sizes = (struct gate_deb_sizes){d.installed_kib, d.data_bytes};
	}
	deb_clear(&d);
	return rc;
}
