/* deb_data.c - data.tar of a .deb (deb_int.h): every entry's path
 * normalised as dpkg installs it, every regular file hashed as it streams
 * by, hard links resolved to the content of an earlier regular file, and
 * the whole sorted into the ledger's files with duplicate paths refused.
 * Directories, symlinks and devices are passed over. */
#include "deb_int.h"
#include "gate_util.h"

#include "lazy_archive.h"
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define DEB_MAX_PATH 4096 /* one installed path */

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
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: data.tar: a path is longer than %u", d->path, DEB_MAX_PATH);
	if (len == 0 && !is_dir)
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD,
				 "%s: data.tar: an entry has an empty name", d->path);
	if (p[0] == '/')
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: data.tar: absolute path '%s'",
				 d->path, raw);
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
			rc = gate_deb_fail_archive(d, a, "data.tar", err);
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

enum gate_err gate_deb_read_data_tar(struct deb *d, const char *ext, struct gate_error *err)
{
	struct nest n;
	struct archive *a = NULL;
	struct archive_entry *e;
	int filter;
	enum gate_err rc = gate_deb_open_nested(d, ext, &n, &a, &filter, err);
	while (rc == GATE_OK) {
		if ((rc = gate_deb_next_tar_entry(d, a, filter, "data.tar", &e, err)) != GATE_OK ||
		    !e)
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
enum gate_err gate_deb_build_files(struct deb *d, struct gate_error *err)
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
			return gate_fail(
				err, GATE_E_PARSE, NULL, FIELD,
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
