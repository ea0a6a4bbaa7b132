/* sign.c - self-managed keys, fully offline: key pairs, and signatures in
 * the shapes that `gate verify` and cosign read (a Sigstore bundle v0.3
 * with publicKey material, and a detached base64 .sig). */
#include "sign.h"
#include "gate_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A passphrase longer than this is a mistake (a file pasted into the
 * variable), not a secret. */
#define GATE_MAX_PASSPHRASE 1024

struct sign_alg {
	const char *name; /* as `gate keygen --alg` spells it */
	const char *type; /* EVP_PKEY_Q_keygen type */
	const char *curve;
	enum gate_keyalg alg;
	const char *digest_name; /* messageDigest.algorithm in the bundle */
};

/* The bundle's messageDigest uses the signature's own hash where there is
 * one, so that S17 checks exactly what was signed; Ed25519 has none, and
 * gets SHA2_256 (what verifiers and the log index by). */
static const struct sign_alg sign_algs[] = {
	{"ecdsa-p256", "EC", "P-256", GATE_ALG_ECDSA_P256_SHA256, "SHA2_256"},
	{"ecdsa-p384", "EC", "P-384", GATE_ALG_ECDSA_P384_SHA384, "SHA2_384"},
	{"ed25519", "ED25519", NULL, GATE_ALG_ED25519, "SHA2_256"},
};

static const struct sign_alg *alg_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(sign_algs) / sizeof(sign_algs[0]); i++)
		if (strcmp(name, sign_algs[i].name) == 0)
			return &sign_algs[i];
	return NULL;
}

static const struct sign_alg *alg_by_key(enum gate_keyalg alg)
{
	for (size_t i = 0; i < sizeof(sign_algs) / sizeof(sign_algs[0]); i++)
		if (sign_algs[i].alg == alg)
			return &sign_algs[i];
	return NULL;
}

/* gate_fail plus the file the error is about. */
static enum gate_err fail_path(struct gate_error *err, enum gate_err code, const char *path,
			       const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum gate_err fail_path(struct gate_error *err, enum gate_err code, const char *path,
			       const char *field, const char *fmt, ...)
{
	char msg[GATE_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gate_fail(err, code, NULL, field, "%s", msg);
	if (err && path)
		snprintf(err->file, sizeof err->file, "%s", path);
	return code;
}

static enum gate_err nomem(struct gate_error *err)
{
	return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

/* The directory part of path ("." when there is none); malloc'd. */
static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* A rename or a new name is durable only once its directory is synced. */
static void sync_parent(const char *path)
{
	char *dir = parent_dir(path);
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/* ---- keygen ---- */

static enum gate_err check_passphrase(const char *pass, struct gate_error *err)
{
	if (!pass)
		return GATE_OK;
	/* OpenSSL treats an empty passphrase as "none given" and would prompt
	 * on the terminal; a key "encrypted" with nothing protects nothing. */
	if (!*pass)
		return gate_fail(err, GATE_E_USAGE, NULL, "passphrase", "passphrase is empty");
	if (strlen(pass) > GATE_MAX_PASSPHRASE)
		return gate_fail(err, GATE_E_USAGE, NULL, "passphrase",
				 "passphrase is longer than %d bytes", GATE_MAX_PASSPHRASE);
	return GATE_OK;
}

/* O_EXCL|O_NOFOLLOW: an existing file or a planted symlink is an error,
 * never overwritten or followed. */
static enum gate_err create_excl(const char *path, mode_t mode, const char *field, int *out,
				 struct gate_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return errno == EEXIST ? fail_path(err, GATE_E_IO, path, field,
						   "already exists; refusing to overwrite it")
				       : fail_path(err, GATE_E_IO, path, field, "cannot create: %s",
						   strerror(errno));
	/* The mode must not depend on the umask (a 0600 key is 0600). */
	if (fchmod(fd, mode) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return fail_path(err, GATE_E_IO, path, field, "cannot set mode: %s", strerror(e));
	}
	*out = fd;
	return GATE_OK;
}

/* Write the key as PEM straight to fd (no intermediate buffer holds the
 * private key), then fsync. */
static enum gate_err write_key_pem(int fd, EVP_PKEY *pkey, bool priv, const char *pass,
				   const char *path, const char *field, struct gate_error *err)
{
	BIO *bio = BIO_new_fd(fd, BIO_NOCLOSE);
	int ok = 0;
	if (bio && priv)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, pass ? EVP_aes_256_cbc() : NULL, pass,
						   pass ? (int)strlen(pass) : 0, NULL, NULL);
	else if (bio)
		ok = PEM_write_bio_PUBKEY(bio, pkey);
	ok = ok && BIO_flush(bio) == 1;
	BIO_free(bio);
	if (!ok) {
		fail_path(err, GATE_E_IO, path, field, "cannot write the key");
		gate_fail_ssl(err);
		return GATE_E_IO;
	}
	if (fsync(fd) != 0)
		return fail_path(err, GATE_E_IO, path, field, "fsync: %s", strerror(errno));
	return GATE_OK;
}

static EVP_PKEY *generate(const struct sign_alg *a)
{
	return a->curve ? EVP_PKEY_Q_keygen(NULL, NULL, a->type, a->curve)
			: EVP_PKEY_Q_keygen(NULL, NULL, a->type);
}

enum gate_err gate_keygen_write(const char *priv_path, const char *pub_path, const char *alg,
				const char *passphrase, struct gate_error *err)
{
	const struct sign_alg *a = alg_by_name(alg ? alg : GATE_KEYGEN_ALG_DEFAULT);
	EVP_PKEY *pkey = NULL;
	int pfd = -1, qfd = -1;
	bool made_priv = false, made_pub = false;
	enum gate_err rc;
	if (!priv_path || !pub_path || !*priv_path || !*pub_path)
		return gate_fail(err, GATE_E_USAGE, NULL, "keygen", "missing output path");
	if (!a)
		return gate_fail(err, GATE_E_USAGE, NULL, "alg",
				 "unknown algorithm '%s' (ecdsa-p256, ecdsa-p384, ed25519)", alg);
	if (strcmp(priv_path, pub_path) == 0)
		return gate_fail(err, GATE_E_USAGE, NULL, "keygen",
				 "private and public key paths are the same");
	if ((rc = check_passphrase(passphrase, err)) != GATE_OK)
		return rc;
	if (!(pkey = generate(a))) {
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, "keygen", "key generation failed");
		gate_fail_ssl(err);
		goto out;
	}
	if ((rc = create_excl(priv_path, 0600, "private key", &pfd, err)) != GATE_OK)
		goto out;
	made_priv = true;
	if ((rc = create_excl(pub_path, 0644, "public key", &qfd, err)) != GATE_OK)
		goto out;
	made_pub = true;
	if ((rc = write_key_pem(pfd, pkey, true, passphrase, priv_path, "private key", err)) !=
		    GATE_OK ||
	    (rc = write_key_pem(qfd, pkey, false, NULL, pub_path, "public key", err)) != GATE_OK)
		goto out;
	sync_parent(priv_path);
	sync_parent(pub_path);
out:
	if (pfd >= 0)
		close(pfd);
	if (qfd >= 0)
		close(qfd);
	/* Never leave half a key pair behind. */
	if (rc != GATE_OK && made_priv)
		unlink(priv_path);
	if (rc != GATE_OK && made_pub)
		unlink(pub_path);
	EVP_PKEY_free(pkey);
	return rc;
}

/* ---- loading the private key ---- */

struct pass_state {
	const char *pass;
	bool asked; /* the key turned out to be encrypted */
};

/* Supplies the passphrase to OpenSSL; without one it fails instead of
 * letting OpenSSL prompt on the terminal. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_state *ps = u;
	(void)rwflag;
	ps->asked = true;
	if (!ps->pass || size < 0)
		return -1;
	size_t n = strlen(ps->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, ps->pass, n);
	return (int)n;
}

/* Read a small regular file into one exactly-sized buffer, so the key's
 * bytes are never left behind in realloc'd-away memory. */
static enum gate_err read_secret(const char *path, uint8_t **out, size_t *outlen,
				 struct stat *st_out, struct gate_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	enum gate_err rc = GATE_E_IO;
	if (fd < 0)
		return fail_path(err, GATE_E_IO, path, "key", "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fail_path(err, GATE_E_IO, path, "key", "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > GATE_MAX_SMALL_FILE) {
		rc = fail_path(err, GATE_E_TOO_LARGE, path, "key", "over the %u-byte limit",
			       GATE_MAX_SMALL_FILE);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = nomem(err);
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail_path(err, GATE_E_IO, path, "key", "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*out = buf;
	*outlen = n;
	*st_out = st;
	buf = NULL;
	rc = GATE_OK;
out:
	if (buf) {
		explicit_bzero(buf, n);
		free(buf);
	}
	close(fd);
	return rc;
}

/* *st receives the key file's identity, so that no output replaces it. */
static enum gate_err load_private_key(const char *path, const char *pass, EVP_PKEY **out,
				      struct stat *st, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct pass_state ps = {.pass = pass};
	EVP_PKEY *pkey = NULL;
	enum gate_err rc = read_secret(path, &buf, &len, st, err);
	if (rc != GATE_OK)
		return rc;
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(buf, (int)len) : NULL;
	if (bio)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &ps);
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	ERR_clear_error();
	if (!pkey) {
		if (ps.asked && !pass)
			return fail_path(err, GATE_E_USAGE, path, "key",
					 "the private key is encrypted: give its passphrase");
		if (ps.asked)
			return fail_path(err, GATE_E_KEY, path, "key",
					 "wrong passphrase (or a damaged key): cannot decrypt");
		return fail_path(err, GATE_E_PARSE, path, "key", "not a PEM private key");
	}
	if (!alg_by_key(gate_keyalg_default(pkey))) {
		EVP_PKEY_free(pkey);
		return fail_path(err, GATE_E_UNSUPPORTED, path, "key",
				 "key type is not ECDSA P-256, ECDSA P-384 or Ed25519");
	}
	*out = pkey;
	return GATE_OK;
}

/* ---- signing ---- */

static enum gate_err sign_result(enum gate_err rc, struct gate_error *err)
{
	if (rc == GATE_OK)
		return GATE_OK;
	if (rc == GATE_E_NOMEM)
		return nomem(err);
	gate_fail(err, GATE_E_INTERNAL, NULL, "signature", "signing failed");
	gate_fail_ssl(err);
	return GATE_E_INTERNAL;
}

/* ECDSA over a precomputed digest: DER (r, s), as cosign writes it. */
static enum gate_err sign_digest(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *d, size_t dl,
				 uint8_t **sig, size_t *siglen, struct gate_error *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t n = 0;
	enum gate_err rc = GATE_E_INTERNAL;
	if (ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
	    EVP_PKEY_sign(ctx, NULL, &n, d, dl) == 1) {
		if (!(*sig = malloc(n)))
			rc = GATE_E_NOMEM;
		else if (EVP_PKEY_sign(ctx, *sig, &n, d, dl) == 1)
			rc = GATE_OK;
	}
	if (rc == GATE_OK)
		*siglen = n;
	EVP_PKEY_CTX_free(ctx);
	return sign_result(rc, err);
}

/* Ed25519 signs the message itself: map the file, never copy it. */
static enum gate_err sign_mapped(EVP_PKEY *pkey, const struct gate_artifact *a, uint8_t **sig,
				 size_t *siglen, struct gate_error *err)
{
	void *map = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t n = 0;
	enum gate_err rc = GATE_E_INTERNAL;
	if (a->size > SIZE_MAX)
		return fail_path(err, GATE_E_TOO_LARGE, a->path, "artifact", "too large to map");
	if (a->size > 0) {
		map = mmap(NULL, (size_t)a->size, PROT_READ, MAP_PRIVATE, a->fd, 0);
		if (map == MAP_FAILED)
			return fail_path(err, GATE_E_IO, a->path, "artifact", "cannot map: %s",
					 strerror(errno));
	}
	const uint8_t *msg = map ? map : (const uint8_t *)"";
	/* The bundle's messageDigest was streamed earlier: it must be of the
	 * very bytes signed here. */
	uint8_t d[32];
	gate_sha256(msg, (size_t)a->size, d);
	if (memcmp(d, a->sha256, 32) != 0) {
		if (map)
			munmap(map, (size_t)a->size);
		return fail_path(err, GATE_E_IO, a->path, "artifact", "changed while being signed");
	}
	if ((ctx = EVP_MD_CTX_new()) && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestSign(ctx, NULL, &n, msg, (size_t)a->size) == 1) {
		if (!(*sig = malloc(n)))
			rc = GATE_E_NOMEM;
		else if (EVP_DigestSign(ctx, *sig, &n, msg, (size_t)a->size) == 1)
			rc = GATE_OK;
	}
	if (rc == GATE_OK)
		*siglen = n;
	EVP_MD_CTX_free(ctx);
	if (map)
		munmap(map, (size_t)a->size);
	return sign_result(rc, err);
}

/* What one signature produced: the messageDigest and the signature. */
struct signed_art {
	const struct sign_alg *alg;
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t digest_len;
	uint8_t *sig;
	size_t sig_len;
};

static enum gate_err sign_artifact(EVP_PKEY *pkey, const struct gate_artifact *a,
				   struct signed_art *s, struct gate_error *err)
{
	enum gate_keyalg alg = gate_keyalg_default(pkey);
	const EVP_MD *md = gate_keyalg_md(alg);
	enum gate_err rc;
	s->alg = alg_by_key(alg);
	/* S17: the bundle's digest is the signature's hash, else SHA-256. */
	rc = gate_artifact_digest(a, md ? md : EVP_sha256(), s->digest, &s->digest_len, err);
	if (rc != GATE_OK)
		return rc;
	rc = md ? sign_digest(pkey, md, s->digest, s->digest_len, &s->sig, &s->sig_len, err)
		: sign_mapped(pkey, a, &s->sig, &s->sig_len, err);
	if (rc != GATE_OK)
		return rc;
	/* A faulty signature must never be published: check it as a verifier
	 * would, over the same file. */
	if (gate_artifact_verify_sig(a, pkey, alg, s->sig, s->sig_len, err) != GATE_OK)
		return gate_fail(err, GATE_E_INTERNAL, NULL, "signature",
				 "the new signature does not verify");
	return GATE_OK;
}

/* ---- outputs ---- */

static enum gate_err bundle_json(EVP_PKEY *pkey, const struct signed_art *s, char **out,
				 struct gate_error *err)
{
	uint8_t *spki = NULL, id[32];
	size_t spki_len = 0;
	char hint[65], *d64 = NULL, *s64 = NULL, *text = NULL;
	json_t *j = NULL;
	if (gate_pkey_spki(pkey, &spki, &spki_len) != GATE_OK)
		return gate_fail(err, GATE_E_INTERNAL, NULL, "key", "cannot encode the public key");
	gate_sha256(spki, spki_len, id);
	gate_hex_encode(id, 32, hint);
	OPENSSL_free(spki);
	if ((d64 = gate_b64_encode(s->digest, s->digest_len)) &&
	    (s64 = gate_b64_encode(s->sig, s->sig_len)))
		j = json_pack("{s:s, s:{s:{s:s}, s:[]}, s:{s:{s:s, s:s}, s:s}}", "mediaType",
			      GATE_SIGN_BUNDLE_MEDIA_TYPE, "verificationMaterial", "publicKey",
			      "hint", hint, "tlogEntries", "messageSignature", "messageDigest",
			      "algorithm", s->alg->digest_name, "digest", d64, "signature", s64);
	/* Insertion order is kept: the document reads like cosign's. */
	if (j)
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(d64);
	free(s64);
	if (!text)
		return nomem(err);
	*out = text;
	return GATE_OK;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* An output may replace a regular file, never a symlink or anything else,
 * and never the artifact it signs or the key it signs with. */
static enum gate_err check_output(const char *path, const struct stat *art, const struct stat *key,
				  const char *field, struct stat *st, bool *exists,
				  struct gate_error *err)
{
	*exists = false;
	if (lstat(path, st) != 0) {
		if (errno == ENOENT)
			return GATE_OK;
		return fail_path(err, GATE_E_IO, path, field, "cannot stat: %s", strerror(errno));
	}
	*exists = true;
	if (S_ISLNK(st->st_mode))
		return fail_path(err, GATE_E_IO, path, field,
				 "is a symbolic link; refusing to replace it");
	if (!S_ISREG(st->st_mode))
		return fail_path(err, GATE_E_IO, path, field,
				 "is not a regular file; refusing to replace it");
	if (same_file(st, art))
		return fail_path(err, GATE_E_USAGE, path, field, "is the artifact being signed");
	if (same_file(st, key))
		return fail_path(err, GATE_E_USAGE, path, field, "is the private key");
	return GATE_OK;
}

static enum gate_err check_outputs(const char *bundle_out, const char *sig_out,
				   const struct gate_artifact *a, const struct stat *key,
				   struct gate_error *err)
{
	struct stat art, sb, ss;
	bool hb = false, hs = false;
	enum gate_err rc;
	if (fstat(a->fd, &art) != 0)
		return fail_path(err, GATE_E_IO, a->path, "artifact", "cannot stat: %s",
				 strerror(errno));
	if ((bundle_out &&
	     (rc = check_output(bundle_out, &art, key, "bundle", &sb, &hb, err)) != GATE_OK) ||
	    (sig_out &&
	     (rc = check_output(sig_out, &art, key, "signature", &ss, &hs, err)) != GATE_OK))
		return rc;
	if (hb && hs && same_file(&sb, &ss))
		return fail_path(err, GATE_E_USAGE, sig_out, "signature",
				 "is the same file as the bundle");
	return GATE_OK;
}

/* The helper's error names the path as the field; say which output it was. */
static enum gate_err as_output(enum gate_err rc, const char *field, struct gate_error *err)
{
	if (rc != GATE_OK && err)
		snprintf(err->field, sizeof err->field, "%s", field);
	return rc;
}

/* Write data to a new temporary file beside path and fsync it, to be renamed
 * over path by gate_atomic_commit. A fixed short name keeps it within
 * NAME_MAX whatever path's base name is. rename(2) replaces the name itself:
 * a symlink swapped in after check_output is replaced, never written
 * through. */
static enum gate_err stage_output(struct gate_atomic *a, const char *path, const char *data,
				  size_t len, const char *field, struct gate_error *err)
{
	enum gate_err rc = gate_atomic_open(a, path, ".gate-sign.XXXXXX", 0644, 0, err);
	if (rc == GATE_OK)
		rc = gate_atomic_write(a, data, len, err);
	if (rc == GATE_OK)
		rc = gate_atomic_sync(a, err);
	return as_output(rc, field, err);
}

/* Stage both outputs before renaming either, so a failure leaves both
 * untouched and a crash never leaves a half-written file. */
static enum gate_err write_outputs(const char *bundle_out, const char *bundle, const char *sig_out,
				   const char *sig64, struct gate_error *err)
{
	struct gate_atomic tb = {.fd = -1}, ts = {.fd = -1};
	enum gate_err rc = GATE_OK;
	if (bundle_out)
		rc = stage_output(&tb, bundle_out, bundle, strlen(bundle), "bundle", err);
	if (rc == GATE_OK && sig_out)
		rc = stage_output(&ts, sig_out, sig64, strlen(sig64), "signature", err);
	if (rc == GATE_OK && bundle_out)
		rc = as_output(gate_atomic_commit(&tb, err), "bundle", err);
	if (rc == GATE_OK && sig_out)
		rc = as_output(gate_atomic_commit(&ts, err), "signature", err);
	gate_atomic_discard(&tb);
	gate_atomic_discard(&ts);
	return rc;
}

static enum gate_err check_sign_args(const char *key_path, const char *artifact,
				     const char *bundle_out, const char *sig_out,
				     const char *passphrase, struct gate_error *err)
{
	if (!key_path || !artifact)
		return gate_fail(err, GATE_E_USAGE, NULL, "sign", "missing key or artifact");
	if (!bundle_out && !sig_out)
		return gate_fail(err, GATE_E_USAGE, NULL, "sign", "no output requested");
	if (bundle_out && sig_out && strcmp(bundle_out, sig_out) == 0)
		return gate_fail(err, GATE_E_USAGE, NULL, "sign",
				 "the bundle and the signature would be the same file");
	if (passphrase && strlen(passphrase) > GATE_MAX_PASSPHRASE)
		return gate_fail(err, GATE_E_USAGE, NULL, "passphrase",
				 "passphrase is longer than %d bytes", GATE_MAX_PASSPHRASE);
	return GATE_OK;
}

enum gate_err gate_sign_file(const char *key_path, const char *passphrase, const char *artifact,
			     const char *bundle_out, const char *sig_out, struct gate_error *err)
{
	EVP_PKEY *pkey = NULL;
	struct gate_artifact *a = NULL;
	struct signed_art s = {0};
	struct stat key_st;
	char *bundle = NULL, *sig64 = NULL;
	enum gate_err rc =
		check_sign_args(key_path, artifact, bundle_out, sig_out, passphrase, err);
	if (rc != GATE_OK)
		return rc;
	if ((rc = load_private_key(key_path, passphrase, &pkey, &key_st, err)) != GATE_OK)
		goto out;
	if ((rc = gate_artifact_open(artifact, &a, err)) != GATE_OK) {
		if (err)
			snprintf(err->file, sizeof err->file, "%s", artifact);
		goto out;
	}
	if ((rc = check_outputs(bundle_out, sig_out, a, &key_st, err)) != GATE_OK ||
	    (rc = sign_artifact(pkey, a, &s, err)) != GATE_OK)
		goto out;
	if ((rc = bundle_json(pkey, &s, &bundle, err)) != GATE_OK)
		goto out;
	if (!(sig64 = gate_b64_encode(s.sig, s.sig_len))) {
		rc = nomem(err);
		goto out;
	}
	rc = write_outputs(bundle_out, bundle, sig_out, sig64, err);
out:
	free(bundle);
	free(sig64);
	free(s.sig);
	gate_artifact_free(a);
	EVP_PKEY_free(pkey);
	return rc;
}
