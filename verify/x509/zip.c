/* zip.c - a bounded ZIP reader for signed JARs (APPNOTE.TXT 6.3). The
 * central directory is what Java reads, so it is the source of truth; every
 * entry is cross-checked with its local header, names must be unique and
 * entries must not overlap. Inflating is libarchive's, one entry at a time
 * over exactly that entry's bytes; sizes and CRC-32 are checked here
 * against the central directory. No ZIP64, no encryption. */
#include "codesign.h"

#include "lazy_archive.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZIP_FIELD "zip"
#define ZIP_MAX_CD (64u * 1024 * 1024) /* central directory bytes */
#define ZIP_EOCD 22
#define ZIP_CDH 46
#define ZIP_LFH 30
#define ZIP_CHUNK (64u * 1024)

/* C12: the ZIP structure (docs/CODESIGN.md). */
#define ZFAIL(err, ...) gate_fail(err, GATE_E_PARSE, "C12", ZIP_FIELD, __VA_ARGS__)

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- CRC-32 (IEEE 802.3, as ZIP uses) ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- central directory ---- */

static enum gate_err find_eocd(int fd, uint64_t size, uint64_t *eocd, uint8_t rec[ZIP_EOCD],
			       struct gate_error *err)
{
	uint64_t span = size < ZIP_EOCD + 65535 ? size : ZIP_EOCD + 65535;
	uint8_t *buf = malloc((size_t)span + 1);
	enum gate_err rc = GATE_OK;
	if (!buf)
		return gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
	if (span < ZIP_EOCD || !gate_pread_full(fd, buf, (size_t)span, size - span)) {
		rc = ZFAIL(err, "not a ZIP file: too short");
		goto out;
	}
	/* The record whose comment runs exactly to the end of the file. */
	for (size_t i = (size_t)span - ZIP_EOCD + 1; i-- > 0;) {
		if (memcmp(buf + i, "PK\x05\x06", 4) != 0)
			continue;
		if ((uint64_t)i + ZIP_EOCD + le16(buf + i + 20) != span)
			continue;
		memcpy(rec, buf + i, ZIP_EOCD);
		*eocd = size - span + i;
		/* A ZIP64 end-of-central-directory locator precedes it. */
		if (i >= 20 && memcmp(buf + i - 20, "PK\x06\x07", 4) == 0)
			rc = gate_fail(err, GATE_E_UNSUPPORTED, "C12", ZIP_FIELD,
				       "ZIP64 is not supported");
		goto out;
	}
	rc = ZFAIL(err, "no end of central directory record");
out:
	free(buf);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	const struct gate_zip_entry *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static int cmp_off(const void *a, const void *b)
{
	const struct gate_zip_entry *const *x = a, *const *y = b;
	return (*x)->local_off < (*y)->local_off ? -1 : (*x)->local_off > (*y)->local_off;
}

/* Unique names; entries (local header to end of data) disjoint and before
 * the central directory. */
static enum gate_err cross_check(struct gate_zip *z, uint64_t cd_off, struct gate_error *err)
{
	struct gate_zip_entry **v = calloc(z->n ? z->n : 1, sizeof(*v));
	enum gate_err rc = GATE_OK;
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
	for (size_t i = 0; i < z->n; i++)
		v[i] = &z->e[i];
	qsort(v, z->n, sizeof(*v), cmp_name);
	for (size_t i = 1; i < z->n && rc == GATE_OK; i++)
		if (strcmp(v[i]->name, v[i - 1]->name) == 0)
			rc = ZFAIL(err, "duplicate entry name '%s'", v[i]->name);
	qsort(v, z->n, sizeof(*v), cmp_off);
	for (size_t i = 0; i < z->n && rc == GATE_OK; i++) {
		uint64_t end = v[i]->data_off + v[i]->csize;
		uint64_t next = i + 1 < z->n ? v[i + 1]->local_off : cd_off;
		if (end > next)
			rc = ZFAIL(err,
				   "entry '%s' overlaps the next entry or the central directory",
				   v[i]->name);
	}
	free(v);
	return rc;
}

static enum gate_err local_header(struct gate_zip *z, struct gate_zip_entry *e, uint64_t cd_off,
				  struct gate_error *err)
{
	uint8_t h[ZIP_LFH];
	size_t nl = strlen(e->name);
	if (e->local_off + ZIP_LFH > cd_off || !gate_pread_full(z->fd, h, ZIP_LFH, e->local_off) ||
	    memcmp(h, "PK\x03\x04", 4) != 0)
		return ZFAIL(err, "entry '%s': no local header at offset %llu", e->name,
			     (unsigned long long)e->local_off);
	if (le16(h + 8) != e->method || (le16(h + 6) & 1) || le16(h + 26) != nl)
		return ZFAIL(err, "entry '%s': local header disagrees with the central directory",
			     e->name);
	char name[GATE_ZIP_MAX_NAME];
	if (e->local_off + ZIP_LFH + nl > cd_off ||
	    !gate_pread_full(z->fd, name, nl, e->local_off + ZIP_LFH) ||
	    memcmp(name, e->name, nl) != 0)
		return ZFAIL(err, "entry '%s': local header names another file", e->name);
	e->data_off = e->local_off + ZIP_LFH + nl + le16(h + 28);
	if (e->data_off > cd_off || e->csize > cd_off - e->data_off)
		return ZFAIL(err, "entry '%s': data runs into the central directory", e->name);
	return GATE_OK;
}

static enum gate_err parse_cd(struct gate_zip *z, const uint8_t *cd, size_t cdlen, size_t count,
			      uint64_t cd_off, struct gate_error *err)
{
	struct gate_rd r = {cd, cdlen};
	for (size_t i = 0; i < count; i++) {
		const uint8_t *h, *name, *skip;
		if (!gate_rd_bytes(&r, ZIP_CDH, &h) || memcmp(h, "PK\x01\x02", 4) != 0)
			return ZFAIL(err, "central directory entry %zu is malformed", i);
		size_t nl = le16(h + 28), xl = le16(h + 30), cl = le16(h + 32);
		if (!gate_rd_bytes(&r, nl, &name) || !gate_rd_bytes(&r, xl + cl, &skip))
			return ZFAIL(err, "central directory entry %zu runs past the directory", i);
		struct gate_zip_entry *e = &z->e[z->n];
		e->flags = (uint16_t)le16(h + 8);
		e->method = (uint16_t)le16(h + 10);
		e->crc = le32(h + 16);
		e->csize = le32(h + 20);
		e->usize = le32(h + 24);
		e->local_off = le32(h + 42);
		if (nl == 0 || nl >= GATE_ZIP_MAX_NAME || memchr(name, 0, nl))
			return ZFAIL(err, "central directory entry %zu has a bad name", i);
		if (!(e->name = strndup((const char *)name, nl)))
			return gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
		z->n++;
		if (e->flags & 0x41)
			return gate_fail(err, GATE_E_UNSUPPORTED, "C12", ZIP_FIELD,
					 "entry '%s' is encrypted", e->name);
		if (e->method != 0 && e->method != 8)
			return gate_fail(err, GATE_E_UNSUPPORTED, "C12", ZIP_FIELD,
					 "entry '%s' uses compression method %u", e->name,
					 e->method);
		if (e->csize == 0xffffffffu || e->usize == 0xffffffffu ||
		    e->local_off == 0xffffffffu || le16(h + 34) != 0)
			return gate_fail(err, GATE_E_UNSUPPORTED, "C12", ZIP_FIELD,
					 "entry '%s' needs ZIP64 or another disk", e->name);
		if (e->method == 0 && e->csize != e->usize)
			return ZFAIL(err, "stored entry '%s' has two sizes", e->name);
		enum gate_err rc = local_header(z, e, cd_off, err);
		if (rc != GATE_OK)
			return rc;
	}
	if (r.n != 0)
		return ZFAIL(err, "%zu bytes after the central directory entries", r.n);
	return cross_check(z, cd_off, err);
}

enum gate_err gate_zip_open(int fd, struct gate_zip *z, struct gate_error *err)
{
	uint8_t rec[ZIP_EOCD] = {0};
	uint64_t eocd = 0;
	uint8_t *cd = NULL;
	enum gate_err rc;
	memset(z, 0, sizeof(*z));
	z->fd = fd;
	pthread_once(&crc_once, crc_init);
	if (!gate_fd_size(fd, &z->size))
		return gate_fail(err, GATE_E_IO, "C1", ZIP_FIELD, "not a readable regular file");
	if ((rc = find_eocd(fd, z->size, &eocd, rec, err)) != GATE_OK)
		return rc;
	size_t count = le16(rec + 10);
	uint64_t cd_size = le32(rec + 12), cd_off = le32(rec + 16);
	if (le16(rec + 4) != 0 || le16(rec + 6) != 0 || le16(rec + 8) != count)
		return gate_fail(err, GATE_E_UNSUPPORTED, "C12", ZIP_FIELD, "multi-disk archive");
	if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
		return gate_fail(err, GATE_E_UNSUPPORTED, "C12", ZIP_FIELD,
				 "ZIP64 is not supported");
	if (cd_off + cd_size != eocd)
		return ZFAIL(err,
			     "central directory (%llu bytes at %llu) does not end at the end "
			     "record (%llu)",
			     (unsigned long long)cd_size, (unsigned long long)cd_off,
			     (unsigned long long)eocd);
	if (count > GATE_ZIP_MAX_ENTRIES || cd_size > ZIP_MAX_CD ||
	    cd_size < (uint64_t)count * ZIP_CDH)
		return ZFAIL(err, "%zu entries in a %llu-byte central directory", count,
			     (unsigned long long)cd_size);
	if (!(cd = malloc(cd_size ? (size_t)cd_size : 1)) ||
	    !(z->e = calloc(count ? count : 1, sizeof(*z->e)))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
		goto out;
	}
	if (!gate_pread_full(fd, cd, (size_t)cd_size, cd_off)) {
		rc = gate_fail(err, GATE_E_IO, "C1", ZIP_FIELD,
			       "cannot read the central directory");
		goto out;
	}
	rc = parse_cd(z, cd, (size_t)cd_size, count, cd_off, err);
out:
	free(cd);
	if (rc != GATE_OK)
		gate_zip_close(z);
	return rc;
}

void gate_zip_close(struct gate_zip *z)
{
	for (size_t i = 0; z->e && i < z->n; i++)
		free(z->e[i].name);
	free(z->e);
	z->e = NULL;
	z->n = 0;
}

long gate_zip_find(const struct gate_zip *z, const char *name)
{
	for (size_t i = 0; i < z->n; i++)
		if (strcmp(z->e[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* ---- entry data ---- */

struct src {
	int fd;
	uint64_t off, end;
	uint8_t buf[ZIP_CHUNK];
};

static la_ssize_t src_read(struct archive *a, void *ud, const void **out)
{
	struct src *s = ud;
	size_t want = s->end - s->off < ZIP_CHUNK ? (size_t)(s->end - s->off) : ZIP_CHUNK;
	(void)a;
	if (want == 0)
		return 0;
	ssize_t r;
	do
		r = pread(s->fd, s->buf, want, (off_t)s->off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	s->off += (uint64_t)r;
	*out = s->buf;
	return r;
}

/* Bytes go to the sink up to the entry's declared size, never past it:
 * an entry that inflates to more is stopped at the first chunk over
 * (C12), not inflated to its real size before the sizes are compared. */
struct acc {
	gate_zip_sink sink;
	void *ctx;
	uint64_t got, limit;
	uint32_t crc;
	bool overrun, aborted;
};

static bool feed(struct acc *a, const uint8_t *p, size_t n)
{
	if (n > a->limit - a->got) {
		a->overrun = true;
		return false;
	}
	a->got += n;
	a->crc = crc32_update(a->crc, p, n);
	if (n && !a->sink(a->ctx, p, n)) {
		a->aborted = true;
		return false;
	}
	return true;
}

static enum gate_err read_stored(const struct gate_zip *z, const struct gate_zip_entry *e,
				 struct acc *a, struct gate_error *err)
{
	uint8_t *buf = malloc(ZIP_CHUNK);
	uint64_t off = e->data_off, end = e->data_off + e->csize;
	if (!buf)
		return gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
	while (off < end) {
		size_t n = end - off < ZIP_CHUNK ? (size_t)(end - off) : ZIP_CHUNK;
		if (!gate_pread_full(z->fd, buf, n, off)) {
			free(buf);
			return gate_fail(err, GATE_E_IO, "C1", ZIP_FIELD, "cannot read '%s'",
					 e->name);
		}
		if (!feed(a, buf, n))
			break;
		off += n;
	}
	free(buf);
	return GATE_OK;
}

/* libarchive reads the entry from its local header, over exactly the
 * bytes up to the next entry (or the central directory): it cannot wander
 * into another entry's data. */
static enum gate_err read_deflated(const struct gate_zip *z, const struct gate_zip_entry *e,
				   struct acc *a, struct gate_error *err)
{
	struct src *s = malloc(sizeof(*s));
	struct archive *ar = archive_read_new();
	struct archive_entry *ae = NULL;
	enum gate_err rc = GATE_OK;
	uint8_t *buf = malloc(ZIP_CHUNK);
	if (!s || !ar || !buf) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
		goto out;
	}
	s->fd = z->fd;
	s->off = e->local_off;
	/* The data, then a data descriptor: libarchive reads 24 bytes there
	 * (the ZIP64 size) even when the descriptor is 16. */
	s->end = e->data_off + e->csize + ((e->flags & 8) ? 24 : 0);
	if (s->end > z->size)
		s->end = z->size;
	if (archive_read_support_format_zip_streamable(ar) != ARCHIVE_OK ||
	    archive_read_open(ar, s, NULL, src_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(ar, &ae) != ARCHIVE_OK) {
		rc = ZFAIL(err, "entry '%s': %s", e->name,
			   archive_error_string(ar) ? archive_error_string(ar) : "unreadable");
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(ar, buf, ZIP_CHUNK);
		if (n == 0)
			break;
		if (n < 0) {
			rc = ZFAIL(err, "entry '%s': %s", e->name,
				   archive_error_string(ar) ? archive_error_string(ar)
							    : "corrupt data");
			goto out;
		}
		if (!feed(a, buf, (size_t)n))
			break;
	}
out:
	if (ar)
		archive_read_free(ar);
	free(buf);
	free(s);
	return rc;
}

enum gate_err gate_zip_read(const struct gate_zip *z, size_t i, uint64_t cap, gate_zip_sink sink,
			    void *ctx, struct gate_error *err)
{
	const struct gate_zip_entry *e = &z->e[i];
	if (e->usize > cap)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", ZIP_FIELD,
				 "entry '%s' is %llu bytes, over the %llu-byte limit", e->name,
				 (unsigned long long)e->usize, (unsigned long long)cap);
	struct acc a = {.sink = sink, .ctx = ctx, .limit = e->usize};
	enum gate_err rc =
		e->method == 0 ? read_stored(z, e, &a, err) : read_deflated(z, e, &a, err);
	if (rc != GATE_OK)
		return rc;
	if (a.overrun)
		return ZFAIL(err, "entry '%s' inflates to more than its declared %llu bytes",
			     e->name, (unsigned long long)e->usize);
	if (a.aborted)
		return gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "entry '%s' could not be kept",
				 e->name);
	if (a.got != e->usize || a.crc != e->crc)
		return ZFAIL(err, "entry '%s': size or CRC-32 differs from the central directory",
			     e->name);
	return GATE_OK;
}

struct mem {
	uint8_t *p;
	size_t n, cap;
};

static bool mem_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct mem *m = ctx;
	if (n > m->cap - m->n)
		return false;
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return true;
}

enum gate_err gate_zip_read_mem(const struct gate_zip *z, size_t i, size_t cap, uint8_t **out,
				size_t *len, struct gate_error *err)
{
	const struct gate_zip_entry *e = &z->e[i];
	if (e->usize > cap)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", ZIP_FIELD,
				 "entry '%s' is %llu bytes, over the %zu-byte limit", e->name,
				 (unsigned long long)e->usize, cap);
	struct mem m = {.p = malloc((size_t)e->usize + 1), .cap = (size_t)e->usize};
	if (!m.p)
		return gate_fail(err, GATE_E_NOMEM, NULL, ZIP_FIELD, "out of memory");
	enum gate_err rc = gate_zip_read(z, i, e->usize, mem_sink, &m, err);
	if (rc != GATE_OK) {
		free(m.p);
		return rc;
	}
	m.p[m.n] = 0;
	*out = m.p;
	*len = m.n;
	return GATE_OK;
}
