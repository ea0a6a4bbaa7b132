/*
 * gate_util.h - the verifier core's helpers that the layers above share:
 * named caps, errors, bytes and text. Internal to libgate (never installed);
 * policy/, gate/ and the hooks include this instead of internal.h.
 */
#ifndef GATE_VERIFY_GATE_UTIL_H
#define GATE_VERIFY_GATE_UTIL_H

#include "verify.h"

/* Named caps on untrusted input. */
#define GATE_MAX_BUNDLE (16u * 1024 * 1024)	/* bundle JSON file */
#define GATE_MAX_TRUST_ROOT (4u * 1024 * 1024)	/* trusted_root.json */
#define GATE_MAX_SMALL_FILE (1u * 1024 * 1024)	/* keys, certs, signatures */
#define GATE_MAX_JSON_DEPTH 32
#define GATE_MAX_CHAIN 10			/* certificates in a chain */
#define GATE_MAX_TLOG_ENTRIES 16
#define GATE_MAX_TSA_TOKENS 16
#define GATE_MAX_PROOF_HASHES 64
#define GATE_MAX_ROOT_ENTRIES 64		/* per trusted-root array */
#define GATE_MAX_CHECKPOINT 16384
#define GATE_MAX_SIG 4096			/* one signature, decoded */

/* ---- errors ---- */

/* Fill err (if non-NULL) and return code. fmt is printf-style; the result is
 * escaped so that untrusted text can be passed through %s safely. */
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

#endif
