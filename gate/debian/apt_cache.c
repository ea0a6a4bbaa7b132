/* apt_cache.c - the files of a lists dir as apt-origin evidence reads
 * them (apt_origin_int.h): opened as regular files, read under a cap,
 * decompressed, and kept by file identity (device, inode, size, mtime) in
 * two process-wide caches under one lock: Releases verified by gpgv
 * against a keyring and parsed, and Packages indexes hashed and parsed. A
 * failure is cached too, until a file changes. */
#include "apt_origin_int.h"
#include "gate_util.h"

#include "lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ---- */

static void fid_of(const struct stat *st, struct fid *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

static bool fid_eq(const struct fid *a, const struct fid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static enum gate_err open_regular(const char *path, int *fd, struct fid *id, struct gate_error *err)
{
	struct stat st;
	/* Links are followed: apt keeps the lists of file: sources as links
	 * to the archive, and what is read is checked against the signed
	 * InRelease (or is the InRelease, checked by gpgv) wherever it is. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: %s", path, strerror(errno));
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: not a regular file", path);
	}
	fid_of(&st, id);
	return GATE_OK;
}

static enum gate_err read_fd(int fd, size_t cap, uint8_t **out, size_t *len, const char *path,
			     struct gate_error *err)
{
	size_t n = 0, sz = 65536;
	uint8_t *b = malloc(sz);
	if (!b)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (;;) {
		if (n == sz) {
			if (sz > cap) {
				free(b);
				return gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
						 "%s: over %zu bytes", path, cap);
			}
			uint8_t *nb = realloc(b, sz * 2);
			if (!nb) {
				free(b);
				return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			}
			b = nb;
			sz *= 2;
		}
		ssize_t r = read(fd, b + n, sz - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: %s", path,
					 strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > cap) {
		free(b);
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "%s: over %zu bytes", path,
				 cap);
	}
	*out = b;
	*len = n;
	return GATE_OK;
}

bool gate_apt_ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);
	return sl > xl && strcmp(s + sl - xl, suffix) == 0;
}

/* .gz / .xz (as in the archive) and .lz4 / .zst (apt's own recompressed
 * copies, Acquire::GzipIndexes) through libarchive's raw format; plain data
 * as is. */
static enum gate_err decompress(const char *path, uint8_t *in, size_t inlen, uint8_t **out,
				size_t *outlen, struct gate_error *err)
{
	if (!gate_apt_ends_with(path, ".gz") && !gate_apt_ends_with(path, ".xz") &&
	    !gate_apt_ends_with(path, ".lz4") && !gate_apt_ends_with(path, ".zst")) {
		*out = in;
		*outlen = inlen;
		return GATE_OK;
	}
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	enum gate_err rc = GATE_OK;
	size_t n = 0, sz = 1u << 20;
	uint8_t *b = malloc(sz);
	if (!a || !b) {
		archive_read_free(a);
		free(b);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, in, inlen) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		rc = gate_fail(err, GATE_E_PARSE, NULL, NULL, "%s: cannot decompress", path);
		goto out;
	}
	for (;;) {
		if (n == sz) {
			if (sz >= GATE_APT_MAX_INDEX) {
				rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
					       "%s: over %u bytes decompressed", path,
					       GATE_APT_MAX_INDEX);
				goto out;
			}
			uint8_t *nb = realloc(b, sz * 2);
			if (!nb) {
				rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
				goto out;
			}
			b = nb;
			sz *= 2;
		}
		la_ssize_t r = archive_read_data(a, b + n, sz - n);
		if (r < 0) {
			rc = gate_fail(err, GATE_E_PARSE, NULL, NULL, "%s: cannot decompress: %s",
				       path, archive_error_string(a));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
out:
	archive_read_free(a);
	if (rc != GATE_OK) {
		free(b);
		return rc;
	}
	free(in);
	*out = b;
	*outlen = n;
	return GATE_OK;
}

/* ---- caches (one lock; entries live as long as the process) ---- */

#define CACHE_MAX 1024

pthread_mutex_t gate_apt_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rel_ent rel_cache[CACHE_MAX];
static size_t nrel;
static struct idx_ent idx_cache[CACHE_MAX];
static size_t nidx;

static enum gate_err keyring_id(const char *keyring, struct fid *id, struct gate_error *err)
{
	struct stat st;
	if (stat(keyring, &st) != 0)
		return gate_fail(err, GATE_E_KEY, NULL, NULL, "keyring %s: %s", keyring,
				 strerror(errno));
	fid_of(&st, id);
	return GATE_OK;
}

/* A sealed in-memory file holding b: what gpgv reads are the bytes read. */
static int mem_file(const char *name, const void *b, size_t n, struct gate_error *err)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		gate_fail(err, GATE_E_IO, NULL, NULL, "memfd_create: %s", strerror(errno));
		return -1;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (const uint8_t *)b + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			gate_fail(err, GATE_E_IO, NULL, NULL, "memfd: %s",
				  w < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

/* Verify and parse the InRelease open as fd: the signed text gpgv writes. */
static enum gate_err load_inrelease(struct rel_ent *e, int fd, struct gate_error *le)
{
	char *text = NULL;
	size_t tl = 0;
	enum gate_err rc =
		gate_apt_run_verifier(GATE_APT_GPGV, GATE_APT_GPGV_TIMEOUT_MS, e->keyring, fd, -1,
				      e->path, &text, &tl, e->fpr, le);
	if (rc == GATE_OK)
		rc = gate_apt_parse_release(text, tl, &e->rel, le);
	free(text);
	return rc;
}

/* Verify and parse the Release open as fd with its detached signature
 * open as sfd (sigpath): both are read once, gpgv gets those bytes, and
 * the same in-memory copy of the Release is what is parsed. */
static enum gate_err load_release(struct rel_ent *e, int fd, int sfd, const char *sigpath,
				  struct gate_error *le)
{
	uint8_t *rb = NULL, *sb = NULL;
	size_t rl = 0, sl = 0;
	int mfd = -1, msfd = -1;
	enum gate_err rc = read_fd(fd, GATE_APT_MAX_RELEASE, &rb, &rl, e->path, le);
	if (rc == GATE_OK)
		rc = read_fd(sfd, GATE_APT_MAX_SIG, &sb, &sl, sigpath, le);
	if (rc == GATE_OK && ((mfd = mem_file("Release", rb, rl, le)) < 0 ||
			      (msfd = mem_file("Release.gpg", sb, sl, le)) < 0))
		rc = le->code;
	if (rc == GATE_OK)
		rc = gate_apt_run_verifier(GATE_APT_GPGV, GATE_APT_GPGV_TIMEOUT_MS, e->keyring, mfd,
					   msfd, sigpath, NULL, NULL, e->fpr, le);
	if (rc == GATE_OK)
		rc = gate_apt_parse_release((const char *)rb, rl, &e->rel, le);
	if (mfd >= 0)
		close(mfd);
	if (msfd >= 0)
		close(msfd);
	free(rb);
	free(sb);
	return rc;
}

/* The verified Release at path: an InRelease, or (detached) a Release
 * with path.gpg beside it. Cached by the identity of the files and of the
 * keyring; a failure is cached too. */
const struct rel_ent *gate_apt_get_release(const char *path, bool detached, const char *keyring,
					   struct gate_error *err)
{
	struct fid id, sid = {0}, kid;
	int fd, sfd = -1;
	char sigpath[4096];
	struct rel_ent *e = NULL;
	if (keyring_id(keyring, &kid, err) != GATE_OK)
		return NULL;
	if (detached) {
		int w = snprintf(sigpath, sizeof sigpath, "%s.gpg", path);
		if (w < 0 || (size_t)w >= sizeof sigpath) {
			gate_fail(err, GATE_E_IO, NULL, NULL, "%.200s: name too long", path);
			return NULL;
		}
		if (access(sigpath, F_OK) != 0 && errno == ENOENT) {
			gate_fail(err, GATE_E_SIGNATURE, NULL, NULL,
				  "%s is not signed: no InRelease and no Release.gpg beside it",
				  path);
			return NULL;
		}
		if (open_regular(sigpath, &sfd, &sid, err) != GATE_OK)
			return NULL;
	}
	if (open_regular(path, &fd, &id, err) != GATE_OK) {
		if (sfd >= 0)
			close(sfd);
		return NULL;
	}
	for (size_t i = 0; i < nrel; i++)
		if (strcmp(rel_cache[i].path, path) == 0 &&
		    strcmp(rel_cache[i].keyring, keyring) == 0)
			e = &rel_cache[i];
	if (e && e->detached == detached && fid_eq(&e->id, &id) && fid_eq(&e->sid, &sid) &&
	    fid_eq(&e->kid, &kid))
		goto done;
	if (!e) {
		if (nrel == CACHE_MAX) {
			gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "more than %d Release files",
				  CACHE_MAX);
			e = NULL;
			goto fail;
		}
		e = &rel_cache[nrel];
		if (!(e->path = strdup(path)) || !(e->keyring = strdup(keyring))) {
			free(e->path);
			e->path = NULL;
			gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			goto fail;
		}
		nrel++;
	} else {
		gate_apt_release_clear(&e->rel);
	}
	e->id = id;
	e->sid = sid;
	e->kid = kid;
	e->detached = detached;
	struct gate_error le = {0};
	e->rc = detached ? load_release(e, fd, sfd, sigpath, &le) : load_inrelease(e, fd, &le);
	if (e->rc != GATE_OK && le.field[0]) {
		/* a parse error: name the file */
		char m[sizeof le.msg];
		snprintf(m, sizeof m, "%s", le.msg);
		snprintf(le.msg, sizeof le.msg, "%.120s: %.60s: %.120s", path, le.field, m);
	}
	snprintf(e->msg, sizeof e->msg, "%s", e->rc == GATE_OK ? "" : le.msg);
	if (e->rc != GATE_OK)
		e->fpr[0] = '\0';
done:
	close(fd);
	if (sfd >= 0)
		close(sfd);
	if (e->rc != GATE_OK) {
		gate_fail(err, e->rc, NULL, NULL, "%s", e->msg);
		return NULL;
	}
	return e;
fail:
	close(fd);
	if (sfd >= 0)
		close(sfd);
	return NULL;
}

const struct idx_ent *gate_apt_get_index(const char *path, struct gate_error *err)
{
	struct fid id;
	int fd;
	struct idx_ent *e = NULL;
	if (open_regular(path, &fd, &id, err) != GATE_OK)
		return NULL;
	for (size_t i = 0; i < nidx; i++)
		if (strcmp(idx_cache[i].path, path) == 0)
			e = &idx_cache[i];
	if (e && fid_eq(&e->id, &id)) {
		close(fd);
		goto done;
	}
	if (!e) {
		if (nidx == CACHE_MAX) {
			close(fd);
			gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "more than %d Packages files",
				  CACHE_MAX);
			return NULL;
		}
		e = &idx_cache[nidx];
		if (!(e->path = strdup(path))) {
			close(fd);
			gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			return NULL;
		}
		nidx++;
	} else {
		gate_apt_index_clear(&e->ix);
	}
	e->id = id;
	struct gate_error le = {0};
	uint8_t *raw = NULL, *plain = NULL;
	size_t rawlen = 0, plainlen = 0;
	e->rc = read_fd(fd, GATE_APT_MAX_INDEX, &raw, &rawlen, path, &le);
	close(fd);
	if (e->rc == GATE_OK) {
		gate_sha256(raw, rawlen, e->sha256);
		e->size = rawlen;
		e->rc = decompress(path, raw, rawlen, &plain, &plainlen, &le);
		if (e->rc == GATE_OK) {
			gate_sha256(plain, plainlen, e->plain_sha256);
			e->plain_size = plainlen;
			e->rc = gate_apt_parse_packages((const char *)plain, plainlen, &e->ix, &le);
			free(plain);
		} else {
			free(raw);
		}
	}
	snprintf(e->msg, sizeof e->msg, "%s", e->rc == GATE_OK ? "" : le.msg);
done:
	if (e->rc != GATE_OK) {
		gate_fail(err, e->rc, NULL, NULL, "%s", e->msg);
		return NULL;
	}
	return e;
}
