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
#include "gate_util.h"

#include "lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64u * 1024)
#define AR_MAGIC "!<arch>\n"
#define AR_MAGIC_LEN 8
#define AR_HDR_LEN 60
#define DEB_MAX_MEMBERS 16		   /* ar members, "_" ones included */
#define DEB_MAX_PATH 4096		   /* one installed path */
#define DEB_MAX_CONTROL_ENTRIES 1024	   /* entries of control.tar */
#define DEB_MAX_CONTROL_TAR (256u << 20)   /* bytes of control.tar content */
#define DEB_MAX_FIELDS 256		   /* fields of the control file */
#define DEB_MAX_NAME 256		   /* Package, Version values */
#define DEB_MAX_ARCH 64
#define FIELD "deb"

/* The outer stream: pread from our own offset (the caller's file offset is
 * left alone), hashing every byte in order. */
struct src {
	int fd;
	uint64_t off;
	EVP_MD_CTX *md;
	uint8_t *buf;
	int read_errno; /* an I/O error, as opposed to a malformed archive */
};

/* A nested archive reads its member's data through the outer archive. */
struct nest {
	struct archive *outer;
	int64_t next; /* expected offset of the next block */
};

/* One entry of data.tar, before the sort. */
enum ent_kind { ENT_REG, ENT_LINK, ENT_OTHER };

struct ent {
	char *path;
	char *target; /* ENT_LINK: normalised target */
	size_t idx;   /* position in the archive */
	uint64_t size;
	uint8_t sha256[32];
	enum ent_kind kind;
};

struct deb {
	const char *path; /* for messages */
	struct src src;
	struct archive *outer;
	uint64_t next_hdr; /* where the next ar header must start */
	struct ent *ents;
	size_t nents, cap;
	uint64_t data_total;
	uint64_t control_total;
	char *name, *version, *arch;
	struct gate_ledger_file *files;
	size_t nfiles;
};

/* ---- errors ---- */

static enum gate_err fail_archive(struct deb *d, struct archive *a, const char *what,
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

static enum gate_err open_nested(struct deb *d, const char *ext, struct nest *n,
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
		enum gate_err e = fail_archive(d, a, "nested archive", err);
		archive_read_free(a);
		return e;
	}
	*out = a;
	return GATE_OK;
}

/* Next header of a nested tar, refusing what dpkg's tar reader refuses.
 * *e is NULL at the end. */
static enum gate_err next_tar_entry(struct deb *d, struct archive *a, int filter,
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
		return fail_archive(d, a, member, err);
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

/* ---- paths ---- */

/* A tar name as dpkg installs it: "./usr/bin/x" or "usr/bin/x" becomes
 * "/usr/bin/x". Refused: absolute names, empty, "." and ".." components,
 * control bytes (dpkg refuses newlines), over DEB_MAX_PATH. A directory may
 * end in one '/'. "." and "./" give "/" (only a directory may be that). */
static enum gate_err norm_path(struct deb *d, const char *raw, bool is_dir, char **out,
			       struct gate_error *err)
{
	const char *p = raw;
	if (p[0] == '.' && (p[1] == '/' || p[1] == '\0'))
		p += p[1] ? 2 : 1;
	size_t len = strlen(p);
	if (is_dir && len > 0 && p[len - 1] == '/')
		len--;
	if (len > DEB_MAX_PATH)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: data.tar: a path is longer than %u",
				 d->path, DEB_MAX_PATH);
	if (len == 0 && !is_dir)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: data.tar: an entry has an empty name", d->path);
	if (p[0] == '/')
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: data.tar: absolute path '%s'", d->path, raw);
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && ((unsigned char)p[i] < 0x20 || p[i] == 0x7f))
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: data.tar: control character in path '%s'", d->path,
					 raw);
		if (len == 0 || (i < len && p[i] != '/'))
			continue;
		size_t cl = i - start;
		if (cl == 0 || (cl == 1 && p[start] == '.') ||
		    (cl == 2 && p[start] == '.' && p[start + 1] == '.'))
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: data.tar: path '%s' has an empty, '.' or '..' "
					 "component",
					 d->path, raw);
		start = i + 1;
	}
	char *s = malloc(len + 2);
	if (!s)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	s[0] = '/';
	memcpy(s + 1, p, len);
	s[len + 1] = '\0';
	*out = s;
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
		return fail_archive(d, d->outer, "debian-binary", err);
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

/* ---- control ---- */

struct field_seen {
	const char *name;
	size_t len;
};

static bool ascii_ieq(const char *a, size_t al, const char *b)
{
	size_t bl = strlen(b);
	if (al != bl)
		return false;
	for (size_t i = 0; i < al; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static bool valid_chars(const char *s, size_t len, const char *extra, bool upper)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (upper && c >= 'A' && c <= 'Z') || (c && strchr(extra, c)))
			continue;
		return false;
	}
	return true;
}

/* Policy 5.6.1 says [a-z0-9][a-z0-9+.-]+; dpkg also installs one-letter
 * names, so those pass. Upper case does not: dpkg folds it, and the ledger
 * would then name a package dpkg does not know by that name. */
static bool valid_package(const char *s, size_t len)
{
	return len >= 1 && len <= DEB_MAX_NAME && s[0] != '+' && s[0] != '-' && s[0] != '.' &&
	       valid_chars(s, len, "+.-", false);
}

/* Policy 5.6.12: [epoch:]upstream[-revision], upstream starting with a
 * digit. */
static bool valid_version(const char *s, size_t len)
{
	if (len == 0 || len > DEB_MAX_NAME || !valid_chars(s, len, ".+~:-", true))
		return false;
	const char *colon = memchr(s, ':', len);
	if (colon) {
		if (colon == s)
			return false;
		for (const char *p = s; p < colon; p++)
			if (*p < '0' || *p > '9')
				return false;
		len -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	return len > 0 && s[0] >= '0' && s[0] <= '9';
}

static bool valid_arch(const char *s, size_t len)
{
	return len > 0 && len <= DEB_MAX_ARCH && valid_chars(s, len, "-", false);
}

static enum gate_err set_field(struct deb *d, char **slot, const char *v, size_t len,
			       const char *name, bool ok, struct gate_error *err)
{
	if (!ok)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: control: invalid %s '%.*s'",
				 d->path, name, (int)(len > 80 ? 80 : len), v);
	if (!(*slot = strndup(v, len)))
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	return GATE_OK;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One "Name: value" line (continuations already told apart). */
static enum gate_err control_line(struct deb *d, const char *line, size_t len,
				  struct field_seen *seen, size_t *nseen, int *last,
				  struct gate_error *err)
{
	static const char *const wanted[] = {"Package", "Version", "Architecture"};
	const char *colon = memchr(line, ':', len);
	size_t nl = colon ? (size_t)(colon - line) : 0;
	if (!colon || nl == 0 || line[0] == '#' || line[0] == '-')
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: control: a line is not 'Field: value'", d->path);
	for (size_t i = 0; i < nl; i++)
		if ((unsigned char)line[i] <= 0x20 || (unsigned char)line[i] >= 0x7f)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: control: invalid field name", d->path);
	for (size_t i = 0; i < *nseen; i++)
		if (seen[i].len == nl && strncasecmp(seen[i].name, line, nl) == 0)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: control: duplicate field '%.*s'", d->path, (int)nl,
					 line);
	if (*nseen == DEB_MAX_FIELDS)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD,
				 "%s: control: more than %d fields", d->path, DEB_MAX_FIELDS);
	seen[(*nseen)++] = (struct field_seen){line, nl};
	const char *v = colon + 1, *end = line + len;
	while (v < end && is_blank(*v))
		v++;
	while (end > v && is_blank(end[-1]))
		end--;
	size_t vl = (size_t)(end - v);
	*last = -1;
	for (int i = 0; i < 3; i++) {
		if (!ascii_ieq(line, nl, wanted[i]))
			continue;
		*last = i;
		if (i == 0)
			return set_field(d, &d->name, v, vl, "Package", valid_package(v, vl), err);
		if (i == 1)
			return set_field(d, &d->version, v, vl, "Version", valid_version(v, vl),
					 err);
		return set_field(d, &d->arch, v, vl, "Architecture", valid_arch(v, vl), err);
	}
	return GATE_OK;
}

/* deb822, one paragraph (deb-control(5)): fields, continuation lines
 * starting with a space or tab, blank lines only around the paragraph. */
static enum gate_err parse_control(struct deb *d, const char *buf, size_t len,
				   struct gate_error *err)
{
	struct field_seen *seen = calloc(DEB_MAX_FIELDS, sizeof(*seen));
	size_t nseen = 0;
	int last = -2; /* -2: no field yet; -1: a field we do not use */
	bool ended = false;
	enum gate_err e = GATE_OK;
	if (!seen)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	if (memchr(buf, '\0', len)) {
		e = gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: control: NUL byte", d->path);
		goto out;
	}
	for (size_t pos = 0; pos < len && e == GATE_OK;) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl ? 1 : 0);
		if (ll == 0) {
			ended = last != -2;
			continue;
		}
		if (ended) {
			e = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				      "%s: control: more than one paragraph", d->path);
		} else if (is_blank(line[0])) {
			/* Package, Version and Architecture are single-line. */
			if (last != -1)
				e = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					      "%s: control: unexpected continuation line", d->path);
		} else {
			e = control_line(d, line, ll, seen, &nseen, &last, err);
		}
	}
	if (e == GATE_OK && (!d->name || !d->version || !d->arch))
		e = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
			      "%s: control: Package, Version and Architecture are required",
			      d->path);
out:
	free(seen);
	return e;
}

static enum gate_err read_control_file(struct deb *d, struct archive *a, int64_t size,
				       struct gate_error *err)
{
	if (size < 0 || (uint64_t)size > GATE_DEB_MAX_CONTROL)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD,
				 "%s: control file over %u bytes", d->path, GATE_DEB_MAX_CONTROL);
	char *buf = malloc((size_t)size + 1);
	size_t got = 0;
	enum gate_err e;
	if (!buf)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf + got, (size_t)size + 1 - got);
		if (n < 0) {
			e = fail_archive(d, a, "control", err);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)size) {
			e = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				      "%s: control is longer than its header says", d->path);
			goto out;
		}
	}
	if (got != (size_t)size) {
		e = gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: control is truncated", d->path);
		goto out;
	}
	e = parse_control(d, buf, got, err);
out:
	free(buf);
	return e;
}

static enum gate_err read_control_tar(struct deb *d, const char *ext, struct gate_error *err)
{
	struct nest n;
	struct archive *a = NULL;
	struct archive_entry *e;
	int filter;
	size_t count = 0;
	bool have = false;
	enum gate_err rc = open_nested(d, ext, &n, &a, &filter, err);
	while (rc == GATE_OK) {
		if ((rc = next_tar_entry(d, a, filter, "control.tar", &e, err)) != GATE_OK || !e)
			break;
		int64_t size = archive_entry_size(e);
		if (++count > DEB_MAX_CONTROL_ENTRIES || size < 0 ||
		    (d->control_total += (uint64_t)size) > DEB_MAX_CONTROL_TAR) {
			rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD,
				       "%s: control.tar is over its limits (%u entries, %u bytes)",
				       d->path, DEB_MAX_CONTROL_ENTRIES, DEB_MAX_CONTROL_TAR);
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (strcmp(name, "./control") != 0 && strcmp(name, "control") != 0)
			continue; /* libarchive skips the data */
		/* Two control files: dpkg would use the last, we the first. */
		if (have || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
			rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				       "%s: control.tar: 'control' is %s", d->path,
				       have ? "there twice" : "not a regular file");
			break;
		}
		have = true;
		rc = read_control_file(d, a, size, err);
	}
	if (rc == GATE_OK && !have)
		rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
			       "%s: control.tar has no control file", d->path);
	archive_read_free(a);
	return rc;
}

/* ---- data ---- */

static enum gate_err ent_add(struct deb *d, struct ent **out, struct gate_error *err)
{
	if (d->nents == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 256;
		struct ent *v = realloc(d->ents, nc * sizeof(*v));
		if (!v)
			return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		d->ents = v;
		d->cap = nc;
	}
	*out = &d->ents[d->nents];
	memset(*out, 0, sizeof(**out));
	(*out)->idx = d->nents++;
	return GATE_OK;
}

static enum gate_err hash_entry(struct deb *d, struct archive *a, struct ent *t, int64_t size,
				struct gate_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const void *b;
	size_t len;
	la_int64_t off;
	uint64_t total = 0;
	enum gate_err rc = GATE_OK;
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest init failed");
		goto out;
	}
	for (;;) {
		int r = archive_read_data_block(a, &b, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = fail_archive(d, a, "data.tar", err);
			goto out;
		}
		if (off < 0 || (uint64_t)off != total) {
			rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				       "%s: data.tar: '%s' has holes", d->path, t->path);
			goto out;
		}
		total += len;
		if (total > (uint64_t)size) {
			rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				       "%s: data.tar: '%s' is longer than its header says", d->path,
				       t->path);
			goto out;
		}
		if (len && EVP_DigestUpdate(md, b, len) != 1) {
			rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest failed");
			goto out;
		}
	}
	if (total != (uint64_t)size) {
		rc = gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: data.tar: '%s' is truncated",
			       d->path, t->path);
		goto out;
	}
	if (EVP_DigestFinal_ex(md, t->sha256, NULL) != 1)
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest failed");
	t->size = total;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static enum gate_err data_entry(struct deb *d, struct archive *a, struct archive_entry *e,
				struct gate_error *err)
{
	struct ent *t = NULL;
	enum gate_err rc;
	const char *link = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	int64_t size = archive_entry_size(e);
	if (d->nents >= GATE_DEB_MAX_FILES)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD,
				 "%s: data.tar has more than %u entries", d->path,
				 GATE_DEB_MAX_FILES);
	if ((rc = ent_add(d, &t, err)) != GATE_OK ||
	    (rc = norm_path(d, archive_entry_pathname(e), !link && type == AE_IFDIR, &t->path,
			    err)) != GATE_OK)
		return rc;
	if (link) {
		/* A hard link installs its target's content; a body on it
		 * (pax) would be a second opinion on that content. */
		t->kind = ENT_LINK;
		if (size != 0)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: data.tar: hard link '%s' carries data", d->path,
					 t->path);
		return norm_path(d, link, false, &t->target, err);
	}
	if (type != AE_IFREG) {
		t->kind = ENT_OTHER; /* directories, symlinks, devices, FIFOs */
		return GATE_OK;
	}
	t->kind = ENT_REG;
	if (!archive_entry_size_is_set(e) || size < 0 ||
	    (uint64_t)size > GATE_DEB_MAX_TOTAL - d->data_total)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD,
				 "%s: data.tar holds more than %llu bytes", d->path,
				 (unsigned long long)GATE_DEB_MAX_TOTAL);
	d->data_total += (uint64_t)size;
	return hash_entry(d, a, t, size, err);
}

static enum gate_err read_data_tar(struct deb *d, const char *ext, struct gate_error *err)
{
	struct nest n;
	struct archive *a = NULL;
	struct archive_entry *e;
	int filter;
	enum gate_err rc = open_nested(d, ext, &n, &a, &filter, err);
	while (rc == GATE_OK) {
		if ((rc = next_tar_entry(d, a, filter, "data.tar", &e, err)) != GATE_OK || !e)
			break;
		rc = data_entry(d, a, e, err);
	}
	archive_read_free(a);
	return rc;
}

static int ent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct ent *)x)->path, ((const struct ent *)y)->path);
}

/* Sort, refuse duplicate paths, resolve hard links to earlier regular
 * files, and turn regular files and links into ledger files. */
static enum gate_err build_files(struct deb *d, struct gate_error *err)
{
	size_t nfiles = 0;
	if (d->nents > 1)
		qsort(d->ents, d->nents, sizeof(*d->ents), ent_cmp);
	for (size_t i = 0; i < d->nents; i++) {
		if (i > 0 && strcmp(d->ents[i].path, d->ents[i - 1].path) == 0)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: data.tar: '%s' is there twice", d->path,
					 d->ents[i].path);
		nfiles += d->ents[i].kind != ENT_OTHER;
	}
	/* Resolve links first: the lookup needs every path in place. */
	for (size_t i = 0; i < d->nents; i++) {
		struct ent *t = &d->ents[i];
		if (t->kind != ENT_LINK)
			continue;
		struct ent key = {.path = t->target};
		const struct ent *src = bsearch(&key, d->ents, d->nents, sizeof(*d->ents), ent_cmp);
		if (!src || src->kind != ENT_REG || src->idx > t->idx)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: data.tar: hard link '%s' does not point to an earlier "
					 "regular file",
					 d->path, t->path);
		t->size = src->size;
		memcpy(t->sha256, src->sha256, sizeof t->sha256);
	}
	d->files = calloc(nfiles ? nfiles : 1, sizeof(*d->files));
	if (!d->files)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	for (size_t i = 0; i < d->nents; i++) {
		struct ent *t = &d->ents[i];
		if (t->kind == ENT_OTHER)
			continue;
		struct gate_ledger_file *f = &d->files[d->nfiles++];
		f->path = t->path;
		t->path = NULL; /* moved */
		f->size = t->size;
		gate_hex_encode(t->sha256, 32, f->sha256);
	}
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
		return read_control_tar(d, ext, err);
	}
	if (*st == ST_DATA && member_ext(name, "data.tar", data_exts, &ext)) {
		*st = ST_AFTER;
		return read_data_tar(d, ext, err);
	}
	return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
			 "%s: unexpected member '%s' (%s)", d->path, name,
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
			return fail_archive(d, d->outer, st == ST_VERSION ? "not a Debian package"
									  : "ar archive",
					    err);
		if (++count > DEB_MAX_MEMBERS)
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: more than %d ar members", d->path, DEB_MAX_MEMBERS);
		if ((rc = on_member(d, e, &st, err)) != GATE_OK)
			return rc;
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
			return gate_fail(err, GATE_E_USAGE, NULL, FIELD, "no path and no descriptor");
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
	archive_read_free(d->outer);
	EVP_MD_CTX_free(d->src.md);
	free(d->src.buf);
}

enum gate_err gate_deb_read(const char *path, int fd, struct gate_ledger_pkg *pkg,
			    struct gate_error *err)
{
	struct deb d = {.path = path ? path : "(descriptor)"};
	int owned = -1;
	uint8_t dig[32];
	enum gate_err rc = open_input(path, fd, &owned, err);
	if (rc != GATE_OK)
		goto out;
	d.src.fd = owned >= 0 ? owned : fd;
	if (!(d.src.md = EVP_MD_CTX_new()) || !(d.src.buf = malloc(READ_CHUNK)) ||
	    !(d.outer = archive_read_new())) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(d.src.md, EVP_sha256(), NULL) != 1) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest init failed");
		goto out;
	}
	/* No skip or seek callback: every byte passes through src_read, so
	 * the digest covers the whole file in order. */
	if (archive_read_support_format_ar(d.outer) != ARCHIVE_OK ||
	    archive_read_open(d.outer, &d.src, NULL, src_read, NULL) != ARCHIVE_OK) {
		rc = fail_archive(&d, d.outer, "not a Debian package", err);
		goto out;
	}
	if ((rc = read_members(&d, err)) != GATE_OK || (rc = build_files(&d, err)) != GATE_OK)
		goto out;
	if (EVP_DigestFinal_ex(d.src.md, dig, NULL) != 1) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, FIELD, "digest failed");
		goto out;
	}
	gate_hex_encode(dig, 32, pkg->deb_sha256);
	pkg->name = d.name;
	pkg->version = d.version;
	pkg->arch = d.arch;
	pkg->files = d.files;
	pkg->nfiles = d.nfiles;
	d.name = d.version = d.arch = NULL;
	d.files = NULL;
	d.nfiles = 0;
out:
	deb_clear(&d);
	if (owned >= 0)
		close(owned);
	return rc;
}
