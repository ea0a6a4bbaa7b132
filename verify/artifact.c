/* artifact.c - what is being verified: a file streamed through the hash, or
 * only a digest. Files are never read whole into memory. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum gate_err open_regular(const char *path, int *fd_out, uint64_t *size,
				  struct gate_error *err)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, "artifact", "cannot open %s: %s", path,
				 strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gate_fail(err, GATE_E_IO, NULL, "artifact", "%s is not a regular file",
				 path);
	}
	*fd_out = fd;
	*size = (uint64_t)st.st_size;
	return GATE_OK;
}

/* Stream fd from offset 0 through ctx, and ctx2 when non-NULL, in one
 * read (pread: the fd's offset is left alone, so one descriptor serves
 * every pass); cancel (may be NULL) can stop it between chunks. */
static enum gate_err stream_fd(int fd, EVP_MD_CTX *ctx, EVP_MD_CTX *ctx2, const char *path,
			       const struct gate_cancel *cancel, uint64_t *total,
			       struct gate_error *err)
{
	uint64_t n = 0;
	int e = 0;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	enum gate_hash_rc rc = gate_hash_fd2(fd, ctx, ctx2, 0, UINT64_MAX, cancel, &n, &e);
	if (total)
		*total = n;
	switch (rc) {
	case GATE_HASH_OK:
		return GATE_OK;
	case GATE_HASH_READ:
		return gate_fail(err, GATE_E_IO, NULL, "artifact", "read %s: %s", path,
				 strerror(e));
	case GATE_HASH_NOMEM:
		return gate_fail(err, GATE_E_NOMEM, NULL, "artifact", "out of memory");
	case GATE_HASH_CANCELLED:
		return gate_fail(err, GATE_E_IO, NULL, "artifact",
				 "hashing %s cancelled after %llu bytes", path,
				 (unsigned long long)n);
	default:
		return gate_fail(err, GATE_E_INTERNAL, NULL, "artifact", "digest failed");
	}
}

/* The digest under md of the file, and when sha256 is non-NULL its SHA-256
 * from the same read. */
static enum gate_err digest_fd(int fd, const char *path, const EVP_MD *md,
			       const struct gate_cancel *cancel, uint8_t *out, size_t *outlen,
			       uint64_t *size, uint8_t sha256[32], struct gate_error *err)
{
	enum gate_err rc;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *ctx2 = sha256 ? EVP_MD_CTX_new() : NULL;
	unsigned int len = 0, len2 = 0;
	if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    (sha256 && (!ctx2 || EVP_DigestInit_ex(ctx2, EVP_sha256(), NULL) != 1))) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, "artifact", "digest init failed");
		goto out;
	}
	if ((rc = stream_fd(fd, ctx, ctx2, path, cancel, size, err)) != GATE_OK)
		goto out;
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 ||
	    (ctx2 && EVP_DigestFinal_ex(ctx2, sha256, &len2) != 1)) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, "artifact", "digest failed");
		goto out;
	}
	*outlen = len;
out:
	EVP_MD_CTX_free(ctx);
	EVP_MD_CTX_free(ctx2);
	return rc;
}

/* One read decides: every later pass over the file (another hash, the
 * Ed25519 message) computes the SHA-256 of what it read too, and when that
 * is not the artifact's SHA-256 from the first pass the file changed while
 * it was verified, and the verification is refused rather than report one
 * content's digest for another's signature. */
static enum gate_err changed(const struct gate_artifact *a, struct gate_error *err)
{
	char hex[65];
	gate_hex_encode(a->sha256, 32, hex);
	return gate_fail(err, GATE_E_IO, NULL, "artifact",
			 "%s changed while it was verified (its content is no longer the one "
			 "with SHA-256 %s): refused",
			 a->path, hex);
}

bool gate_artifact_unchanged(const struct gate_artifact *a)
{
	struct stat st;
	if (a->fd < 0)
		return true;
	return fstat(a->fd, &st) == 0 && (uint64_t)st.st_dev == a->dev &&
	       (uint64_t)st.st_ino == a->ino && (uint64_t)st.st_size == a->size &&
	       (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == a->mtime_ns &&
	       (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec == a->ctime_ns;
}

/* Takes ownership of fd (a regular file). */
static enum gate_err artifact_from_owned_fd(int fd, const char *path,
					    const struct gate_cancel *cancel,
					    struct gate_artifact **out, struct gate_error *err)
{
	struct gate_artifact *a = calloc(1, sizeof(*a));
	size_t len;
	enum gate_err rc;
	if (!a || !(a->path = strdup(path ? path : "(descriptor)"))) {
		free(a);
		close(fd);
		return gate_fail(err, GATE_E_NOMEM, NULL, "artifact", "out of memory");
	}
	a->fd = fd;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		a->dev = (uint64_t)st.st_dev;
		a->ino = (uint64_t)st.st_ino;
		a->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		a->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	}
	rc = digest_fd(fd, a->path, EVP_sha256(), cancel, a->sha256, &len, &a->size, NULL, err);
	if (rc != GATE_OK) {
		gate_artifact_free(a);
		return rc;
	}
	*out = a;
	return GATE_OK;
}

enum gate_err gate_artifact_open(const char *path, struct gate_artifact **out,
				 struct gate_error *err)
{
	int fd = -1;
	uint64_t size;
	enum gate_err rc = open_regular(path, &fd, &size, err);
	if (rc != GATE_OK)
		return rc;
	return artifact_from_owned_fd(fd, path, NULL, out, err);
}

enum gate_err gate_artifact_from_fd(int fd, const char *path, struct gate_artifact **out,
				    struct gate_error *err)
{
	return gate_artifact_from_fd_cancel(fd, path, NULL, out, err);
}

enum gate_err gate_artifact_from_fd_cancel(int fd, const char *path,
					   const struct gate_cancel *cancel,
					   struct gate_artifact **out, struct gate_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return gate_fail(err, GATE_E_IO, NULL, "artifact", "%s is not a regular file",
				 path ? path : "descriptor");
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return gate_fail(err, GATE_E_IO, NULL, "artifact",
				 "cannot duplicate descriptor: %s", strerror(errno));
	return artifact_from_owned_fd(dfd, path, cancel, out, err);
}

enum gate_err gate_artifact_from_digest(const char *spec, struct gate_artifact **out,
					struct gate_error *err)
{
	if (strncmp(spec, "sha256:", 7) != 0)
		return gate_fail(err, GATE_E_USAGE, NULL, "artifact",
				 "digest must be written sha256:<64 hex digits>");
	struct gate_artifact *a = calloc(1, sizeof(*a));
	if (!a)
		return gate_fail(err, GATE_E_NOMEM, NULL, "artifact", "out of memory");
	if (!gate_hex_decode(spec + 7, strlen(spec + 7), a->sha256, 32)) {
		free(a);
		return gate_fail(err, GATE_E_USAGE, NULL, "artifact",
				 "sha256 digest must be exactly 64 hex digits (got %zu characters)",
				 strlen(spec + 7));
	}
	a->digest_only = true;
	a->fd = -1;
	*out = a;
	return GATE_OK;
}

void gate_artifact_sha256_hex(const struct gate_artifact *a, char hex[65])
{
	gate_hex_encode(a->sha256, 32, hex);
}

const uint8_t *gate_artifact_sha256(const struct gate_artifact *a)
{
	return a->sha256;
}

uint64_t gate_artifact_size(const struct gate_artifact *a)
{
	return a->size;
}

void gate_artifact_free(struct gate_artifact *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a);
}

enum gate_err gate_artifact_digest(const struct gate_artifact *a, const EVP_MD *md, uint8_t *out,
				   size_t *outlen, struct gate_error *err)
{
	if (EVP_MD_is_a(md, "SHA256")) {
		memcpy(out, a->sha256, 32);
		*outlen = 32;
		return GATE_OK;
	}
	if (a->digest_only)
		return gate_fail(err, GATE_E_UNSUPPORTED, "S17", "artifact",
				 "only a SHA-256 digest was given; this signature needs %s",
				 EVP_MD_get0_name(md));
	uint8_t again[32];
	uint64_t size = 0;
	enum gate_err rc = digest_fd(a->fd, a->path, md, NULL, out, outlen, &size, again, err);
	if (rc == GATE_OK && (size != a->size || memcmp(again, a->sha256, 32) != 0))
		return changed(a, err);
	return rc;
}

/* Ed25519 signs the message itself, not a digest: the file is read once
 * into memory (at most GATE_MAX_ED25519_ARTIFACT bytes) and hashed as it
 * is read, so the bytes the signature is checked over are the bytes whose
 * SHA-256 is reported, or the file changed and the check is refused. A
 * mapping would be read twice (by the hash, then by the verify), and a
 * writer could change the pages in between. */
static enum gate_err verify_read(const struct gate_artifact *a, EVP_PKEY *key, enum gate_keyalg alg,
				 const uint8_t *sig, size_t siglen, struct gate_error *err)
{
	if (a->size > GATE_MAX_ED25519_ARTIFACT)
		return gate_fail(err, GATE_E_TOO_LARGE, "S17", "artifact",
				 "%s has %llu bytes: Ed25519 signs the whole file, and gate reads "
				 "at most %llu bytes of it to verify",
				 a->path, (unsigned long long)a->size,
				 (unsigned long long)GATE_MAX_ED25519_ARTIFACT);
	/* one byte more than expected shows that the file grew */
	size_t cap = (size_t)a->size + 1, got = 0;
	uint8_t *buf = malloc(cap), d[32];
	enum gate_err rc = GATE_OK;
	if (!buf)
		return gate_fail(err, GATE_E_NOMEM, NULL, "artifact", "out of memory");
	while (got < cap) {
		ssize_t r = pread(a->fd, buf + got, cap - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = gate_fail(err, GATE_E_IO, NULL, "artifact", "read %s: %s", a->path,
				       strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	gate_sha256(buf, got, d);
	if (got != a->size || memcmp(d, a->sha256, 32) != 0) {
		rc = changed(a, err);
		goto out;
	}
	rc = gate_sig_verify_msg(key, alg, buf, got, sig, siglen);
out:
	free(buf);
	return rc;
}

enum gate_err gate_artifact_verify_sig(const struct gate_artifact *a, EVP_PKEY *key,
				       enum gate_keyalg alg, const uint8_t *sig, size_t siglen,
				       struct gate_error *err)
{
	enum gate_err rc;
	const EVP_MD *md = gate_keyalg_md(alg);
	if (!md) {
		if (a->digest_only)
			return gate_fail(err, GATE_E_UNSUPPORTED, "S17", "artifact",
					 "Ed25519 signs the whole file; a digest is not enough");
		rc = verify_read(a, key, alg, sig, siglen, err);
	} else {
		uint8_t d[EVP_MAX_MD_SIZE];
		size_t dl = 0;
		if ((rc = gate_artifact_digest(a, md, d, &dl, err)) != GATE_OK)
			return rc;
		rc = gate_sig_verify_digest(key, alg, d, dl, sig, siglen);
	}
	if (rc == GATE_E_SIGNATURE)
		return gate_fail(err, GATE_E_SIGNATURE, "S17", "signature",
				 "signature does not verify over the artifact");
	return rc;
}
