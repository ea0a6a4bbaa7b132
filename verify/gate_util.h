/*
 * gate_util.h - the verifier core's helpers that the layers above share:
 * named caps, errors, bytes and text. Internal to libgate (never installed);
 * policy/, gate/ and the hooks include this instead of internal.h.
 */
#ifndef GATE_VERIFY_GATE_UTIL_H
#define GATE_VERIFY_GATE_UTIL_H

#include "verify.h"

#include <sys/types.h>

/* Named caps on untrusted input. */
#define GATE_MAX_BUNDLE (16u * 1024 * 1024)    /* bundle JSON file */
#define GATE_MAX_TRUST_ROOT (4u * 1024 * 1024) /* trusted_root.json */
#define GATE_MAX_SMALL_FILE (1u * 1024 * 1024) /* keys, certs, signatures */
#define GATE_MAX_JSON_DEPTH 32
#define GATE_MAX_CHAIN 10 /* certificates in a chain */
#define GATE_MAX_TLOG_ENTRIES 16
#define GATE_MAX_TSA_TOKENS 16
#define GATE_MAX_PROOF_HASHES 64
#define GATE_MAX_ROOT_ENTRIES 64 /* per trusted-root array */
#define GATE_MAX_CHECKPOINT 16384
#define GATE_MAX_SIG 4096 /* one signature, decoded */
/* Ed25519 (pure) signs the whole file, which is read once into memory so
 * that the bytes verified are the bytes hashed: larger files are refused. */
#define GATE_MAX_ED25519_ARTIFACT (256ull * 1024 * 1024)

/* ---- errors ---- */

/* Fill err (if non-NULL) and return code. fmt is printf-style; the result is
 * escaped so that untrusted text can be passed through %s safely. */
/* path and the folders above it, each made with mode when missing (an
 * existing one is left as it is); only the first len bytes of path count.
 * 0, or -1 with errno set. */
int gate_mkdirs(const char *path, size_t len, mode_t mode);

/* Hook and daemon context: what a decision depends on comes from flags
 * and files, never from the environment the caller happened to have
 * (GATE_POLICY, GATE_TIME, GATE_CACHE_DIR, OPENSSL_CONF, SSL_CERT_FILE,
 * https_proxy, MAGIC, TZ, ...). Empties the environment, keeping only the
 * variables named in keep (NULL-terminated, may be NULL), and sets PATH to
 * GATE_SAFE_PATH. Call it first, before OpenSSL or any library reads its
 * settings; flags then set what they name (setenv), so that they are the
 * one way in. False when out of memory (the environment is then empty). */
#define GATE_SAFE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
bool gate_env_lock(const char *const *keep);
/* "a/b", malloc'd; NULL when out of memory. */
char *gate_path_join(const char *a, const char *b);
/* path with "//", "." and ".." resolved by its text alone (links are not
 * followed: "x/.." is the folder x is in, whatever x is). A relative path
 * is first put under base when base is given (it must be absolute), and
 * stays relative otherwise ("./a//b/../c" is "a/c"; a leading ".." is
 * kept). "" becomes ".". Malloc'd; NULL when out of memory. */
char *gate_path_normalize(const char *path, const char *base);

/* An input the user named on an interactive command line (gate verify's
 * --bundle, --signature, ...): like gate_read_file, but a pipe or other
 * stream is read too ("--bundle <(curl ...)"), never past cap. Nothing a
 * hook, the daemon or a policy names is read with it. */
GATE_WUR enum gate_err gate_read_stream(const char *path, size_t cap, uint8_t **out, size_t *len,
					struct gate_error *err);
/* open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, mode), kept only
 * when it is a regular file: the descriptor, -1 (errno set) when the open
 * failed, -2 when it is not a regular file (a FIFO, a folder, ...). */
int gate_open_regular(const char *path, int flags, mode_t mode);

enum gate_err gate_fail(struct gate_error *err, enum gate_err code, const char *rule,
			const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The last OpenSSL error as "reason: detail" into buf (TS and X509 put the
 * verify error in the detail), then clear the queue. */
void gate_ssl_detail(char *buf, size_t n);
/* Append the first OpenSSL error reason to err->msg (no-op without one). */
void gate_fail_ssl(struct gate_error *err);

/* ---- bytes and text helpers (util.c) ---- */

/* Strict standard base64 (padded, no whitespace). Returns a malloc'd buffer
 * in *out (NUL-terminated for convenience, not counted in *outlen). */
enum gate_err gate_b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen,
			      const char *field, struct gate_error *err);
/* Malloc'd, NUL-terminated standard padded base64. NULL on OOM. */
char *gate_b64_encode(const uint8_t *in, size_t len);
/* Lowercase hex into out (2*len+1 bytes). */
void gate_hex_encode(const uint8_t *in, size_t len, char *out);
/* Exactly 2*outlen hex digits (either case). */
bool gate_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);
/* Constant-time equality of two equal-length buffers. */
bool gate_ct_eq(const void *a, const void *b, size_t len);
/* SHA-256 of a buffer. */
void gate_sha256(const void *data, size_t len, uint8_t out[32]);

/* gate_rfc3339_parse() flags; none: gate_parse_rfc3339() (UTC only, "Z"
 * or "+00:00", 't'/'z' in either case, a fraction dropped). */
enum gate_rfc3339_flags {
	GATE_RFC3339_OFFSET = 1u << 0, /* any numeric offset "+hh:mm" / "-hh:mm" */
	GATE_RFC3339_CEIL = 1u << 1,   /* a non-zero fraction rounds up a second */
	GATE_RFC3339_UPPER = 1u << 2,  /* only 'T' and 'Z', as TUF writes them */
	/* TUF "expires" (see verify/tuf/tuf.h): "expired iff now >= expires" stays
	 * exact on whole seconds. */
	GATE_RFC3339_TUF = GATE_RFC3339_OFFSET | GATE_RFC3339_CEIL | GATE_RFC3339_UPPER,
};
/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)" to unix seconds, as flags
 * allow. Dates that do not exist and leap seconds are refused. False when
 * malformed; *out is set only on success. */
bool gate_rfc3339_parse(const char *s, unsigned flags, int64_t *out);

/* ---- replacing a file atomically (util.c) ---- */

/* gate_atomic_open() flags. */
enum gate_atomic_flags {
	/* The file is volatile state rewritten often (gated's status file,
	 * every second): its directory is not fsynced after the rename, so a
	 * crash may bring back the previous version, never a torn one. Only
	 * for files whose loss of the last update is harmless. */
	GATE_ATOMIC_VOLATILE = 1u << 0,
	/* Let the umask narrow mode, as open(2) does; without it the file
	 * gets exactly mode. */
	GATE_ATOMIC_UMASK = 1u << 1,
};

/* A file being replaced: written under a temporary name in the target's
 * directory, then renamed over the target, so a reader sees the old or the
 * new content, never part of it, and a symlink planted at the target is
 * replaced, never written through. Between open and commit the caller may
 * write through fd itself (a download sink) or with gate_atomic_write(). */
struct gate_atomic {
	int fd;		  /* the temporary file; -1 once synced or discarded */
	char *tmp;	  /* its name (malloc'd); NULL once renamed or removed */
	const char *path; /* the target; borrowed until commit or discard */
	unsigned flags;
};

/* Create the temporary file beside path: tmpl is its base name with six
 * 'X' replaced at random (".gate-tuf-XXXXXX", "x.XXXXXX.dpkg-tmp"; NULL =
 * ".gate-tmp.XXXXXX"), opened O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC with mode
 * (exactly, unless GATE_ATOMIC_UMASK). *a is initialised even on failure,
 * so gate_atomic_discard(a) is always safe. Every gate_atomic_* failure
 * removes the temporary file and sets err->field and err->file to path and
 * err->msg to the failing step. Errors: GATE_E_IO, GATE_E_NOMEM,
 * GATE_E_USAGE (tmpl without "XXXXXX"). */
GATE_WUR enum gate_err gate_atomic_open(struct gate_atomic *a, const char *path, const char *tmpl,
					mode_t mode, unsigned flags, struct gate_error *err);
/* Write all of data to the temporary file. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_atomic_write(struct gate_atomic *a, const void *data, size_t len,
					 struct gate_error *err);
/* fsync and close the temporary file (commit does it when not done yet):
 * for staging several files before renaming any. Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_atomic_sync(struct gate_atomic *a, struct gate_error *err);
/* Sync, rename over the target, then fsync the directory (unless
 * GATE_ATOMIC_VOLATILE) so the rename survives a crash. A directory fsync
 * failure is reported although the target was replaced; a file system that
 * cannot sync directories (EINVAL) is not an error. Releases a either way.
 * Errors: GATE_E_IO. */
GATE_WUR enum gate_err gate_atomic_commit(struct gate_atomic *a, struct gate_error *err);
/* Remove the temporary file and release a; no-op after commit or discard. */
void gate_atomic_discard(struct gate_atomic *a);
/* Open, write data, commit: the whole file at once. */
GATE_WUR enum gate_err gate_atomic_write_file(const char *path, const char *tmpl, const void *data,
					      size_t len, mode_t mode, unsigned flags,
					      struct gate_error *err);

#endif
