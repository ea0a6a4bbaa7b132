/* deb_control.c - control.tar of a .deb (deb_int.h): its one "control"
 * file, read whole under a cap and parsed as dpkg's single deb822
 * paragraph (deb-control(5)), of which Package, Version and Architecture
 * are kept, each checked against Debian policy's syntax. Duplicate fields,
 * a second paragraph or a second control file are refused. */
#include "deb_int.h"
#include "gate_util.h"

#include "lazy_archive.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEB_MAX_CONTROL_ENTRIES 1024	 /* entries of control.tar */
#define DEB_MAX_CONTROL_TAR (256u << 20) /* bytes of control.tar content */
#define DEB_MAX_FIELDS 256		 /* fields of the control file */
#define DEB_MAX_NAME 256		 /* Package, Version values */
#define DEB_MAX_ARCH 64

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
	/* Installed-Size (KiB): only an estimate of how well data.tar
	 * compresses (gate_deb_sizes); anything but digits is ignored. */
	if (ascii_ieq(line, nl, "Installed-Size")) {
		uint64_t kib = 0;
		size_t i = 0;
		for (; i < vl && i < 15 && v[i] >= '0' && v[i] <= '9'; i++)
			kib = kib * 10 + (uint64_t)(v[i] - '0');
		d->installed_kib = i == vl ? kib : 0;
		return GATE_OK;
	}
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

/* A member of control.tar read whole into *out (NUL-terminated, size
 * bytes), refusing one over cap or not as long as its header says. */
static enum gate_err read_member(struct deb *d, struct archive *a, const char *what, int64_t size,
				 uint64_t cap, char **out, struct gate_error *err)
{
	if (size < 0 || (uint64_t)size > cap)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, FIELD, "%s: %s file over %llu bytes",
				 d->path, what, (unsigned long long)cap);
	char *buf = malloc((size_t)size + 1);
	size_t got = 0;
	if (!buf)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf + got, (size_t)size + 1 - got);
		if (n < 0) {
			free(buf);
			return gate_deb_fail_archive(d, a, what, err);
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)size) {
			free(buf);
			return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
					 "%s: %s is longer than its header says", d->path, what);
		}
	}
	if (got != (size_t)size) {
		free(buf);
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: %s is truncated", d->path,
				 what);
	}
	buf[got] = '\0';
	*out = buf;
	return GATE_OK;
}

static enum gate_err read_control_file(struct deb *d, struct archive *a, int64_t size,
				       struct gate_error *err)
{
	char *buf = NULL;
	enum gate_err e = read_member(d, a, "control", size, GATE_DEB_MAX_CONTROL, &buf, err);
	if (e == GATE_OK)
		e = parse_control(d, buf, (size_t)size, err);
	free(buf);
	return e;
}

/* control.tar's md5sums, kept as text for the caller (gate_deb_read_sums)
 * when asked; one of them only, as a regular file. */
static enum gate_err read_md5sums(struct deb *d, struct archive *a, struct archive_entry *e,
				  struct gate_error *err)
{
	if (d->md5sums || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: control.tar: 'md5sums' is %s",
				 d->path, d->md5sums ? "there twice" : "not a regular file");
	int64_t size = archive_entry_size(e);
	enum gate_err rc = read_member(d, a, "md5sums", size, GATE_DEB_MAX_SUMS, &d->md5sums, err);
	if (rc == GATE_OK)
		d->md5sums_len = (size_t)size;
	return rc;
}

enum gate_err gate_deb_read_control_tar(struct deb *d, const char *ext, struct gate_error *err)
{
	struct nest n;
	struct archive *a = NULL;
	struct archive_entry *e;
	int filter;
	size_t count = 0;
	bool have = false;
	enum gate_err rc = gate_deb_open_nested(d, ext, &n, &a, &filter, err);
	while (rc == GATE_OK) {
		if ((rc = gate_deb_next_tar_entry(d, a, filter, "control.tar", &e, err)) !=
			    GATE_OK ||
		    !e)
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
		if (d->want_sums &&
		    (strcmp(name, "./md5sums") == 0 || strcmp(name, "md5sums") == 0)) {
			rc = read_md5sums(d, a, e, err);
			continue;
		}
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
